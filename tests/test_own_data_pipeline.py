"""Your data, your code, end to end on the emulator with IAM enforced (issue 22).

examples/own-data as a new team uses it: the breast cancer table in their data lake, a bucket of
another account (210987654321) encrypted with that account's key, whose owner grants the pipeline's
jobs role exactly what README "Your data and code" shows (bucket policy, key policy); the stack
deployed with pipeline.toml (their preprocess.py, built-in XGBoost on train and validation) and runs
through the real CLI; then the same stack updated to pipeline-script.toml (their train.py in script
mode, with a requirements.txt) and run again. Quality is judged on the `test` rows, which neither
training nor validation saw, against what a constant predictor can reach. The emulator decides the
cross-account reads as AWS does: the jobs role's policy AND the bucket policy AND the key policy.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile

import numpy as np
import pytest

from .conftest import ROOT, assert_clean_error, run_cli
from .conftest_emulator import project_clients

pytestmark = [pytest.mark.emulator, pytest.mark.terraform]

EXAMPLE = ROOT / "examples" / "own-data"
DATA_BUCKET = "my-team-data"
PREFIX = f"s3://{DATA_BUCKET}/breast-cancer/"
DATA_LAKE = "210987654321"  # the account that owns the data
JOBS_ROLE = "arn:aws:iam::123456789012:role/cancer-sagemaker-jobs"


def owner_policies(key_arn: str) -> tuple[dict, dict]:
    """What the data owner adds (README "Your data and code", word for word but for the names)."""
    bucket_policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "PipelineJobsRead", "Effect": "Allow", "Principal": {"AWS": JOBS_ROLE},
         "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": [f"arn:aws:s3:::{DATA_BUCKET}", f"arn:aws:s3:::{DATA_BUCKET}/breast-cancer/*"]},
        {"Sid": "PipelineAccountLists", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
         "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{DATA_BUCKET}",
         "Condition": {"StringLike": {"s3:prefix": "breast-cancer/*"}}},
    ]}
    key_policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Owner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{DATA_LAKE}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "PipelineJobsDecrypt", "Effect": "Allow", "Principal": {"AWS": JOBS_ROLE},
         "Action": "kms:Decrypt", "Resource": "*", "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}},
    ]}
    return bucket_policy, key_policy


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, plugin_dir):
    """The example copied, an emulator, the team's table in their bucket, the stack deployed."""
    directory = tmp_path_factory.mktemp("own-data")
    shutil.copytree(EXAMPLE, directory, dirs_exist_ok=True)
    up = run_cli("local", "up", "--port", "0", cwd=directory)
    assert up.returncode == 0, up.stderr
    try:
        key_arn = _data_lake(directory)
        for name in ("pipeline.toml", "pipeline-script.toml"):  # the data's key, as the team configures it
            config = directory / name
            config.write_text(config.read_text().replace(f's3_uri = "{PREFIX}"', f's3_uri = "{PREFIX}"\nkms_key_arn = "{key_arn}"'))
        deployed = run_cli("deploy", "--target", "local", "--auto-approve", cwd=directory, timeout=900)
        assert deployed.returncode == 0, deployed.stderr
        yield directory
    finally:
        run_cli("local", "down", cwd=directory)


def _data_lake(directory) -> str:
    """The data owner's bucket (SSE-KMS by default with its own key) holding the table, with the
    owner's grants to the pipeline's jobs role. Returns the key's ARN."""
    from pipeline_tools.emulator import read_state

    from .conftest_emulator import account_client

    state = read_state(directory / ".pipeline-tools")
    s3, kms = account_client(state, "s3", DATA_LAKE), account_client(state, "kms", DATA_LAKE)
    bucket_policy, key_policy = owner_policies("")
    key_arn = kms.create_key(Description="the data lake's key", Policy=json.dumps(key_policy))["KeyMetadata"]["Arn"]
    s3.create_bucket(Bucket=DATA_BUCKET)
    s3.put_bucket_encryption(Bucket=DATA_BUCKET, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}}]})
    s3.put_bucket_policy(Bucket=DATA_BUCKET, Policy=json.dumps(bucket_policy))
    s3.upload_file(str(directory / "data" / "breast_cancer.csv"), DATA_BUCKET, "breast-cancer/breast_cancer.csv")
    return key_arn


