"""The optional batch transform stage end to end on the local emulator: the held-out rows are
predicted by a real batch transform of the trained model, evaluated by the pipeline's own Evaluate
model job and, with the quality gate (issue 23), registered in the stack's model package group
when the metric reaches the threshold; `run` reads the evaluation.json the pipeline wrote.

One emulator and one deploy of a stack with `[batch_transform] enabled = true` (in a private
working directory), driven through the real CLI. The same stack runs its processing and training
jobs on two instances each (issue 14): the deployed pipeline, not a hand-made job request, shares
the standardized shards between two training hosts (the construct's ``ShardedByS3Key`` channel)
that train one model together. The batch transform keeps one instance: the emulator runs a
transform job on one host whatever its ``InstanceCount`` (jobs/transform.py). The same deploy
carries ``[network]`` (issue 25): the jobs and the model record the VPC (no network is emulated), all
are network-isolated, and every object a job writes is encrypted with the stack's key (issue 21 item 4)."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from .conftest import assert_clean_error, run_cli

pytestmark = [pytest.mark.emulator, pytest.mark.terraform]

SUBNETS = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
GROUPS = ["sg-0123456789abcdef0"]
PIPELINE_TOML = f"""
[network]
subnet_ids = {json.dumps(SUBNETS)}
security_group_ids = {json.dumps(GROUPS)}

[processing]
instance_count = 2

[training]
instance_count = 2

[batch_transform]
enabled = true
held_out_fraction = 0.25

[quality_gate]
enabled = true
metric = "auc"
threshold = 0.9
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, plugin_dir):
    directory = tmp_path_factory.mktemp("batch-transform")
    (directory / "pipeline.toml").write_text(PIPELINE_TOML)
    up = run_cli("local", "up", "--port", "0", cwd=directory)
    assert up.returncode == 0, up.stderr
    try:
        deployed = run_cli("deploy", "--target", "local", "--auto-approve", cwd=directory, timeout=600)
        assert deployed.returncode == 0, deployed.stderr
        yield directory
    finally:
        run_cli("local", "down", cwd=directory)


