"""The whole pipeline on the emulator, through moto's interpreter: the real Lambda handler
(scripts/generate_dataset.py), the real processing script (scripts/transform.py) and real
XGBoost training, with the definition the construct deploys (``build_definition``) and the
three roles the construct declares (their statements from ``sfn_ml_pipeline.iam``). Every test
runs twice: with IAM enforced (``PIPELINE_TOOLS_EMULATOR_IAM=1``) and without.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline_tools.emulator import client, job_directory
from sfn_ml_pipeline.config import config_from_mapping
from sfn_ml_pipeline.definition import FAILED, GENERATE, STANDARDIZE, TRAIN, DefinitionRefs, build_definition

from .conftest_emulator import SCRIPTS, emulator_in, tls_only_policy, wait_execution, zip_files

pytestmark = pytest.mark.emulator

BUCKET = "pipeline-bucket"
TRANSFORM_KEY = "code/transform.py"
FAILING_TRANSFORM_KEY = "code/failing/transform.py"
FAILING_TRANSFORM = "import sys\nprint('standardizing...')\nsys.stderr.write('error: column x is constant\\n')\nsys.exit(3)\n"


ACCOUNT, REGION = "123456789012", "us-east-1"
LAMBDA_LOG_GROUP = "/aws/lambda/generate-dataset"
# What SageMaker needs to write a job's logs (the SageMaker roles page), for the direct jobs' role.
JOB_LOGS_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
    "Resource": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/*"}]})
MACHINES = ("pipeline", "pipeline-failing", "pipeline-slow", "pipeline-short-limit", "pipeline-unknown-image")
SLOW_TRANSFORM_KEY = "code/slow/transform.py"


@pytest.fixture(scope="module", params=["iam", "no-iam"])
def emulator(request, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIPELINE_TOOLS_EMULATOR_IAM", "1" if request.param == "iam" else "0")
        with emulator_in(tmp_path_factory.mktemp("emulator-pipeline") / ".pipeline-tools") as state:
            yield state


def policy_document(statements) -> str:
    """sfn_ml_pipeline.iam statements as an IAM JSON policy."""
    out = []
    for statement in statements:
        entry = {"Sid": statement.sid, "Effect": "Allow", "Action": statement.actions, "Resource": statement.resources}
        for test, variable, values in statement.conditions:
            entry.setdefault("Condition", {}).setdefault(test, {})[variable] = values
        out.append(entry)
    return json.dumps({"Version": "2012-10-17", "Statement": out})


def trust_document(service: str, account: str | None, source_arns: list[str] | None = None) -> str:
    from sfn_ml_pipeline import iam

    binding = iam.trust_statement(service, account, source_arns)
    statement = {"Sid": binding["sid"], "Effect": "Allow", "Action": binding["actions"],
                 "Principal": {p["type"]: p["identifiers"] for p in binding["principals"]}}
    for condition in binding.get("condition", []):
        statement.setdefault("Condition", {}).setdefault(condition["test"], {})[condition["variable"]] = condition["values"]
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def create_stack_roles(iam_client, *, lambda_arn: str | None = None, bucket: str = BUCKET, images: list[str] = ()) -> dict:
    """The construct's three roles (trust + scoped policy), as the stack declares them."""

    def role(name: str, trust: str) -> str:
        return iam_client.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]

    machines = [f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}" for name in MACHINES]
    jobs = [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/*" for kind in ("processing-job", "training-job")]
    return {
        "lambda": role("pipeline-generate-dataset", trust_document("lambda.amazonaws.com", None)),
        "sagemaker": role("pipeline-sagemaker-jobs", trust_document("sagemaker.amazonaws.com", ACCOUNT, jobs)),
        "state_machine": role("pipeline-state-machine", trust_document("states.amazonaws.com", ACCOUNT, machines)),
    }


def put_stack_policies(iam_client, roles: dict, lambda_arn: str, bucket: str = BUCKET) -> None:
    from sfn_ml_pipeline import iam
    from sfn_ml_pipeline.config import config_from_mapping as load

    config = load({})
    arns = iam.Arns(
        partition="aws", region=REGION, account=ACCOUNT, bucket_arn=f"arn:aws:s3:::{bucket}", lambda_arn=lambda_arn,
        lambda_log_group_arn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/generate-dataset",
        sagemaker_role_arn=roles["sagemaker"],
        ecr_repositories=sorted({f"arn:aws:ecr:{REGION}:{image.split('.', 1)[0]}:repository/{image.split('/', 1)[1].split(':')[0]}"
                                 for image in (config.processing_image, config.training_image)}),
    )
    import inspect

    if "tasks" in inspect.signature(iam.state_machine_statements).parameters:  # grants derived from the tasks
        from sfn_ml_pipeline.definition import pipeline_tasks

        refs = DefinitionRefs(bucket, lambda_arn, roles["sagemaker"], TRANSFORM_KEY)
        machine_statements = iam.state_machine_statements(arns, pipeline_tasks(config, refs), logging=False, tracing=False)
    else:
        machine_statements = iam.state_machine_statements(arns)
    for name, statements in (("state_machine", machine_statements), ("sagemaker", iam.sagemaker_statements(arns)),
                             ("lambda", iam.lambda_statements(arns))):
        iam_client.put_role_policy(RoleName=roles[name].rsplit("/", 1)[-1], PolicyName="stack", PolicyDocument=policy_document(statements))


@pytest.fixture(scope="module")
def deployed(emulator):
    """Bucket (TLS-only policy), scripts, Lambda and the three roles: what the stack creates, by hand."""
    s3 = client("s3", emulator)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=tls_only_policy(BUCKET))
    s3.put_object(Bucket=BUCKET, Key=TRANSFORM_KEY, Body=(SCRIPTS / "transform.py").read_bytes())
    s3.put_object(Bucket=BUCKET, Key=FAILING_TRANSFORM_KEY, Body=FAILING_TRANSFORM.encode())
    s3.put_object(Bucket=BUCKET, Key=SLOW_TRANSFORM_KEY, Body=b"import time\ntime.sleep(60)\n")
    iam_client = client("iam", emulator)
    roles = create_stack_roles(iam_client)
    function = client("lambda", emulator).create_function(
        FunctionName="generate-dataset",
        Runtime="python3.11",
        Role=roles["lambda"],
        Handler="generate_dataset.handler",
        Code={"ZipFile": zip_files({"generate_dataset.py": (SCRIPTS / "generate_dataset.py").read_text()})},
        Timeout=300,
    )["FunctionArn"]
    put_stack_policies(iam_client, roles, function)
    client("logs", emulator).create_log_group(logGroupName=LAMBDA_LOG_GROUP)  # the stack declares the function's group
    # The direct job tests below read and write outside the pipeline's prefixes: a role of their own.
    job_role = iam_client.create_role(RoleName="direct-jobs", AssumeRolePolicyDocument=trust_document("sagemaker.amazonaws.com", None))["Role"]["Arn"]
    iam_client.put_role_policy(RoleName="direct-jobs", PolicyName="bucket", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                                                "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]},
                                               {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability",
                                                                              "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"], "Resource": "*"}]}))
    iam_client.put_role_policy(RoleName="direct-jobs", PolicyName="logs", PolicyDocument=JOB_LOGS_POLICY)
    config = config_from_mapping({})
    sfn = client("stepfunctions", emulator)

    def machine(name: str, transform_key: str, config=config) -> str:
        definition = build_definition(config, DefinitionRefs(BUCKET, function, roles["sagemaker"], transform_key))
        check = sfn.validate_state_machine_definition(definition=json.dumps(definition))
        assert check["result"] == "OK", check["diagnostics"]
        return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=roles["state_machine"])["stateMachineArn"]

    return {"good": machine(MACHINES[0], TRANSFORM_KEY), "failing": machine(MACHINES[1], FAILING_TRANSFORM_KEY),
            "slow": machine(MACHINES[2], SLOW_TRANSFORM_KEY),
            # the slow script under a 2 s processing limit: the run fails at Standardization
            "short_limit": machine(MACHINES[3], SLOW_TRANSFORM_KEY, config_from_mapping({"processing": {"max_runtime_seconds": 2}})),
            # an XGBoost image tag the emulator has no environment for: the run fails at training
            "unknown_image": machine(MACHINES[4], TRANSFORM_KEY, config_from_mapping({"training": {"image_tag": "1.5-1"}})),
            "role": job_role, "roles": roles, "function": function}


def _events(sfn, execution_arn: str) -> list[dict]:
    return sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]


def test_pipeline_runs_for_real_and_trains_a_useful_model(emulator, deployed, tmp_path):
    sfn, s3, sagemaker = (client(name, emulator) for name in ("stepfunctions", "s3", "sagemaker"))
    started, started_ms = time.monotonic(), int(time.time() * 1000)
    execution = sfn.start_execution(stateMachineArn=deployed["good"], name="run-5000", input=json.dumps({"rows": 5000, "seed": 7}))
    described = wait_execution(sfn, execution["executionArn"], timeout=240)
    elapsed = time.monotonic() - started
    assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
    print(f"5,000-row pipeline execution: {elapsed:.1f} s")

    output = json.loads(described["output"])
    # run-5000 is a name SageMaker accepts, so the jobs take it (Generate dataset's job_name, issue 21)
    assert output["dataset"] == {"s3_uri": f"s3://{BUCKET}/runs/run-5000/input/raw.csv", "rows": 5000, "job_name": "run-5000"}
    assert output["processing"]["ProcessingJobStatus"] == "Completed"
    model_uri = output["training"]["ModelArtifacts"]["S3ModelArtifacts"]
    assert model_uri == f"s3://{BUCKET}/runs/run-5000/models/run-5000/output/model.tar.gz"

    # Each state ran in order and succeeded.
    entered = [e["stateEnteredEventDetails"]["name"] for e in _events(sfn, execution["executionArn"]) if "stateEnteredEventDetails" in e]
    assert entered == [GENERATE, STANDARDIZE, TRAIN]

    # The standardized data is what transform.py writes: label first, features with mean 0, std 1.
    raw = pd.read_csv(io.BytesIO(s3.get_object(Bucket=BUCKET, Key="runs/run-5000/input/raw.csv")["Body"].read()), header=None)
    train = pd.read_csv(io.BytesIO(s3.get_object(Bucket=BUCKET, Key="runs/run-5000/train/train-00000.csv")["Body"].read()), header=None)
    assert len(raw) == len(train) == 5000
    assert (raw[0] == train[0]).all()
    np.testing.assert_allclose(train[[1, 2]].mean(), 0, atol=1e-9)
    np.testing.assert_allclose(train[[1, 2]].std(), 1, atol=1e-9)

    # The training job as SageMaker describes it.
    job = sagemaker.describe_training_job(TrainingJobName="run-5000")
    assert job["TrainingJobStatus"] == "Completed"
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert set(metrics) == {"train:rmse"}
    metrics_file = job_directory("training", "run-5000", Path(emulator["ca_bundle"]).parents[1]) / "metrics.json"
    rounds = json.loads(metrics_file.read_text())["rounds"]
    assert [r["round"] for r in rounds] == list(range(5))  # num_round=5, as in the sample
    # FinalMetricDataList is what SageMaker reads from the job's log line, printed with 5 decimals
    assert rounds[-1]["train:rmse"] == pytest.approx(metrics["train:rmse"], abs=5e-6)
    assert rounds[-1]["train:rmse"] < rounds[0]["train:rmse"]
    # Both jobs are named after the execution; each keeps its own logs (the processing job's
    # used to be wiped when the training job of the same name started).
    processing_log = (job_directory("processing", "run-5000", metrics_file.parents[3]) / "runner.log").read_text()
    assert "container exit: 0" in processing_log and "output from algo-1: 1 object(s)" in processing_log
    assert "algorithm exit: 0" in (metrics_file.parent / "runner.log").read_text()

    # The model: model.tar.gz holding xgboost-model, in the 1.7-1 image's format (XGBoost's binary
    # format, written by the image's xgboost 1.7.4), loadable, with predictions in [0, 1] and an rmse
    # well below a constant predictor's.
    from pipeline_tools.model_artifact import model_format, predict

    archive = s3.get_object(Bucket=BUCKET, Key="runs/run-5000/models/run-5000/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        assert tar.getnames() == ["xgboost-model"]
        assert model_format(tar.extractfile("xgboost-model").read()) == "binary"
    (tmp_path / "model.tar.gz").write_bytes(archive)
    # What the algorithm's interpreter loaded: the image's environment, not this project's.
    runtime = json.loads((metrics_file.parent / "algo-1" / "runtime.json").read_text())
    assert runtime["libraries"]["xgboost"] == "1.7.4" and runtime["libraries"]["pandas"] == "1.5.0", runtime
    processing_runtime = json.loads((job_directory("processing", "run-5000", metrics_file.parents[3]) / "algo-1" / "runtime.json").read_text())
    assert processing_runtime["libraries"] == {"numpy": "1.24.1", "pandas": "1.5.0"}, processing_runtime  # sklearn 1.2-1's
    assert "sagemaker-scikit-learn-1-2-1-" in processing_runtime["prefix"]
    labels = train[0].to_numpy()
    predictions = predict(tmp_path / "model.tar.gz", job["AlgorithmSpecification"]["TrainingImage"], train[[1, 2]].to_numpy())
    assert ((predictions >= 0) & (predictions <= 1)).all()
    rmse = float(np.sqrt(np.mean((predictions - labels) ** 2)))
    baseline = float(np.std(labels))
    assert rmse < 0.6 * baseline, (rmse, baseline)

    # Logs where AWS puts them, read with CloudWatch Logs' own API.
    logs = client("logs", emulator)
    (stream,) = [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=LAMBDA_LOG_GROUP)["logStreams"]
                 if s.get("lastEventTimestamp", 0) >= started_ms]
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", stream), stream
    messages = [e["message"] for e in logs.get_log_events(logGroupName=LAMBDA_LOG_GROUP, logStreamName=stream, startFromHead=True)["events"]
                if e["timestamp"] >= started_ms]
    request_id = re.fullmatch(r"START RequestId: (\S+) Version: \$LATEST", messages[0]).group(1)
    assert any(m.startswith("[INFO]\t") and f"\t{request_id}\tgenerated dataset" in m for m in messages)  # the handler's logger.info
    assert messages[-2] == f"END RequestId: {request_id}"
    assert re.fullmatch(rf"REPORT RequestId: {request_id}\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: [1-9]\d* MB(\tInit Duration: [\d.]+ ms)?", messages[-1]), messages[-1]
    for group, job in (("/aws/sagemaker/ProcessingJobs", sagemaker.describe_processing_job(ProcessingJobName="run-5000")),
                       ("/aws/sagemaker/TrainingJobs", sagemaker.describe_training_job(TrainingJobName="run-5000"))):
        (stream,) = [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="run-5000/")["logStreams"]]
        epoch = int(stream.rsplit("-", 1)[1])
        assert stream == f"run-5000/algo-1-{epoch}" and abs(epoch - job["CreationTime"].timestamp()) < 5, (stream, job["CreationTime"])
        events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
        assert events and all(job["CreationTime"].timestamp() * 1000 - 1000 <= e["timestamp"] <= job["LastModifiedTime"].timestamp() * 1000 + 1000 for e in events)
    assert "standardized 5000 rows" in logs.filter_log_events(logGroupName="/aws/sagemaker/ProcessingJobs", logStreamNamePrefix="run-5000/")["events"][0]["message"]
    rounds = [e["message"] for e in events if "train-rmse" in e["message"]]  # the training stream: one line per round
    assert [r.split("]", 1)[0] for r in rounds] == [f"[{i}" for i in range(5)], rounds


def test_failing_processing_script_fails_the_execution_with_stderr_in_the_cause(emulator, deployed):
    sfn, sagemaker = client("stepfunctions", emulator), client("sagemaker", emulator)
    execution = sfn.start_execution(stateMachineArn=deployed["failing"], name="run-failing", input=json.dumps({"rows": 50}))
    described = wait_execution(sfn, execution["executionArn"], timeout=120)
    assert described["status"] == "FAILED"
    assert described["error"] == "States.TaskFailed"
    assert "error: column x is constant" in described["cause"]
    assert "exit code 3" in described["cause"]
    job = sagemaker.describe_processing_job(ProcessingJobName="run-failing")
    assert job["ProcessingJobStatus"] == "Failed"
    assert job["FailureReason"].endswith("error: column x is constant")
    entered = [e["stateEnteredEventDetails"]["name"] for e in _events(sfn, execution["executionArn"]) if "stateEnteredEventDetails" in e]
    assert entered == [GENERATE, STANDARDIZE, FAILED]  # the Catch routed it; training never started


def test_processing_job_shows_in_progress_then_completes(emulator, deployed):
    """Jobs run in the background: DescribeProcessingJob says InProgress meanwhile."""
    sagemaker = client("sagemaker", emulator)
    s3 = client("s3", emulator)
    s3.put_object(Bucket=BUCKET, Key="slow/code/slow.py", Body=b"import os, time\ntime.sleep(1.5)\nopen(os.path.join(os.environ['PROCESSING_OUTPUT_DIR'], 'done.txt'), 'w').write('ok')\n")
    sagemaker.create_processing_job(
        ProcessingJobName="slow-job",
        RoleArn=deployed["role"],
        AppSpecification={"ImageUri": SKLEARN_IMAGE, "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/slow.py"]},
        ProcessingInputs=[{"InputName": "code", "S3Input": {"S3Uri": f"s3://{BUCKET}/slow/code/", "LocalPath": "/opt/ml/processing/input/code", "S3DataType": "S3Prefix", "S3InputMode": "File"}}],
        ProcessingOutputConfig={"Outputs": [{"OutputName": "out", "S3Output": {"S3Uri": f"s3://{BUCKET}/slow/out", "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "EndOfJob"}}]},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 1}},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
    )
    assert sagemaker.describe_processing_job(ProcessingJobName="slow-job")["ProcessingJobStatus"] == "InProgress"
    waiter_deadline = time.monotonic() + 60
    while (status := sagemaker.describe_processing_job(ProcessingJobName="slow-job")["ProcessingJobStatus"]) == "InProgress":
        assert time.monotonic() < waiter_deadline
        time.sleep(0.2)
    assert status == "Completed"
    assert s3.get_object(Bucket=BUCKET, Key="slow/out/done.txt")["Body"].read() == b"ok"


def test_training_job_over_max_runtime_fails_with_the_reason(emulator, deployed):
    sagemaker = client("sagemaker", emulator)
    s3 = client("s3", emulator)
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{int(a > b)},{a:.4f},{b:.4f}" for a, b in rng.random((2000, 2)))
    s3.put_object(Bucket=BUCKET, Key="long/train/data.csv", Body=rows.encode())
    _create_training_job(sagemaker, deployed["role"], "too-long", "long", {"objective": "reg:logistic", "num_round": "10000000", "max_depth": "8", "eta": "0.01"}, 2)
    job = _wait_job(lambda: sagemaker.describe_training_job(TrainingJobName="too-long"), "TrainingJobStatus", timeout=60)
    # Stopped / MaxRuntimeExceeded, as SageMaker's API reference lists it (API_SecondaryStatusTransition)
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")
    assert job["FailureReason"].startswith("MaxRuntimeExceeded: ") and "MaxRuntimeInSeconds (2 s)" in job["FailureReason"]
    assert job["SecondaryStatusTransitions"][-1]["Status"] == "MaxRuntimeExceeded"
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="long/models/").get("KeyCount") == 0  # no model uploaded
    assert not _job_processes("training", "too-long")


XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def _wait_job(describe, status_field: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while (job := describe())[status_field] in ("InProgress", "Stopping"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    return job


def _create_training_job(sagemaker, role: str, name: str, prefix: str, hyperparameters: dict, max_runtime: int,
                         instances: int = 1, distribution: str | None = None) -> None:
    """A built-in XGBoost training job on ``s3://BUCKET/<prefix>/train/``, its model under ``<prefix>/models``."""
    source = {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{prefix}/train/"}
    if distribution:
        source["S3DataDistributionType"] = distribution
    sagemaker.create_training_job(
        TrainingJobName=name,
        RoleArn=role,
        AlgorithmSpecification={"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"},
        HyperParameters=hyperparameters,
        InputDataConfig=[{"ChannelName": "train", "ContentType": "text/csv", "DataSource": {"S3DataSource": source}}],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/{prefix}/models"},
        ResourceConfig={"InstanceCount": instances, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": max_runtime},
    )


def _job_processes(kind: str, name: str) -> list[int]:
    """PIDs of processes still running in the job's private root (``<tmp>/<kind>-<name>-*``)."""
    import os

    marker = f"{kind}-{name}-".encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = open(f"/proc/{entry}/cmdline", "rb").read()
                cwd = os.readlink(f"/proc/{entry}/cwd").encode()
            except OSError:
                continue
            if marker in cmdline or marker in cwd:
                found.append(int(entry))
    return found


def test_a_processing_limit_fails_the_execution_at_that_state_with_the_reason(emulator, deployed):
    sfn, sagemaker = client("stepfunctions", emulator), client("sagemaker", emulator)
    arn = sfn.start_execution(stateMachineArn=deployed["short_limit"], name="over-the-limit", input=json.dumps({"rows": 20}))["executionArn"]
    failed_state, error, cause = _failure(sfn, arn)
    assert (failed_state, error) == (STANDARDIZE, "States.TaskFailed")
    assert cause.startswith("MaxRuntimeExceeded: the processing job exceeded MaxRuntimeInSeconds (2 s)"), cause
    job = sagemaker.describe_processing_job(ProcessingJobName="over-the-limit")
    assert job["ProcessingJobStatus"] == "Stopped" and job["FailureReason"] == cause
    assert not _job_processes("processing", "over-the-limit")


def test_an_unknown_image_fails_the_job_and_the_execution_at_that_state_in_one_line(emulator, deployed):
    sfn, sagemaker = client("stepfunctions", emulator), client("sagemaker", emulator)
    arn = sfn.start_execution(stateMachineArn=deployed["unknown_image"], name="unknown-image", input=json.dumps({"rows": 20}))["executionArn"]
    failed_state, error, cause = _failure(sfn, arn)
    assert (failed_state, error) == (TRAIN, "States.TaskFailed")
    expected = ("ClientError: the local emulator does not know the image "
                "'683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1'; "
                "it runs sagemaker-scikit-learn:1.2-1, sagemaker-xgboost:1.7-1 (docs/images.md)")
    assert cause == expected
    job = sagemaker.describe_training_job(TrainingJobName="unknown-image")
    assert job["TrainingJobStatus"] == "Failed" and job["FailureReason"] == expected
    # a processing job naming an unknown image fails the same way
    sagemaker.create_processing_job(
        ProcessingJobName="unknown-processing-image",
        RoleArn=deployed["role"],
        AppSpecification={"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-sklearn:1", "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/transform.py"]},
        ProcessingInputs=[{"InputName": "code", "S3Input": {"S3Uri": f"s3://{BUCKET}/{TRANSFORM_KEY}", "LocalPath": "/opt/ml/processing/input/code", "S3DataType": "S3Prefix", "S3InputMode": "File"}}],
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 1}},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
    )
    job = _wait_job(lambda: sagemaker.describe_processing_job(ProcessingJobName="unknown-processing-image"), "ProcessingJobStatus")
    assert job["ProcessingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: the local emulator does not know the image '123456789012.dkr.ecr.us-east-1.amazonaws.com/my-sklearn:1'; it runs ")


def test_stop_training_job_stops_its_processes(emulator, deployed):
    sagemaker, s3 = client("sagemaker", emulator), client("s3", emulator)
    s3.put_object(Bucket=BUCKET, Key="stop/train/data.csv", Body=b"1,0.5,0.2\n0,0.1,0.9\n1,0.7,0.3\n0,0.2,0.8\n")
    _create_training_job(sagemaker, deployed["role"], "stopped-training", "stop", {"objective": "reg:logistic", "num_round": "100000000", "max_depth": "6"}, 600)
    deadline = time.monotonic() + 60
    while not _job_processes("training", "stopped-training"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    sagemaker.stop_training_job(TrainingJobName="stopped-training")
    job = _wait_job(lambda: sagemaker.describe_training_job(TrainingJobName="stopped-training"), "TrainingJobStatus", timeout=30)
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert not _job_processes("training", "stopped-training")


def test_two_executions_at_once_keep_separate_data(emulator, deployed):
    sfn, s3 = client("stepfunctions", emulator), client("s3", emulator)
    runs = {"parallel-a": 300, "parallel-b": 700}
    arns = {
        name: sfn.start_execution(stateMachineArn=deployed["good"], name=name, input=json.dumps({"rows": rows}))["executionArn"]
        for name, rows in runs.items()
    }
    for name, rows in runs.items():
        described = wait_execution(sfn, arns[name], timeout=240)
        assert described["status"] == "SUCCEEDED", (name, described.get("cause"))
        train = s3.get_object(Bucket=BUCKET, Key=f"runs/{name}/train/train-00000.csv")["Body"].read()
        assert len(train.decode().strip().splitlines()) == rows
        s3.head_object(Bucket=BUCKET, Key=f"runs/{name}/models/{name}/output/model.tar.gz")


def test_training_job_with_a_bad_hyperparameter_fails_with_the_reason(emulator, deployed):
    sagemaker, s3 = client("sagemaker", emulator), client("s3", emulator)
    s3.put_object(Bucket=BUCKET, Key="bad/train/data.csv", Body=b"1,0.5,0.2\n0,0.1,0.9\n1,0.7,0.3\n")
    _create_training_job(sagemaker, deployed["role"], "bad-objective", "bad", {"objective": "reg:nonsense", "num_round": "2"}, 120)
    job = _wait_job(lambda: sagemaker.describe_training_job(TrainingJobName="bad-objective"), "TrainingJobStatus", timeout=60)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("AlgorithmError: exit code 1 on algo-1: error: ")
    assert "reg:nonsense" in job["FailureReason"]


def test_stopping_an_execution_stops_its_running_job(emulator, deployed):
    """StopExecution stops the SageMaker job the .sync state waits for (as Step Functions does,
    through the state machine role's sagemaker:StopProcessingJob)."""
    sfn, sagemaker = client("stepfunctions", emulator), client("sagemaker", emulator)
    arn = sfn.start_execution(stateMachineArn=deployed["slow"], name="stopped-while-processing", input=json.dumps({"rows": 20}))["executionArn"]
    deadline = time.monotonic() + 60
    while True:
        jobs = sagemaker.list_processing_jobs(NameContains="stopped-while-processing")["ProcessingJobSummaries"]
        if jobs and jobs[0]["ProcessingJobStatus"] == "InProgress":
            break
        assert time.monotonic() < deadline, jobs
        time.sleep(0.2)
    sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped by the test")
    deadline = time.monotonic() + 20
    while (status := sagemaker.describe_processing_job(ProcessingJobName="stopped-while-processing")["ProcessingJobStatus"]) != "Stopped":
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"


# ---- IAM enforced: each permission a run uses is needed, and a role trusts only its service ----------

# (role, action, the state that fails, its error, what its cause says): one small run per removed permission.
def _denied(action: str) -> str:
    return f"is not authorized to perform: {action}"


REMOVALS = [
    ("state_machine", "lambda:InvokeFunction", GENERATE, "Lambda.AccessDeniedException", _denied("lambda:InvokeFunction")),
    ("lambda", "s3:PutObject", GENERATE, "AccessDenied", _denied("s3:PutObject")),
    ("state_machine", "sagemaker:CreateProcessingJob", STANDARDIZE, "SageMaker.AmazonSageMakerException", _denied("sagemaker:CreateProcessingJob")),
    ("state_machine", "iam:PassRole", STANDARDIZE, "SageMaker.AmazonSageMakerException", _denied("iam:PassRole")),
    ("state_machine", "sagemaker:DescribeProcessingJob", STANDARDIZE, "SageMaker.AmazonSageMakerException", _denied("sagemaker:DescribeProcessingJob")),
    ("state_machine", "events:PutRule", STANDARDIZE, "SageMaker.AmazonSageMakerException", "is not authorized to create managed-rule."),
    ("sagemaker", "ecr:BatchGetImage", STANDARDIZE, "SageMaker.AmazonSageMakerException", "Access denied for repository: sagemaker-scikit-learn in registry ID:"),
    ("sagemaker", "s3:ListBucket", STANDARDIZE, "States.TaskFailed", _denied("s3:ListBucket")),
    ("sagemaker", "s3:GetObject", STANDARDIZE, "States.TaskFailed", _denied("s3:GetObject")),
    ("sagemaker", "s3:PutObject", STANDARDIZE, "States.TaskFailed", _denied("s3:PutObject")),
    ("state_machine", "sagemaker:CreateTrainingJob", TRAIN, "SageMaker.AmazonSageMakerException", _denied("sagemaker:CreateTrainingJob")),
]


def _without(document: dict, action: str) -> dict:
    statements = []
    for statement in document["Statement"]:
        actions = [a for a in statement["Action"] if a != action] if isinstance(statement["Action"], list) else [statement["Action"]]
        actions = [a for a in actions if a != action]
        if actions:
            statements.append({**statement, "Action": actions})
    return {**document, "Statement": statements}


def _failure(sfn, execution_arn: str) -> tuple[str, str, str]:
    """(the state that failed, error, cause) of a FAILED execution."""
    described = wait_execution(sfn, execution_arn, timeout=120)
    assert described["status"] == "FAILED", described
    events = _events(sfn, execution_arn)
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    failed_state = [name for name in entered if name != FAILED][-1]
    return failed_state, described["error"], described["cause"]


@pytest.mark.parametrize("emulator", ["iam"], indirect=True)  # only with enforcement (issue 26: never a skip when it is off)
@pytest.mark.parametrize("role, action, state, error, says", REMOVALS, ids=[f"{r}-{a}" for r, a, *_ in REMOVALS])
def test_removing_a_used_permission_fails_the_run_where_aws_would(emulator, deployed, role, action, state, error, says):
    assert _enforced(emulator), "the emulator started with PIPELINE_TOOLS_EMULATOR_IAM=1 does not enforce IAM"
    iam_client, sfn = client("iam", emulator), client("stepfunctions", emulator)
    role_name = deployed["roles"][role].rsplit("/", 1)[-1]
    original = iam_client.get_role_policy(RoleName=role_name, PolicyName="stack")["PolicyDocument"]
    iam_client.put_role_policy(RoleName=role_name, PolicyName="stack", PolicyDocument=json.dumps(_without(original, action)))
    try:
        name = f"without-{role}-{action.replace(':', '-')}".lower()
        arn = sfn.start_execution(stateMachineArn=deployed["good"], name=name, input=json.dumps({"rows": 20}))["executionArn"]
        failed_state, got_error, cause = _failure(sfn, arn)
    finally:
        iam_client.put_role_policy(RoleName=role_name, PolicyName="stack", PolicyDocument=json.dumps(original))
    assert failed_state == state, (failed_state, got_error, cause)
    assert got_error == error, cause
    assert says in cause, cause
    assert role_name in cause or says.startswith("Access denied for repository"), cause  # SageMaker's words name no role


@pytest.mark.parametrize("emulator", ["iam"], indirect=True)
def test_a_role_trusting_another_service_cannot_be_assumed(emulator, deployed):
    assert _enforced(emulator)
    iam_client, sfn = client("iam", emulator), client("stepfunctions", emulator)
    role_name = deployed["roles"]["sagemaker"].rsplit("/", 1)[-1]
    original = iam_client.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    iam_client.update_assume_role_policy(RoleName=role_name, PolicyDocument=trust_document("ec2.amazonaws.com", None))
    try:
        arn = sfn.start_execution(stateMachineArn=deployed["good"], name="untrusted-sagemaker-role", input=json.dumps({"rows": 20}))["executionArn"]
        failed_state, error, cause = _failure(sfn, arn)
    finally:
        iam_client.update_assume_role_policy(RoleName=role_name, PolicyDocument=json.dumps(original))
    assert failed_state == STANDARDIZE and error == "SageMaker.AmazonSageMakerException"
    assert cause.startswith(f"Could not assume role {deployed['roles']['sagemaker']}. Please ensure that the role exists and allows principal 'sagemaker.amazonaws.com'")

    role_name = deployed["roles"]["state_machine"].rsplit("/", 1)[-1]
    original = iam_client.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    iam_client.update_assume_role_policy(RoleName=role_name, PolicyDocument=trust_document("lambda.amazonaws.com", None))
    try:
        arn = sfn.start_execution(stateMachineArn=deployed["good"], name="untrusted-machine-role", input=json.dumps({"rows": 20}))["executionArn"]
        failed_state, error, cause = _failure(sfn, arn)
    finally:
        iam_client.update_assume_role_policy(RoleName=role_name, PolicyDocument=json.dumps(original))
    assert failed_state == GENERATE and "states.amazonaws.com" in cause and "sts:AssumeRole" in cause, cause


@pytest.mark.parametrize("emulator", ["iam"], indirect=True)
def test_a_job_role_that_may_not_write_logs_loses_them_and_the_job_goes_on(emulator, deployed):
    """As on AWS: SageMaker writes a job's logs as its role; without logs:CreateLogStream/PutLogEvents
    the host's stream never appears, and the job completes all the same."""
    assert _enforced(emulator)
    from botocore.exceptions import ClientError

    iam_client, sagemaker, s3, logs = (client(name, emulator) for name in ("iam", "sagemaker", "s3", "logs"))
    s3.put_object(Bucket=BUCKET, Key="quiet/code/hello.py", Body=b"print('hello from the job')\n")
    iam_client.delete_role_policy(RoleName="direct-jobs", PolicyName="logs")
    try:
        sagemaker.create_processing_job(
            ProcessingJobName="no-log-rights",
            RoleArn=deployed["role"],
            AppSpecification={"ImageUri": SKLEARN_IMAGE, "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/hello.py"]},
            ProcessingInputs=[{"InputName": "code", "S3Input": {"S3Uri": f"s3://{BUCKET}/quiet/code/", "LocalPath": "/opt/ml/processing/input/code", "S3DataType": "S3Prefix", "S3InputMode": "File"}}],
            ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 1}},
            StoppingCondition={"MaxRuntimeInSeconds": 60},
        )
        job = _wait_job(lambda: sagemaker.describe_processing_job(ProcessingJobName="no-log-rights"), "ProcessingJobStatus")
    finally:
        iam_client.put_role_policy(RoleName="direct-jobs", PolicyName="logs", PolicyDocument=JOB_LOGS_POLICY)
    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    job_dir = job_directory("processing", "no-log-rights", Path(emulator["ca_bundle"]).parents[1])
    assert "hello from the job" in (job_dir / "algo-1" / "stdout.log").read_text()  # it ran and printed
    try:
        streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/ProcessingJobs", logStreamNamePrefix="no-log-rights/")["logStreams"]
    except ClientError as error:
        assert error.response["Error"]["Code"] == "ResourceNotFoundException"
        streams = []
    assert streams == []


def test_the_emulator_enforces_iam_exactly_when_asked(emulator, request):
    """PIPELINE_TOOLS_EMULATOR_IAM=1 turns enforcement on, 0 really turns it off (the health probe
    lists the patch only when it is applied), so a regression either way fails here."""
    assert _enforced(emulator) is (request.node.callspec.params["emulator"] == "iam")


def _enforced(emulator) -> bool:
    import ssl
    import urllib.request

    context = ssl.create_default_context(cafile=emulator["ca_bundle"])
    with urllib.request.urlopen(f"{emulator['endpoint']}/_pipeline_tools/health", context=context) as response:
        return "iam_enforce" in json.loads(response.read())["patches"]


# ---- several instances: hosts, data distribution, one model trained together -----------------------

def _rows(rng, count: int) -> np.ndarray:
    features = rng.random((count, 2)) * 100
    labels = (features[:, 1] >= 0.5 * features[:, 0] + 20).astype(float)
    return np.column_stack([labels, features])


def test_two_training_hosts_share_the_shards_and_train_one_model(emulator, deployed, tmp_path):
    sagemaker, s3 = client("sagemaker", emulator), client("s3", emulator)
    rng = np.random.default_rng(3)
    keys = [f"sharded/train/part-{i:02d}.csv" for i in range(5)]
    for key in keys:
        buffer = io.StringIO()
        np.savetxt(buffer, _rows(rng, 600), delimiter=",", fmt="%.4f")
        s3.put_object(Bucket=BUCKET, Key=key, Body=buffer.getvalue().encode())
    _create_training_job(sagemaker, deployed["role"], "two-hosts", "sharded",
                         {"objective": "reg:logistic", "eval_metric": "rmse", "num_round": "20", "max_depth": "4"}, 300,
                         instances=2, distribution="ShardedByS3Key")
    job = _wait_job(lambda: sagemaker.describe_training_job(TrainingJobName="two-hosts"), "TrainingJobStatus")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    job_dir = job_directory("training", "two-hosts", Path(emulator["ca_bundle"]).parents[1])
    instances = json.loads((job_dir / "instances.json").read_text())
    assert [i["host"] for i in instances] == ["algo-1", "algo-2"]
    shares = [set(i["input_files"]) for i in instances]
    assert shares[0] and shares[1] and not shares[0] & shares[1]  # disjoint
    assert shares[0] | shares[1] == {f"s3://{BUCKET}/{key}" for key in keys}  # complete
    for host in ("algo-1", "algo-2"):  # both hosts joined the one collective
        assert "joined the collective as rank" in (job_dir / host / "stdout.log").read_text()
    # ... and each logged to its own stream, as SageMaker names them, readable with CloudWatch Logs' API
    logs = client("logs", emulator)
    streams = [s["logStreamName"] for s in logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix="two-hosts/")["logStreams"]]
    epoch = int(job["TrainingStartTime"].timestamp())
    assert streams == [f"two-hosts/algo-1-{epoch}", f"two-hosts/algo-2-{epoch}"], (streams, epoch)
    for host, stream in zip(("algo-1", "algo-2"), streams):
        messages = [e["message"] for e in logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream, startFromHead=True)["events"]]
        assert any(m.startswith(f"{host}: joined the collective as rank") for m in messages), (stream, messages)
    # `pipeline-tools logs` reads both hosts' streams interleaved in time order, each line with its host
    from pipeline_tools.operations.logs import Source, read

    lines = read(logs, [Source("Train model (XGBoost)", "/aws/sagemaker/TrainingJobs", prefix="two-hosts/")])
    assert [line.timestamp for line in lines] == sorted(line.timestamp for line in lines)
    assert {line.source.host(line.stream) for line in lines} == {"algo-1", "algo-2"}
    assert lines[0].render(21, 6).startswith("Train model (XGBoost) algo-")
    assert "(from algo-1)" in (job_dir / "runner.log").read_text()
    # one model, written once, that loads and beats a constant predictor
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="sharded/models/")["Contents"]] == ["sharded/models/two-hosts/output/model.tar.gz"]
    body = s3.get_object(Bucket=BUCKET, Key="sharded/models/two-hosts/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        tar.extractall(tmp_path, filter="data")
    from pipeline_tools.model_artifact import predict

    (tmp_path / "model.tar.gz").write_bytes(body)
    test = _rows(np.random.default_rng(99), 2000)
    predicted = predict(tmp_path / "model.tar.gz", XGBOOST_IMAGE, test[:, 1:])
    rmse = float(np.sqrt(np.mean((predicted - test[:, 0]) ** 2)))
    constant = float(np.sqrt(np.mean((test[:, 0].mean() - test[:, 0]) ** 2)))
    assert rmse < 0.6 * constant, (rmse, constant)


def test_processing_on_two_hosts_runs_the_script_on_each_with_its_own_output(emulator, deployed):
    sagemaker, s3 = client("sagemaker", emulator), client("s3", emulator)
    buffer = io.StringIO()
    np.savetxt(buffer, _rows(np.random.default_rng(5), 1001), delimiter=",", fmt="%.4f")
    s3.put_object(Bucket=BUCKET, Key="multi/input/data.csv", Body=buffer.getvalue().encode())
    sagemaker.create_processing_job(
        ProcessingJobName="two-processing-hosts",
        RoleArn=deployed["role"],
        AppSpecification={"ImageUri": SKLEARN_IMAGE, "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/transform.py"]},
        ProcessingInputs=[
            {"InputName": "input-1", "S3Input": {"S3Uri": f"s3://{BUCKET}/multi/input", "LocalPath": "/opt/ml/processing/input",
                                                 "S3DataType": "S3Prefix", "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}},
            {"InputName": "code", "S3Input": {"S3Uri": f"s3://{BUCKET}/{TRANSFORM_KEY}", "LocalPath": "/opt/ml/processing/input/code",
                                              "S3DataType": "S3Prefix", "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}},
        ],
        ProcessingOutputConfig={"Outputs": [{"OutputName": "train", "S3Output": {
            "S3Uri": f"s3://{BUCKET}/multi/output", "LocalPath": "/opt/ml/processing/output/train", "S3UploadMode": "EndOfJob"}}]},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 1}},
        StoppingCondition={"MaxRuntimeInSeconds": 120},
    )
    job = _wait_job(lambda: sagemaker.describe_processing_job(ProcessingJobName="two-processing-hosts"), "ProcessingJobStatus")
    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 2
    listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="multi/output/")["Contents"])
    assert listed == ["multi/output/train-algo-1-00000.csv", "multi/output/train-algo-2-00000.csv"]
    counts = [len(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode().splitlines()) for key in listed]
    assert counts == [501, 500]  # every row once, shared by position
    job_dir = job_directory("processing", "two-processing-hosts", Path(emulator["ca_bundle"]).parents[1])
    instances = json.loads((job_dir / "instances.json").read_text())
    assert all(f"s3://{BUCKET}/multi/input/data.csv" in i["input_files"] for i in instances)  # FullyReplicated
    assert all("standardized 1001 rows" in (job_dir / host / "stdout.log").read_text() for host in ("algo-1", "algo-2"))