@pytest.fixture(scope="module")
def aws(workdir):
    return project_clients(workdir)


@pytest.fixture(scope="module")
def builtin_run(workdir):
    result = run_cli("run", "--target", "local", "--name", "builtin", cwd=workdir, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result, json.loads((workdir / "artifacts" / "builtin" / "summary.json").read_text())


def _owner(workdir, service: str):
    from pipeline_tools.emulator import read_state

    from .conftest_emulator import account_client

    return account_client(read_state(workdir / ".pipeline-tools"), service, DATA_LAKE)


def _test_rows(aws, execution: str) -> tuple[np.ndarray, np.ndarray]:
    body = aws["s3"].get_object(Bucket=_bucket(aws), Key=f"runs/{execution}/test/test.csv")["Body"].read()
    rows = np.loadtxt(io.BytesIO(body), delimiter=",", ndmin=2)
    return rows[:, 0], rows[:, 1:]


def _bucket(aws) -> str:
    return next(b["Name"] for b in aws["s3"].list_buckets()["Buckets"] if b["Name"].startswith("cancer-data-"))


def _assert_beats_a_constant_predictor(workdir, aws, execution: str, summary: dict) -> float:
    import importlib.util

    from pipeline_tools.model_artifact import predict

    # the metrics of the pipeline's own Evaluate model job (scripts/evaluate.py; issue 23 moved them there)
    spec = importlib.util.spec_from_file_location("evaluate_script", ROOT / "scripts" / "evaluate.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    labels, features = _test_rows(aws, execution)
    image = aws["sagemaker"].describe_training_job(TrainingJobName=execution)["AlgorithmSpecification"]["TrainingImage"]
    scores = np.asarray(predict(workdir / "artifacts" / execution / "model.tar.gz", image, features), dtype=float)
    metrics = script.evaluate(labels, scores, "binary")["binary_classification_metrics"]
    quality = {name: metrics[name]["value"] for name in ("auc", "accuracy")}
    majority = max(labels.mean(), 1 - labels.mean())  # what always answering the common class gets
    tables = [f for f in summary["processing"]["instances"][0]["input_files"] if f.startswith(PREFIX)]
    assert len(labels) == int(0.2 * 569 * len(tables))  # 20 % of the rows read, never trained or validated on
    assert quality["auc"] > 0.95, quality  # a constant predictor's AUC is 0.5
    assert quality["accuracy"] > majority + 0.2, (quality, majority)
    return quality["auc"]


def test_builtin_xgboost_on_your_data_beats_a_constant_predictor(workdir, aws, builtin_run):
    result, summary = builtin_run
    assert [s["name"] for s in summary["states"]] == ["Choose input", "Use the configured input", "Preprocess", "Train model (XGBoost)"]
    assert summary["input"] == PREFIX and summary["dataset"] is None
    assert set(summary["processing"]["outputs"]) == {"train", "validation", "test"}
    # the built-in algorithm's metrics, read from its logs as SageMaker does, for both channels
    assert {"train:auc", "validation:auc"} <= set(summary["training"]["metrics"]), summary["training"]["metrics"]
    assert summary["training"]["metrics"]["validation:auc"] > 0.9
    _assert_beats_a_constant_predictor(workdir, aws, "builtin", summary)
    assert "Generate dataset" not in result.stdout


def test_the_jobs_read_your_prefix_as_their_role_and_verify_iam_observed_is_clean(workdir, builtin_run):
    access = json.loads((workdir / "artifacts" / "builtin" / "access.json").read_text())
    reads = {(d["action"], d["resource"], d["decision"]) for d in access["decisions"] if d["resource"].startswith(f"arn:aws:s3:::{DATA_BUCKET}")}
    assert ("s3:GetObject", f"arn:aws:s3:::{DATA_BUCKET}/breast-cancer/breast_cancer.csv", "allowed") in reads
    assert all(d["role"].endswith("/cancer-sagemaker-jobs") for d in access["decisions"] if d["resource"].startswith(f"arn:aws:s3:::{DATA_BUCKET}"))
    checked = run_cli("verify-iam", "--observed", str(workdir / "artifacts" / "builtin"), cwd=workdir)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_run_input_under_the_prefix_reads_only_that_location(workdir, aws, builtin_run):
    _owner(workdir, "s3").upload_file(str(workdir / "data" / "breast_cancer.csv"), DATA_BUCKET, "breast-cancer/2026-12/part-0.csv")
    result = run_cli("run", "--target", "local", "--name", "december", "--input", f"{PREFIX}2026-12/", cwd=workdir, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((workdir / "artifacts" / "december" / "summary.json").read_text())
    assert summary["input"] == f"{PREFIX}2026-12/"
    job = aws["sagemaker"].describe_processing_job(ProcessingJobName="december")
    data = next(i for i in job["ProcessingInputs"] if i["InputName"] == "data")
    assert data["S3Input"]["S3Uri"] == f"{PREFIX}2026-12/"
    (host,) = summary["processing"]["instances"]
    assert [f for f in host["input_files"] if DATA_BUCKET in f] == [f"{PREFIX}2026-12/part-0.csv"]


def test_bad_run_input_is_exit_2_and_starts_nothing(workdir, aws, builtin_run):
    machine = next(m["stateMachineArn"] for m in aws["stepfunctions"].list_state_machines()["stateMachines"])
    before = len(aws["stepfunctions"].list_executions(stateMachineArn=machine)["executions"])
    assert_clean_error(run_cli("run", "--target", "local", "--input", f"s3://{DATA_BUCKET}/other/", cwd=workdir),
                       f"--input s3://{DATA_BUCKET}/other/ is not under the configured prefix {PREFIX}")
    assert_clean_error(run_cli("run", "--target", "local", "--input", f"{PREFIX}empty/", cwd=workdir), f"no objects under {PREFIX}empty/")
    assert_clean_error(run_cli("run", "--target", "local", "--rows", "100", cwd=workdir), "--rows sets the size of the generated sample dataset")
    assert len(aws["stepfunctions"].list_executions(stateMachineArn=machine)["executions"]) == before


def test_an_execution_started_outside_run_is_kept_under_the_prefix(workdir, aws, builtin_run):
    """StartExecution by anyone allowed to (boto3 here): an input outside the prefix fails before any
    job; none at all reads the configured prefix."""
    from .conftest_emulator import wait_execution

    sfn = aws["stepfunctions"]
    machine = next(m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"])
    refused = sfn.start_execution(stateMachineArn=machine, name="elsewhere", input=json.dumps({"input": "s3://someone-elses-bucket/x/"}))
    described = wait_execution(sfn, refused["executionArn"])
    assert (described["status"], described["error"]) == ("FAILED", "Pipeline.InputOutsidePrefix")
    assert PREFIX in described["cause"]
    jobs = aws["sagemaker"].list_processing_jobs()["ProcessingJobSummaries"]
    assert "elsewhere" not in {j["ProcessingJobName"] for j in jobs}
    plain = sfn.start_execution(stateMachineArn=machine, name="plain", input="{}")
    assert wait_execution(sfn, plain["executionArn"], timeout=300)["status"] == "SUCCEEDED"
    data = next(i for i in aws["sagemaker"].describe_processing_job(ProcessingJobName="plain")["ProcessingInputs"] if i["InputName"] == "data")
    assert data["S3Input"]["S3Uri"] == PREFIX


def test_without_the_owners_bucket_policy_the_jobs_cannot_read_the_data(workdir, aws, builtin_run):
    """The jobs role's own grants are the caller's half: another account's bucket also needs its
    owner's (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html)."""
    owner = _owner(workdir, "s3")
    policy = owner.get_bucket_policy(Bucket=DATA_BUCKET)["Policy"]
    owner.delete_bucket_policy(Bucket=DATA_BUCKET)
    try:
        result = run_cli("run", "--target", "local", "--name", "no-grant", cwd=workdir, timeout=600)
    finally:
        owner.put_bucket_policy(Bucket=DATA_BUCKET, Policy=policy)
    line = assert_clean_error(result, "execution no-grant FAILED in state 'Preprocess'", code=1)
    assert "cancer-sagemaker-jobs is not allowed s3:ListBucket on arn:aws:s3:::my-team-data" in line, line


@pytest.fixture(scope="module")
def script_run(workdir, builtin_run):
    """The same stack, updated to script mode, with a requirements.txt in the code folder."""
    (workdir / "code" / "requirements.txt").write_text("tabulate==0.9.0\n")
    # pip needs a package index, which a network-isolated job (the default) cannot reach: refused
    # before anything is deployed, then allowed for training once isolation is off for it.
    assert_clean_error(run_cli("deploy", "--target", "local", "--config", "pipeline-script.toml", "--auto-approve", cwd=workdir),
                       "requirements.txt: the processing job runs network-isolated, so pip cannot reach a package index")
    config = (workdir / "pipeline-script.toml").read_text()
    config = config.replace("[processing]\n", "[processing]\nnetwork_isolation = false\n").replace("[training]\n", "[training]\nnetwork_isolation = false\n")
    (workdir / "pipeline-script.toml").write_text(config)
    deployed = run_cli("deploy", "--target", "local", "--config", "pipeline-script.toml", "--auto-approve", cwd=workdir, timeout=900)
    assert deployed.returncode == 0, deployed.stderr
    result = run_cli("run", "--target", "local", "--config", "pipeline-script.toml", "--name", "script", cwd=workdir, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return result, json.loads((workdir / "artifacts" / "script" / "summary.json").read_text())


def test_your_training_script_trains_a_model_that_beats_a_constant_predictor(workdir, aws, script_run):
    result, summary = script_run
    assert [s["name"] for s in summary["states"]][-1] == "Train model (script mode)"
    metrics = summary["training"]["metrics"]  # the job's MetricDefinitions over its logs
    assert set(metrics) == {"validation:auc", "train:auc"} and metrics["validation:auc"] > 0.9
    _assert_beats_a_constant_predictor(workdir, aws, "script", summary)


def test_script_mode_follows_the_containers_contract(workdir, aws, script_run):
    job = aws["sagemaker"].describe_training_job(TrainingJobName="script")
    assert json.loads(job["HyperParameters"]["sagemaker_program"]) == "train.py"
    assert [c["ChannelName"] for c in job["InputDataConfig"]] == ["train", "validation", "code"]
    assert job["AlgorithmSpecification"]["MetricDefinitions"][0] == {"Name": "validation:auc", "Regex": "validation-auc:([0-9.]+)"}
    jobs = workdir / ".pipeline-tools" / "jobs" / "training" / "script"
    rounds = [line for line in (jobs / "algo-1" / "stdout.log").read_text().splitlines() if "validation-auc:" in line]
    assert len(rounds) == 50  # --num_round 50 reached the script as an argument
    runner = (jobs / "runner.log").read_text()
    assert "requirements.txt: tabulate==0.9.0" in runner and "script mode: train.py" in runner
    with tarfile.open(workdir / "artifacts" / "script" / "model.tar.gz") as archive:
        assert archive.getnames() == ["xgboost-model"]  # what the script wrote to SM_MODEL_DIR


def test_script_mode_stack_passes_verify_iam_observed(workdir, script_run):
    checked = run_cli("verify-iam", "--observed", str(workdir / "artifacts" / "script"), cwd=workdir)
    assert checked.returncode == 0, checked.stdout + checked.stderr

