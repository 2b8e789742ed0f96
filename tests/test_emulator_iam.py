"""IAM enforcement in the emulator (issue 11): a real server with ``PIPELINE_TOOLS_EMULATOR_IAM=1``,
driven through its APIs with the administrator's key and with role sessions from its STS."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from pipeline_tools.emulator import client, client_kwargs

from .conftest_emulator import emulator_in, tls_only_policy

pytestmark = pytest.mark.emulator

ACCOUNT = "123456789012"
BUCKET = "iam-enforced-bucket"
ROOT_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}],
}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIPELINE_TOOLS_EMULATOR_IAM", "1")
        with emulator_in(tmp_path_factory.mktemp("emulator-iam") / ".pipeline-tools") as state:
            yield state


@pytest.fixture(scope="module")
def bucket(emulator):
    s3 = client("s3", emulator)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=tls_only_policy(BUCKET))
    s3.put_object(Bucket=BUCKET, Key="runs/a/input/raw.csv", Body=b"1,2,3\n")
    return BUCKET


def _role(emulator, name: str, statements: list[dict]) -> str:
    iam = client("iam", emulator)
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(ROOT_TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    return arn


def _as_role(emulator, role_arn: str, service: str, session: str = "test-session"):
    credentials = client("sts", emulator).assume_role(RoleArn=role_arn, RoleSessionName=session)["Credentials"]
    kwargs = client_kwargs(emulator)
    kwargs.update(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    return boto3.session.Session().client(service, **kwargs)


def _error(call) -> dict:
    with pytest.raises(ClientError) as caught:
        call()
    return {**caught.value.response["Error"], "status": caught.value.response["ResponseMetadata"]["HTTPStatusCode"]}


def test_the_administrator_may_do_anything_the_bucket_policy_does_not_deny(emulator, bucket):
    s3 = client("s3", emulator)
    assert s3.get_object(Bucket=bucket, Key="runs/a/input/raw.csv")["Body"].read() == b"1,2,3\n"
    assert client("stepfunctions", emulator).list_state_machines()["stateMachines"] == []


def test_a_role_gets_what_its_policy_allows_on_the_real_resource_arn_and_nothing_else(emulator, bucket):
    role = _role(emulator, "reader", [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/runs/*/input/*"}])
    s3 = _as_role(emulator, role, "s3", "reader-session")
    assert s3.get_object(Bucket=bucket, Key="runs/a/input/raw.csv")["Body"].read() == b"1,2,3\n"

    denied = _error(lambda: s3.put_object(Bucket=bucket, Key="runs/a/input/other.csv", Body=b"x"))
    assert denied == {
        "Code": "AccessDenied",
        "Message": f"User: arn:aws:sts::{ACCOUNT}:assumed-role/reader/reader-session is not authorized to perform: "
        f's3:PutObject on resource: "arn:aws:s3:::{bucket}/runs/a/input/other.csv" because no identity-based policy '
        "allows the s3:PutObject action",
        "status": 403,
    }
    listing = _error(lambda: s3.list_objects_v2(Bucket=bucket, Prefix="runs/"))
    assert "s3:ListBucket" in listing["Message"] and f'"arn:aws:s3:::{bucket}"' in listing["Message"]

    sagemaker = _as_role(emulator, role, "sagemaker", "reader-session")
    error = _error(lambda: sagemaker.describe_training_job(TrainingJobName="Some-Job"))
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"].endswith(
        f"sagemaker:DescribeTrainingJob on resource: arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/some-job "
        "because no identity-based policy allows the sagemaker:DescribeTrainingJob action"
    )
    iam_error = _error(lambda: _as_role(emulator, role, "iam", "reader-session").list_roles())
    assert iam_error["Code"] == "AccessDenied" and iam_error["status"] == 403


def test_a_policy_removed_through_the_iam_api_applies_to_the_next_request(emulator, bucket):
    role = _role(emulator, "lister", [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}",
                                       "Condition": {"StringLike": {"s3:prefix": ["runs/*"]}}}])
    s3 = _as_role(emulator, role, "s3")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="runs/a/")["Contents"]] == ["runs/a/input/raw.csv"]
    assert "s3:ListBucket" in _error(lambda: s3.list_objects_v2(Bucket=bucket, Prefix="other/"))["Message"]  # s3:prefix evaluated
    client("iam", emulator).delete_role_policy(RoleName="lister", PolicyName="inline")
    assert _error(lambda: s3.list_objects_v2(Bucket=bucket, Prefix="runs/a/"))["Code"] == "AccessDenied"


def test_an_explicit_deny_in_the_bucket_policy_stops_even_the_administrator(emulator):
    s3 = client("s3", emulator)
    s3.create_bucket(Bucket="iam-deny-bucket")
    s3.put_bucket_policy(Bucket="iam-deny-bucket", Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "NoWritesUnderLocked", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                       "Resource": "arn:aws:s3:::iam-deny-bucket/locked/*"}],
    }))
    s3.put_object(Bucket="iam-deny-bucket", Key="open/a", Body=b"x")
    error = _error(lambda: s3.put_object(Bucket="iam-deny-bucket", Key="locked/a", Body=b"x"))
    assert error["Code"] == "AccessDenied"
    assert error["Message"] == (
        f'User: arn:aws:iam::{ACCOUNT}:root is not authorized to perform: s3:PutObject on resource: '
        '"arn:aws:s3:::iam-deny-bucket/locked/a" with an explicit deny in a resource-based policy'
    )


def test_sse_kms_objects_need_the_key_through_s3(emulator):
    """S3 calls KMS for the caller: GenerateDataKey to write, Decrypt to read, kms:ViaService = S3."""
    kms, s3 = client("kms", emulator), client("s3", emulator)
    key_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
             "Action": ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy"], "Resource": "*"},
            {"Sid": "ThroughS3", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
             "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*",
             "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}},
        ],
    }
    key = kms.create_key(Policy=json.dumps(key_policy))["KeyMetadata"]["Arn"]
    s3.create_bucket(Bucket="iam-kms-bucket")
    s3.put_bucket_encryption(Bucket="iam-kms-bucket", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}, "BucketKeyEnabled": True}]})
    s3.put_object(Bucket="iam-kms-bucket", Key="data/a", Body=b"secret")  # the root, through S3: allowed
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"] == key
    direct = _error(lambda: kms.encrypt(KeyId=key, Plaintext=b"x"))  # not through S3, not in the key policy
    assert direct["Code"] == "AccessDeniedException" and "kms:Encrypt" in direct["Message"]

    s3_only = _role(emulator, "s3-only", [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::iam-kms-bucket/*"}])
    as_role = _as_role(emulator, s3_only, "s3")
    error = _error(lambda: as_role.get_object(Bucket="iam-kms-bucket", Key="data/a"))
    assert error["Code"] == "AccessDenied" and f"kms:Decrypt on resource: \"{key}\"" in error["Message"]
    assert _error(lambda: as_role.put_object(Bucket="iam-kms-bucket", Key="data/b", Body=b"x"))["Message"].count("kms:GenerateDataKey") == 2

    with_key = _role(emulator, "s3-and-key", [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::iam-kms-bucket/*"},
        {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": key,
         "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}},
    ])
    as_role = _as_role(emulator, with_key, "s3")
    as_role.put_object(Bucket="iam-kms-bucket", Key="data/c", Body=b"mine")
    assert as_role.get_object(Bucket="iam-kms-bucket", Key="data/a")["Body"].read() == b"secret"
    assert _error(lambda: _as_role(emulator, with_key, "kms").decrypt(CiphertextBlob=b"x" * 40, KeyId=key))["Code"] == "AccessDeniedException"


def test_unknown_keys_and_tokens_are_refused(emulator):
    bad = {**client_kwargs(emulator), "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "x"}
    assert _error(lambda: boto3.session.Session().client("s3", **bad).list_buckets())["Code"] == "InvalidAccessKeyId"
    assert _error(lambda: boto3.session.Session().client("sagemaker", **bad).list_training_jobs())["Code"] == "InvalidClientTokenId"
    role = _role(emulator, "token-check", [{"Effect": "Allow", "Action": "sagemaker:ListTrainingJobs", "Resource": "*"}])
    credentials = client("sts", emulator).assume_role(RoleArn=role, RoleSessionName="token-session")["Credentials"]
    forged = {**client_kwargs(emulator), "aws_access_key_id": credentials["AccessKeyId"],
              "aws_secret_access_key": credentials["SecretAccessKey"], "aws_session_token": "forged"}
    assert _error(lambda: boto3.session.Session().client("sagemaker", **forged).list_training_jobs())["Code"] == "InvalidClientTokenId"


def test_health_reports_enforcement(emulator):
    import urllib.request
    import ssl

    context = ssl.create_default_context(cafile=emulator["ca_bundle"])
    with urllib.request.urlopen(f"{emulator['endpoint']}/_pipeline_tools/health", context=context) as response:
        assert "iam_enforce" in json.loads(response.read())["patches"]


def test_a_log_group_key_must_let_cloudwatch_logs_use_it_for_that_group(emulator):
    kms, logs = client("kms", emulator), client("logs", emulator)
    root = {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
    without_logs = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": [root]}))["KeyMetadata"]["Arn"]
    error = _error(lambda: logs.create_log_group(logGroupName="/iam/denied", kmsKeyId=without_logs))
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"] == (
        f"The specified KMS key does not exist or is not allowed to be used with Arn 'arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/iam/denied'"
    )
    for_logs = {"Sid": "Logs", "Effect": "Allow", "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"], "Resource": "*",
                "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/iam/allowed"}}}
    with_logs = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": [root, for_logs]}))["KeyMetadata"]["Arn"]
    logs.create_log_group(logGroupName="/iam/allowed", kmsKeyId=with_logs)
    assert _error(lambda: logs.create_log_group(logGroupName="/iam/other", kmsKeyId=with_logs))["Code"] == "AccessDeniedException"


# ---- the stack's key against the KMS use AWS services make for their callers (issue 21) -------------

REGION = "us-east-1"
LAMBDA_GROUP = "/aws/lambda/mlpipe-generate-dataset"
STATES_GROUP = "/aws/vendedlogs/states/mlpipe-pipeline"


def _group_arn(group: str) -> str:
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"


def _stack_key(emulator) -> str:
    """A key with the key policy the construct writes (sfn_ml_pipeline.iam.key_policy), for the
    default pipeline's two log groups."""
    from sfn_ml_pipeline.iam import key_policy

    policy = key_policy("aws", "amazonaws.com", REGION, ACCOUNT, [_group_arn(LAMBDA_GROUP), _group_arn(STATES_GROUP)])
    return client("kms", emulator).create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]


