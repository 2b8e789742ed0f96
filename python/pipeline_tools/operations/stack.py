"""Synthesize and drive the real Terraform for a target: prepare (synth + init), plan, apply, outputs.

Both targets run the same steps on the same stack; ``--target local`` only points the provider at
the emulator (started by ``pipeline-tools local up``) with throwaway credentials.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import click

from ..errors import EnvironmentProblem, UsageError
from ..synthesis import synthesize
from ..terraform import Terraform

PLAN_FILE = "tfplan"


@dataclass
class PlanSummary:
    add: int
    change: int
    destroy: int
    plan_file: Path | None

    @classmethod
    def of(cls, changes: dict, plan_file: Path | None = None) -> "PlanSummary":
        """From a ``change_summary`` message's counts (terraform.change_summary)."""
        return cls(changes.get("add", 0), changes.get("change", 0), changes.get("remove", 0), plan_file)

    @property
    def has_changes(self) -> bool:
        return bool(self.add or self.change or self.destroy)

    def __str__(self) -> str:
        if not self.has_changes:
            return "No changes. Infrastructure matches the configuration."
        return f"Plan: {self.add} to add, {self.change} to change, {self.destroy} to destroy."


def terraform_env(target: str) -> dict[str, str | None]:
    """Environment for terraform (None: unset): the local target must never fall back to real
    credentials or IMDS, nor to an endpoint other than the emulator's."""
    if target == "local":
        import os

        from ..emulator.env import SERVICE_ENDPOINT_PREFIX

        # The endpoint comes from the stack's shared config profile; an endpoint variable in the
        # caller's environment would win over it (the provider's order: provider block, then
        # AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, then the shared config file), so None: unset.
        endpoints = {name: None for name in os.environ if name.startswith(SERVICE_ENDPOINT_PREFIX)}
        return {
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PROFILE": "",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "",
            "AWS_ENDPOINT_URL": None,
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": None,
            "AWS_CONFIG_FILE": None,
            **endpoints,
        }
    return {}


def check_aws_credentials(region: str) -> None:
    """Fail before terraform starts when the AWS credentials are missing or expired."""
    import boto3
    import botocore.exceptions

    try:
        boto3.client("sts", region_name=region).get_caller_identity()
    except botocore.exceptions.NoCredentialsError:
        raise EnvironmentProblem(
            "no AWS credentials found", "set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or use --target local"
        ) from None
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        raise EnvironmentProblem(
            f"AWS rejected the credentials ({code})", "refresh the session (e.g. `aws sso login`) or check the region"
        ) from None
    except botocore.exceptions.BotoCoreError as error:
        raise EnvironmentProblem(f"cannot reach AWS STS in {region}: {error}", "check the network and region") from None


def forget_state_of_stopped_emulators(state_dir: Path) -> None:
    """Drop a local-target state that describes resources the running emulator never held, and only such a state.

    Whoever deploys (pipeline-tools, `cdktf deploy`, `cdktn deploy`, plain `terraform apply` in the
    synthesized stack) writes the same file, so the test is about the file, not about who wrote it:
    a state last written before the running emulator's account was created (``data_since`` in
    ``emulator.json``; a `local reset` or a fresh directory starts a new account) describes
    resources that are gone and is removed; one written since then was written against this
    account and is kept.
    """
    from ..emulator import read_state

    emulator = read_state()
    since = emulator_data_since(emulator)
    state = state_dir / "terraform.tfstate"
    if state.is_file() and state.stat().st_mtime < since:
        for stale in state_dir.glob("terraform.tfstate*"):
            stale.unlink()
    (state_dir / "emulator").unlink(missing_ok=True)  # the owner marker earlier versions kept


def emulator_data_since(emulator: dict) -> float:
    """When the running emulator's resources started to exist (epoch seconds). Emulators started
    before ``data_since`` was recorded: the time their state file was written, at start."""
    from ..emulator.state import DEFAULT_DIRECTORY, state_path

    if isinstance(emulator.get("data_since"), (int, float)):
        return float(emulator["data_since"])
    return state_path(DEFAULT_DIRECTORY).stat().st_mtime


def prepare(config_path, target, out_dir, plugin_dir, terraform_bin) -> Terraform:
    """Synthesize and `terraform init` (with the backend), ready to plan."""
    if target == "aws":
        from ..synthesis import read_config

        check_aws_credentials(read_config(config_path).region)
    stack_dir = synthesize(config_path, target, out_dir)
    state_dir = Path.cwd() / ".pipeline-tools" / "state" / target
    state_dir.mkdir(parents=True, exist_ok=True)
    if target == "local":
        forget_state_of_stopped_emulators(state_dir)
    terraform = Terraform(stack_dir, binary=terraform_bin, plugin_dir=plugin_dir, env=terraform_env(target))
    terraform.init()
    return terraform


