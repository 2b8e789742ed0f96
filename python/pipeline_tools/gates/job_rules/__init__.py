"""``scan``'s job rules (PTJ): the gate sees inside the state machine.

checkov reads Terraform resources; the SageMaker jobs and models a pipeline creates live inside its
state machine's definition, as the Parameters of its SageMaker tasks. These rules read every such
task of every ``aws_sfn_state_machine`` in the synthesized stack and hold it to the stack's own
standard: network isolation, the stack's VPC when its Lambda has one, inter-container traffic
encryption for more than one host, the stack's key on volumes and outputs when the stack has one, a
runtime limit, and a job role of the stack's.

One module per rule (checkov style, like verify-iam's PTI rules): ``RULE`` (a :class:`JobRule` naming
the AWS Security Hub control or AWS page it follows) and ``check(context)``, which yields one
:class:`Result` per task it applies to, passed or not. Ids are stable: new rules get new ids.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODULES = (
    "ptj001_network_isolation",
    "ptj002_vpc",
    "ptj003_inter_container_encryption",
    "ptj004_volume_key",
    "ptj005_output_key",
    "ptj006_max_runtime",
    "ptj007_job_role",
)

# arn:<partition>:states:::sagemaker:<api>[.sync|.waitForTaskToken]
# (https://docs.aws.amazon.com/step-functions/latest/dg/connect-sagemaker.html)
_SAGEMAKER_TASK = re.compile(r":states:::sagemaker:(?P<api>[A-Za-z]+)(?:\.(?:sync|waitForTaskToken))?$")
_REFERENCE = re.compile(r"^\$\{(?P<type>aws_[a-z0-9_]+)\.(?P<name>[^.}]+)\.(?P<attribute>[a-z_]+)\}$")
PROCESSING, TRAINING, TRANSFORM, MODEL = "createProcessingJob", "createTrainingJob", "createTransformJob", "createModel"


@dataclass(frozen=True)
class JobRule:
    id: str
    name: str
    severity: str  # high | medium | low
    applies_to: str  # which tasks, for the docs and SARIF
    description: str
    follows: str  # the AWS Security Hub control or AWS page the rule follows, as a reader would cite it
    url: str


@dataclass(frozen=True)
class SageMakerTask:
    """One SageMaker task of a state machine: which API it calls and what it passes."""

    machine: str  # aws_sfn_state_machine.<name>
    state: str
    api: str  # createProcessingJob, createTrainingJob, createTransformJob, createModel, ...
    parameters: dict[str, Any]

    @property
    def resource(self) -> str:
        return f"{self.machine}: {self.state}"


@dataclass(frozen=True)
class Result:
    rule: JobRule
    task: SageMakerTask
    passed: bool
    message: str  # what was found (a failure says what to set)


@dataclass
class Context:
    """What the rules judge: the tasks, and per state machine the stack's settings they must follow."""

    source: str
    tasks: list[SageMakerTask]
    keys: dict[str, str | None] = field(default_factory=dict)  # machine -> the stack's key (None: no customer key)
    networks: dict[str, tuple[list[str], list[str]] | None] = field(default_factory=dict)  # machine -> (subnets, groups)
    sagemaker_roles: set[str] = field(default_factory=set)  # aws_iam_role.<name> trusted by sagemaker.amazonaws.com

    def result(self, rule: JobRule, task: SageMakerTask, problem: str | None, ok: str = "") -> Result:
        return Result(rule, task, problem is None, problem or ok)


def literal(parameters: dict[str, Any], *path: str) -> Any:
    """The value at ``path`` in Parameters; a ``Key.$`` (set from the execution's input or context at
    run time) is returned as ``DYNAMIC``; absent: None."""
    node: Any = parameters
    for key in path:
        if not isinstance(node, dict):
            return None
        if key not in node and f"{key}.$" in node:
            return DYNAMIC
        node = node.get(key)
    return node


class _Dynamic:
    def __repr__(self) -> str:
        return "a value set at run time (.$)"


DYNAMIC = _Dynamic()


def show(value: Any) -> str:
    """A parameter value as a finding quotes it."""
    return "absent" if value is None else repr(value)


def several_hosts(count: Any) -> bool:
    """More than one host, or a count known only at run time."""
    return count is DYNAMIC or (isinstance(count, int) and count > 1)


