"""What AWS services do with a role's permissions without an API request reaching the emulator.

On AWS a service uses the role it was given for work no client request shows: SageMaker pulls a
job's image and writes its logs and metrics as the job's role; Lambda writes a function's logs
and traces as its execution role; Step Functions creates the EventBridge managed rule of a
``.sync`` task, delivers the execution's logs and sends its traces as the state machine's role.
The emulator does none of that work, but it asks IAM the same questions at the same moments, as
that role's session, so a missing permission shows here as it would on AWS, and every decision
lands in the execution's access log (``via`` names the service).

Where AWS fails the work, so does the emulator (``fail=True``); where AWS only loses logs,
metrics or traces, the denial is recorded and the work goes on.
"""

from __future__ import annotations

import time
from typing import Iterable

from ...iam.evaluation import Decision, Principal
from . import enforce
from .resolve import Authorization, image_pull

REGION = enforce.ACCOUNT.region


def role_session(role_arn: str, session: str) -> enforce.Caller:
    role = enforce.role_by_arn(role_arn)
    principal = Principal.assumed_role(role_arn, session, role.id if role is not None else None)
    return enforce.Caller(principal, f"service-session:{session}", "role", role_arn=role_arn)


def check(
    role_arn: str,
    session: str,
    authorizations: Iterable[Authorization],
    *,
    execution_arn: str | None,
    via: str,
    fail: bool,
) -> list[Decision]:
    """Decide each authorization as ``role_arn``'s session; raise :class:`enforce.Denied` at the first
    denial when ``fail``, else record every decision and go on."""
    if not enforce.enabled():
        return []
    started = time.perf_counter()
    try:
        return _check(role_arn, session, authorizations, execution_arn=execution_arn, via=via, fail=fail)
    finally:
        enforce.charge(execution_arn, time.perf_counter() - started)


def _check(role_arn: str, session: str, authorizations: Iterable[Authorization], *, execution_arn: str | None, via: str, fail: bool) -> list[Decision]:
    caller = role_session(role_arn, session)
    if fail:
        return enforce.authorize_all(caller, authorizations, execution_arn=execution_arn, via=via)
    policies = enforce.identity_policies(caller)
    decisions = []
    for authorization in authorizations:
        decision = enforce.decide(caller.principal, policies, authorization)
        enforce.record(decision, role_arn, execution_arn, via)
        decisions.append(decision)
    return decisions


def _context() -> dict[str, str]:
    return {"aws:RequestedRegion": REGION}


def log_writes(group: str, stream: str, *, create_group: bool) -> list[Authorization]:
    """CloudWatch Logs calls that write ``stream`` in ``group`` (ARN forms: resolve.py, logs), and,
    when the group is encrypted with a KMS key, the key use Logs makes for the writer (:func:`log_key_use`)."""
    group_arn = enforce.ACCOUNT.arn("logs", f"log-group:{group}:log-stream:")
    stream_arn = enforce.ACCOUNT.arn("logs", f"log-group:{group}:log-stream:{stream}")
    out = [Authorization("logs:CreateLogGroup", group_arn, _context())] if create_group else []
    out += [
        Authorization("logs:CreateLogStream", stream_arn, _context()),
        Authorization("logs:PutLogEvents", stream_arn, _context()),
    ]
    key = None if create_group else log_group_key(group)
    return out + (log_key_use(group, key, LOG_KEY_WRITE) if key else [])


