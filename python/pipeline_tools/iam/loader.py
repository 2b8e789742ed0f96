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
from .minimum import Features, Layout
from .model import Condition, Key, Policy, Role, Stack, Statement
from .normalize import INTERPOLATION, ROLE_PLACEHOLDER, Normalizer, normalize_arn_parts, split_reference

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


_PASSED = re.compile(r'"(RoleArn|ExecutionRoleArn)"\s*:\s*"\$\{aws_iam_role\.([^.}]+)\.arn\}"')


def _passed_roles(resources: dict) -> dict[str, set[str]]:
    """Role logical name -> the parameters the stack's state machine definitions pass it in."""
    out: dict[str, set[str]] = {}
    for body in (resources.get("aws_sfn_state_machine") or {}).values():
        definition = str(body.get("definition", "")) if isinstance(body, dict) else ""
        for parameter, name in _PASSED.findall(definition.replace('\\"', '"')):
            out.setdefault(name, set()).add(parameter)
    return out


def _purpose(role: Role, features: set[str] | None = None, passed_as: set[str] | None = None) -> str | None:
    """The role's key in the documented minimum: by its trust's service principal and, where two
    documented roles trust one service, by how the state machine passes it and its trust's
    aws:SourceArn (minimum.purpose_of)."""
    from .minimum import purpose_of

    values = [
        value
        for statement in (role.trust.statements if role.trust else ())
        if statement.allows
        for condition in statement.conditions
        if condition.variable.lower() == "aws:sourcearn"
        for value in condition.values
    ]
    return purpose_of(role.services, values, features, passed_as)


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
    """Every role (with its trust and attached policies) and KMS key a synthesized stack declares."""
    return _SynthReader(_check_type(_read_json(path, "stack"), dict, "cdk.tf.json")).stack(str(path))