def _json_statements(statements) -> list[dict]:
    """sfn_ml_pipeline.iam statements as IAM JSON (what the aws_iam_policy_document renders)."""
    out = []
    for s in statements:
        statement = {"Sid": s.sid, "Effect": "Allow", "Action": s.actions, "Resource": s.resources}
        for test, variable, values in s.conditions:
            statement.setdefault("Condition", {}).setdefault(test, {})[variable] = values
        out.append(statement)
    return out


def _stack_lambda_statements(key: str, bucket: str = "arn:aws:s3:::mlpipe-data") -> list[dict]:
    from sfn_ml_pipeline.iam import Arns, lambda_statements

    arns = Arns(
        partition="aws", region=REGION, account=ACCOUNT, bucket_arn=bucket,
        lambda_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:mlpipe-generate-dataset",
        lambda_log_group_arn=_group_arn(LAMBDA_GROUP), sagemaker_role_arn=f"arn:aws:iam::{ACCOUNT}:role/jobs",
        ecr_repositories=[], kms_key_arn=key,
    )
    return _json_statements(lambda_statements(arns))


def test_cloudwatch_logs_uses_the_callers_key_permissions_through_logs(emulator):
    """encrypt-log-data-kms.html: CloudWatch Logs makes the KMS calls on the caller's behalf
    (kms:ViaService logs.REGION.amazonaws.com): the deployer creating the group needs kms:Encrypt, a
    writer kms:GenerateDataKey and kms:Decrypt, a reader kms:Decrypt, all under the group's encryption
    context. The stack's key policy must let the account's principals do that for its two groups."""
    key, logs = _stack_key(emulator), client("logs", emulator)
    logs.create_log_group(logGroupName=LAMBDA_GROUP, kmsKeyId=key)  # Terraform, as the administrator
    assert logs.describe_log_groups(logGroupNamePrefix=LAMBDA_GROUP)["logGroups"][0]["kmsKeyId"] == key

    stream = "2026/12/04/[$LATEST]0123456789abcdef0123456789abcdef"
    logs.create_log_stream(logGroupName=LAMBDA_GROUP, logStreamName=stream)
    no_key = _role(emulator, "writer-without-key", [{"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                                     "Resource": f"{_group_arn(LAMBDA_GROUP)}:*"}])
    event = [{"timestamp": int(__import__("time").time() * 1000), "message": "hello"}]
    denied = _error(lambda: _as_role(emulator, no_key, "logs").put_log_events(logGroupName=LAMBDA_GROUP, logStreamName=stream, logEvents=event))
    assert denied["Code"] == "AccessDeniedException"
    assert f"is not authorized to perform: kms:GenerateDataKey on resource: {key} because no identity-based policy allows" in denied["Message"]

    # The Lambda role as the stack grants it writes its function's logs; the administrator reads them.
    function_role = _role(emulator, "stack-lambda-role", _stack_lambda_statements(key))
    _as_role(emulator, function_role, "logs").put_log_events(logGroupName=LAMBDA_GROUP, logStreamName=stream, logEvents=event)
    read = logs.filter_log_events(logGroupName=LAMBDA_GROUP)["events"]
    assert [e["message"] for e in read] == ["hello"]

    # The key serves the pipeline's groups only: another group cannot be created with it.
    other = _error(lambda: logs.create_log_group(logGroupName="/aws/lambda/someone-else", kmsKeyId=key))
    assert other["Code"] == "AccessDeniedException"


def test_a_key_policy_without_callers_through_logs_refuses_the_deployer(emulator):
    """The old form of the key policy: CloudWatch Logs' service principal alone. Creating the group
    fails as AWS answered aws-secure-environment-accelerator PR #1293: not authorized to kms:Encrypt."""
    kms, logs = client("kms", emulator), client("logs", emulator)
    root = f"arn:aws:iam::{ACCOUNT}:root"
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": root}, "Action": ["kms:DescribeKey", "kms:PutKeyPolicy"], "Resource": "*"},
        {"Sid": "Logs", "Effect": "Allow", "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
         "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"], "Resource": "*",
         "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": _group_arn("/iam/service-only")}}},
    ]}
    key = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
    error = _error(lambda: logs.create_log_group(logGroupName="/iam/service-only", kmsKeyId=key))
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"] == (
        f"User: {root} is not authorized to perform: kms:Encrypt on resource: {key} because no resource-based policy allows the kms:Encrypt action"
    )