# ---- CloudWatch Logs uses the caller's KMS permissions --------------------------------------------
# "CloudWatch Logs now supports kms:ViaService which allows logs to make AWS KMS calls on your behalf.
# You should add this to your roles which call CloudWatch Logs in either your Key Policy or in IAM."
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html): besides the
# logs.REGION.amazonaws.com statement of the key policy, whoever calls CloudWatch Logs on an encrypted
# log group needs the key itself, through logs (kms:ViaService = logs.REGION.amazonaws.com) and with the
# group's encryption context (kms:EncryptionContext:aws:logs:arn = the group's ARN, same page). What
# each call needs:
# * creating a log group with a key (CreateLogGroup, AssociateKmsKey): kms:Encrypt. AWS's answer to a
#   caller without it, as two AWS-maintained projects met it in 2025: "...assumed-role/...CustomLogsLogGroup...
#   is not authorized to perform: kms:Encrypt on resource" (aws-samples/aws-secure-environment-accelerator
#   PR #1293, which granted kms:Encrypt, kms:Decrypt and kms:GenerateDataKey) and "...is not authorized to
#   perform: kms:Encrypt on resource: arn:aws:kms:...:key/... because no identity-based policy allows the
#   kms:Encrypt action" (awslabs/landing-zone-accelerator-on-aws issue #768, fixed by granting the same three);
# * writing events (PutLogEvents): kms:GenerateDataKey and kms:Decrypt, the two AWS's managed policy
#   CloudWatchLogsAPIKeyAccess grants beside logs:PutLogEvents, under kms:ViaService logs.*.amazonaws.com and
#   kms:EncryptionContext:aws:logs:arn (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/CloudWatchLogsAPIKeyAccess.html);
# * reading events (GetLogEvents, FilterLogEvents): kms:Decrypt ("CloudWatch Logs decrypts this data
#   whenever it is requested", encrypt-log-data-kms.html).
LOG_KEY_CREATE = ("kms:Encrypt",)
LOG_KEY_WRITE = ("kms:GenerateDataKey", "kms:Decrypt")
LOG_KEY_READ = ("kms:Decrypt",)
LOGS_VIA_SERVICE = f"logs.{REGION}.amazonaws.com"


def log_group_key(group: str) -> str | None:
    """The ARN of the KMS key ``group`` is encrypted with (None: not encrypted, or no such group)."""
    from ..service_logs import backend

    found = backend(enforce.ACCOUNT.account, enforce.ACCOUNT.region).groups.get(group)
    reference = getattr(found, "kms_key_id", None) if found is not None else None
    return enforce.key_arn_of(str(reference)) if reference else None


def log_key_use(group: str, key_arn: str, actions: Iterable[str]) -> list[Authorization]:
    """The KMS calls CloudWatch Logs makes with the caller's permissions for ``group``."""
    context = {
        **_context(),
        "kms:ViaService": LOGS_VIA_SERVICE,
        "kms:CallerAccount": enforce.ACCOUNT.account,
        "kms:EncryptionContext:aws:logs:arn": enforce.ACCOUNT.arn("logs", f"log-group:{group}"),
        "kms:EncryptionContextKeys": ["aws:logs:arn"],
    }
    return [Authorization(action, key_arn, context) for action in actions]


# ---- SageMaker jobs -------------------------------------------------------------------------------
# The job's role pulls its image (https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html,
# "CreateTrainingJob API: Execution Role Permissions": ecr:GetAuthorizationToken,
# ecr:BatchCheckLayerAvailability, ecr:GetDownloadUrlForLayer, ecr:BatchGetImage, and logs:CreateLogGroup,
# logs:CreateLogStream, logs:DescribeLogStreams, logs:PutLogEvents, cloudwatch:PutMetricData);
# logs go to /aws/sagemaker/{ProcessingJobs,TrainingJobs,TransformJobs}, one stream per host
# (https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html; written by
# emulator/job_logs.py), and metrics to the same namespaces
# (https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html).

JOB_LOG_GROUPS = {
    "processing": "/aws/sagemaker/ProcessingJobs",
    "training": "/aws/sagemaker/TrainingJobs",
    "transform": "/aws/sagemaker/TransformJobs",
}


def job_image_pull(role_arn: str, image: str, execution_arn: str | None) -> None:
    """Raises :class:`enforce.Denied` if the job's role may not pull ``image`` (SageMaker then refuses the create)."""
    if "dkr.ecr." not in image:
        return
    check(role_arn, "SageMaker", image_pull(enforce.ACCOUNT, image), execution_arn=execution_arn, via="sagemaker pulls the job image", fail=True)


def job_log_stream(role_arn: str | None, kind: str, stream: str, execution_arn: str | None, *, group_exists: bool) -> bool:
    """SageMaker creates a host's log stream (and the group) and puts its events as the job's role:
    whether that is allowed (always, without enforcement). A denial loses the host's logs, as on AWS."""
    if not enforce.enabled() or not role_arn:
        return True
    group = JOB_LOG_GROUPS[kind]
    authorizations = [
        *log_writes(group, stream, create_group=True),
        Authorization("logs:DescribeLogStreams", enforce.ACCOUNT.arn("logs", f"log-group:{group}:log-stream:"), _context()),
    ]
    decisions = check(role_arn, "SageMaker", authorizations, execution_arn=execution_arn, via="sagemaker writes job logs", fail=False)
    return _writes_allowed(decisions, group_exists)