class _SynthReader:
    """Reads a cdk.tf.json in three passes: trust policies first (they decide each role's purpose,
    by which role ARNs are then named), then the policies attached to the roles, then the keys."""

    def __init__(self, doc: dict) -> None:
        self.resources = _check_type(doc.get("resource", {}), dict, "resource")
        data = _check_type(doc.get("data", {}), dict, "data")
        self.documents = _check_type(data.get("aws_iam_policy_document", {}), dict, "data.aws_iam_policy_document")
        self.raw_roles = _check_type(self.resources.get("aws_iam_role", {}), dict, "resource.aws_iam_role")
        self.features = _features(self.resources)
        self.passed = _passed_roles(self.resources)
        self.roles = self._roles_by_trust()
        self.by_literal_name = {str(b.get("name")): n for n, b in self.raw_roles.items() if isinstance(b, dict) and b.get("name")}
        self.log_group_purpose = _log_group_purposes(self.resources)
        self.normalize = _with_input_key(Normalizer(self._special).resource, self.resources)

    def stack(self, source: str) -> Stack:
        self._attach_role_policies()
        return Stack(source=source, roles=list(self.roles.values()), features=self.features, keys=self._keys())

    # -- policy documents ------------------------------------------------------------------------

    def document_statements(self, name: str, normalize, seen: tuple[str, ...] = ()) -> tuple[Statement, ...]:
        """A policy document data source's statements, with its source/override documents merged in."""
        if name not in self.documents:
            raise UsageError(f"malformed stack: data.aws_iam_policy_document.{name} is referenced but not defined", "re-run `pipeline-tools synth`")
        block = _check_type(self.documents[name], dict, f"data.aws_iam_policy_document.{name}")
        merged: list[Statement] = []
        for key in ("source_policy_documents", "override_policy_documents"):
            for ref in _as_list(block.get(key)):
                match = _DOC_REF.match(str(ref))
                if match and match.group(1) not in seen:
                    merged += self.document_statements(match.group(1), normalize, seen + (name,))
        own = statements_from_blocks(block.get("statement"), normalize, f"data.aws_iam_policy_document.{name}")
        statements = merged + list(own)
        return tuple(Statement(**{**s.__dict__, "index": i}) for i, s in enumerate(statements))

    def policy(self, value: Any, source: str, normalize) -> Policy | None:
        """A policy value: a reference to a document data source, or JSON (maybe with interpolations
        inside its strings, as a key policy on aws_kms_key has: they become placeholders). None: an
        expression that cannot be evaluated offline."""
        text = str(value)
        match = _DOC_REF.match(text)
        if match:
            name = match.group(1)
            return Policy(source, f"data.aws_iam_policy_document.{name}", self.document_statements(name, normalize))
        if text.lstrip().startswith("{") or "${" not in text:
            try:
                parsed = json.loads(INTERPOLATION.sub(lambda m: normalize("${" + m.group(1) + "}"), text))
            except json.JSONDecodeError:
                if "${" in text:
                    return None
                raise UsageError(f"malformed stack: {source} holds a policy that is not JSON", "re-run `pipeline-tools synth`") from None
            return Policy(source, source, statements_from_json(parsed, normalize, source))
        return None

    # -- roles ----------------------------------------------------------------------------------

    def _roles_by_trust(self) -> dict[str, Role]:
        plain = Normalizer().resource
        roles: dict[str, Role] = {}
        for name, body in self.raw_roles.items():
            _check_type(body, dict, f"aws_iam_role.{name}")
            address = f"aws_iam_role.{name}"
            trust = self.policy(body["assume_role_policy"], address, plain) if body.get("assume_role_policy") else None
            role = Role(address=address, trust=trust, name=str(body["name"]) if body.get("name") else None)
            role.purpose = _purpose(role, self.features, self.passed.get(name))
            roles[name] = role
        return roles

    def _special(self, kind: str, name: str, attribute: str) -> str | None:
        """Stack-specific placeholders: a role's ARN by its purpose, a log group's by its user."""
        if kind == "aws_iam_role" and attribute == "arn" and name in self.roles:
            return ROLE_PLACEHOLDER.format(purpose=self.roles[name].purpose or name)
        if kind == "aws_cloudwatch_log_group" and attribute == "arn":
            return self.log_group_purpose.get(name, "{log_group_arn}")
        return None

    def _role_of(self, value: Any) -> Role | None:
        match = _ROLE_REF.match(str(value))
        if match:
            return self.roles.get(match.group(1))
        return self.roles.get(self.by_literal_name.get(str(value), ""))

    def _attach(self, role: Role | None, value: Any, source: str) -> None:
        if role is None:
            return
        found = self.policy(value, source, self.normalize)
        if found is None:
            role.unverifiable.append(f"{source}: {value}")
        else:
            role.policies.append(found)

    def _attach_role_policies(self) -> None:
        """Inline policies, aws_iam_role_policy and aws_iam_policy attachments; managed policies by ARN
        cannot be read offline and are recorded as unverifiable."""
        for name, body in self.raw_roles.items():
            for index, inline in enumerate(_as_list(body.get("inline_policy"))):
                if isinstance(inline, dict) and inline.get("policy"):
                    self._attach(self.roles[name], inline["policy"], f"aws_iam_role.{name}.inline_policy[{index}]")
            for arn in _as_list(body.get("managed_policy_arns")):
                self.roles[name].unverifiable.append(f"aws_iam_role.{name}.managed_policy_arns: {arn}")
        for name, body in _check_type(self.resources.get("aws_iam_role_policy", {}), dict, "aws_iam_role_policy").items():
            self._attach(self._role_of(body.get("role")), body.get("policy", ""), f"aws_iam_role_policy.{name}")
        managed = _check_type(self.resources.get("aws_iam_policy", {}), dict, "aws_iam_policy")
        attachments = _check_type(self.resources.get("aws_iam_role_policy_attachment", {}), dict, "aws_iam_role_policy_attachment")
        for name, body in attachments.items():
            role = self._role_of(body.get("role"))
            match = _POLICY_ARN_REF.match(str(body.get("policy_arn", "")))
            if match and match.group(1) in managed:
                self._attach(role, managed[match.group(1)].get("policy", ""), f"aws_iam_policy.{match.group(1)}")
            elif role is not None:
                role.unverifiable.append(f"aws_iam_role_policy_attachment.{name}: {body.get('policy_arn')}")

    # -- keys -----------------------------------------------------------------------------------

    def _keys(self) -> list[Key]:
        """Each aws_kms_key with its key policy and the log groups it encrypts."""
        groups = self.resources.get("aws_cloudwatch_log_group") or {}
        keys = []
        for name, body in _check_type(self.resources.get("aws_kms_key", {}), dict, "aws_kms_key").items():
            address = f"aws_kms_key.{name}"
            key_policy = self.policy(body["policy"], address, self.normalize) if body.get("policy") else None
            encrypted = [
                f"aws_cloudwatch_log_group.{group}"
                for group, group_body in groups.items()
                if isinstance(group_body, dict) and (m := _KEY_REF.match(str(group_body.get("kms_key_id", "")))) and m.group(1) == name
            ]
            keys.append(Key(address=address, policy=key_policy, log_groups=encrypted))
        return keys


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


