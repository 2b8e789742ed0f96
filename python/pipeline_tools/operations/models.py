"""The stack's model package group, as `pipeline-tools models` shows and changes it: the versions the
quality gate registered (one per passing execution), their approval status, metric and execution;
approving or rejecting one is SageMaker's UpdateModelPackage with ``ModelApprovalStatus``, as the
Model Registry's own example does it (https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-approve.html).

Target-agnostic: the SageMaker API only, on AWS or on the local emulator.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ..errors import EnvironmentProblem, UsageError
from ..execution import Clients
from ..synthesis import read_config


@dataclass(frozen=True)
class Version:
    version: int
    arn: str
    status: str
    metric: str | None
    value: str | None
    threshold: str | None
    execution: str | None
    created: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "created": self.created.isoformat() if self.created else None}


def _group(config_path) -> tuple[Any, str]:
    config = read_config(config_path)
    if not config.quality_gate.enabled:
        raise UsageError(
            f"this pipeline ({config.name_prefix}) has no model package group: [quality_gate] is not enabled",
            "enable it in the config (README \"The model's quality decides\") and deploy",
        )
    return config, config.model_package_group_name


def _clients(config, target: str) -> Clients:
    return Clients.for_target(target, config.region)


def _versions(clients: Clients, group: str) -> list[Version]:
    from botocore.exceptions import ClientError

    sagemaker = clients.sagemaker
    summaries: list[dict] = []
    try:
        for page in sagemaker.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group):
            summaries += page.get("ModelPackageSummaryList", [])
    except ClientError as error:
        if "does not exist" in error.response.get("Error", {}).get("Message", ""):
            raise EnvironmentProblem(f"model package group {group} not found on {clients.target}", f"deploy first: `pipeline-tools deploy --target {clients.target}`") from None
        raise
    versions = []
    for summary in summaries:
        described = sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
        metadata = described.get("CustomerMetadataProperties") or {}
        versions.append(Version(
            version=int(described.get("ModelPackageVersion") or summary.get("ModelPackageVersion") or 0),
            arn=described["ModelPackageArn"],
            status=described.get("ModelApprovalStatus") or "",
            metric=metadata.get("metric"),
            value=metadata.get("value"),
            threshold=metadata.get("threshold"),
            execution=metadata.get("execution") or (described.get("MetadataProperties") or {}).get("GeneratedBy"),
            created=described.get("CreationTime"),
        ))
    if not versions:
        _check_group_exists(clients, group)
    return sorted(versions, key=lambda v: v.version)


def _check_group_exists(clients: Clients, group: str) -> None:
    from botocore.exceptions import ClientError

    try:
        clients.sagemaker.describe_model_package_group(ModelPackageGroupName=group)
    except ClientError as error:
        if "does not exist" in error.response.get("Error", {}).get("Message", ""):
            raise EnvironmentProblem(f"model package group {group} not found on {clients.target}", f"deploy first: `pipeline-tools deploy --target {clients.target}`") from None
        raise


def list_versions(config_path, target: str) -> tuple[str, list[Version]]:
    config, group = _group(config_path)
    return group, _versions(_clients(config, target), group)


def set_status(config_path, target: str, version: str, status: str, description: str | None = None) -> Version:
    """UpdateModelPackage of one version (its number, or its ARN) to ``status``."""
    config, group = _group(config_path)
    clients = _clients(config, target)
    versions = _versions(clients, group)
    chosen = next((v for v in versions if version in (str(v.version), v.arn)), None)
    if chosen is None:
        known = ", ".join(str(v.version) for v in versions) or "none yet"
        raise UsageError(f"model package group {group} has no version {version} (versions: {known})",
                         "pass a version number as `pipeline-tools models list` shows it")
    request: dict[str, Any] = {"ModelPackageArn": chosen.arn, "ModelApprovalStatus": status}
    if description:
        request["ApprovalDescription"] = description
    clients.sagemaker.update_model_package(**request)
    return next(v for v in _versions(clients, group) if v.arn == chosen.arn)
