"""verify-iam's outputs: text (with the side-by-side review table), JSON, SARIF 2.1.0, JUnit XML."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from typing import Any

from .. import __version__
from .matching import action_matches
from .minimum import load_minimum
from .model import Finding, Stack
from .rules import all_rules

FORMATS = ("text", "json", "sarif", "junit")
_SARIF_LEVEL = {"high": "error", "medium": "warning", "low": "note"}
INFORMATION_URI = "https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html"


def side_by_side(stack: Stack) -> dict[str, list[dict[str, Any]]]:
    """Per role: each documented action with what is granted for it, then anything granted beyond it."""
    minimum = load_minimum()
    out: dict[str, list[dict[str, Any]]] = {}
    for role in stack.roles:
        key = role.purpose or role.address
        rows: list[dict[str, Any]] = []
        granted = [(a, s) for _, s in role.statements() if s.allows for a in s.actions]
        documented = minimum[role.purpose].active(stack.features) if role.purpose in minimum else []
        for entry in documented:
            resources = sorted({r for a, s in granted if action_matches(a, entry.action) for r in s.resources})
            rows.append({"action": entry.action, "documented": list(entry.resources), "granted": resources, "source": entry.source})
        known = {e.action.lower() for e in documented}
        extra: dict[str, set[str]] = {}
        for action, statement in granted:
            if action.lower() not in known:
                extra.setdefault(action, set()).update(statement.resources)
        rows += [{"action": a, "documented": [], "granted": sorted(r), "source": ""} for a, r in sorted(extra.items())]
        out[key] = rows
    return out


def render_text(stack: Stack, findings: list[Finding]) -> str:
    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, width=200, force_terminal=False, color_system=None)
    minimum = load_minimum()
    for role_key, rows in side_by_side(stack).items():
        title = minimum[role_key].title if role_key in minimum else role_key
        role = next(r for r in stack.roles if (r.purpose or r.address) == role_key)
        table = Table(title=f"{title} ({role_key}): granted vs documented minimum", show_lines=False)
        table.add_column("action", overflow="fold")
        table.add_column("documented resources", overflow="fold")
        table.add_column("granted resources", overflow="fold")
        table.add_column("", width=2)
        for row in rows:
            ok = bool(row["documented"]) and sorted(row["documented"]) == row["granted"]
            mark = "ok" if ok else ("+" if not row["documented"] else "!=")
            table.add_row(row["action"], "\n".join(row["documented"]) or "(not documented)", "\n".join(row["granted"]) or "(not granted)", mark)
        console.print(table)
        console.print(_trust_line(role), markup=False, highlight=False)
    if findings:
        console.print(f"{len(findings)} finding(s):")
        for f in findings:
            console.print(f"  {f.rule_id} [{f.severity}] {f.role} {f.statement}: {f.message}", markup=False, highlight=False)
    else:
        console.print(f"verify-iam: {len(stack.roles)} roles match the documented minimum, no findings.")
    return buffer.getvalue()


def _trust_line(role) -> str:
    """The trust policy next to what is expected: principals and confused-deputy condition keys."""
    minimum = load_minimum()
    principals = sorted({f"{k}:{i}" for s in (role.trust.statements if role.trust else ()) if s.allows for k, i in s.principals})
    keys = sorted({c.variable for s in (role.trust.statements if role.trust else ()) if s.allows for c in s.conditions})
    expected = minimum[role.purpose] if role.purpose in minimum else None
    if expected is None:
        wanted = ""
    elif expected.trust_conditions_any:
        wanted = f" | expected: Service:{expected.service} with one of {', '.join(expected.trust_conditions_any)}"
    else:
        wanted = f" | expected: Service:{expected.service} without {', '.join(expected.trust_conditions_unsent)} (not sent by the service)"
    return f"trust: {', '.join(principals) or 'none'} with {', '.join(keys) or 'no conditions'}{wanted}"


def render_json(stack: Stack, findings: list[Finding]) -> str:
    return json.dumps(
        {
            "source": stack.source,
            "features": sorted(stack.features),
            "roles": side_by_side(stack),
            "findings": [f.as_dict() for f in findings],
        },
        indent=2,
    ) + "\n"


def render_sarif(stack: Stack, findings: list[Finding]) -> str:
    rules = [rule for rule, _ in all_rules()]
    index = {rule.id: i for i, rule in enumerate(rules)}
    results = []
    for f in findings:
        results.append(
            {
                "ruleId": f.rule_id,
                "ruleIndex": index[f.rule_id],
                "level": _SARIF_LEVEL.get(f.severity, "warning"),
                "message": {"text": f"{f.role} {f.statement}: {f.message}"},
                "locations": [
                    {
                        "physicalLocation": {"artifactLocation": {"uri": stack.source}},
                        "logicalLocations": [{"name": f.source or f.role, "kind": "resource"}],
                    }
                ],
                "properties": {"role": f.role, "statement": f.statement, "severity": f.severity},
            }
        )
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "pipeline-tools verify-iam",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [
                            {
                                "id": rule.id,
                                "name": rule.name,
                                "shortDescription": {"text": rule.description},
                                "fullDescription": {"text": f"{rule.description} Inspects: {rule.inspects}."},
                                "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
                            }
                            for rule in rules
                        ],
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


def render_junit(stack: Stack, findings: list[Finding]) -> str:
    """One test case per rule and role; a failure per finding (what CI dashboards show)."""
    rules = [rule for rule, _ in all_rules()]
    roles = [r.purpose or r.address for r in stack.roles] or ["stack"]
    suite = ET.Element("testsuite", name="verify-iam", tests="0", failures=str(len(findings)), errors="0")
    count = 0
    stack_wide = {f.role for f in findings} - set(roles)
    for role in roles + sorted(stack_wide):
        for rule in rules:
            count += 1
            case = ET.SubElement(suite, "testcase", classname=f"verify-iam.{role}", name=f"{rule.id} {rule.name}")
            for f in findings:
                if f.rule_id == rule.id and f.role == role:
                    failure = ET.SubElement(case, "failure", type=f.severity, message=f"{f.statement}: {f.message}")
                    failure.text = f.source
    suite.set("tests", str(count))
    return ET.tostring(ET.ElementTree(suite).getroot(), encoding="unicode", xml_declaration=True) + "\n"


RENDERERS = {"text": render_text, "json": render_json, "sarif": render_sarif, "junit": render_junit}