# The state machine's tags that declare where its jobs read and write (parts/state_machine.py):
# literal values, so known in a plan too, where the definition (it names the bucket) is not yet.
TAG = "sfn-ml-pipeline:"
OUTPUTS_TAG, CHANNELS_TAG = f"{TAG}outputs", f"{TAG}channels"
INPUT_TAG, INPUT_KMS_TAG = f"{TAG}input", f"{TAG}input-kms-key"
EVALUATION_TAG, APPROVAL_TAG = f"{TAG}evaluation", f"{TAG}approval-status"  # [quality_gate]


def _layout(resources: dict) -> tuple[Layout, set[str]]:
    """The data layout the stack declares and the features it implies: the processing outputs and
    training channels (runs/<execution>/<name>/), your data and its key (the state machine's
    ``sfn-ml-pipeline:*`` tags; without them, the sample's train/ only), and the Generate dataset
    function (a Lambda function in the stack)."""
    outputs: list[str] = []
    channels: list[str] = []
    values: list[tuple[str, str]] = []
    features: set[str] = set()
    for body in (resources.get("aws_sfn_state_machine") or {}).values():
        tags = body.get("tags") if isinstance(body, dict) and isinstance(body.get("tags"), dict) else {}
        outputs += [n for n in str(tags.get(OUTPUTS_TAG, "")).split() if n not in outputs]
        channels += [n for n in str(tags.get(CHANNELS_TAG, "")).split() if n not in channels]
        uri = str(tags.get(INPUT_TAG) or "")
        if uri.startswith("s3://"):
            bucket, _, prefix = uri.removeprefix("s3://").partition("/")
            features.add("own_input")
            values += [("{input_bucket_arn}", f"arn:{{partition}}:s3:::{bucket}"), ("{input_prefix}", prefix)]
        if tags.get(INPUT_KMS_TAG):
            features.add("input_kms")  # policies name it {input_kms_key_arn} (_with_input_key), as the table does
        if tags.get(EVALUATION_TAG) in ("holdout", "test"):  # Evaluate model judges the held-out split or your test output
            features.update({"evaluation", f"evaluation_{tags[EVALUATION_TAG]}"})
        if tags.get(APPROVAL_TAG):  # the quality gate registers passing models with this status
            features.add("quality_gate")
            values.append(("{approval_status}", str(tags[APPROVAL_TAG])))
    if "holdout" in outputs:
        features.add("holdout")  # the sample's batch transform stage: transform.py's held-out rows
    if resources.get("aws_lambda_function"):
        features.add("generated_dataset")
    return Layout(tuple(outputs) or ("train",), tuple(channels) or ("train",), tuple(values)), features


def _input_key(resources: dict) -> str | None:
    """The key of your data's objects, as the state machine's tag declares it."""
    for body in (resources.get("aws_sfn_state_machine") or {}).values():
        tags = body.get("tags") if isinstance(body, dict) and isinstance(body.get("tags"), dict) else {}
        if tags.get(INPUT_KMS_TAG):
            return str(tags[INPUT_KMS_TAG])
    return None


def _with_input_key(normalize, resources: dict):
    """``normalize`` that names your data's key ``{input_kms_key_arn}`` (any other literal key ARN is
    the stack's ``{kms_key_arn}``: normalize_arn_parts)."""
    key = _input_key(resources)
    if key is None:
        return normalize
    return lambda value: "{input_kms_key_arn}" if value == key else normalize(value)