@pytest.fixture(scope="module")
def scored_run(workdir):
    result = run_cli("run", "--target", "local", "--rows", "4000", "--name", "scored", cwd=workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_the_run_succeeds_and_predicts_the_held_out_rows_well(workdir, scored_run):
    summary = json.loads((workdir / "artifacts" / "scored" / "summary.json").read_text())
    assert [s["name"] for s in summary["states"]][-6:] == [
        "Create model", "Batch transform", "Evaluate model", "Read evaluation", "Quality gate", "Register model"]
    evaluation = summary["evaluation"]
    assert 800 < evaluation["rows"] < 1200  # a quarter of 4000, by the row hash
    assert evaluation["metrics"]["auc"] > 0.9 and evaluation["metrics"]["accuracy"] > 0.8
    assert 0 < evaluation["standard_deviations"]["auc"] < 0.05  # at least 200 rows: 5 samples of 80 %
    predictions = pd.read_csv(workdir / "artifacts" / "scored" / "predictions.csv")
    assert list(predictions.columns) == ["label", "prediction"] and len(predictions) == evaluation["rows"]
    assert predictions.prediction.between(0, 1).all()
    # the file the pipeline wrote is the one run reports (one source of truth)
    written = json.loads((workdir / "artifacts" / "scored" / "evaluation.json").read_text())
    assert written["binary_classification_metrics"]["auc"]["value"] == evaluation["metrics"]["auc"]
    assert written["dataset"]["item_count"] == evaluation["rows"] == int(predictions.label.count())
    last = scored_run.stdout.strip().splitlines()
    assert any(f"held out ({evaluation['rows']} rows): AUC=" in line for line in last)
    report = (workdir / "artifacts" / "scored" / "report.html").read_text()
    assert "Held-out evaluation" in report and "ROC curve of the held-out predictions" in report and "passed, registered" in report


def test_a_passing_model_is_registered_with_its_metrics_and_the_execution(workdir, scored_run):
    """Register model: one version in <prefix>-models, the training image and model.tar.gz,
    ModelMetrics.ModelQuality.Statistics at the evaluation.json the gate read, GeneratedBy the
    execution's ARN, metric/value/threshold/execution as customer metadata, the configured status."""
    from pipeline_tools.emulator import client, read_state

    state = read_state(workdir / ".pipeline-tools")
    sagemaker, s3 = client("sagemaker", state), client("s3", state)
    summary = json.loads((workdir / "artifacts" / "scored" / "summary.json").read_text())
    gate = summary["quality_gate"]
    assert (gate["metric"], gate["relation"], gate["threshold"], gate["passed"]) == ("auc", ">=", 0.9, True)
    packages = [p for p in sagemaker.list_model_packages(ModelPackageGroupName="mlpipe-models")["ModelPackageSummaryList"]]
    package = sagemaker.describe_model_package(ModelPackageName=gate["model_package_arn"])
    assert [p["ModelPackageArn"] for p in packages].count(gate["model_package_arn"]) == 1
    assert package["ModelPackageGroupName"] == "mlpipe-models" and package["ModelApprovalStatus"] == "PendingManualApproval"
    assert package["MetadataProperties"]["GeneratedBy"] == summary["execution_arn"]
    metadata = package["CustomerMetadataProperties"]
    assert (metadata["metric"], metadata["threshold"], metadata["execution"]) == ("auc", "0.9", "scored")
    assert float(metadata["value"]) == pytest.approx(summary["evaluation"]["metrics"]["auc"])
    (container,) = package["InferenceSpecification"]["Containers"]
    training = sagemaker.describe_training_job(TrainingJobName="scored")
    assert container["ModelDataUrl"] == training["ModelArtifacts"]["S3ModelArtifacts"]
    assert container["Image"] == training["AlgorithmSpecification"]["TrainingImage"]
    statistics = package["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json" and statistics["S3Uri"] == summary["evaluation"]["evaluation_s3_uri"]
    bucket, key = statistics["S3Uri"].removeprefix("s3://").split("/", 1)
    assert json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()) == json.loads((workdir / "artifacts" / "scored" / "evaluation.json").read_text())
    assert f"registered {gate['model_package_arn']} (PendingManualApproval)" in scored_run.stdout


def test_models_list_approve_and_reject_change_the_status_and_keep_the_metadata(workdir, scored_run):
    from pipeline_tools.emulator import client, read_state

    listed = run_cli("models", "list", "--target", "local", cwd=workdir)
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.strip().splitlines()
    assert header.split()[:4] == ["version", "status", "metric", "execution"]
    assert re.match(r"\s*1\s+PendingManualApproval\s+auc = 0\.9\d{3}\s+scored\s", rows[0]), rows
    approved = run_cli("models", "approve", "1", "--target", "local", cwd=workdir)
    assert (approved.returncode, approved.stdout.strip()) == (0, "version 1 of mlpipe-models: Approved"), approved.stderr
    sagemaker = client("sagemaker", read_state(workdir / ".pipeline-tools"))
    package = sagemaker.describe_model_package(ModelPackageName="arn:aws:sagemaker:us-east-1:123456789012:model-package/mlpipe-models/1")
    assert package["ModelApprovalStatus"] == "Approved" and package["CustomerMetadataProperties"]["metric"] == "auc"
    rejected = run_cli("models", "reject", "1", "--description", "drifted", "--target", "local", cwd=workdir)
    assert rejected.returncode == 0, rejected.stderr
    package = sagemaker.describe_model_package(ModelPackageName=package["ModelPackageArn"])
    assert (package["ModelApprovalStatus"], package["ApprovalDescription"]) == ("Rejected", "drifted")
    as_json = json.loads(run_cli("models", "list", "--json", "--target", "local", cwd=workdir).stdout)
    assert [(v["version"], v["status"], v["execution"]) for v in as_json][:1] == [(1, "Rejected", "scored")]
    assert_clean_error(run_cli("models", "approve", "99", "--target", "local", cwd=workdir), "model package group mlpipe-models has no version 99")


def test_the_gated_run_used_exactly_the_documented_grants(workdir, scored_run):
    """verify-iam --observed: the Evaluate model job, the state machine's getObject (with the stack's key
    through S3) and createModelPackage, each used and each documented."""
    access = json.loads((workdir / "artifacts" / "scored" / "access.json").read_text())
    used = {(d["role"].rsplit("/", 1)[-1], d["action"]) for d in access["decisions"] if d["decision"] == "allowed"}
    assert {("mlpipe-state-machine", "s3:GetObject"), ("mlpipe-state-machine", "kms:Decrypt"),
            ("mlpipe-state-machine", "sagemaker:CreateModelPackage")} <= used
    checked = run_cli("verify-iam", "--observed", str(workdir / "artifacts" / "scored"), cwd=workdir)
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr


def test_the_transform_job_writes_sagemakers_output_naming(workdir, scored_run):
    from pipeline_tools.emulator import client, read_state

    state = read_state(workdir / ".pipeline-tools")
    sagemaker, s3 = client("sagemaker", state), client("s3", state)
    job = sagemaker.describe_transform_job(TransformJobName="scored")
    assert job["TransformJobStatus"] == "Completed" and job["ModelName"] == "scored"
    output = job["TransformOutput"]["S3OutputPath"]
    bucket, prefix = output.removeprefix("s3://").split("/", 1)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]]
    # one <input object>.out per held-out object; each processing host wrote its own (holdout-algo-N-...)
    assert keys == [f"{prefix}/holdout-algo-1-00000.csv.out", f"{prefix}/holdout-algo-2-00000.csv.out"]
    assert sagemaker.describe_model(ModelName="scored")["PrimaryContainer"]["ModelDataUrl"].endswith("/output/model.tar.gz")


