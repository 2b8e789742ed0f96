"""Read every IAM policy a stack creates: from a synthesized ``cdk.tf.json`` or a plan JSON.

cdk.tf.json (what ``synth`` writes): roles reference ``data.aws_iam_policy_document`` blocks by
``${data.aws_iam_policy_document.X.json}`` (trust policy, ``aws_iam_role_policy``, ``aws_iam_policy`` +
``aws_iam_role_policy_attachment``, ``inline_policy``); the blocks hold ``statement`` lists in the
provider's snake_case shape. Literal JSON policy strings are read too.

Plan (``terraform show -json``): policies are JSON strings in ``planned_values``; values unknown
until apply are taken from the data source's planned or prior state and, failing that, are marked
``{unknown}`` (and reported as unverifiable rather than guessed).

Roles are identified by the service their trust policy names, never by their Terraform name.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .model import Condition, Key, Policy, Role, Stack, Statement
from .normalize import INTERPOLATION, ROLE_PLACEHOLDER, Normalizer, normalize_arn_parts, split_reference

# Service principal -> purpose key in the documented minimum.
PURPOSES = {
    "states.amazonaws.com": "state_machine",
    "sagemaker.amazonaws.com": "sagemaker",
    "lambda.amazonaws.com": "lambda",
}
_DOC_REF = re.compile(r"^\$\{data\.aws_iam_policy_document\.([^.}]+)\.json\}$")
_POLICY_ARN_REF = re.compile(r"^\$\{aws_iam_policy\.([^.}]+)\.arn\}$")
_ROLE_REF = re.compile(r"^\$\{aws_iam_role\.([^.}]+)\.(id|name)\}$")
_KEY_REF = re.compile(r"^\$\{aws_kms_key\.([^.}]+)\.(arn|id|key_id)\}$")
UNKNOWN = "{unknown}"


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _read_json(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist", "run `pipeline-tools synth` or pass the right path") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {what} {path}: {error}", "check the path and permissions") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(
            f"{what} {path} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})",
            "re-run `pipeline-tools synth` or re-export the plan with `terraform show -json`",
        ) from None


def _purpose(services: set[str]) -> str | None:
    found = [PURPOSES[s] for s in sorted(services) if s in PURPOSES]
    return found[0] if found else None


def _check_type(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind):
        raise UsageError(f"malformed input: {where} must be a {kind.__name__}", "re-run `pipeline-tools synth`")
    return value


# --- statements in the provider's block shape (cdk.tf.json, plan data sources) ---------------------


def statements_from_blocks(blocks: Any, normalize, where: str) -> tuple[Statement, ...]:
    out = []
    for index, block in enumerate(_as_list(blocks)):
        _check_type(block, dict, f"{where}.statement[{index}]")
        conditions = tuple(
            Condition(c.get("test", ""), c.get("variable", ""), tuple(normalize(str(v)) for v in _as_list(c.get("values"))))
            for c in _as_list(block.get("condition"))
        )
        principals = tuple(
            (p.get("type", ""), normalize(str(ident)))
            for p in _as_list(block.get("principals"))
            for ident in _as_list(p.get("identifiers"))
        )
        out.append(
            Statement(
                index=index,
                sid=block.get("sid") or None,
                effect=block.get("effect") or "Allow",
                actions=tuple(str(a) for a in _as_list(block.get("actions"))),
                not_actions=tuple(str(a) for a in _as_list(block.get("not_actions"))),
                resources=tuple(normalize(str(r)) for r in _as_list(block.get("resources"))),
                not_resources=tuple(normalize(str(r)) for r in _as_list(block.get("not_resources"))),
                conditions=conditions,
                principals=principals,
            )
        )
    return tuple(out)


def statements_from_json(document: Any, normalize, where: str) -> tuple[Statement, ...]:
    """An IAM JSON policy document (dict) -> statements."""
    _check_type(document, dict, where)
    out = []
    for index, raw in enumerate(_as_list(document.get("Statement"))):
        _check_type(raw, dict, f"{where}.Statement[{index}]")
        principals: list[tuple[str, str]] = []
        principal = raw.get("Principal")
        if principal == "*":
            principals.append(("AWS", "*"))
        elif isinstance(principal, dict):
            principals += [(kind, normalize(str(i))) for kind, ids in principal.items() for i in _as_list(ids)]
        conditions = tuple(
            Condition(test, variable, tuple(normalize(str(v)) for v in _as_list(values)))
            for test, pairs in (raw.get("Condition") or {}).items()
            for variable, values in pairs.items()
        )
        out.append(
            Statement(
                index=index,
                sid=raw.get("Sid") or None,
                effect=raw.get("Effect", "Allow"),
                actions=tuple(str(a) for a in _as_list(raw.get("Action"))),
                not_actions=tuple(str(a) for a in _as_list(raw.get("NotAction"))),
                resources=tuple(normalize(str(r)) for r in _as_list(raw.get("Resource"))),
                not_resources=tuple(normalize(str(r)) for r in _as_list(raw.get("NotResource"))),
                conditions=conditions,
                principals=tuple(principals),
            )
        )
    return tuple(out)


# --- cdk.tf.json -------------------------------------------------------------------------------------


def load_synth(path: Path) -> Stack:
    doc = _read_json(path, "stack")
    _check_type(doc, dict, "cdk.tf.json")
    resources = _check_type(doc.get("resource", {}), dict, "resource")
    data = _check_type(doc.get("data", {}), dict, "data")
    documents = _check_type(data.get("aws_iam_policy_document", {}), dict, "data.aws_iam_policy_document")
    raw_roles = _check_type(resources.get("aws_iam_role", {}), dict, "resource.aws_iam_role")

    plain = Normalizer()

    def document_statements(name: str, normalize, seen: tuple[str, ...] = ()) -> tuple[Statement, ...]:
        if name not in documents:
            raise UsageError(f"malformed stack: data.aws_iam_policy_document.{name} is referenced but not defined", "re-run `pipeline-tools synth`")
        block = _check_type(documents[name], dict, f"data.aws_iam_policy_document.{name}")
        merged: list[Statement] = []
        for key in ("source_policy_documents", "override_policy_documents"):
            for ref in _as_list(block.get(key)):
                match = _DOC_REF.match(str(ref))
                if match and match.group(1) not in seen:
                    merged += document_statements(match.group(1), normalize, seen + (name,))
        own = statements_from_blocks(block.get("statement"), normalize, f"data.aws_iam_policy_document.{name}")
        statements = merged + list(own)
        return tuple(Statement(**{**s.__dict__, "index": i}) for i, s in enumerate(statements))

    def policy(value: Any, source: str, normalize) -> Policy | None:
        text = str(value)
        match = _DOC_REF.match(text)
        if match:
            name = match.group(1)
            return Policy(source, f"data.aws_iam_policy_document.{name}", document_statements(name, normalize))
        if text.lstrip().startswith("{") or "${" not in text:
            # A JSON policy, maybe with interpolations inside its strings (a key policy on aws_kms_key):
            # the interpolations become placeholders, which JSON strings can hold.
            try:
                parsed = json.loads(INTERPOLATION.sub(lambda m: normalize("${" + m.group(1) + "}"), text))
            except json.JSONDecodeError:
                if "${" in text:
                    return None  # an expression we cannot evaluate offline
                raise UsageError(f"malformed stack: {source} holds a policy that is not JSON", "re-run `pipeline-tools synth`") from None
            return Policy(source, source, statements_from_json(parsed, normalize, source))
        return None  # an expression we cannot evaluate offline

    # 1. trust policies first: they decide each role's purpose, which ARNs of roles are then named by.
    roles: dict[str, Role] = {}
    for name, body in raw_roles.items():
        _check_type(body, dict, f"aws_iam_role.{name}")
        address = f"aws_iam_role.{name}"
        trust = policy(body.get("assume_role_policy", ""), address, plain.resource) if body.get("assume_role_policy") else None
        role = Role(address=address, trust=trust)
        role.purpose = _purpose(role.services)
        roles[name] = role
    by_literal_name = {str(b.get("name")): n for n, b in raw_roles.items() if isinstance(b, dict) and b.get("name")}

    log_group_purpose = _log_group_purposes(resources)

    def special(kind: str, name: str, attribute: str) -> str | None:
        if kind == "aws_iam_role" and attribute == "arn" and name in roles:
            return ROLE_PLACEHOLDER.format(purpose=roles[name].purpose or name)
        if kind == "aws_cloudwatch_log_group" and attribute == "arn":
            return log_group_purpose.get(name, "{log_group_arn}")
        return None

    normalize = Normalizer(special).resource

    def role_of(value: Any) -> Role | None:
        match = _ROLE_REF.match(str(value))
        if match:
            return roles.get(match.group(1))
        return roles.get(by_literal_name.get(str(value), ""))

    def attach(role: Role | None, value: Any, source: str) -> None:
        if role is None:
            return
        found = policy(value, source, normalize)
        if found is None:
            role.unverifiable.append(f"{source}: {value}")
        else:
            role.policies.append(found)

    for name, body in raw_roles.items():
        for index, inline in enumerate(_as_list(body.get("inline_policy"))):
            if isinstance(inline, dict) and inline.get("policy"):
                attach(roles[name], inline["policy"], f"aws_iam_role.{name}.inline_policy[{index}]")
        for arn in _as_list(body.get("managed_policy_arns")):
            roles[name].unverifiable.append(f"aws_iam_role.{name}.managed_policy_arns: {arn}")
    for name, body in _check_type(resources.get("aws_iam_role_policy", {}), dict, "aws_iam_role_policy").items():
        attach(role_of(body.get("role")), body.get("policy", ""), f"aws_iam_role_policy.{name}")
    managed = _check_type(resources.get("aws_iam_policy", {}), dict, "aws_iam_policy")
    for name, body in _check_type(resources.get("aws_iam_role_policy_attachment", {}), dict, "aws_iam_role_policy_attachment").items():
        role = role_of(body.get("role"))
        match = _POLICY_ARN_REF.match(str(body.get("policy_arn", "")))
        if match and match.group(1) in managed:
            attach(role, managed[match.group(1)].get("policy", ""), f"aws_iam_policy.{match.group(1)}")
        elif role is not None:
            role.unverifiable.append(f"aws_iam_role_policy_attachment.{name}: {body.get('policy_arn')}")

    keys = []
    for name, body in _check_type(resources.get("aws_kms_key", {}), dict, "aws_kms_key").items():
        address = f"aws_kms_key.{name}"
        key_policy = policy(body.get("policy"), address, normalize) if body.get("policy") else None
        groups = [
            f"aws_cloudwatch_log_group.{group}"
            for group, group_body in (resources.get("aws_cloudwatch_log_group") or {}).items()
            if isinstance(group_body, dict) and (m := _KEY_REF.match(str(group_body.get("kms_key_id", "")))) and m.group(1) == name
        ]
        keys.append(Key(address=address, policy=key_policy, log_groups=groups))
    return Stack(source=str(path), roles=list(roles.values()), features=_features(resources), keys=keys)


def _log_group_purposes(resources: dict) -> dict[str, str]:
    """Log group logical name -> placeholder, from who uses it (a Lambda or the state machine)."""
    out: dict[str, str] = {}
    users = {
        "{lambda_log_group_arn}": json.dumps(resources.get("aws_lambda_function", {})),
        "{state_machine_log_group_arn}": json.dumps(resources.get("aws_sfn_state_machine", {})),
    }
    for name, body in (resources.get("aws_cloudwatch_log_group") or {}).items():
        log_name = str(body.get("name", "")) if isinstance(body, dict) else ""
        for placeholder, text in users.items():
            if f"aws_cloudwatch_log_group.{name}." in text:
                out[name] = placeholder
        if name not in out and log_name.startswith("/aws/lambda/"):
            out[name] = "{lambda_log_group_arn}"
        if name not in out and log_name.startswith("/aws/vendedlogs/states/"):
            out[name] = "{state_machine_log_group_arn}"
    return out


def _features(resources: dict) -> set[str]:
    """Which optional parts of the documented minimum apply (customer KMS key, logging, tracing)."""
    features: set[str] = set()
    text = json.dumps(resources)
    if resources.get("aws_kms_key") or re.search(r'"kms_master_key_id": "[^"]+"', text):
        features.add("kms")
    for body in (resources.get("aws_sfn_state_machine") or {}).values():
        if _as_list(body.get("logging_configuration")):
            features.add("sfn_logging")
        tracing = body.get("tracing_configuration")
        tracing = tracing[0] if isinstance(tracing, list) and tracing else tracing
        if isinstance(tracing, dict) and tracing.get("enabled") in (True, "true"):
            features.add("sfn_tracing")
    for body in (resources.get("aws_lambda_function") or {}).values():
        tracing = body.get("tracing_config")
        tracing = tracing[0] if isinstance(tracing, list) and tracing else tracing
        if isinstance(tracing, dict) and str(tracing.get("mode", "")).lower() == "active":
            features.add("lambda_tracing")
    return features


# --- plan JSON (terraform show -json) ------------------------------------------------------------------


def _walk_module(module: dict | None) -> list[dict]:
    if not isinstance(module, dict):
        return []
    found = list(module.get("resources") or [])
    for child in module.get("child_modules") or []:
        found += _walk_module(child)
    return found


def load_plan(path: Path) -> Stack:
    plan = _read_json(path, "plan")
    if not isinstance(plan, dict) or "format_version" not in plan or not (
        "planned_values" in plan or "resource_changes" in plan
    ):
        raise UsageError(f"{path} is not a Terraform plan in JSON", "export it with `terraform show -json PLANFILE > plan.json`")

    # address -> values, planned values win over prior state; unknown attributes recorded per address.
    values: dict[str, dict] = {}
    unknown: dict[str, dict] = {}
    for entry in _walk_module(((plan.get("prior_state") or {}).get("values") or {}).get("root_module")):
        values[entry["address"]] = entry.get("values") or {}
    for entry in _walk_module((plan.get("planned_values") or {}).get("root_module")):
        values[entry["address"]] = entry.get("values") or {}
    for change in plan.get("resource_changes") or []:
        after = (change.get("change") or {}).get("after")
        address = change.get("address", "")
        if isinstance(after, dict):
            values.setdefault(address, after)
        unknown[address] = (change.get("change") or {}).get("after_unknown") or {}
    config = {r.get("address"): r for r in _walk_module((plan.get("configuration") or {}).get("root_module"))}

    def rtype(address: str) -> str:
        parts = address.split(".")
        while len(parts) > 2 and parts[0] == "module":  # module.<name>.<type>.<name>
            parts = parts[2:]
        return f"data.{parts[1]}" if parts[0] == "data" else parts[0]

    # Concrete values -> placeholders (longest first), for ARNs that are known in the plan.
    table: list[tuple[str, str]] = []
    for address, body in values.items():
        # Partition and region are left to normalize_arn_parts: replacing "aws" inside every string would
        # mangle service principals such as sagemaker.amazonaws.com.
        for attribute in ("arn", "account_id", "bucket"):
            value = body.get(attribute)
            if not isinstance(value, str) or not value:
                continue
            placeholder = Normalizer().reference(f"{address}.{attribute}")
            if not placeholder.startswith(("{aws_", "{data.")):
                table.append((value, placeholder))
    groups = {a.split(".", 1)[1]: b for a, b in values.items() if rtype(a) == "aws_cloudwatch_log_group"}
    for name, placeholder in _log_group_purposes({"aws_cloudwatch_log_group": groups}).items():
        if groups[name].get("arn"):
            table.append((groups[name]["arn"].removesuffix(":*"), placeholder))
    table.sort(key=lambda pair: -len(pair[0]))

    def normalize(value: str) -> str:
        for concrete, placeholder in table:
            if concrete and concrete in value:
                value = value.replace(concrete, placeholder)
        return normalize_arn_parts(value)

    def parse(value: Any, source: str) -> Policy | None:
        if isinstance(value, str) and value.strip().startswith("{"):
            try:
                return Policy(source, source, statements_from_json(json.loads(value), normalize, source))
            except json.JSONDecodeError:
                raise UsageError(f"malformed plan: {source} is not JSON", "re-export the plan") from None
        return None

    def from_config(address: str, attribute: str, source: str) -> Policy | None:
        """Unknown policy string: follow the configuration's reference to a policy document data source."""
        expressions = (config.get(address) or {}).get("expressions") or {}
        for ref in (expressions.get(attribute) or {}).get("references") or []:
            if ref.startswith("data.aws_iam_policy_document.") and ref.endswith(".json"):
                doc_address = ref[: -len(".json")]
                body = values.get(doc_address) or {}
                known = parse(body.get("json"), doc_address)
                if known:
                    return Policy(source, doc_address, known.statements)
                blocks = body.get("statement")
                if blocks:
                    marked = _mark_unknown(blocks, (unknown.get(doc_address) or {}).get("statement"))
                    return Policy(source, doc_address, statements_from_blocks(marked, normalize, doc_address))
        return None

    roles: dict[str, Role] = {}
    for address, body in values.items():
        if rtype(address) != "aws_iam_role" or address.startswith("data."):
            continue
        trust = parse(body.get("assume_role_policy"), address) or from_config(address, "assume_role_policy", address)
        role = Role(address=address, trust=trust)
        role.purpose = _purpose(role.services)
        roles[address] = role
        if role.purpose and body.get("arn"):
            table.insert(0, (body["arn"], ROLE_PLACEHOLDER.format(purpose=role.purpose)))
    by_name = {values[a].get("name"): a for a in roles if values[a].get("name")}

    def role_for(address: str, body: dict) -> Role | None:
        if body.get("role") in by_name:
            return roles[by_name[body["role"]]]
        expressions = (config.get(address) or {}).get("expressions") or {}
        for ref in (expressions.get("role") or {}).get("references") or []:
            if ref in roles:
                return roles[ref]
        return None

    for address, body in values.items():
        kind = rtype(address)
        if kind == "aws_iam_role_policy":
            role = role_for(address, body)
            found = parse(body.get("policy"), address) or from_config(address, "policy", address)
            if role is not None:
                (role.policies.append(found) if found else role.unverifiable.append(f"{address}: unknown until apply"))
                if found and any(UNKNOWN in s.resources for s in found.statements):
                    role.unverifiable.append(f"{found.document}: resources unknown until apply (verify the synthesized stack)")
        elif kind == "aws_iam_role_policy_attachment":
            role = role_for(address, body)
            if role is None:
                continue
            policy_refs = ((config.get(address) or {}).get("expressions") or {}).get("policy_arn", {}).get("references") or []
            target = next((r[: -len(".arn")] for r in policy_refs if r.startswith("aws_iam_policy.") and r.endswith(".arn")), None)
            if target is None:
                target = next((a for a, b in values.items() if rtype(a) == "aws_iam_policy" and b.get("arn") == body.get("policy_arn")), None)
            found = (parse((values.get(target) or {}).get("policy"), target) or from_config(target, "policy", target)) if target else None
            (role.policies.append(found) if found else role.unverifiable.append(f"{address}: {body.get('policy_arn')}"))
    for address, role in roles.items():
        for index, inline in enumerate(_as_list(values[address].get("inline_policy"))):
            found = parse(inline.get("policy"), f"{address}.inline_policy[{index}]") if isinstance(inline, dict) else None
            if found:
                role.policies.append(found)

    # Features, from planned values shaped like the configuration.
    by_type: dict[str, dict] = {}
    for address, body in values.items():
        if not address.startswith("data."):
            by_type.setdefault(rtype(address), {})[address] = body
    keys = []
    for address, body in values.items():
        if rtype(address) != "aws_kms_key" or address.startswith("data."):
            continue
        key_policy = parse(body.get("policy"), address) or from_config(address, "policy", address)
        groups = [
            group
            for group, group_body in values.items()
            if rtype(group) == "aws_cloudwatch_log_group"
            and (
                (body.get("arn") and group_body.get("kms_key_id") == body.get("arn"))
                or f"{address}.arn" in (((config.get(group) or {}).get("expressions") or {}).get("kms_key_id") or {}).get("references", [])
            )
        ]
        keys.append(Key(address=address, policy=key_policy, log_groups=groups))
    return Stack(source=str(path), roles=list(roles.values()), features=_features(by_type), keys=keys)


def _mark_unknown(blocks: list, unknown_blocks: Any) -> list:
    """Replace attributes the plan marks unknown with ``{unknown}`` so rules can tell, not guess."""
    marked = []
    for index, block in enumerate(blocks):
        flags = unknown_blocks[index] if isinstance(unknown_blocks, list) and index < len(unknown_blocks) else {}
        block = dict(block)
        for key in ("resources", "not_resources"):
            if flags.get(key) is True or (isinstance(flags.get(key), list) and any(flags[key])):
                block[key] = [UNKNOWN]
        marked.append(block)
    return marked


def references_in(value: str) -> list[str]:
    """Interpolated references in a string (for tests and reports)."""
    return [m.group(1) for m in INTERPOLATION.finditer(value) if split_reference(m.group(1))]
