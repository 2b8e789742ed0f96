"""Reading an execution's access log from the running emulator (client side of issue 11's ``access.json``).

The server keeps every authorization decision made on an execution's behalf
(:mod:`pipeline_tools.emulator.authz.enforce`) and serves them at ``/_pipeline_tools/access``
while IAM enforcement is on. ``pipeline-tools run`` writes them to ``artifacts/<execution>/access.json``::

    {"execution": "run-...", "execution_arn": "arn:aws:states:...", "enforced": true,
     "decisions": [{"role": "arn:aws:iam::...:role/mlpipe-state-machine",
                    "principal": "arn:aws:sts::...:assumed-role/mlpipe-state-machine/run-...",
                    "action": "lambda:InvokeFunction", "resource": "arn:aws:lambda:...:function:...",
                    "decision": "allowed" | "explicit deny" | "implicit deny",
                    "statement": "role/mlpipe-state-machine inline ... statement InvokeGenerateDataset",
                    "policy_type": "identity-based", "via": "request", "count": 1,
                    "first": 1764300000.123, "last": 1764300000.123, "message": "(denials: AWS's words)"}]}
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

ACCESS_PATH = "/_pipeline_tools/access"


def fetch_access_log(state: dict[str, Any], execution_arn: str) -> dict[str, Any]:
    """``{"enforced": bool, "decisions": [...]}`` for ``execution_arn`` (enforced False: the
    emulator runs without IAM enforcement, so nothing was decided)."""
    context = ssl.create_default_context(cafile=str(state["ca_bundle"]))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
    url = f"{state['endpoint']}{ACCESS_PATH}?{urllib.parse.urlencode({'execution': execution_arn})}"
    try:
        with opener.open(url, timeout=10) as response:
            data = json.loads(response.read())
    except (OSError, ValueError):  # HTTPError (no such path: enforcement off) is an OSError
        return {"enforced": False, "decisions": []}
    if not isinstance(data, dict) or "decisions" not in data:
        return {"enforced": False, "decisions": []}
    out = {"enforced": bool(data.get("enforced")), "decisions": list(data["decisions"])}
    if "cost" in data:  # time the emulator spent authenticating and authorizing for the execution
        out["cost"] = data["cost"]
    return out


# Work AWS does as a role whose denial loses logs, metrics or traces but fails nothing
# (pipeline_tools.emulator.authz.service_side, fail=False).
NON_FAILING_VIA = frozenset(
    {"lambda writes logs and traces", "sagemaker writes job logs and metrics", "step functions delivers logs and traces"}
)


def first_denial(decisions: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first denied decision that fails work (in the order first seen), else the first denial."""
    denied = [d for d in decisions if d.get("decision") != "allowed"]
    return next((d for d in denied if d.get("via") not in NON_FAILING_VIA), denied[0] if denied else None)


HEALTH_PATH = "/_pipeline_tools/health"


def enforcement_of(state: dict[str, Any]) -> bool | None:
    """Whether the running emulator enforces IAM (its health probe lists the ``iam_enforce`` patch);
    None if it does not answer."""
    context = ssl.create_default_context(cafile=str(state["ca_bundle"]))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(f"{state['endpoint']}{HEALTH_PATH}", timeout=5) as response:
            return "iam_enforce" in json.loads(response.read()).get("patches", [])
    except (OSError, ValueError):
        return None


def mode_line(enforced: bool | None) -> str:
    if enforced is None:
        return "IAM enforcement: unknown (the emulator did not answer)"
    if enforced:
        return "IAM enforcement: on (every request authorized as its role; `pipeline-tools local up --no-iam` runs without)"
    return "IAM enforcement: off (`pipeline-tools local down`, then `pipeline-tools local up --iam` to enforce)"
