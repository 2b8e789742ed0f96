"""`pipeline-tools local env`: the environment that points standard AWS tooling at the emulator.

One set of variables serves the AWS CLI (v1 and v2: botocore), boto3 scripts, the AWS SDKs and
Terraform's AWS provider (aws-sdk-go-v2 underneath), because they all read the same standard
settings (sources in docs/terraform-workflow.md, "Your own tools on the local target"):

* ``AWS_ENDPOINT_URL``: the base endpoint for every service (botocore >= 1.31 / AWS CLI,
  aws-sdk-go-v2 and so the provider, which also takes ``AWS_ENDPOINT_URL_<SERVICE>``; a
  service-specific variable wins over the base one, so any the caller has set are unset here);
* ``AWS_CA_BUNDLE``: the emulator's CA, so TLS stays verified;
* ``AWS_REGION`` and ``AWS_DEFAULT_REGION`` (botocore reads the latter, the Go SDK either);
* the emulator's throwaway static credentials, which come first in every credential chain;
* ``AWS_EC2_METADATA_DISABLED=true``: nothing waits for an instance metadata service.

Unset, because each would take the tools elsewhere or break the request: ``AWS_PROFILE`` and
``AWS_DEFAULT_PROFILE`` (a profile's credentials or role), ``AWS_SESSION_TOKEN`` and
``AWS_SECURITY_TOKEN`` (a real session token sent with the throwaway keys),
``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` (makes every tool ignore ``AWS_ENDPOINT_URL``),
``AWS_USE_FIPS_ENDPOINT`` and ``AWS_USE_DUALSTACK_ENDPOINT`` (FIPS/dual-stack endpoints instead).

S3 needs no path-style switch: with an IP-address endpoint (``https://127.0.0.1:PORT``) botocore and
aws-sdk-go-v2 address buckets in the path, since a bucket cannot be a sub-domain of an IP address.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .state import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY

SHELLS = ("bash", "zsh", "fish", "powershell")
# Set by `local env`, removed by `local env --unset`.
SET_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_CA_BUNDLE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_EC2_METADATA_DISABLED",
)
# Removed by `local env`: each would send the tools elsewhere, or with other credentials.
CONFLICTING = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
)
SERVICE_ENDPOINT_PREFIX = "AWS_ENDPOINT_URL_"


def emulator_settings(state: Mapping[str, Any]) -> dict[str, str]:
    """Variable -> value for the running emulator described by ``state`` (``emulator.json``)."""
    region = state.get("region", REGION)
    return {
        "AWS_ENDPOINT_URL": state["endpoint"],
        "AWS_CA_BUNDLE": state["ca_bundle"],
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def variables_to_unset(environ: Mapping[str, str]) -> list[str]:
    """What `local env` removes: the conflicting settings, and any service-specific endpoint the
    caller has (it would win over ``AWS_ENDPOINT_URL`` for its service)."""
    service_specific = sorted(name for name in environ if name.startswith(SERVICE_ENDPOINT_PREFIX))
    return [*CONFLICTING, *service_specific]


def apply_to(environ: Mapping[str, str], state: Mapping[str, Any]) -> dict[str, str]:
    """``environ`` as `eval "$(pipeline-tools local env)"` leaves it (for subprocesses and tests)."""
    removed = set(variables_to_unset(environ))
    return {**{k: v for k, v in environ.items() if k not in removed}, **emulator_settings(state)}


def _export(shell: str, name: str, value: str) -> str:
    if shell == "fish":
        return f"set -gx {name} {shlex.quote(value)}"
    if shell == "powershell":
        return f"$Env:{name} = '{value.replace(chr(39), chr(39) * 2)}'"
    return f"export {name}={shlex.quote(value)}"


def _unset(shell: str, name: str) -> str:
    if shell == "fish":
        return f"set -e {name}"
    if shell == "powershell":
        return f"Remove-Item Env:{name} -ErrorAction SilentlyContinue"
    return f"unset {name}"


def render(shell: str, settings: Mapping[str, str], unset: list[str], comment: str) -> str:
    """The lines a ``shell`` evaluates: a comment, the exports, then the unsets."""
    lines = [f"# {comment}"]
    lines += [_export(shell, name, value) for name, value in settings.items()]
    lines += [_unset(shell, name) for name in unset]
    return "\n".join(lines) + "\n"


def default_shell(environ: Mapping[str, str] = os.environ) -> str:
    """The caller's shell from ``$SHELL`` when it is one we print for, else bash (zsh reads the same)."""
    name = os.path.basename(environ.get("SHELL", ""))
    if name in ("pwsh", "powershell"):
        return "powershell"
    return name if name in SHELLS else "bash"


AWS_CONFIG_FILE = "aws-config"  # in the state directory, beside emulator.json


def write_aws_config(directory: Path, endpoint: str, region: str = REGION) -> Path:
    """The shared AWS config file the local target's provider block names (``shared_config_files``
    with ``profile = LOCAL_PROFILE``): one profile whose ``endpoint_url`` sends every service to
    the emulator (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html:
    "When specified directly within a profile ..., this setting specifies the endpoint that is
    used for all service requests"). Rewritten at each `local up`, removed at `local down`."""
    from sfn_ml_pipeline.targets import LOCAL_PROFILE

    path = Path(directory) / AWS_CONFIG_FILE
    staging = path.with_name(path.name + ".tmp")
    staging.write_text(
        "# Written by `pipeline-tools local up`: the local emulator, for the local target's provider.\n"
        f"[profile {LOCAL_PROFILE}]\nendpoint_url = {endpoint}\nregion = {region}\n"
    )
    staging.replace(path)
    return path