def _features(resources: dict) -> Features:
    """Which optional parts of the documented minimum apply (customer KMS key, logging, tracing, the
    batch transform stage, the generated dataset or your data, the user's VPC), with the stack's data layout."""
    layout, features = _layout(resources)
    text = json.dumps(resources)
    if resources.get("aws_kms_key") or re.search(r'"kms_master_key_id": "[^"]+"', text):
        features.add("kms")
    for body in (resources.get("aws_sfn_state_machine") or {}).values():
        if "sagemaker:createTransformJob" in str(body.get("definition", "")):
            features.add("batch_transform")
        if _as_list(body.get("logging_configuration")):
            features.add("sfn_logging")
        tracing = body.get("tracing_configuration")
        tracing = tracing[0] if isinstance(tracing, list) and tracing else tracing
        if isinstance(tracing, dict) and tracing.get("enabled") in (True, "true"):
            features.add("sfn_tracing")
    for body in (resources.get("aws_lambda_function") or {}).values():
        if _as_list(body.get("vpc_config")):
            features.add("network")  # [network]: the function and the jobs in the user's subnets
        tracing = body.get("tracing_config")
        tracing = tracing[0] if isinstance(tracing, list) and tracing else tracing
        if isinstance(tracing, dict) and str(tracing.get("mode", "")).lower() == "active":
            features.add("lambda_tracing")
    return Features(features, layout)


# --- plan JSON (terraform show -json) ------------------------------------------------------------------


def _walk_module(module: dict | None) -> list[dict]:
    if not isinstance(module, dict):
        return []
    found = list(module.get("resources") or [])
    for child in module.get("child_modules") or []:
        found += _walk_module(child)
    return found


def load_plan(path: Path) -> Stack:
    """Every role and KMS key in a ``terraform show -json`` plan."""
    plan = _read_json(path, "plan")
    if not isinstance(plan, dict) or "format_version" not in plan or not (
        "planned_values" in plan or "resource_changes" in plan
    ):
        raise UsageError(f"{path} is not a Terraform plan in JSON", "export it with `terraform show -json PLANFILE > plan.json`")
    return _PlanReader(plan).stack(str(path))


# The module path of a resource address in a plan: "module.pipeline." or "module.a[0].module.b." (a root
# module calling the exported module, `pipeline-tools module export`); "" at the root.
_MODULE_PATH = re.compile(r"^(?:module\.[^.\[]+(?:\[[^\]]*\])?\.)*")


def _module_path(address: str) -> str:
    return _MODULE_PATH.match(address).group(0)


def _local(address: str) -> str:
    """The address inside its module (``module.pipeline.aws_s3_bucket.b`` -> ``aws_s3_bucket.b``), the form
    the configuration's addresses and references take."""
    return address[len(_module_path(address)):]


def _walk_configuration(module: dict | None, path: str = "") -> dict[str, dict]:
    """The configuration's resources by address, those of called modules under ``module.<name>.``
    (instance keys left out: the configuration has one body per module call)."""
    if not isinstance(module, dict):
        return {}
    found = {path + str(r.get("address")): r for r in module.get("resources") or []}
    for name, call in (module.get("module_calls") or {}).items():
        found |= _walk_configuration((call or {}).get("module"), f"{path}module.{name}.")
    return found


def _rtype(address: str) -> str:
    """``module.m.aws_iam_role.r`` -> ``aws_iam_role``; ``data.x.y`` -> ``data.x``."""
    parts = address.split(".")
    while len(parts) > 2 and parts[0] == "module":  # module.<name>.<type>.<name>
        parts = parts[2:]
    return f"data.{parts[1]}" if parts[0] == "data" else parts[0]