def make_plan(terraform: Terraform) -> PlanSummary:
    changes = terraform.plan(PLAN_FILE)
    return PlanSummary.of(changes, terraform.stack_dir / PLAN_FILE)


@dataclass(frozen=True)
class WhenUsable:
    """During a first deploy, call ``callback`` once, as soon as every planned resource exists but
    those of the ``not_needed`` types; the apply goes on meanwhile. The demo starts its run there
    while the provider still waits on the bucket's lifecycle rules (>= 55 s, see benchmarks/durable.py)."""

    callback: Callable[[], None]
    not_needed: frozenset[str] = frozenset()


def apply_first_deploy(terraform: Terraform, target: str, echo, when_usable: WhenUsable | None = None) -> PlanSummary:
    """The first deploy to an empty state, approved ahead: one `terraform apply` plans and applies.
    Each terraform command loads the 700 MB aws provider again (schema, then one instance per
    walk; measured ~3-4 s of CPU each on 2 cores), so plan + `apply tfplan` costs two more loads
    than this; the plan's summary is still printed before anything is created."""
    planned = False  # the plan's summary came (every planned_change before it)
    awaited: set[str] = set()  # planned resources the caller needs, not yet created
    called = False

    def progress(message: dict) -> None:
        nonlocal planned, called
        kind = message.get("type")
        changes = message.get("changes") or {}
        if kind == "planned_change" and when_usable is not None:
            resource = (message.get("change") or {}).get("resource") or {}
            if resource.get("resource_type") not in when_usable.not_needed:
                awaited.add(resource.get("addr"))
        elif kind == "change_summary" and changes.get("operation") == "plan" and not planned:
            planned = True
            summary = PlanSummary.of(changes)
            echo(str(summary))
            if summary.has_changes:
                echo(f"applying to {target} ...")
        elif kind == "apply_complete":
            awaited.discard(((message.get("hook") or {}).get("resource") or {}).get("addr"))
            if when_usable is not None and planned and not awaited and not called:
                called = True
                when_usable.callback()

    return PlanSummary.of(terraform.apply_configuration(progress))


def deploy_stack(
    config_path: Path | None = None,
    target: str = "local",
    out_dir: Path = Path("cdktf.out"),
    plugin_dir: Path | None = None,
    terraform_bin: str | None = None,
    auto_approve: bool = True,
    echo=click.echo,
    record_refreshed_state: bool = True,
    when_usable: WhenUsable | None = None,
) -> dict:
    """Synth, init, plan, (confirm), apply. Returns the stack outputs. A first deploy approved ahead
    is one `terraform apply` (:func:`apply_first_deploy`, which calls ``when_usable``).

    ``record_refreshed_state=False`` skips the refresh-only apply (8-10 s locally) that only later
    `drift` runs need: for a deployment that ends with the command (the demo's own emulator)."""
    terraform = prepare(config_path, target, out_dir, plugin_dir, terraform_bin)
    if auto_approve and not terraform.has_state():
        summary = apply_first_deploy(terraform, target, echo, when_usable)
    else:
        summary = make_plan(terraform)
        echo(str(summary))
        if summary.has_changes:
            if not auto_approve:
                if not sys.stdin.isatty():
                    raise UsageError("deploy needs confirmation but there is no terminal", "pass --auto-approve")
                click.confirm(f"Apply these changes to {target}?", abort=True)
            echo(f"applying to {target} ...")
            terraform.apply(PLAN_FILE)
    if summary.has_changes and record_refreshed_state:
        # Record what AWS reports back (a refresh-only apply changes no infrastructure). Without it the
        # state keeps the values as written, and every later refresh "drifts" on attributes the provider
        # fills in from sibling resources (aws_s3_bucket.versioning, aws_iam_role.inline_policy, tags {}),
        # so `pipeline-tools drift` could not tell real out-of-band changes from that noise.
        terraform.run("apply", "-refresh-only", "-auto-approve", "-input=false", "-no-color")
    return terraform.outputs()


def state_resources(terraform: Terraform) -> list[dict]:
    """Every resource in the current state (root and child modules), from `terraform show -json`."""
    import json

    state = json.loads(terraform.run("show", "-json", "-no-color").stdout or "{}")
    resources: list[dict] = []
    pending = [state.get("values", {}).get("root_module", {})]
    while pending:
        module = pending.pop()
        resources.extend(module.get("resources", []))
        pending.extend(module.get("child_modules", []))
    return resources


def stack_outputs(config_path, target, out_dir, plugin_dir, terraform_bin) -> dict:
    """The deployed stack's outputs (name -> value); a usage error when nothing is deployed."""
    terraform = prepare(config_path, target, out_dir, plugin_dir, terraform_bin)
    values = terraform.outputs()
    if not values:
        raise UsageError(f"no outputs: nothing is deployed to {target}", f"run `pipeline-tools deploy --target {target}` first")
    return values
