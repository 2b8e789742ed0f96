"""Two Step Functions API calls moto 5.2.5 does not implement, which terraform's AWS provider makes.

What moto lacks: ``ValidateStateMachineDefinition`` and ``ListStateMachineVersions`` answer
500 (not implemented). The provider calls the first before creating or updating an
``aws_sfn_state_machine`` and the second when reading one, and retries 500s for minutes.

The patch adds both actions to ``StepFunctionResponse``:

* ``ValidateStateMachineDefinition`` runs ``statelint`` (the AWS-published ASL linter, completed
  for JSONata and variables by :mod:`pipeline_tools.gates.asl_lint`) and returns its findings as ``ERROR`` diagnostics (``result: FAIL``), or ``result: OK``; a
  definition that is not JSON gives ``INVALID_JSON_DESCRIPTION`` as AWS does.
* ``ListStateMachineVersions`` lists the versions moto already keeps for a state machine
  (``publish=true``), newest first.

And one bug on the way: with execution enabled, ``StartExecution`` without a ``name`` names
the execution ``"None"``, so a second unnamed start fails with ExecutionAlreadyExists. AWS
generates a UUID; so does the patch.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

MAX_DIAGNOSTICS = 100


def validate_definition(definition: str, max_results: int | None = None) -> dict[str, Any]:
    """The ValidateStateMachineDefinition answer for ``definition`` (pure: used by tests too)."""
    try:
        parsed = json.loads(definition)
    except (TypeError, ValueError) as error:
        diagnostics = [
            {"severity": "ERROR", "code": "INVALID_JSON_DESCRIPTION", "message": f"Invalid JSON: {error}", "location": "/"}
        ]
        return {"result": "FAIL", "diagnostics": diagnostics, "truncated": False}
    from ...gates.asl_lint import lint

    problems = lint(parsed) if isinstance(parsed, dict) else ["the definition must be a JSON object"]
    diagnostics = [
        {"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": problem, "location": _location(problem)}
        for problem in problems
    ]
    limit = max_results or MAX_DIAGNOSTICS
    return {
        "result": "FAIL" if diagnostics else "OK",
        "diagnostics": diagnostics[:limit],
        "truncated": len(diagnostics) > limit,
    }


def _location(problem: str) -> str:
    # statelint names the place as "State Machine.States.X.Next"; turn it into a JSON pointer.
    found = re.search(r"State Machine((?:\.[^\s.]+)*)", problem)
    return "/" + "/".join(found.group(1).split(".")[1:]) if found else "/"


def apply() -> None:
    from moto.core.responses import ActionResult
    from moto.stepfunctions.responses import StepFunctionResponse

    def validate_state_machine_definition(self: StepFunctionResponse) -> ActionResult:
        return ActionResult(validate_definition(self._get_param("definition"), self._get_int_param("maxResults")))

    def list_state_machine_versions(self: StepFunctionResponse) -> ActionResult:
        arn = self._get_param("stateMachineArn")
        machine = self.stepfunction_backend.describe_state_machine(arn)
        versions = sorted(getattr(machine, "versions", {}).values(), key=lambda v: v.version, reverse=True)
        return ActionResult(
            {
                "stateMachineVersions": [
                    {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date} for v in versions
                ]
            }
        )

    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original_start = StepFunctionsParserBackend.start_execution

    def start_execution(self: Any, state_machine_arn: str, name: Any = None, *args: Any, **kwargs: Any) -> Any:
        return original_start(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    StepFunctionsParserBackend.start_execution = start_execution
    StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition
    StepFunctionResponse.list_state_machine_versions = list_state_machine_versions