def test_the_transform_job_logs_where_sagemaker_does_and_logs_shows_it(workdir, scored_run):
    """/aws/sagemaker/TransformJobs, stream [transform-job-name]/[instance-id]-[epoch_timestamp]
    (https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html)."""
    import re

    from pipeline_tools.emulator import client, read_state

    state = read_state(workdir / ".pipeline-tools")
    logs, sagemaker = client("logs", state), client("sagemaker", state)
    (stream,) = [s["logStreamName"] for s in logs.describe_log_streams(logGroupName="/aws/sagemaker/TransformJobs", logStreamNamePrefix="scored/")["logStreams"]]
    match = re.fullmatch(r"scored/(i-[0-9a-f]{17})-(\d+)", stream)
    assert match, stream
    assert abs(int(match.group(2)) - sagemaker.describe_transform_job(TransformJobName="scored")["CreationTime"].timestamp()) < 5
    messages = [e["message"] for e in logs.get_log_events(logGroupName="/aws/sagemaker/TransformJobs", logStreamName=stream)["events"]]
    assert any(m.startswith("predicted ") for m in messages), messages
    shown = run_cli("logs", "scored", "--target", "local", "--state", "batch", cwd=workdir)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert any(re.match(rf"Batch transform +{match.group(1)} +\| predicted ", line) for line in shown.stdout.splitlines()), shown.stdout


