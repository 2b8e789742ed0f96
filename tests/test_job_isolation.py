"""Network isolation, VPC settings and output keys of SageMaker jobs on the emulator (issue 25, issue 21 item 4).

One emulator with IAM enforced. AWS: with network isolation "the containers can't make any outbound
network calls, even to other AWS services such as Amazon S3. Additionally, no AWS credentials are made
available to the container runtime environment ... SageMaker still performs download and upload
operations against Amazon S3 using your SageMaker execution role"
(https://docs.aws.amazon.com/sagemaker/latest/dg/mkt-algo-model-internet-free.html). A processing job's
script that calls S3 itself is refused under isolation with the error its user sees (boto3's
NoCredentialsError), and succeeds without; its inputs are staged and its outputs uploaded either way.
VPC settings are recorded (Describe* answers them); no network is emulated. Outputs are written with
the job's output key, else with the account's AWS managed S3 key (aws/s3), never silently the bucket's.

Script-mode training (issue 22) too: a training script that calls S3 itself is refused under isolation
as its user would see it, and a code folder's requirements.txt cannot install there (pip finds no index),
while the code itself arrives through the code channel, as the SageMaker SDK stages it for isolated jobs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline_tools.emulator import client, job_directory

from .conftest_emulator import emulator_in

pytestmark = pytest.mark.emulator

ACCOUNT, REGION = "123456789012", "us-east-1"
BUCKET = "isolation-bucket"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
VPC = {"Subnets": ["subnet-0123456789abcdef0"], "SecurityGroupIds": ["sg-0123456789abcdef0"]}
# Reads its staged input, writes an output, then lists the bucket with boto3 as a script in the
# scikit-learn image would (its boto3, the image's pin).
CALLS_S3 = f"""
import os, sys
import boto3
data = open(os.path.join(os.environ['PROCESSING_INPUT_DIR'], 'rows.csv')).read()
print('staged input:', data.strip())
open(os.path.join(os.environ['PROCESSING_OUTPUT_DIR'], 'copy.csv'), 'w').write(data)
listed = boto3.client('s3').list_objects_v2(Bucket='{BUCKET}', Prefix='in/')
print('listed', [o['Key'] for o in listed.get('Contents', [])])
"""
WRITES_ONLY = """
import os
open(os.path.join(os.environ['PROCESSING_OUTPUT_DIR'], 'done.txt'), 'w').write('ok')
"""


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIPELINE_TOOLS_EMULATOR_IAM", "1")
        with emulator_in(tmp_path_factory.mktemp("isolation") / ".pipeline-tools") as state:
            yield state


@pytest.fixture(scope="module")
def world(emulator):
    """A bucket encrypted by default with a customer key, the scripts, and a job role that may use
    the bucket and that key through S3 (but not the account's aws/s3 key: its key policy decides)."""
    kms, s3, iam = client("kms", emulator), client("s3", emulator), client("iam", emulator)
    bucket_key = kms.create_key(Description="the bucket's default key")["KeyMetadata"]["Arn"]
    job_key = kms.create_key(Description="the jobs' output key")["KeyMetadata"]["Arn"]
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": bucket_key}}]})
    s3.put_object(Bucket=BUCKET, Key="in/rows.csv", Body=b"1,2\n3,4\n")
    s3.put_object(Bucket=BUCKET, Key="code/calls_s3.py", Body=CALLS_S3.encode())
    s3.put_object(Bucket=BUCKET, Key="code/writes_only.py", Body=WRITES_ONLY.encode())
    rows = "\n".join(f"{int(a > b)},{a:.4f},{b:.4f}" for a, b in np.random.default_rng(0).random((200, 2)))
    s3.put_object(Bucket=BUCKET, Key="train/data.csv", Body=rows.encode())
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="isolated-jobs", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}
    iam.put_role_policy(RoleName="isolated-jobs", PolicyName="jobs", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"], "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]},
        {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": [bucket_key, job_key], "Condition": via_s3},
        {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
         "Resource": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/*"},
    ]}))
    return {"role": role, "bucket_key": bucket_key, "job_key": job_key}


def wait(describe, field: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while (job := describe())[field] in ("InProgress", "Stopping"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    return job


def processing_job(emulator, world, name: str, script: str, *, network: dict | None, output_key: str | None = None) -> dict:
    sagemaker = client("sagemaker", emulator)
    outputs = {"Outputs": [{"OutputName": "out", "S3Output": {"S3Uri": f"s3://{BUCKET}/out/{name}", "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "EndOfJob"}}]}
    if output_key:
        outputs["KmsKeyId"] = output_key
    request = dict(
        ProcessingJobName=name,
        RoleArn=world["role"],
        AppSpecification={"ImageUri": SKLEARN_IMAGE, "ContainerEntrypoint": ["python3", f"/opt/ml/processing/input/code/{script}"]},
        ProcessingInputs=[
            {"InputName": "code", "S3Input": {"S3Uri": f"s3://{BUCKET}/code/{script}", "LocalPath": "/opt/ml/processing/input/code", "S3DataType": "S3Prefix", "S3InputMode": "File"}},
            {"InputName": "data", "S3Input": {"S3Uri": f"s3://{BUCKET}/in/", "LocalPath": "/opt/ml/processing/input/data", "S3DataType": "S3Prefix", "S3InputMode": "File"}},
        ],
        ProcessingOutputConfig=outputs,
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 1}},
        StoppingCondition={"MaxRuntimeInSeconds": 120},
    )
    if network is not None:
        request["NetworkConfig"] = network
    sagemaker.create_processing_job(**request)
    return wait(lambda: sagemaker.describe_processing_job(ProcessingJobName=name), "ProcessingJobStatus")


def stdout_of(emulator, name: str) -> str:
    state_dir = Path(emulator["ca_bundle"]).parents[1]  # as test_emulator_pipeline finds it
    return (job_directory("processing", name, state_dir) / "algo-1" / "stdout.log").read_text()


def test_an_isolated_job_that_calls_s3_itself_gets_no_credentials(emulator, world):
    job = processing_job(emulator, world, "isolated-s3-call", "calls_s3.py", network={"EnableNetworkIsolation": True, "VpcConfig": VPC})
    assert job["ProcessingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("AlgorithmError: exit code 1 on algo-1: ")
    assert "botocore.exceptions.NoCredentialsError: Unable to locate credentials" in job["FailureReason"]
    assert "staged input: 1,2" in stdout_of(emulator, "isolated-s3-call")  # SageMaker staged the input all the same
    # Describe answers what was asked, VPC included (no network is emulated)
    assert job["NetworkConfig"] == {"EnableNetworkIsolation": True, "VpcConfig": VPC}


def test_the_same_job_without_isolation_reaches_s3(emulator, world):
    job = processing_job(emulator, world, "open-s3-call", "calls_s3.py", network={"EnableNetworkIsolation": False})
    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    assert "listed ['in/rows.csv']" in stdout_of(emulator, "open-s3-call")


def test_an_isolated_job_still_has_its_outputs_uploaded_with_its_output_key(emulator, world):
    s3 = client("s3", emulator)
    job = processing_job(emulator, world, "isolated-writer", "writes_only.py", network={"EnableNetworkIsolation": True}, output_key=world["job_key"])
    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    head = s3.head_object(Bucket=BUCKET, Key="out/isolated-writer/done.txt")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", world["job_key"])
    assert job["ProcessingOutputConfig"]["KmsKeyId"] == world["job_key"]


def test_without_an_output_key_sagemaker_uses_the_accounts_s3_key_not_the_buckets(emulator, world):
    """OutputDataConfig.KmsKeyId: "If you don't provide a KMS key ID, SageMaker uses the default KMS
    key for Amazon S3 for your role's account" (aws/s3), which the job role may use through S3 by that
    key's own policy (it has no IAM grant for it)."""
    kms, s3 = client("kms", emulator), client("s3", emulator)
    job = processing_job(emulator, world, "default-key-writer", "writes_only.py", network=None)
    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    (alias,) = [a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/aws/s3"]
    aws_s3 = kms.describe_key(KeyId=alias["TargetKeyId"])["KeyMetadata"]
    assert aws_s3["KeyManager"] == "AWS"
    head = s3.head_object(Bucket=BUCKET, Key="out/default-key-writer/done.txt")
    assert head["SSEKMSKeyId"] == aws_s3["Arn"] != world["bucket_key"]


def test_training_jobs_and_models_record_isolation_vpc_and_keys(emulator, world):
    sagemaker, s3 = client("sagemaker", emulator), client("s3", emulator)
    sagemaker.create_training_job(
        TrainingJobName="isolated-training",
        RoleArn=world["role"],
        AlgorithmSpecification={"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"},
        HyperParameters={"objective": "reg:logistic", "num_round": "3"},
        InputDataConfig=[{"ChannelName": "train", "ContentType": "text/csv", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/train/"}}}],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/models", "KmsKeyId": world["job_key"]},
        ResourceConfig={"InstanceCount": 2, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 1, "VolumeKmsKeyId": world["job_key"]},
        StoppingCondition={"MaxRuntimeInSeconds": 120},
        EnableNetworkIsolation=True,
        EnableInterContainerTrafficEncryption=True,
        VpcConfig=VPC,
    )
    job = wait(lambda: sagemaker.describe_training_job(TrainingJobName="isolated-training"), "TrainingJobStatus")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert (job["EnableNetworkIsolation"], job["EnableInterContainerTrafficEncryption"], job["VpcConfig"]) == (True, True, VPC)
    assert job["ResourceConfig"]["VolumeKmsKeyId"] == world["job_key"]
    artifact = job["ModelArtifacts"]["S3ModelArtifacts"].removeprefix(f"s3://{BUCKET}/")
    assert s3.head_object(Bucket=BUCKET, Key=artifact)["SSEKMSKeyId"] == world["job_key"]
    sagemaker.create_model(ModelName="isolated-model", ExecutionRoleArn=world["role"], EnableNetworkIsolation=True, VpcConfig=VPC,
                           PrimaryContainer={"Image": XGBOOST_IMAGE, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]})
    model = sagemaker.describe_model(ModelName="isolated-model")
    assert (model["EnableNetworkIsolation"], model["VpcConfig"]) == (True, VPC)
    sagemaker.create_model(ModelName="open-model", ExecutionRoleArn=world["role"],
                           PrimaryContainer={"Image": XGBOOST_IMAGE, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]})
    assert sagemaker.describe_model(ModelName="open-model")["EnableNetworkIsolation"] is False


# A training script (script mode) that lists the bucket itself, as in an isolated container it cannot.
TRAIN_CALLS_S3 = f"""
import os
import boto3
print('hosts', os.environ['SM_HOSTS'], 'train', sorted(os.listdir(os.environ['SM_CHANNEL_TRAIN'])))
open(os.path.join(os.environ['SM_MODEL_DIR'], 'model.txt'), 'w').write('m')
listed = boto3.client('s3').list_objects_v2(Bucket='{BUCKET}', Prefix='train/')
print('listed', [o['Key'] for o in listed.get('Contents', [])])
"""


def _source_archive(files: dict[str, str]) -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def script_training_job(emulator, world, name: str, files: dict[str, str], *, isolated: bool) -> dict:
    sagemaker, s3 = client("sagemaker", emulator), client("s3", emulator)
    s3.put_object(Bucket=BUCKET, Key=f"code/{name}/sourcedir.tar.gz", Body=_source_archive(files))
    sagemaker.create_training_job(
        TrainingJobName=name,
        RoleArn=world["role"],
        AlgorithmSpecification={"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"},
        HyperParameters={"sagemaker_program": '"train.py"', "sagemaker_submit_directory": '"/opt/ml/input/data/code/sourcedir.tar.gz"'},
        InputDataConfig=[
            {"ChannelName": "train", "ContentType": "text/csv", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/train/"}}},
            {"ChannelName": "code", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/code/{name}/sourcedir.tar.gz"}}},
        ],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/models"},
        ResourceConfig={"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 120},
        EnableNetworkIsolation=isolated,
    )
    return wait(lambda: sagemaker.describe_training_job(TrainingJobName=name), "TrainingJobStatus")


def training_stdout(emulator, name: str) -> str:
    state_dir = Path(emulator["ca_bundle"]).parents[1]
    return (job_directory("training", name, state_dir) / "algo-1" / "stdout.log").read_text()


def test_an_isolated_training_script_that_calls_s3_itself_gets_no_credentials(emulator, world):
    job = script_training_job(emulator, world, "isolated-script", {"train.py": TRAIN_CALLS_S3}, isolated=True)
    assert job["TrainingJobStatus"] == "Failed"
    assert "botocore.exceptions.NoCredentialsError: Unable to locate credentials" in job["FailureReason"]
    assert "hosts [\"algo-1\"] train ['data.csv']" in training_stdout(emulator, "isolated-script")  # the code and data arrived
    open_job = script_training_job(emulator, world, "open-script", {"train.py": TRAIN_CALLS_S3}, isolated=False)
    assert open_job["TrainingJobStatus"] == "Completed", open_job.get("FailureReason")
    assert "listed ['train/data.csv']" in training_stdout(emulator, "open-script")


def test_an_isolated_job_cannot_install_a_requirements_txt(emulator, world):
    """SageMaker's toolkit runs `pip install -r requirements.txt` in the container, which under isolation
    reaches no package index: the job fails at that step, in pip's words, before the script runs."""
    job = script_training_job(emulator, world, "isolated-requirements", {"train.py": "print('ran')\n", "requirements.txt": "tabulate==0.9.0\n"}, isolated=True)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith(
        "AlgorithmError: pip install -r requirements.txt: ERROR: Could not find a version that satisfies the requirement tabulate==0.9.0 (from versions: none)"
    )
    state_dir = Path(emulator["ca_bundle"]).parents[1]
    stdout = job_directory("training", "isolated-requirements", state_dir) / "algo-1" / "stdout.log"
    assert not stdout.exists() or "ran" not in stdout.read_text()  # the script never started
