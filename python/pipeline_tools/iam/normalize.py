"""Turn resource ARNs with Terraform interpolations into comparable symbolic patterns.

``${aws_s3_bucket.data_1a2b.arn}/runs/*`` and ``arn:${data.aws_partition.p.partition}:sagemaker:us-east-1:
${data.aws_caller_identity.me.account_id}:training-job/*`` become ``{bucket_arn}/runs/*`` and
``arn:{partition}:sagemaker:{region}:{account}:training-job/*``: the documented minimum is written in
the same placeholders, so a policy can be compared with it whatever the construct's logical ids
are and whether a value is a literal (config.region) or a reference (data.aws_region).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from importlib import resources

INTERPOLATION = re.compile(r"\$\{([^{}]*)\}")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_ACCOUNT = re.compile(r"^\d{12}$")

# (resource type, attribute) -> placeholder. Attribute None: any attribute.
_BY_TYPE: dict[tuple[str, str | None], str] = {
    ("data.aws_partition", "partition"): "{partition}",
    ("data.aws_partition", "dns_suffix"): "{dns_suffix}",
    ("data.aws_region", None): "{region}",
    ("data.aws_caller_identity", "account_id"): "{account}",
    ("aws_s3_bucket", "arn"): "{bucket_arn}",
    ("aws_s3_bucket", "id"): "{bucket_name}",
    ("aws_s3_bucket", "bucket"): "{bucket_name}",
    ("aws_lambda_function", "arn"): "{lambda_arn}",
    ("aws_lambda_function", "qualified_arn"): "{lambda_arn}:{version}",
    ("aws_sfn_state_machine", "arn"): "{state_machine_arn}",
    ("aws_sfn_state_machine", "id"): "{state_machine_arn}",
    ("aws_kms_key", "arn"): "{kms_key_arn}",
    ("aws_sagemaker_model_package_group", "model_package_group_name"): "{model_package_group}",
    ("aws_sagemaker_model_package_group", "id"): "{model_package_group}",
    ("data.aws_kms_key", "arn"): "{kms_key_arn}",
    ("aws_subnet", "id"): "{subnet_id}",
    ("data.aws_subnet", "id"): "{subnet_id}",
    ("aws_security_group", "id"): "{security_group_id}",
    ("data.aws_security_group", "id"): "{security_group_id}",
}
# Literal subnet and security group IDs in EC2 ARNs ([network]): one placeholder for all of them.
_EC2_IDS = re.compile(r"^(?P<kind>subnet|security-group)/(?:subnet|sg)-[0-9a-f]+$")

ROLE_PLACEHOLDER = "{{{purpose}_role_arn}}"  # e.g. {sagemaker_role_arn}


@cache
def ecr_accounts() -> frozenset[str]:
    """The AWS-owned accounts serving SageMaker images (from the construct's data table)."""
    try:
        table = json.loads(resources.files("sfn_ml_pipeline").joinpath("data/ecr_accounts.json").read_text())
    except (ModuleNotFoundError, FileNotFoundError, json.JSONDecodeError):
        return frozenset()
    return frozenset(table.get("accounts", {}).values())


def split_reference(expression: str) -> tuple[str, str, str] | None:
    """``aws_s3_bucket.b.arn`` -> (type, name, attribute); ``data.x.y.z`` keeps ``data.`` in the type."""
    parts = expression.strip().split(".")
    if parts and parts[0] == "data":
        if len(parts) < 4:
            return None
        return f"data.{parts[1]}", parts[2], ".".join(parts[3:])
    if len(parts) < 3:
        return None
    return parts[0], parts[1], ".".join(parts[2:])


class Normalizer:
    """Maps interpolations to placeholders. ``special`` resolves stack-specific references (roles, log groups)."""

    def __init__(self, special: Callable[[str, str, str], str | None] | None = None):
        self._special = special

    def reference(self, expression: str) -> str:
        parsed = split_reference(expression)
        if parsed is None:
            return "{" + expression.strip() + "}"
        kind, name, attribute = parsed
        if self._special:
            found = self._special(kind, name, attribute)
            if found:
                return found
        for (known_kind, known_attr), placeholder in _BY_TYPE.items():
            if kind == known_kind and (known_attr is None or known_attr == attribute):
                return placeholder
        return "{" + f"{kind}.{attribute}" + "}"

    def resource(self, value: str) -> str:
        """One resource string -> pattern."""
        text = INTERPOLATION.sub(lambda m: self.reference(m.group(1)), value)
        return normalize_arn_parts(text)


# A regional service endpoint name, as kms:ViaService and regional service principals spell it.
_SERVICE_HOST = re.compile(r"^(?P<service>[a-z0-9-]+)\.(?P<region>[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d)\.(?P<suffix>amazonaws\.com(\.cn)?)$")


def normalize_arn_parts(text: str) -> str:
    """Literal partition/region/account fields of an ARN -> placeholders (``arn:aws:...`` -> ``arn:{partition}:...``),
    and literal regional service names (``s3.us-east-1.amazonaws.com`` -> ``s3.{region}.{dns_suffix}``)."""
    host = _SERVICE_HOST.match(text)
    if host:
        return f"{host['service']}.{{region}}.{{dns_suffix}}"
    if not text.startswith("arn:"):
        return text
    parts = text.split(":", 5)
    if len(parts) < 6:
        return text
    _, partition, service, region, account, rest = parts
    if partition.startswith("aws"):
        partition = "{partition}"
    if _REGION.match(region):
        region = "{region}"
    if _ACCOUNT.match(account):
        account = "{ecr_account}" if service == "ecr" and account in ecr_accounts() else "{account}"
    if service == "kms" and rest.startswith("key/") and "{" not in rest:
        return "{kms_key_arn}"
    ec2_id = _EC2_IDS.match(rest) if service == "ec2" else None
    if ec2_id:
        rest = f"{ec2_id['kind']}/{{{'subnet_id' if ec2_id['kind'] == 'subnet' else 'security_group_id'}}}"
    return ":".join(["arn", partition, service, region, account, rest])
