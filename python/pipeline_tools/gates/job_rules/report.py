"""The job rules' results in ``scan``'s report, whatever its format: appended to checkov's text,
merged into checkov's JSON (its ``failed_checks``/``passed_checks`` and summary), a run of their own
in checkov's SARIF log and a test suite of their own in its JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from ... import __version__
from . import Result, all_rules

TOOL = "pipeline-tools job rules"
_SARIF_LEVEL = {"high": "error", "medium": "warning", "low": "note"}


def render_cli(results: list[Result], source: str) -> str:
    failed = [r for r in results if not r.passed]
    lines = [
        f"{TOOL} (every SageMaker task of the state machines) scan results:",
        "",
        f"Passed checks: {len(results) - len(failed)}, Failed checks: {len(failed)}, Skipped checks: 0",
        "",
    ]
    for result in failed:
        rule = result.rule
        lines += [
            f'Check: {rule.id}: "{rule.description}"',
            f"\tFAILED for resource: {result.task.resource}",
            f"\t{result.message}",
            f"\tFile: {source}",
            f"\tFollows: {rule.follows} ({rule.url})",
            "",
        ]
    return "\n".join(lines) + "\n"


def _json_check(result: Result, source: str) -> dict[str, Any]:
    rule = result.rule
    return {
        "check_id": rule.id,
        "check_name": rule.description,
        "check_result": {"result": "PASSED" if result.passed else "FAILED"},
        "file_path": source,
        "resource": result.task.resource,
        "severity": rule.severity.upper(),
        "guideline": rule.url,
        "details": [result.message, f"Follows: {rule.follows}"],
    }


def merge_json(report: str, results: list[Result], source: str) -> str:
    """checkov's JSON (one run: an object; several frameworks: a list) with the results in the
    run of the synthesized stack (``terraform_json``), or the first."""
    document = json.loads(report)
    runs = document if isinstance(document, list) else [document]
    run = next((r for r in runs if r.get("check_type") == "terraform_json"), runs[0])
    checks = run.setdefault("results", {})
    checks.setdefault("passed_checks", []).extend(_json_check(r, source) for r in results if r.passed)
    checks.setdefault("failed_checks", []).extend(_json_check(r, source) for r in results if not r.passed)
    summary = run.setdefault("summary", {})
    summary["passed"] = int(summary.get("passed", 0)) + sum(r.passed for r in results)
    summary["failed"] = int(summary.get("failed", 0)) + sum(not r.passed for r in results)
    return json.dumps(document, indent=4) + "\n"


def sarif_run(results: list[Result], source: str) -> dict[str, Any]:
    rules = [rule for rule, _ in all_rules()]
    index = {rule.id: i for i, rule in enumerate(rules)}
    return {
        "tool": {
            "driver": {
                "name": TOOL,
                "version": __version__,
                "informationUri": "https://docs.aws.amazon.com/securityhub/latest/userguide/sagemaker-controls.html",
                "rules": [
                    {
                        "id": rule.id,
                        "name": rule.name,
                        "shortDescription": {"text": rule.description},
                        "fullDescription": {"text": f"{rule.description} Applies to: {rule.applies_to}. Follows: {rule.follows}."},
                        "helpUri": rule.url,
                        "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
                    }
                    for rule in rules
                ],
            }
        },
        "results": [
            {
                "ruleId": r.rule.id,
                "ruleIndex": index[r.rule.id],
                "level": _SARIF_LEVEL[r.rule.severity],
                "message": {"text": f"{r.task.resource}: {r.message}"},
                "locations": [
                    {
                        "physicalLocation": {"artifactLocation": {"uri": source}},
                        "logicalLocations": [{"name": r.task.resource, "kind": "resource"}],
                    }
                ],
            }
            for r in results
            if not r.passed
        ],
    }


def merge_sarif(report: str, results: list[Result], source: str) -> str:
    log = json.loads(report)
    log.setdefault("runs", []).append(sarif_run(results, source))
    return json.dumps(log, indent=2) + "\n"


def merge_junit(report: str, results: list[Result], source: str) -> str:
    """A ``<testsuite>`` of the job rules in checkov's ``<testsuites>``: one test case per rule and
    task, a ``<failure>`` for each failed one."""
    root = ET.fromstring(report)
    if root.tag != "testsuites":
        wrapper = ET.Element("testsuites")
        wrapper.append(root)
        root = wrapper
    failures = sum(not r.passed for r in results)
    suite = ET.SubElement(root, "testsuite", name=f"{TOOL} scan", tests=str(len(results)), failures=str(failures), errors="0", skipped="0")
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=f"{TOOL}.{r.task.machine}", name=f"[{r.rule.id}] {r.rule.name}: {r.task.state}", file=source)
        if not r.passed:
            failure = ET.SubElement(case, "failure", type=r.rule.severity, message=f"{r.rule.id} {r.message}")
            failure.text = f"{r.task.resource}: {r.message}\nFollows: {r.rule.follows} ({r.rule.url})"
    for attribute, added in (("tests", len(results)), ("failures", failures)):
        root.set(attribute, str(int(root.get(attribute, "0")) + added))
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


MERGERS = {"json": merge_json, "sarif": merge_sarif, "junitxml": merge_junit}


def merge(output_format: str, report: str, results: list[Result], source: str) -> str:
    """checkov's report in ``output_format`` with the job rules' results in it."""
    if output_format == "cli":
        return report.rstrip("\n") + "\n\n" + render_cli(results, source)
    return MERGERS[output_format](report, results, source)