class _PlanReader:
    """Reads a plan: values by address (planned over prior state), then ARNs known in the plan become
    placeholders, then roles (trust first), their policies, and the keys. A policy unknown until
    apply is followed through the configuration to its document data source."""

    def __init__(self, plan: dict) -> None:
        # address -> values, planned values win over prior state; unknown attributes recorded per address.
        self.values: dict[str, dict] = {}
        self.unknown: dict[str, dict] = {}
        for entry in _walk_module(((plan.get("prior_state") or {}).get("values") or {}).get("root_module")):
            self.values[entry["address"]] = entry.get("values") or {}
        for entry in _walk_module((plan.get("planned_values") or {}).get("root_module")):
            self.values[entry["address"]] = entry.get("values") or {}
        for change in plan.get("resource_changes") or []:
            after = (change.get("change") or {}).get("after")
            address = change.get("address", "")
            if isinstance(after, dict):
                self.values.setdefault(address, after)
            self.unknown[address] = (change.get("change") or {}).get("after_unknown") or {}
        self.config = _walk_configuration((plan.get("configuration") or {}).get("root_module"))
        self.table = self._placeholder_table()
        self.features = _features(self._by_type())
        self.roles = self._roles_by_trust()
        self.by_name = {self.values[a].get("name"): a for a in self.roles if self.values[a].get("name")}

    def stack(self, source: str) -> Stack:
        self._attach_role_policies()
        return Stack(source=source, roles=list(self.roles.values()), features=self.features, keys=self._keys())

    def _by_type(self) -> dict[str, dict]:
        by_type: dict[str, dict] = {}
        for address, body in self.values.items():
            if not _local(address).startswith("data."):
                by_type.setdefault(_rtype(address), {})[address] = body
        return by_type

    # -- concrete values -> placeholders ---------------------------------------------------------

    def _placeholder_table(self) -> list[tuple[str, str]]:
        """Concrete ARNs known in the plan -> placeholders (longest first)."""
        table: list[tuple[str, str]] = []
        for address, body in self.values.items():
            # Partition and region are left to normalize_arn_parts: replacing "aws" inside every string would
            # mangle service principals such as sagemaker.amazonaws.com.
            for attribute in ("arn", "account_id", "bucket", "model_package_group_name"):
                value = body.get(attribute)
                if not isinstance(value, str) or not value:
                    continue
                placeholder = Normalizer().reference(f"{_local(address)}.{attribute}")
                if not placeholder.startswith(("{aws_", "{data.")):
                    table.append((value, placeholder))
        groups = {a.split(".", 1)[1]: b for a, b in self.values.items() if _rtype(a) == "aws_cloudwatch_log_group"}
        for name, placeholder in _log_group_purposes({"aws_cloudwatch_log_group": groups}).items():
            if groups[name].get("arn"):
                table.append((groups[name]["arn"].removesuffix(":*"), placeholder))
        by_type = {"aws_sfn_state_machine": {a: b for a, b in self.values.items() if _rtype(a) == "aws_sfn_state_machine"}}
        if _input_key(by_type):
            table.append((_input_key(by_type), "{input_kms_key_arn}"))
        table.sort(key=lambda pair: -len(pair[0]))
        return table

    def normalize(self, value: str) -> str:
        for concrete, placeholder in self.table:
            if concrete and concrete in value:
                value = value.replace(concrete, placeholder)
        return normalize_arn_parts(value)

    # -- policies -------------------------------------------------------------------------------

    def parse(self, value: Any, source: str) -> Policy | None:
        if isinstance(value, str) and value.strip().startswith("{"):
            try:
                return Policy(source, source, statements_from_json(json.loads(value), self.normalize, source))
            except json.JSONDecodeError:
                raise UsageError(f"malformed plan: {source} is not JSON", "re-export the plan") from None
        return None

    def expressions(self, address: str) -> dict:
        """The configuration's expressions of a resource (in a called module too)."""
        path = re.sub(r"\[[^\]]*\]", "", _module_path(address))
        return (self.config.get(path + re.sub(r"\[[^\]]*\]$", "", _local(address))) or {}).get("expressions") or {}

    def references(self, address: str, attribute: str) -> list[str]:
        """What an attribute's expression references, as addresses beside ``address`` (its module's path)."""
        path = _module_path(address)
        return [path + ref for ref in (self.expressions(address).get(attribute) or {}).get("references") or []]

    def from_config(self, address: str, attribute: str, source: str) -> Policy | None:
        """Unknown policy string: follow the configuration's reference to a policy document data source."""
        for ref in self.references(address, attribute):
            if _local(ref).startswith("data.aws_iam_policy_document.") and ref.endswith(".json"):
                doc_address = ref[: -len(".json")]
                body = self.values.get(doc_address) or {}
                known = self.parse(body.get("json"), doc_address)
                if known:
                    return Policy(source, doc_address, known.statements)
                blocks = body.get("statement")
                if blocks:
                    marked = _mark_unknown(blocks, (self.unknown.get(doc_address) or {}).get("statement"))
                    return Policy(source, doc_address, statements_from_blocks(marked, self.normalize, doc_address))
        return None

    def policy_of(self, address: str, attribute: str) -> Policy | None:
        return self.parse(self.values.get(address, {}).get(attribute), address) or self.from_config(address, attribute, address)

    # -- roles ----------------------------------------------------------------------------------

    def _roles_by_trust(self) -> dict[str, Role]:
        roles: dict[str, Role] = {}
        for address, body in self.values.items():
            if _rtype(address) != "aws_iam_role" or _local(address).startswith("data."):
                continue
            role = Role(address=address, trust=self.policy_of(address, "assume_role_policy"), name=body.get("name") or None)
            role.purpose = _purpose(role, self.features)
            roles[address] = role
            if role.purpose and body.get("arn"):
                self.table.insert(0, (body["arn"], ROLE_PLACEHOLDER.format(purpose=role.purpose)))
        return roles

    def _role_for(self, address: str, body: dict) -> Role | None:
        if body.get("role") in self.by_name:
            return self.roles[self.by_name[body["role"]]]
        for ref in self.references(address, "role"):
            if ref in self.roles:
                return self.roles[ref]
        return None

    def _attachment_target(self, address: str, body: dict) -> str | None:
        """The aws_iam_policy an attachment attaches: by configuration reference, else by ARN."""
        policy_refs = self.references(address, "policy_arn")
        target = next((r[: -len(".arn")] for r in policy_refs if _local(r).startswith("aws_iam_policy.") and r.endswith(".arn")), None)
        if target is None:
            target = next((a for a, b in self.values.items() if _rtype(a) == "aws_iam_policy" and b.get("arn") == body.get("policy_arn")), None)
        return target

    def _attach_role_policies(self) -> None:
        for address, body in self.values.items():
            kind = _rtype(address)
            if kind == "aws_iam_role_policy":
                role = self._role_for(address, body)
                found = self.policy_of(address, "policy")
                if role is not None:
                    (role.policies.append(found) if found else role.unverifiable.append(f"{address}: unknown until apply"))
                    if found and any(UNKNOWN in s.resources for s in found.statements):
                        role.unverifiable.append(f"{found.document}: resources unknown until apply (verify the synthesized stack)")
            elif kind == "aws_iam_role_policy_attachment":
                role = self._role_for(address, body)
                if role is None:
                    continue
                target = self._attachment_target(address, body)
                found = self.policy_of(target, "policy") if target else None
                (role.policies.append(found) if found else role.unverifiable.append(f"{address}: {body.get('policy_arn')}"))
        for address, role in self.roles.items():
            for index, inline in enumerate(_as_list(self.values[address].get("inline_policy"))):
                found = self.parse(inline.get("policy"), f"{address}.inline_policy[{index}]") if isinstance(inline, dict) else None
                if found:
                    role.policies.append(found)

    # -- keys -----------------------------------------------------------------------------------

    def _keys(self) -> list[Key]:
        keys = []
        for address, body in self.values.items():
            if _rtype(address) != "aws_kms_key" or _local(address).startswith("data."):
                continue
            encrypted = [
                group
                for group, group_body in self.values.items()
                if _rtype(group) == "aws_cloudwatch_log_group"
                and (
                    (body.get("arn") and group_body.get("kms_key_id") == body.get("arn"))
                    or f"{address}.arn" in self.references(group, "kms_key_id")
                )
            ]
            keys.append(Key(address=address, policy=self.policy_of(address, "policy"), log_groups=encrypted))
        return keys


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
