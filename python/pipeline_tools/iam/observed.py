"""What runs used (``verify-iam --observed DIR...``): the access logs the local emulator records.

Each run of the pipeline on the local emulator with IAM enforcement writes
``artifacts/<execution>/access.json`` (see :mod:`pipeline_tools.emulator.access`): every
authorization decision made on the execution's behalf, with the role, the service that assumed
it, the action, the resource and the statement that decided. :func:`load_observed` reads those
files; rules PTI015-PTI017 compare them with the documented minimum and the stack's grants.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .minimum import Entry, RoleMinimum, service_to_purpose

ACCESS_FILE = "access.json"


def _access_files(directory: Path) -> list[Path]:
    if (directory / ACCESS_FILE).is_file():
        return [directory / ACCESS_FILE]
    return sorted(directory.glob(f"*/{ACCESS_FILE}"))


def load_observed(directories: list[Path], roles: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Every decision of every access.json in ``directories`` (a run's artifacts directory, or a
    directory of them), with ``execution`` and ``purpose`` (state_machine, sagemaker, ...) added: the
    purpose of the stack's role of that name (``roles``: role name -> purpose), else the one its
    service stands for."""
    purposes = service_to_purpose()
    roles = roles or {}
    decisions: list[dict[str, Any]] = []
    for directory in directories:
        files = _access_files(Path(directory))
        if not files:
            raise UsageError(f"no {ACCESS_FILE} in {directory}", "pass artifacts/<execution> directories of runs on the local emulator")
        for path in files:
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError) as error:
                raise UsageError(f"{path} is not readable JSON: {error}", "re-run the execution to write it again") from None
            if not data.get("enforced"):
                raise UsageError(
                    f"{path}: the run was made without IAM enforcement, so it proves nothing",
                    "run again on an emulator with enforcement on (`pipeline-tools local up`, without --no-iam)",
                )
            for decision in data.get("decisions", []):
                name = str(decision.get("role") or "").rsplit("/", 1)[-1]
                purpose = roles.get(name) or purposes.get(decision.get("service") or "")
                decisions.append({**decision, "execution": data.get("execution"), "purpose": purpose})
    return decisions


def pattern_matches(pattern: str, resource: str) -> bool:
    """A documented resource pattern against a concrete ARN: its ``{placeholders}`` (the stack's own
    names: bucket, function, account...) and ``*`` match any text, ``?`` one character."""
    regex = "".join(
        ".*" if part == "*" else "." if part == "?" else ".*" if part.startswith("{") else re.escape(part)
        for part in re.split(r"(\{[a-z_]+\}|\*|\?)", pattern)
        if part
    )
    return re.fullmatch(regex, resource, re.IGNORECASE) is not None


def documented_entry(minimum: RoleMinimum, action: str, resource: str, features: set[str]) -> Entry | None:
    for entry in minimum.active(features):
        if entry.action.lower() == action.lower() and any(pattern_matches(p, resource) for p in entry.resources):
            return entry
    return None