def _reference(value: Any) -> tuple[str, str, str] | None:
    match = _REFERENCE.match(value) if isinstance(value, str) else None
    return (match["type"], match["name"], match["attribute"]) if match else None


def _as_dict(value: Any) -> dict:
    if isinstance(value, list):
        value = value[0] if value else {}
    return value if isinstance(value, dict) else {}


def load_context(path: Path) -> Context:
    """The tasks and settings of the synthesized stack at ``path`` (cdk.tf.json)."""
    from ...iam.loader import load_synth

    stack = json.loads(path.read_text(encoding="utf-8"))
    resources = stack.get("resource") or {}
    roles = {role.address for role in load_synth(path).roles if "sagemaker.amazonaws.com" in role.services}
    context = Context(source=str(path), tasks=[], sagemaker_roles=roles)
    bucket_keys = _bucket_keys(resources)
    functions = resources.get("aws_lambda_function") or {}
    for name, body in (resources.get("aws_sfn_state_machine") or {}).items():
        machine = f"aws_sfn_state_machine.{name}"
        try:
            definition = json.loads(body.get("definition") or "{}")
        except (TypeError, json.JSONDecodeError):
            continue  # not a literal definition (e.g. a templatefile()): nothing to read offline
        states = list(_states(definition))
        for state_name, state in states:
            match = _SAGEMAKER_TASK.search(str(state.get("Resource", "")))
            if state.get("Type") == "Task" and match:
                context.tasks.append(SageMakerTask(machine, state_name, match["api"], state.get("Parameters") or {}))
        text = body.get("definition") or ""
        used = {ref for ref in re.findall(r"\$\{aws_s3_bucket\.([^.}]+)\.", text)}
        keys = {bucket_keys[b] for b in used if b in bucket_keys}
        if len(keys) != 1:
            keys = set(bucket_keys.values()) if len(set(bucket_keys.values())) == 1 else keys
        context.keys[machine] = next(iter(keys)) if len(keys) == 1 else None
        invoked = {f for f in re.findall(r"\$\{aws_lambda_function\.([^.}]+)\.arn\}", text)}
        network = None
        for function in sorted(invoked):
            vpc = _as_dict((functions.get(function) or {}).get("vpc_config"))
            if vpc.get("subnet_ids"):
                network = (list(vpc.get("subnet_ids") or []), list(vpc.get("security_group_ids") or []))
        context.networks[machine] = network
    return context


def _bucket_keys(resources: dict) -> dict[str, str | None]:
    """bucket resource name -> the customer key its default encryption uses (None: SSE-S3)."""
    out: dict[str, str | None] = {}
    for body in (resources.get("aws_s3_bucket_server_side_encryption_configuration") or {}).values():
        reference = _reference(body.get("bucket"))
        if not reference or reference[0] != "aws_s3_bucket":
            continue
        key = None
        for rule in body.get("rule") or []:
            default = _as_dict(rule.get("apply_server_side_encryption_by_default"))
            if default.get("sse_algorithm") in ("aws:kms", "aws:kms:dsse") and default.get("kms_master_key_id"):
                key = default["kms_master_key_id"]
        out[reference[1]] = key
    return out


def _states(definition: dict) -> Iterable[tuple[str, dict]]:
    """Every state, including those inside Parallel branches and Map iterators."""
    for name, state in (definition.get("States") or {}).items():
        if not isinstance(state, dict):
            continue
        yield name, state
        for branch in state.get("Branches") or []:
            yield from _states(branch)
        for inner in (state.get("Iterator"), state.get("ItemProcessor")):
            if isinstance(inner, dict):
                yield from _states(inner)


def all_rules() -> list[tuple[JobRule, Any]]:
    modules = [importlib.import_module(f"{__name__}.{name}") for name in MODULES]
    return [(module.RULE, module) for module in modules]


def run_rules(context: Context) -> list[Result]:
    results: list[Result] = []
    for _rule, module in all_rules():
        results.extend(module.check(context))
    return sorted(results, key=lambda r: (r.rule.id, r.task.machine, r.task.state))


def scan_jobs(stack_file: Path) -> tuple[Context, list[Result]]:
    context = load_context(stack_file)
    return context, run_rules(context)