def test_create_grant_is_for_aws_resources_only(emulator):
    """KMS developer guide, grant authorization: kms:GrantIsForAWSResource lets a principal create a
    grant only when an integrated AWS service asks on its behalf. Lambda does so for a function whose
    environment the key encrypts; nobody may grant themselves the key directly."""
    from .conftest_emulator import zip_files

    key, kms = _stack_key(emulator), client("kms", emulator)
    granter = _role(emulator, "would-be-granter", [{"Effect": "Allow", "Action": "kms:CreateGrant", "Resource": key}])
    direct = _error(lambda: _as_role(emulator, granter, "kms").create_grant(KeyId=key, GranteePrincipal=granter, Operations=["Decrypt"]))
    assert direct["Code"] == "AccessDeniedException" and "kms:CreateGrant" in direct["Message"]
    root = _error(lambda: kms.create_grant(KeyId=key, GranteePrincipal=granter, Operations=["Decrypt"]))
    assert root["Code"] == "AccessDeniedException" and "because no resource-based policy allows the kms:CreateGrant action" in root["Message"]

    lam, iam = client("lambda", emulator), client("iam", emulator)
    role = iam.create_role(RoleName="grant-fn-role", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))["Role"]["Arn"]
    function = {"Runtime": "python3.12", "Role": role, "Handler": "app.handler", "Code": {"ZipFile": zip_files({"app.py": "def handler(e, c):\n    return e\n"})},
                "Environment": {"Variables": {"DATASET_ROWS": "5"}}}
    lam.create_function(FunctionName="grant-fn", KMSKeyArn=key, **function)  # Lambda's grant, on the deployer's behalf
    no_grants = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": ["kms:DescribeKey", "kms:Encrypt", "kms:Decrypt"], "Resource": "*"}]}))["KeyMetadata"]["Arn"]
    refused = _error(lambda: lam.create_function(FunctionName="grant-fn-2", KMSKeyArn=no_grants, **function))
    assert refused["Code"] == "InvalidParameterValueException"
    assert refused["Message"].startswith(
        "Lambda was unable to configure access to your environment variables because the KMS key is invalid for CreateGrant. "
        "Please check your KMS key settings. KMS Exception: AccessDeniedException KMS Message: "
    ) and "kms:CreateGrant" in refused["Message"]


