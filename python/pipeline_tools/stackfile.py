"""Reading a synthesized stack (``cdk.tf.json``): the file, its state machine definitions."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .errors import UsageError
from .synthesis import stack_dir_of

_ARN_REFERENCE = re.compile(r"\$\{[^}]*\.arn\}")
_REFERENCE = re.compile(r"\$\{[^}]*\}")
PLACEHOLDER_ARN = "arn:aws:lambda:us-east-1:123456789012:function:placeholder"


def resolve_stack_dir(stack_dir: Path | None) -> Path:
    return Path(stack_dir) if stack_dir else stack_dir_of()


def load_stack(stack_dir: Path | None) -> dict:
    """The parsed cdk.tf.json, or a one-line UsageError naming the file and the fix."""
    path = resolve_stack_dir(stack_dir) / "cdk.tf.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path} not found", "run `pipeline-tools synth` first or pass --stack-dir") from None
    except ValueError as error:
        raise UsageError(f"{path} is not valid JSON: {error}", "re-run `pipeline-tools synth`") from None


def state_machine_definitions(stack: dict) -> dict[str, str]:
    """Resource name -> definition text (with Terraform references left in)."""
    machines = stack.get("resource", {}).get("aws_sfn_state_machine", {})
    return {name: body.get("definition", "") for name, body in machines.items()}


def with_placeholders(definition: str) -> str:
    """Replace Terraform references by plausible literals so ASL validators can read the document."""
    return _REFERENCE.sub("placeholder", _ARN_REFERENCE.sub(PLACEHOLDER_ARN, definition))