def test_two_hosts_per_job_share_the_data_and_train_one_model(workdir, scored_run):
    """The deployed pipeline with `instance_count = 2` for processing and training (issue 14):
    every host of the processing job receives the whole (FullyReplicated) input and writes its own
    rows; the training job's ShardedByS3Key channel deals those objects to its two hosts, disjoint
    and complete; the hosts train one model, written once, that loads and beats a constant predictor."""
    import io
    import tarfile

    import numpy as np

    from pipeline_tools.emulator import client, read_state
    from pipeline_tools.model_artifact import predict

    summary = json.loads((workdir / "artifacts" / "scored" / "summary.json").read_text())
    assert summary["status"] == "SUCCEEDED"
    assert all(s["status"] == "SUCCEEDED" for s in summary["states"]), summary["states"]
    state = read_state(workdir / ".pipeline-tools")
    sagemaker, s3 = client("sagemaker", state), client("s3", state)
    processing = sagemaker.describe_processing_job(ProcessingJobName="scored")
    training = sagemaker.describe_training_job(TrainingJobName="scored")
    assert processing["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 2
    assert training["ResourceConfig"]["InstanceCount"] == 2
    assert {i["S3Input"]["S3DataDistributionType"] for i in processing["ProcessingInputs"]} == {"FullyReplicated"}
    (channel,) = training["InputDataConfig"]
    assert channel["DataSource"]["S3DataSource"]["S3DataDistributionType"] == "ShardedByS3Key"
    bucket, train_prefix = channel["DataSource"]["S3DataSource"]["S3Uri"].removeprefix("s3://").split("/", 1)

    # Processing: FullyReplicated, so each host received the raw dataset and the script.
    hosts = summary["processing"]["instances"]
    assert [i["host"] for i in hosts] == ["algo-1", "algo-2"]
    raw = f"s3://{bucket}/runs/scored/input/raw.csv"
    for host in hosts:
        assert raw in host["input_files"] and any(f.endswith("/transform.py") for f in host["input_files"]), host
    # ... and each wrote its own share of the rows, under its own name (nothing overwritten).
    shards = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=train_prefix)["Contents"])
    assert shards == [f"{train_prefix}train-algo-1-00000.csv", f"{train_prefix}train-algo-2-00000.csv"], shards
    frames = [pd.read_csv(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()), header=None) for key in shards]
    # Host k of 2 took the rows at positions p % 2 == k - 1: 2000 each, trained on or held out.
    held = [len(s3.get_object(Bucket=bucket, Key=f"runs/scored/holdout/labels/holdout-{host}-00000.csv")["Body"].read().split())
            for host in ("algo-1", "algo-2")]
    assert [len(frame) + count for frame, count in zip(frames, held)] == [2000, 2000], ([len(f) for f in frames], held)
    assert sum(held) == summary["evaluation"]["rows"]

    # Training: ShardedByS3Key, so the two hosts' objects are disjoint and together all of them.
    hosts = summary["training"]["instances"]
    assert [i["host"] for i in hosts] == ["algo-1", "algo-2"]
    shares = [set(i["input_files"]) for i in hosts]
    assert all(shares) and not shares[0] & shares[1], shares
    assert shares[0] | shares[1] == {f"s3://{bucket}/{key}" for key in shards}

    # One model, written once, that loads with the image's xgboost and beats a constant predictor.
    models = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="runs/scored/models/")["Contents"]]
    assert models == ["runs/scored/models/scored/output/model.tar.gz"], models
    assert "error" not in summary["model"] and summary["model"]["num_trees"] == 5, summary["model"]
    model = workdir / "artifacts" / "scored" / "model.tar.gz"
    with tarfile.open(model) as archive:
        assert archive.getnames() == ["xgboost-model"]
    data = pd.concat(frames)
    labels, features = data[0].to_numpy(), data[[1, 2]].to_numpy()
    predictions = predict(model, training["AlgorithmSpecification"]["TrainingImage"], features)
    rmse = float(np.sqrt(np.mean((predictions - labels) ** 2)))
    constant = float(np.sqrt(np.mean((labels.mean() - labels) ** 2)))
    assert rmse < 0.5 * constant, (rmse, constant)
    reported = summary["training"]["metrics"]["train:rmse"]
    assert 0 <= reported < 0.5 * constant, (reported, constant)


def test_two_host_jobs_log_one_stream_per_host_and_logs_shows_every_state(workdir, scored_run):
    """Two processing and two training hosts: one stream each, <job>/algo-N-<epoch>, read through boto3's
    CloudWatch Logs client; `pipeline-tools logs` shows every state's lines, each with its host."""
    from pipeline_tools.emulator import client, read_state

    state = read_state(workdir / ".pipeline-tools")
    logs, sagemaker = client("logs", state), client("sagemaker", state)
    for group, started in (("/aws/sagemaker/ProcessingJobs", sagemaker.describe_processing_job(ProcessingJobName="scored")["ProcessingStartTime"]),
                           ("/aws/sagemaker/TrainingJobs", sagemaker.describe_training_job(TrainingJobName="scored")["TrainingStartTime"])):
        streams = [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="scored/")["logStreams"]]
        epoch = int(started.timestamp())
        assert streams == [f"scored/algo-1-{epoch}", f"scored/algo-2-{epoch}"], (group, streams, epoch)
        for stream in streams:
            assert logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"], stream
    shown = run_cli("logs", "scored", "--target", "local", cwd=workdir)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    hosts: dict[str, set] = {}
    for line in shown.stdout.splitlines():
        prefix = line.partition(" | ")[0].rstrip()
        state_name, host = prefix.rsplit(None, 1)
        hosts.setdefault(state_name.strip(), set()).add(host)
    assert hosts["Standardization"] == {"algo-1", "algo-2"} and hosts["Train model (XGBoost)"] == {"algo-1", "algo-2"}, shown.stdout
    assert "Generate dataset" in hosts and "Batch transform" in hosts, shown.stdout