def test_create_model_assumes_the_model_role_as_sagemakers_inference_trust_says(emulator):
    """SageMaker's confused-deputy page, "SageMaker AI Inference": the role's trust names
    arn:aws:sagemaker:REGION:ACCOUNT:*, not a model's or an endpoint's ARN. CreateModel assumes the
    role (patches/sagemaker_model_role.py) and refuses one narrowed to model/*."""
    def model_role(name: str, source_arns: list[str]) -> str:
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnLike": {"aws:SourceArn": source_arns}}}]}
        return client("iam", emulator).create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]

    sagemaker = client("sagemaker", emulator)
    container = {"Image": f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1", "ModelDataUrl": "s3://b/runs/r/models/r/output/model.tar.gz"}
    kinds = ["processing-job", "training-job", "transform-job", "model"]  # the job role's old trust, passed as the model's
    narrow = model_role("model-narrow", [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/*" for kind in kinds])
    error = _error(lambda: sagemaker.create_model(ModelName="narrow", ExecutionRoleArn=narrow, PrimaryContainer=container))
    assert error["Code"] == "ValidationException"
    assert error["Message"] == f"Could not assume role {narrow}. Please ensure that the role exists and allows principal 'sagemaker.amazonaws.com' to assume the role."
    inference = model_role("model-inference", [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:*"])
    created = sagemaker.create_model(ModelName="inference", ExecutionRoleArn=inference, PrimaryContainer=container)
    assert created["ModelArn"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/inference"
