"""`pipeline-tools destroy`: remove the deployed stack, without ever losing data by surprise.

The construct creates the data bucket with ``force_destroy = false``, so Terraform alone would
stop half-way through a destroy with ``BucketNotEmpty``. This command checks the bucket first
(every object version and delete marker, with boto3) and refuses while it holds data that
Terraform does not manage (pipeline runs, models), unless ``--force``: then it empties the
bucket, all versions, and destroys. Objects Terraform manages (the packaged transform.py) are not
"data": Terraform deletes them, with all their versions, itself.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import click

from ..errors import UsageError
from .stack import PlanSummary, prepare, state_resources

DESTROY_PLAN_FILE = "tfplan-destroy"


@dataclass
class BucketData:
    """What a bucket holds beyond the objects Terraform manages."""

    bucket: str
    versions: list[dict] = field(default_factory=list)  # {"Key", "VersionId"}: object versions and delete markers

    @property
    def keys(self) -> list[str]:
        return sorted({v["Key"] for v in self.versions})


def managed_buckets(resources: list[dict]) -> dict[str, set[str]]:
    """Bucket name -> keys of the `aws_s3_object`s Terraform manages in it."""
    buckets = {r["values"]["bucket"]: set() for r in resources if r["type"] == "aws_s3_bucket" and r["mode"] == "managed"}
    for r in resources:
        if r["type"] == "aws_s3_object" and r["values"].get("bucket") in buckets:
            buckets[r["values"]["bucket"]].add(r["values"]["key"])
    return buckets


def s3_client(target: str, region: str):
    if target == "local":
        from ..emulator import client

        return client("s3")
    import boto3

    return boto3.client("s3", region_name=region)


def unmanaged_data(s3, bucket: str, managed_keys: set[str]) -> BucketData:
    """Every object version and delete marker in ``bucket`` whose key Terraform does not manage."""
    import botocore.exceptions

    data = BucketData(bucket)
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
                if entry["Key"] not in managed_keys:
                    data.versions.append({"Key": entry["Key"], "VersionId": entry["VersionId"]})
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") == "NoSuchBucket":
            return data  # already gone out of band: Terraform's refresh notices
        raise
    return data


def empty(s3, data: BucketData) -> None:
    """Delete every listed version (1000 per request, the DeleteObjects maximum)."""
    from ..errors import EnvironmentProblem

    for start in range(0, len(data.versions), 1000):
        chunk = data.versions[start : start + 1000]
        answer = s3.delete_objects(Bucket=data.bucket, Delete={"Objects": chunk, "Quiet": True})
        if answer.get("Errors"):
            first = answer["Errors"][0]
            raise EnvironmentProblem(
                f"could not empty bucket {data.bucket}: {first.get('Key')}: {first.get('Code')} {first.get('Message', '')}".strip(),
                "check the permissions (s3:DeleteObjectVersion) and retry",
            )


def destroy_stack(config_path, target, out_dir, plugin_dir, terraform_bin, auto_approve, force, echo=click.echo) -> PlanSummary:
    from ..synthesis import read_config

    config = read_config(config_path)
    terraform = prepare(config_path, target, out_dir, plugin_dir, terraform_bin)
    resources = state_resources(terraform)
    if not resources:
        echo(f"Nothing to destroy: no resources in the {target} state.")
        return PlanSummary(0, 0, 0, terraform.stack_dir / DESTROY_PLAN_FILE)

    s3 = s3_client(target, config.region)
    holding = [d for d in (unmanaged_data(s3, b, keys) for b, keys in managed_buckets(resources).items()) if d.versions]
    if holding and not force:
        first = holding[0]
        raise UsageError(
            f"bucket {first.bucket} holds data ({len(first.versions)} object versions, e.g. {first.keys[0]})",
            "copy what you need, then pass --force to delete every version and destroy",
        )

    changes = terraform.plan(DESTROY_PLAN_FILE, destroy=True)
    summary = PlanSummary(0, 0, changes["remove"], terraform.stack_dir / DESTROY_PLAN_FILE)
    echo(str(summary))
    if holding:
        echo("--force: will also delete " + ", ".join(f"{len(d.versions)} object versions in {d.bucket}" for d in holding))
    if not auto_approve:
        if not sys.stdin.isatty():
            raise UsageError("destroy needs confirmation but there is no terminal", "pass --auto-approve")
        click.confirm(f"Destroy everything above in {target}? This cannot be undone.", abort=True)
    for data in holding:
        echo(f"emptying bucket {data.bucket} ...")
        empty(s3, data)
    echo(f"destroying in {target} ...")
    terraform.apply(DESTROY_PLAN_FILE)
    echo(f"Destroy complete: {summary.destroy} resources destroyed.")
    return summary