def test_jobs_record_isolation_and_the_vpc_and_write_everything_with_the_stacks_key(workdir, scored_run):
    """The deployed definition's job security, as SageMaker's Describe* answer it, and the key each
    output object was written with: processing's shards and held-out rows, the model, the predictions.
    Without OutputDataConfig/ProcessingOutputConfig/TransformOutput KmsKeyId SageMaker would write them
    with the account's aws/s3 key, not the stack's (API_OutputDataConfig)."""
    from pipeline_tools.emulator import client, read_state

    state = read_state(workdir / ".pipeline-tools")
    sagemaker, s3, lambda_ = client("sagemaker", state), client("s3", state), client("lambda", state)
    vpc = {"Subnets": SUBNETS, "SecurityGroupIds": GROUPS}
    processing = sagemaker.describe_processing_job(ProcessingJobName="scored")
    training = sagemaker.describe_training_job(TrainingJobName="scored")
    model = sagemaker.describe_model(ModelName="scored")
    transform = sagemaker.describe_transform_job(TransformJobName="scored")
    assert processing["NetworkConfig"] == {"EnableNetworkIsolation": True, "EnableInterContainerTrafficEncryption": True, "VpcConfig": vpc}
    assert (training["EnableNetworkIsolation"], training["EnableInterContainerTrafficEncryption"], training["VpcConfig"]) == (True, True, vpc)
    assert (model["EnableNetworkIsolation"], model["VpcConfig"]) == (True, vpc)
    (function,) = [f for f in lambda_.list_functions()["Functions"] if f["FunctionName"].endswith("-generate-dataset")]
    assert sorted(function["VpcConfig"]["SubnetIds"]) == SUBNETS and function["VpcConfig"]["SecurityGroupIds"] == GROUPS

    bucket = training["OutputDataConfig"]["S3OutputPath"].removeprefix("s3://").split("/", 1)[0]
    key = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    assert key.startswith("arn:aws:kms:")
    written = [o["Key"] for prefix in ("train/", "holdout/", "models/", "predictions/", "evaluation/")
               for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"runs/scored/{prefix}")["Contents"]]
    assert len(written) >= 9, written  # 2 shards, 2 x (features + labels), the model, 2 predictions, evaluation.json + predictions.csv
    for object_key in written:
        head = s3.head_object(Bucket=bucket, Key=object_key)
        assert (head["ServerSideEncryption"], head.get("SSEKMSKeyId")) == ("aws:kms", key), object_key
    assert processing["ProcessingOutputConfig"]["KmsKeyId"] == training["OutputDataConfig"]["KmsKeyId"] == transform["TransformOutput"]["KmsKeyId"] == key
    assert processing["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == training["ResourceConfig"]["VolumeKmsKeyId"] == key


def test_the_model_runs_as_its_own_role_and_verify_iam_observed_is_clean(workdir, scored_run):
    """Issue 21: the model has its own role, trusted as SageMaker's confused-deputy page writes it for
    inference (arn:aws:sagemaker:REGION:ACCOUNT:*); CreateModel assumes it (the emulator evaluates its
    trust then), the transform job runs as it, the jobs' role does neither. verify-iam tells the two
    SageMaker roles apart and finds the run's use documented, nothing granted unused."""
    access = json.loads((workdir / "artifacts" / "scored" / "access.json").read_text())
    assert all(d["decision"] == "allowed" for d in access["decisions"]), [d for d in access["decisions"] if d["decision"] != "allowed"]
    by_role: dict[str, set] = {}
    for decision in access["decisions"]:
        by_role.setdefault(decision["role"].rsplit("/", 1)[-1], set()).add((decision["action"], decision["via"]))
    model = by_role["mlpipe-sagemaker-model"]
    assert ("sts:AssumeRole", "sagemaker.amazonaws.com assumes the role") in model  # at CreateModel and the transform job
    assert {action for action, _ in model} >= {"s3:GetObject", "s3:PutObject", "ecr:BatchGetImage", "logs:PutLogEvents"}
    jobs = {(d["action"], d["resource"]) for d in access["decisions"] if d["role"].endswith("/mlpipe-sagemaker-jobs")}
    # the jobs' role never runs the transform (never writes predictions, never logs to TransformJobs); its
    # Evaluate model job (issue 23) only reads the predictions
    assert not any("TransformJobs" in r or ("/predictions/" in r and a != "s3:GetObject") for a, r in jobs), jobs
    assert any(a == "s3:GetObject" and "/predictions/" in r for a, r in jobs), jobs
    passed = {d["resource"].rsplit("/", 1)[-1] for d in access["decisions"] if d["action"] == "iam:PassRole"}
    assert passed == {"mlpipe-sagemaker-jobs", "mlpipe-sagemaker-model"}

    verified = run_cli("verify-iam", "--observed", str(workdir / "artifacts" / "scored"), "--format", "json",
                       "--stack-dir", str(workdir / "cdktf.out" / "stacks" / "ml-pipeline"), cwd=workdir)
    assert verified.returncode == 0, verified.stdout + verified.stderr