def job_metrics(role_arn: str | None, kind: str, execution_arn: str | None) -> None:
    if not role_arn:
        return
    group = JOB_LOG_GROUPS[kind]
    authorizations = [Authorization("cloudwatch:PutMetricData", "*", {**_context(), "cloudwatch:namespace": group})]
    check(role_arn, "SageMaker", authorizations, execution_arn=execution_arn, via="sagemaker writes job metrics", fail=False)


def _writes_allowed(decisions: list[Decision], group_exists: bool) -> bool:
    """The events land when CreateLogStream and PutLogEvents are allowed, the group exists or may be
    created, and an encrypted group's key may be used through CloudWatch Logs."""
    allowed = {d.request.action: d.allowed for d in decisions}
    return (
        allowed.get("logs:CreateLogStream", True)
        and allowed.get("logs:PutLogEvents", True)
        and (group_exists or allowed.get("logs:CreateLogGroup", True))
        and all(d.allowed for d in decisions if d.request.action.startswith("kms:"))
    )


# ---- Lambda -------------------------------------------------------------------------------------
# The execution role writes the function's logs (logs:CreateLogStream, logs:PutLogEvents on its log
# group, and logs:CreateLogGroup where the group does not exist yet) and, with active tracing, its
# traces (xray:PutTraceSegments, xray:PutTelemetryRecords):
# https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html,
# https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html ("Required IAM
# permissions"), https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html.


def lambda_invocation(
    role_arn: str, function_name: str, log_group: str, stream: str, tracing: bool, execution_arn: str | None, *, group_exists: bool = True
) -> bool:
    """Lambda's writes for one invocation as the execution role; returns whether its log events may
    be written (always, without enforcement). A denial loses the logs, as on AWS."""
    authorizations = log_writes(log_group, stream, create_group=not group_exists)
    if tracing:
        authorizations += [Authorization(f"xray:{a}", "*", _context()) for a in ("PutTraceSegments", "PutTelemetryRecords")]
    decisions = check(role_arn, function_name, authorizations, execution_arn=execution_arn, via="lambda writes logs and traces", fail=False)
    return _writes_allowed(decisions, group_exists)


# ---- Step Functions -------------------------------------------------------------------------------
# .sync tasks: Step Functions creates and reads the managed rule
# StepFunctionsGetEventsFor<Service><Job>Rule as the state machine role (events:PutTargets, PutRule,
# DescribeRule: https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html); without them
# AWS answers "'<role ARN>' is not authorized to create managed-rule." (AccessDeniedException, quoted in
# github.com/terraform-aws-modules/terraform-aws-step-functions/issues/33).

SYNC_RULES = {
    "createProcessingJob": "StepFunctionsGetEventsForSageMakerProcessingJobsRule",
    "createTrainingJob": "StepFunctionsGetEventsForSageMakerTrainingJobsRule",
    "createTransformJob": "StepFunctionsGetEventsForSageMakerTransformJobsRule",
}


def managed_rule(role_arn: str, session: str, api_action: str, execution_arn: str | None) -> None:
    rule = SYNC_RULES.get(api_action)
    if rule is None:
        return
    arn = enforce.ACCOUNT.arn("events", f"rule/{rule}")
    authorizations = [Authorization(f"events:{a}", arn, _context()) for a in ("PutTargets", "PutRule", "DescribeRule")]
    check(role_arn, session, authorizations, execution_arn=execution_arn, via="step functions manages the .sync rule", fail=True)


# Logging (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html) and X-Ray
# (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-xray-tracing.html): actions without
# resource-level permissions, used as the execution runs; a denial loses logs or traces only.
LOG_DELIVERY_ACTIONS = (
    "CreateLogDelivery", "GetLogDelivery", "UpdateLogDelivery", "DeleteLogDelivery",
    "ListLogDeliveries", "PutResourcePolicy", "DescribeResourcePolicies", "DescribeLogGroups",
)
XRAY_ACTIONS = ("PutTraceSegments", "PutTelemetryRecords", "GetSamplingRules", "GetSamplingTargets")


def execution_started(role_arn: str, session: str, execution_arn: str, logging: bool, tracing: bool) -> None:
    authorizations = []
    if logging:
        authorizations += [Authorization(f"logs:{a}", "*", _context()) for a in LOG_DELIVERY_ACTIONS]
    if tracing:
        authorizations += [Authorization(f"xray:{a}", "*", _context()) for a in XRAY_ACTIONS]
    if authorizations:
        check(role_arn, session, authorizations, execution_arn=execution_arn, via="step functions delivers logs and traces", fail=False)
