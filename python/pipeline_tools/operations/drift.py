"""`pipeline-tools drift`: has the real infrastructure moved away from the last apply?

A refresh-only plan (``terraform plan -refresh-only``) reads every resource back and compares it
with the state, without proposing any change to the configuration. Exit code 2 is the drift
signal (as ``terraform plan -detailed-exitcode`` uses it), so CI can alert on it; note it is the
same number the CLI uses for usage errors, which always print an ``error:`` line instead.
"""

from __future__ import annotations

from ..errors import UsageError
from .stack import prepare, state_resources

DRIFT_PLAN_FILE = "tfplan-drift"
EXIT_DRIFT = 2


def _empty(value) -> bool:
    return value is None or value == {} or value == [] or value == ""


def changed_attributes(before, after, path: str = "") -> list[str]:
    """Dotted paths of the attributes that differ between two resource values. Null and empty
    ({}, [], "") count as equal: providers read an unset map back as {} and that is no drift."""
    if _empty(before) and _empty(after):
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[str] = []
        for key in sorted(set(before) | set(after)):
            found += changed_attributes(before.get(key), after.get(key), f"{path}.{key}" if path else key)
        return found
    return [] if before == after else [path or "(value)"]


def detect_drift(config_path, target, out_dir, plugin_dir, terraform_bin) -> list[str]:
    """One line per drifted resource: ``address: action (attr, attr)``; empty when none drifted."""
    terraform = prepare(config_path, target, out_dir, plugin_dir, terraform_bin)
    if not state_resources(terraform):
        raise UsageError(f"nothing is deployed to {target}", f"run `pipeline-tools deploy --target {target}` first")
    terraform.plan(DRIFT_PLAN_FILE, refresh_only=True)
    lines = []
    for drift in terraform.show_json(DRIFT_PLAN_FILE).get("resource_drift", []):
        change = drift["change"]
        actions = "/".join(change["actions"])
        if change["actions"] == ["delete"]:
            lines.append(f"{drift['address']}: deleted outside Terraform")
            continue
        attributes = [a for a in changed_attributes(change.get("before"), change.get("after")) if a]
        if not attributes:
            continue
        lines.append(f"{drift['address']}: {actions} ({', '.join(attributes[:6])}{', ...' if len(attributes) > 6 else ''})")
    return lines
