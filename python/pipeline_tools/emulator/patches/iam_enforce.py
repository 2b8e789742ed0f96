"""Every request is authenticated and authorized with AWS's policy evaluation logic (opt-in for now).

What moto lacks: its own enforcement (``INITIAL_NO_AUTH_ACTION_COUNT``,
``moto/core/authorization.py`` + ``moto/iam/access_control.py``) authorizes every action of a
service without ``_determine_resource`` against resource ``*``, so least-privilege policies
scoped to real ARNs cannot be enforced with it.

The patch, active when the server runs with ``PIPELINE_TOOLS_EMULATOR_IAM=1``, wraps moto's
authorization step for the request's service:

* ``BaseResponse.call_action`` (every query/JSON/REST-JSON service): the operation is moto's
  ``_get_action()``; its parameters are parsed with moto's protocol parsers into botocore's shape;
* ``S3Response.{bucket,key,ambiguous}_response`` + ``_authenticate_and_authorize_s3_action``: the
  operation is matched by moto's router on the request, the parameters are the bucket and key of
  the path, the query (``prefix``, ``versionId``...) and the ``x-amz-*`` headers.

Then :func:`pipeline_tools.emulator.authz.resolve` names the IAM action(s), the real resource ARN(s)
and the condition keys, and :mod:`pipeline_tools.emulator.authz.enforce` decides. A denial is
answered as the service answers it on AWS: S3 ``403 AccessDenied`` (XML, the resource quoted as
S3 quotes it), query services ``403 AccessDenied`` (XML ``ErrorResponse``), JSON and REST-JSON
services ``AccessDeniedException`` (HTTP 400 for JSON 1.x, 403 for REST-JSON), each with AWS's
message (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshoot-403-errors.html). An unknown
access key is ``InvalidClientTokenId`` (S3: ``InvalidAccessKeyId``). An operation the resolver
does not know, called by anyone but the administrator, is an error naming the gap, never an allow.

A log group created (or associated) with a customer key needs the key policy to let CloudWatch Logs
use it for that log group (``_check_log_group_key``), and CloudWatch Logs uses the key with the
caller's permissions to create the group, write and read its events (``_check_logs_key_use``); Lambda
creates a grant on a function's environment key with the caller's permissions (``_check_lambda_grant``).

S3 objects encrypted with SSE-KMS also need the caller's KMS permission, which S3 uses on the
caller's behalf (``kms:ViaService = s3.REGION.amazonaws.com``, encryption context ``aws:s3:arn``):
``kms:GenerateDataKey`` to write, ``kms:Decrypt`` to read
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#require-sse-kms,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html for the bucket ARN as context).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from xml.sax.saxutils import escape

from ..authz import enforce, service_side
from ..authz.resolve import REGISTRY, Authorization, RequestFacts, UnresolvedOperation
from ..request_context import secure_transport



class Rejected(Exception):
    """A finished error response (status, headers, body) for a request that may not proceed."""

    def __init__(self, status: int, headers: dict[str, str], body: str) -> None:
        super().__init__(body)
        self.status, self.headers, self.body = status, headers, body

    def response(self) -> tuple[int, dict[str, str], bytes]:
        return self.status, dict(self.headers), self.body.encode()


def _request_id() -> str:
    return str(uuid.uuid4())


def _xml_error(code: str, message: str, status: int, *, s3: bool) -> Rejected:
    if s3:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>"
            f"<RequestId>{_request_id()}</RequestId><HostId>emulator</HostId></Error>"
        )
    else:
        body = (
            f'<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message></Error>'
            f"<RequestId>{_request_id()}</RequestId></ErrorResponse>"
        )
    return Rejected(status, {"Content-Type": "application/xml", "x-amzn-RequestId": _request_id()}, body)


def _json_error(code: str, message: str, status: int) -> Rejected:
    body = json.dumps({"__type": code, "message": message, "Message": message})
    return Rejected(status, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code, "x-amzn-RequestId": _request_id()}, body)


def _protocol(response: Any) -> str:
    from moto.core.model import ServiceModel  # noqa: F401 - moto's botocore models
    from moto.core.request import determine_request_protocol
    from moto.core.responses import get_service_model

    service_model = get_service_model(response.boto3_service_name)
    return determine_request_protocol(service_model, response.normalized_request.content_type)


def _rejection(response: Any, code: str, message: str, *, denied: bool, status: int | None = None) -> Rejected:
    protocol = _protocol(response)
    if protocol in ("query", "ec2", "rest-xml"):
        return _xml_error("AccessDenied" if denied else code, message, status or 403, s3=False)
    default = 403 if protocol == "rest-json" else 400
    return _json_error("AccessDeniedException" if denied else code, message, status or default)


# 501: not retried by the SDKs (500 is), and not an answer AWS would give: the gap is the emulator's.
GAP_STATUS = 501


# ---- who is calling --------------------------------------------------------------------------


def _credentials(response: Any) -> tuple[str | None, str | None]:
    from .accounts import credentials

    return credentials(response.headers, response.querystring)


def _facts(response: Any) -> RequestFacts:
    secure = secure_transport()
    return RequestFacts(secure_transport=secure, source_ip=response.normalized_request.environ.get("REMOTE_ADDR") if hasattr(response, "normalized_request") else None)


# ---- JSON / query / REST-JSON services -----------------------------------------------------------


def _params(response: Any, operation: str) -> dict[str, Any]:
    params = getattr(response, "params", None)
    if isinstance(params, dict) and params:
        return params
    from moto.core.parse import PROTOCOL_PARSERS
    from moto.core.request import determine_request_protocol
    from moto.core.responses import get_service_model

    request = response.normalized_request
    service_model = get_service_model(response.boto3_service_name)
    operation_model = service_model.operation_model(operation)
    protocol = determine_request_protocol(service_model, request.content_type)
    parser = PROTOCOL_PARSERS[protocol](operation_model, map_type=dict)
    return dict(
        parser.parse(
            {
                "method": request.method,
                "values": request.values,
                "headers": request.headers,
                "body": request.data,
                "url_path": request.path,
                "url_params": getattr(response, "uri_match", None) or {},
            }
        )
    )


def _service_of(response: Any) -> str:
    """The IAM service prefix of a moto response class (``stepfunctions`` -> ``states``...)."""
    name = response.boto3_service_name
    return {"stepfunctions": "states", "monitoring": "cloudwatch", "cloudwatch": "cloudwatch"}.get(name, name)


def check_normal(response: Any) -> enforce.Caller:
    access_key, token = _credentials(response)
    try:
        caller = enforce.caller_for(access_key, token)
    except enforce.Unauthenticated as error:
        raise _rejection(response, error.code, error.message, denied=False) from None
    service = _service_of(response)
    operation = response._get_action()
    if service == "logs" and operation in LOG_KEY_OPERATIONS:
        _check_log_group_key(response)
    try:
        if not (caller.is_admin and service not in enforce.RESOURCE_POLICY_SERVICES and service != "sts"):  # the root: nothing to evaluate (sts: it may assume another account's role)
            params = _params(response, operation)
            enforce.authorize_request(caller, service, operation, params, _facts(response), fallback_resource=_kms_fallback(params, caller))
        # What the service does with the caller's KMS permissions (the root's too: a key policy can limit it).
        if service == "logs" and operation in LOG_CALLER_KEY_USE:
            _check_logs_key_use(caller, operation, _params(response, operation))
        if service == "lambda" and operation in LAMBDA_KEY_OPERATIONS:
            _check_lambda_grant(response, caller, _params(response, operation))
    except enforce.Denied as denial:
        raise _rejection(response, "AccessDenied", denial.decision.message(), denied=True) from None
    except UnresolvedOperation as gap:
        raise _rejection(response, "NotImplemented", f"IAM enforcement: {gap}", denied=False, status=GAP_STATUS) from None
    return caller


# A log group encrypted with a customer key: CloudWatch Logs itself (logs.REGION.amazonaws.com) must
# be allowed to use the key for that log group by the key policy, with the encryption context
# kms:EncryptionContext:aws:logs:arn = the log group's ARN
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html); otherwise
# CreateLogGroup/AssociateKmsKey answer "AccessDeniedException: The specified KMS key does not exist
# or is not allowed to be used with Arn 'arn:aws:logs:REGION:ACCOUNT:log-group:NAME'" (quoted in
# github.com/ministryofjustice/modernisation-platform/issues/7870).
LOG_KEY_OPERATIONS = frozenset({"CreateLogGroup", "AssociateKmsKey"})
LOG_KEY_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey")


def _check_log_group_key(response: Any) -> None:
    from ...iam.evaluation import Principal, Request, evaluate

    params = _params(response, response._get_action())
    key, group = params.get("kmsKeyId"), params.get("logGroupName")
    if not key or not group:
        return
    account = enforce.account_context(enforce.caller_for(*_credentials(response)))
    key_arn = enforce.key_arn_of(str(key), account)
    group_arn = account.arn("logs", f"log-group:{group}")
    refused = f"The specified KMS key does not exist or is not allowed to be used with Arn '{group_arn}'"
    if key_arn is None:
        raise _json_error("AccessDeniedException", refused, 400)
    policy = enforce.key_policy(key_arn)
    logs = Principal.aws_service(f"logs.{enforce.ACCOUNT.region}.amazonaws.com")
    context = {
        "kms:EncryptionContext:aws:logs:arn": group_arn,
        "kms:EncryptionContextKeys": ["aws:logs:arn"],
        "aws:RequestedRegion": enforce.ACCOUNT.region,
    }
    for action in LOG_KEY_ACTIONS:
        decision = evaluate(Request(logs, action, key_arn, context), [], policy, resource_policy_required=True, registry=REGISTRY)
        if decision.denied:
            raise _json_error("AccessDeniedException", refused, 400)


# ...and CloudWatch Logs uses the key with the caller's own permissions (kms:ViaService =
# logs.REGION.amazonaws.com): kms:Encrypt to create an encrypted group, kms:GenerateDataKey and
# kms:Decrypt to write its events, kms:Decrypt to read them (the sources: authz/service_side.py,
# "CloudWatch Logs uses the caller's KMS permissions"). A caller without it is refused with the KMS
# denial, as AWS answered the two AWS-maintained projects quoted there.
LOG_CALLER_KEY_USE = {
    "CreateLogGroup": service_side.LOG_KEY_CREATE,
    "AssociateKmsKey": service_side.LOG_KEY_CREATE,
    "PutLogEvents": service_side.LOG_KEY_WRITE,
    "GetLogEvents": service_side.LOG_KEY_READ,
    "FilterLogEvents": service_side.LOG_KEY_READ,
}


def _log_group_of(params: dict[str, Any]) -> str | None:
    """logGroupName, or the name in logGroupIdentifier (a name or an ARN, ``...:log-group:NAME[:*]``)."""
    if params.get("logGroupName"):
        return str(params["logGroupName"])
    identifier = str(params.get("logGroupIdentifier") or "")
    if ":log-group:" in identifier:
        return identifier.split(":log-group:", 1)[1].removesuffix(":*")
    return identifier or None


def _check_logs_key_use(caller: enforce.Caller, operation: str, params: dict[str, Any]) -> None:
    group = _log_group_of(params)
    if not group:
        return
    if operation in LOG_KEY_OPERATIONS:
        key = enforce.key_arn_of(str(params["kmsKeyId"]), enforce.account_context(caller)) if params.get("kmsKeyId") else None
    else:
        key = service_side.log_group_key(group)
    if key is None:
        return
    authorizations = service_side.log_key_use(group, key, LOG_CALLER_KEY_USE[operation])
    enforce.authorize_all(caller, authorizations, execution_arn=enforce.execution_of(caller.access_key), via="logs for the caller")


# A function whose environment variables are encrypted with a customer key: Lambda creates a grant on
# the key with the caller's permissions (kms:CreateGrant, an integrated service asking on the caller's
# behalf: kms:GrantIsForAWSResource = true, kms:ViaService = lambda.REGION.amazonaws.com,
# https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource).
# Without it CreateFunction answers "InvalidParameterValueException: Lambda was unable to configure
# access to your environment variables because the KMS key is invalid for CreateGrant. Please check
# your KMS key settings. KMS Exception: ... KMS Message: ..." (quoted in
# github.com/hashicorp/terraform-provider-aws/issues/4633 and hashicorp/terraform/issues/20813).
LAMBDA_KEY_OPERATIONS = frozenset({"CreateFunction", "UpdateFunctionConfiguration"})


def _check_lambda_grant(response: Any, caller: enforce.Caller, params: dict[str, Any]) -> None:
    key, variables = params.get("KMSKeyArn"), (params.get("Environment") or {}).get("Variables")
    if not key or not variables:
        return
    key_arn = enforce.key_arn_of(str(key), enforce.account_context(caller))
    if key_arn is None:
        return  # Lambda's own answer for an unknown key (moto's)
    grant = Authorization(
        "kms:CreateGrant",
        key_arn,
        {
            "aws:RequestedRegion": enforce.ACCOUNT.region,
            "kms:CallerAccount": enforce.ACCOUNT.account,
            "kms:GrantIsForAWSResource": "true",
            "kms:ViaService": f"lambda.{enforce.ACCOUNT.region}.amazonaws.com",
        },
    )
    try:
        enforce.authorize_all(caller, [grant], execution_arn=enforce.execution_of(caller.access_key), via="lambda for the caller")
    except enforce.Denied as denial:
        raise _json_error(
            "InvalidParameterValueException",
            "Lambda was unable to configure access to your environment variables because the KMS key is invalid for "
            f"CreateGrant. Please check your KMS key settings. KMS Exception: AccessDeniedException KMS Message: {denial.decision.message()}",
            400,
        ) from None


def _kms_fallback(params: dict[str, Any], caller: enforce.Caller) -> str:
    key = params.get("KeyId") or params.get("TargetKeyId")
    if not key:
        return "*"
    key = str(key)
    if key.startswith("arn:"):
        return key
    return enforce.account_context(caller).arn("kms", f"key/{key}") if not key.startswith("alias/") else "*"


# ---- S3 ----------------------------------------------------------------------------------------

_S3_QUERY = {"prefix": "Prefix", "delimiter": "Delimiter", "max-keys": "MaxKeys", "versionId": "VersionId", "uploadId": "UploadId"}
_S3_HEADERS = {
    "x-amz-copy-source": "CopySource",
    "x-amz-server-side-encryption": "ServerSideEncryption",
    "x-amz-server-side-encryption-aws-kms-key-id": "SSEKMSKeyId",
}


def _s3_operation(response: Any) -> str:
    from moto.core.routing import NotFound, get_service_router

    try:
        operation, _ = get_service_router("s3").match(response.normalized_request)
        name = operation.name
    except (NotFound, NotImplementedError):
        name = str(response.data.get("Action") or "Unknown")
    if "x-amz-copy-source" in response.headers:
        name = {"PutObject": "CopyObject", "UploadPart": "UploadPartCopy"}.get(name, name)
    return name


def _s3_params(response: Any, bucket: str | None, key: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if bucket:
        params["Bucket"] = bucket
    if key:
        params["Key"] = key
    for name, field in _S3_QUERY.items():
        values = response.querystring.get(name)
        if values:
            params[field] = values[0] if isinstance(values, list) else values
    for header, field in _S3_HEADERS.items():
        value = response.headers.get(header)
        if value:
            params[field] = value
    return params


def _s3_denied(message: str) -> Rejected:
    return _xml_error("AccessDenied", message, 403, s3=True)


def _s3_message(decision: Any) -> str:
    # S3 quotes the resource: 'is not authorized to perform: s3:GetObject on resource:
    # "arn:aws:s3:::bucket/key" because ...' (troubleshoot-403-errors.html, examples).
    text = decision.message()
    resource = decision.request.resource
    return text.replace(f"on resource: {resource}", f'on resource: "{resource}"', 1)


def _owned_key(reference: str, owner: str | None) -> str:
    """A stored object's key reference as an ARN in the bucket owner's account (moto keeps what the writer named)."""
    if reference.startswith("arn:") or not owner:
        return reference
    from moto.kms.models import kms_backends

    owner_account = enforce.Account(owner, enforce.ACCOUNT.region)
    arn = enforce.key_arn_of(reference, owner_account) if kms_backends[owner][owner_account.region].keys else None
    return arn or reference


def _kms_for_s3(caller: enforce.Caller, operation: str, params: dict[str, Any], bucket_name: str | None, key_name: str | None) -> list[Authorization]:
    """The KMS use S3 makes for the caller on an SSE-KMS object (in the bucket owner's account:
    the caller may be in another one)."""
    if not bucket_name:
        return []
    from moto.s3.models import s3_backends

    owner = enforce.bucket_owner(bucket_name)
    if owner is None:
        return []
    backend = s3_backends[owner]["aws"]
    bucket = backend.buckets.get(bucket_name)
    if bucket is None:
        return []
    account = enforce.account_context(caller)
    writes = operation in ("PutObject", "CreateMultipartUpload", "CopyObject")
    reads = operation in ("GetObject", "HeadObject", "CopyObject")
    # "To perform a multipart upload with encryption using an AWS KMS key, the requester must have
    # permission to the kms:Decrypt and kms:GenerateDataKey actions on the key [...] because Amazon S3
    # must decrypt and read data from the encrypted file parts before it completes the multipart
    # upload." (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions)
    completes = operation == "CompleteMultipartUpload"
    needed: list[tuple[str, str, bool]] = []  # (action, key reference, bucket key enabled)
    if writes and key_name:
        rule = ((bucket.encryption or {}).get("Rule") or {})
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        algorithm = params.get("ServerSideEncryption") or default.get("SSEAlgorithm")
        key_ref = params.get("SSEKMSKeyId") or default.get("KMSMasterKeyID")
        if algorithm == "aws:kms" and key_ref:
            needed.append(("kms:GenerateDataKey", key_ref, str(rule.get("BucketKeyEnabled", "false")).lower() == "true"))
    if completes and key_name:
        upload = bucket.multiparts.get(params.get("UploadId", ""))
        rule = ((bucket.encryption or {}).get("Rule") or {})
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        if upload is not None and getattr(upload, "sse_encryption", None) == "aws:kms" and getattr(upload, "kms_key_id", None):
            needed.append(("kms:Decrypt", upload.kms_key_id, str(rule.get("BucketKeyEnabled", "false")).lower() == "true"))
        elif default.get("SSEAlgorithm") == "aws:kms" and default.get("KMSMasterKeyID"):
            needed.append(("kms:Decrypt", default["KMSMasterKeyID"], str(rule.get("BucketKeyEnabled", "false")).lower() == "true"))
    if reads:
        source_bucket, source_key = bucket_name, key_name
        if operation == "CopyObject":
            text = str(params.get("CopySource", "")).lstrip("/").split("?", 1)[0]
            source_bucket, _, source_key = text.partition("/")
        source_owner = enforce.bucket_owner(source_bucket) if source_bucket else None
        source = s3_backends[source_owner]["aws"].buckets.get(source_bucket) if source_owner else None
        obj = source.keys.get(source_key) if source is not None and source_key else None
        if obj is not None and getattr(obj, "encryption", None) == "aws:kms" and getattr(obj, "kms_key_id", None):
            # The object's key was named when it was written; a bare key ID on it is the owner's key.
            needed.append(("kms:Decrypt", _owned_key(str(obj.kms_key_id), source_owner), bool(getattr(obj, "bucket_key_enabled", False))))
    out = []
    for action, reference, bucket_key in needed:
        arn = enforce.key_arn_of(str(reference), account)
        if arn is None:
            continue
        context_arn = f"arn:aws:s3:::{bucket_name}" if bucket_key else f"arn:aws:s3:::{bucket_name}/{key_name}"
        out.append(
            Authorization(
                action,
                arn,
                {
                    "kms:ViaService": f"s3.{account.region}.amazonaws.com",
                    "kms:CallerAccount": account.account,
                    "kms:EncryptionContext:aws:s3:arn": context_arn,
                    "kms:EncryptionContextKeys": ["aws:s3:arn"],
                    "aws:RequestedRegion": account.region,
                },
            )
        )
    return out


def check_s3(response: Any, bucket_name: str | None, key_name: str | None) -> enforce.Caller:
    access_key, token = _credentials(response)
    try:
        caller = enforce.caller_for(access_key, token)
    except enforce.Unauthenticated as error:
        code = "InvalidAccessKeyId" if error.code == "InvalidClientTokenId" else error.code
        message = "The AWS Access Key Id you provided does not exist in our records." if code == "InvalidAccessKeyId" else error.message
        raise _xml_error(code, message, 403, s3=True) from None
    operation = _s3_operation(response)
    params = _s3_params(response, bucket_name, key_name)
    fallback = f"arn:aws:s3:::{bucket_name}/{key_name}" if key_name else (f"arn:aws:s3:::{bucket_name}" if bucket_name else "*")
    try:
        enforce.authorize_request(caller, "s3", operation, params, _facts(response), fallback_resource=fallback)
        kms = _kms_for_s3(caller, operation, params, bucket_name, key_name)
        if kms:
            enforce.authorize_all(caller, kms, execution_arn=enforce.execution_of(caller.access_key), via="s3 for the caller")
    except enforce.Denied as denial:
        raise _s3_denied(_s3_message(denial.decision)) from None
    except UnresolvedOperation as gap:
        raise _xml_error("NotImplemented", f"IAM enforcement: {gap}", GAP_STATUS, s3=True) from None
    return caller


# ---- wiring ------------------------------------------------------------------------------------


def apply() -> bool:
    if not enforce.enabled():
        return False
    from moto.core.responses import BaseResponse
    from moto.s3.responses import S3Response

    original_call_action = BaseResponse.call_action

    def call_action(self: BaseResponse) -> Any:
        started = time.perf_counter()
        try:
            caller = check_normal(self)
        except Rejected as rejected:
            return rejected.response()
        enforce.charge(enforce.execution_of(caller.access_key), time.perf_counter() - started)
        # What the operation sets off in this thread (a Lambda invocation, a job) acts for the
        # execution the caller acts for.
        enforce.set_current_execution(enforce.execution_of(caller.access_key))
        try:
            return original_call_action(self)
        finally:
            enforce.set_current_execution(None)

    BaseResponse.call_action = call_action

    def authorize_s3(self: S3Response, bucket_name: str | None = None, key_name: str | None = None) -> None:
        started = time.perf_counter()
        caller = check_s3(self, bucket_name, key_name)
        enforce.charge(enforce.execution_of(caller.access_key), time.perf_counter() - started)

    S3Response._authenticate_and_authorize_s3_action = authorize_s3

    for name in ("bucket_response", "key_response", "ambiguous_response"):
        original = getattr(S3Response, name)

        def wrapped(self: S3Response, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            try:
                return __original(self, *args, **kwargs)
            except Rejected as rejected:
                return rejected.response()

        setattr(S3Response, name, wrapped)

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original_call = DomainDispatcherApplication.__call__

    def __call__(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == ACCESS_PATH:
            return _serve_access_log(environ, start_response)
        return original_call(self, environ, start_response)

    DomainDispatcherApplication.__call__ = __call__
    return True


ACCESS_PATH = "/_pipeline_tools/access"


def _serve_access_log(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """``GET /_pipeline_tools/access?execution=ARN``: the execution's access log (pipeline-tools run
    writes it to artifacts/<execution>/access.json). Loopback-only, like the whole emulator."""
    from urllib.parse import parse_qs

    execution = (parse_qs(environ.get("QUERY_STRING", "")).get("execution") or [""])[0]
    body = json.dumps({"enforced": True, "execution": execution, "cost": enforce.cost_of(execution), "decisions": enforce.access_log(execution)}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
