"""`pipeline-tools models list|approve|reject`: the versions the quality gate registered in the stack's
model package group, and their approval (operations.models)."""

from __future__ import annotations

import json

import click

from ..operations.models import list_versions, set_status
from ..options import config_option, target_option

STATUS_WIDTH = len("PendingManualApproval")


@click.group()
def models():
    """The models the quality gate registered ([quality_gate]: one version per execution whose model
    passed), in the stack's SageMaker model package group <prefix>-models.

    \b
    Examples:
      pipeline-tools models list --target local
      pipeline-tools models approve 3 --target local
      pipeline-tools models reject 2 --target aws --description "drifted on December's data"
    """


@models.command("list")
@config_option
@target_option
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead of the table.")
def list_(config_path, target, as_json):
    """Every version: number, approval status, metric and value, execution, creation time."""
    group, versions = list_versions(config_path, target)
    if as_json:
        click.echo(json.dumps([v.as_dict() for v in versions], indent=2))
        return
    if not versions:
        click.echo(f"{group}: no model registered yet (a run whose model passes the quality gate registers one)")
        return
    click.echo(f"{'version':>7}  {'status':<{STATUS_WIDTH}}  {'metric':<22}  {'execution':<40}  created")
    for v in versions:
        metric = f"{v.metric} = {_short(v.value)}" if v.metric else "-"
        created = v.created.strftime("%Y-%m-%d %H:%M:%S") if v.created else "-"
        click.echo(f"{v.version:>7}  {v.status:<{STATUS_WIDTH}}  {metric:<22}  {(v.execution or '-'):<40}  {created}")


def _short(value: str | None) -> str:
    """A metric's value as the table shows it (4 decimals); `--json` keeps what SageMaker holds."""
    try:
        return f"{float(value):.4f}"
    except (TypeError, ValueError):
        return str(value)


def _update(status: str):
    @config_option
    @target_option
    @click.argument("version")
    @click.option("--description", default=None, help="The ApprovalDescription SageMaker keeps with the status.")
    def command(config_path, target, version, description):
        changed = set_status(config_path, target, version, status, description)
        click.echo(f"version {changed.version} of {changed.arn.rsplit('/', 2)[-2]}: {changed.status}")

    return command


models.command("approve", help="Set VERSION's ModelApprovalStatus to Approved (SageMaker's UpdateModelPackage).")(_update("Approved"))
models.command("reject", help="Set VERSION's ModelApprovalStatus to Rejected (SageMaker's UpdateModelPackage).")(_update("Rejected"))
