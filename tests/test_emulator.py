"""The local emulator: `pipeline-tools local up|down|status` and moto's gaps, through real boto3.

One real emulator process (moto server over HTTPS) serves the whole module.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pipeline_tools.emulator import client
from pipeline_tools.emulator.state import is_emulator_process, read_state
from pipeline_tools.errors import EnvironmentProblem

from .conftest import assert_clean_error, run_cli
from .conftest_emulator import create_role, emulator_in, tls_only_policy, wait_execution, zip_files

pytestmark = pytest.mark.emulator


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    with emulator_in(tmp_path_factory.mktemp("emulator") / ".pipeline-tools") as state:
        yield state


# ---------------------------------------------------------------------------------------------
# local up / status / down (the CLI, in a directory of its own)
# ---------------------------------------------------------------------------------------------


def test_local_lifecycle_up_idempotent_status_down(tmp_path):
    up = run_cli("local", "up", "--port", "0", cwd=tmp_path)  # 0: the server binds a port the kernel picks
    assert up.returncode == 0, up.stderr
    endpoint = up.stdout.strip()
    assert endpoint.startswith("https://127.0.0.1:")
    port = int(endpoint.rsplit(":", 1)[1])
    assert port >= 1024
    state_file = tmp_path / ".pipeline-tools" / "emulator.json"
    state = json.loads(state_file.read_text())
    assert set(state) == {"endpoint", "port", "pid", "ca_bundle", "aws_config", "region", "account_id", "log", "data_since", "restored"}
    # The shared AWS config file the local target's provider reads the endpoint from (one profile).
    assert Path(state["aws_config"]).read_text().splitlines()[1:] == [
        "[profile pipeline-tools-local]", f"endpoint_url = {endpoint}", "region = us-east-1"]
    assert state["restored"]["interrupted"] == [] and state["restored"]["warnings"] == []  # a fresh state directory
    assert state["endpoint"] == endpoint and state["port"] == port
    assert json.loads((tmp_path / ".pipeline-tools" / "emulator.port").read_text()) == {"pid": state["pid"], "port": port}
    assert state["region"] == "us-east-1" and state["account_id"] == "123456789012"
    assert Path(state["ca_bundle"]).is_absolute() and Path(state["ca_bundle"]).is_file()
    assert Path(f"/proc/{state['pid']}/cmdline").read_bytes().split(b"\0")[2] == b"pipeline_tools.emulator.serve"
    try:
        again = run_cli("local", "up", "--port", "0", cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == endpoint and "note:" not in again.stderr
        moved = run_cli("local", "up", "--port", str(port + 1 if port < 65535 else port - 1), cwd=tmp_path)
        assert moved.stdout.strip() == endpoint and f"already running on port {port}" in moved.stderr
        assert json.loads(state_file.read_text())["pid"] == state["pid"]  # same process, not a second one

        status = run_cli("local", "status", cwd=tmp_path)
        assert (status.returncode, status.stdout.strip()) == (0, endpoint)

        # The endpoint really is TLS with our CA: a verified request to a real API works.
        sts = client("sts", read_state(tmp_path / ".pipeline-tools"))
        assert sts.get_caller_identity()["Account"] == "123456789012"
    finally:
        down = run_cli("local", "down", cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    assert "stopped" in down.stdout
    assert not state_file.exists() and not (tmp_path / ".pipeline-tools" / "emulator.port").exists()
    assert not Path(state["aws_config"]).exists()  # a stopped emulator leaves no endpoint to call
    assert not is_emulator_process(state["pid"])  # gone (or a zombie awaiting its reaper: no cmdline)

    status = run_cli("local", "status", cwd=tmp_path)
    assert status.returncode == 2
    assert status.stderr.strip() == "error: local emulator is not running (run `pipeline-tools local up`)"
    with pytest.raises(EnvironmentProblem, match="not running"):
        read_state(tmp_path / ".pipeline-tools")
    down_again = run_cli("local", "down", cwd=tmp_path)
    assert down_again.returncode == 0 and "not running" in down_again.stdout


def test_local_up_on_a_busy_port_is_one_line_error(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = run_cli("local", "up", "--port", str(port), cwd=tmp_path)
    line = assert_clean_error(result, "--port")
    assert line.startswith(f"error: port {port} on 127.0.0.1 is already in use")
    assert not (tmp_path / ".pipeline-tools" / "emulator.json").exists()


def test_down_leaves_a_foreign_pid_alone(tmp_path):
    """A state file whose pid is not our server (e.g. recycled) must not be signalled."""
    import os

    directory = tmp_path / ".pipeline-tools"
    directory.mkdir()
    (directory / "emulator.json").write_text(json.dumps({"pid": os.getpid(), "port": 1}))
    result = run_cli("local", "down", cwd=tmp_path)
    assert result.returncode == 0 and "not running" in result.stdout  # and this test process is alive


def test_serve_refuses_any_host_but_loopback():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "pipeline_tools.emulator.serve", "--host", "0.0.0.0", "--port", "47999", "--state-dir", "/nonexistent"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0" in result.stderr


# ---------------------------------------------------------------------------------------------
# S3: the TLS-only bucket policy
# ---------------------------------------------------------------------------------------------


def test_tls_only_bucket_policy_allows_https(emulator):
    s3 = client("s3", emulator)
    s3.create_bucket(Bucket="tls-only-bucket")
    s3.put_bucket_policy(Bucket="tls-only-bucket", Policy=tls_only_policy("tls-only-bucket"))
    s3.put_object(Bucket="tls-only-bucket", Key="a/b.txt", Body=b"over TLS")
    assert s3.get_object(Bucket="tls-only-bucket", Key="a/b.txt")["Body"].read() == b"over TLS"


def plain_http_answer(port: int) -> bytes:
    """What the server sends back to a plain-HTTP request (a TLS-only server: no HTTP status line)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(b"GET /tls-only-bucket/a/b.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = b""
        try:
            while chunk := connection.recv(4096):
                answer += chunk
        except (ConnectionError, socket.timeout):
            pass
    return answer


def test_plain_http_is_not_served(emulator):
    # Any HTTP answer (a 403 from a plain-HTTP emulator is an HTTPError, a URLError) would fail this.
    assert not plain_http_answer(emulator["port"]).startswith(b"HTTP/")
    with pytest.raises(OSError) as raised:  # a reset or a refused handshake, never an HTTP status
        urllib.request.urlopen(f"http://127.0.0.1:{emulator['port']}/tls-only-bucket/a/b.txt", timeout=5).read()
    assert not isinstance(raised.value, urllib.error.HTTPError), raised.value


def test_tls_only_policy_denies_requests_without_tls(monkeypatch):
    """The patched evaluator, in-process: the same Deny statement denies a plain-HTTP request.
    The patch is undone afterwards (monkeypatch), so no later in-process test sees it."""
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    from pipeline_tools.emulator.patches import s3_secure_transport
    from pipeline_tools.emulator.request_context import set_secure_transport

    monkeypatch.setattr(FakeBucket, "get_permission", FakeBucket.get_permission)  # restored at teardown
    s3_secure_transport.apply()
    assert FakeBucket.get_permission.__module__ == s3_secure_transport.__name__
    bucket = FakeBucket("policy-bucket", "123456789012", "us-east-1")
    bucket.policy = tls_only_policy("policy-bucket").encode()
    resource = "arn:aws:s3:::policy-bucket/key"
    try:
        set_secure_transport(False)
        assert bucket.get_permission("s3:GetObject", resource) == PermissionResult.DENIED
        set_secure_transport(True)
        assert bucket.get_permission("s3:GetObject", resource) == PermissionResult.NEUTRAL
    finally:
        set_secure_transport(None)


def test_the_in_process_patch_did_not_leak():
    """Runs after the test above in the same worker (--dist loadfile keeps a file together)."""
    from moto.s3.models import FakeBucket

    assert FakeBucket.get_permission.__module__ == "moto.s3.models"


def test_condition_operators_follow_iam_semantics():
    from pipeline_tools.emulator.patches.s3_secure_transport import condition_holds

    assert condition_holds({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "false"})
    assert not condition_holds({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"})
    assert not condition_holds({"Bool": {"aws:SecureTransport": "false"}}, {})  # absent key: false
    assert condition_holds({"StringNotEquals": {"s3:x-amz-acl": "private"}}, {})  # negated + absent: true
    assert condition_holds({"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}, {})
    assert condition_holds({"Null": {"aws:SourceVpc": "true"}}, {})


def test_lifecycle_configuration_reads_back_what_was_put(emulator):
    """terraform waits until GetBucketLifecycleConfiguration equals what it put, incl. this value."""
    s3 = client("s3", emulator)
    s3.create_bucket(Bucket="lifecycle-bucket")
    rules = [{"ID": "expire", "Status": "Enabled", "Filter": {"Prefix": ""}, "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}]
    s3.put_bucket_lifecycle_configuration(
        Bucket="lifecycle-bucket", LifecycleConfiguration={"Rules": rules}, TransitionDefaultMinimumObjectSize="varies_by_storage_class"
    )
    answer = s3.get_bucket_lifecycle_configuration(Bucket="lifecycle-bucket")
    assert answer["TransitionDefaultMinimumObjectSize"] == "varies_by_storage_class"
    assert answer["Rules"] == rules
    s3.put_bucket_lifecycle_configuration(Bucket="lifecycle-bucket", LifecycleConfiguration={"Rules": rules})
    assert s3.get_bucket_lifecycle_configuration(Bucket="lifecycle-bucket")["TransitionDefaultMinimumObjectSize"] == "all_storage_classes_128K"


def test_aws_chunked_uploads_arrive_intact(emulator):
    """botocore's default PutObject over HTTPS is aws-chunked (1 MiB chunks + a CRC trailer);
    the s3_chunked_body patch decodes it: a multi-chunk body must come back byte for byte."""
    import os

    s3 = client("s3", emulator)
    s3.create_bucket(Bucket="chunked-bucket")
    body = os.urandom(3 * 1024 * 1024 + 12345)  # four chunks, the last one short
    s3.put_object(Bucket="chunked-bucket", Key="blob", Body=body)
    assert s3.get_object(Bucket="chunked-bucket", Key="blob")["Body"].read() == body


def test_aws_chunked_decoder():
    from pipeline_tools.emulator.patches.s3_chunked_body import decode_aws_chunked

    encoded = b"5\r\nhello\r\n3;chunk-signature=abc\r\n, w\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    assert decode_aws_chunked(encoded) == b"hello, w"
    assert decode_aws_chunked(b"") == b"" and decode_aws_chunked(b"0\r\n\r\n") == b""
    with pytest.raises(ValueError, match="ends inside a chunk"):
        decode_aws_chunked(b"a\r\nshort\r\n")


# ---------------------------------------------------------------------------------------------
# Step Functions API calls terraform makes
# ---------------------------------------------------------------------------------------------


def test_validate_state_machine_definition_gives_diagnostics(emulator):
    sfn = client("stepfunctions", emulator)
    broken = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Missing"}}}
    answer = sfn.validate_state_machine_definition(definition=json.dumps(broken), type="STANDARD")
    assert answer["result"] == "FAIL"
    messages = [d["message"] for d in answer["diagnostics"]]
    assert any('No state found named "Missing"' in m for m in messages), messages
    assert all(d["severity"] == "ERROR" for d in answer["diagnostics"])
    assert "/States/A/Next" in [d["location"] for d in answer["diagnostics"]]

    fine = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    assert sfn.validate_state_machine_definition(definition=json.dumps(fine))["result"] == "OK"

    not_json = sfn.validate_state_machine_definition(definition="{not json")
    assert not_json["result"] == "FAIL"
    assert not_json["diagnostics"][0]["code"] == "INVALID_JSON_DESCRIPTION"


def test_list_state_machine_versions(emulator):
    sfn = client("stepfunctions", emulator)
    role = create_role(client("iam", emulator), "versions-role")
    definition = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    unpublished = sfn.create_state_machine(name="no-versions", definition=definition, roleArn=role)["stateMachineArn"]
    assert sfn.list_state_machine_versions(stateMachineArn=unpublished)["stateMachineVersions"] == []
    published = sfn.create_state_machine(name="versions", definition=definition, roleArn=role, publish=True)
    versions = sfn.list_state_machine_versions(stateMachineArn=published["stateMachineArn"])["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in versions] == [published["stateMachineVersionArn"]]


# ---------------------------------------------------------------------------------------------
# Lambda: the packaged handler runs
# ---------------------------------------------------------------------------------------------

HANDLER = '''
import os
import boto3

def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail: " + str(event["fail"]))
    s3 = boto3.client("s3")
    s3.put_object(Bucket=os.environ["BUCKET"], Key=event["key"], Body=b"written by the handler")
    return {"key": event["key"], "function": context.function_name, "remaining_ms": context.get_remaining_time_in_millis() > 0}
'''


@pytest.fixture(scope="module")
def handler_function(emulator):
    s3 = client("s3", emulator)
    s3.create_bucket(Bucket="lambda-bucket")
    s3.put_bucket_policy(Bucket="lambda-bucket", Policy=tls_only_policy("lambda-bucket"))
    role = create_role(client("iam", emulator), "lambda-role")
    created = client("lambda", emulator).create_function(
        FunctionName="handler-fn",
        Runtime="python3.11",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": zip_files({"app.py": HANDLER})},
        Environment={"Variables": {"BUCKET": "lambda-bucket"}},
        Timeout=60,
    )
    return created["FunctionArn"], role


def test_lambda_keeps_its_logging_config(emulator, handler_function):
    lam = client("lambda", emulator)
    assert lam.get_function_configuration(FunctionName="handler-fn")["LoggingConfig"] == {
        "LogFormat": "Text",
        "LogGroup": "/aws/lambda/handler-fn",
    }
    lam.update_function_configuration(FunctionName="handler-fn", LoggingConfig={"LogFormat": "JSON", "LogGroup": "/custom/group"})
    logging_config = lam.get_function(FunctionName="handler-fn")["Configuration"]["LoggingConfig"]
    assert logging_config == {"LogFormat": "JSON", "LogGroup": "/custom/group", "ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO"}


def test_lambda_invoke_runs_the_handler(emulator, handler_function):
    arn, _ = handler_function
    answer = client("lambda", emulator).invoke(FunctionName=arn, Payload=json.dumps({"key": "out/direct.txt"}))
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {"key": "out/direct.txt", "function": "handler-fn", "remaining_ms": True}
    body = client("s3", emulator).get_object(Bucket="lambda-bucket", Key="out/direct.txt")["Body"].read()
    assert body == b"written by the handler"


def test_lambda_exception_is_an_unhandled_function_error(emulator, handler_function):
    arn, _ = handler_function
    answer = client("lambda", emulator).invoke(FunctionName=arn, Payload=json.dumps({"fail": "please"}))
    assert answer["FunctionError"] == "Unhandled"
    payload = json.loads(answer["Payload"].read())
    assert payload["errorType"] == "ValueError"
    assert payload["errorMessage"] == "asked to fail: please"


def test_state_machine_lambda_task_and_catch(emulator, handler_function):
    arn, role = handler_function
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": arn,
                "Catch": [{"ErrorEquals": ["ValueError"], "ResultPath": "$.error", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    sfn = client("stepfunctions", emulator)
    machine = sfn.create_state_machine(name="lambda-task", definition=json.dumps(definition), roleArn=role)["stateMachineArn"]

    ok = wait_execution(sfn, sfn.start_execution(stateMachineArn=machine, input=json.dumps({"key": "out/sfn.txt"}))["executionArn"])
    assert ok["status"] == "SUCCEEDED", ok
    assert json.loads(ok["output"])["key"] == "out/sfn.txt"
    assert client("s3", emulator).head_object(Bucket="lambda-bucket", Key="out/sfn.txt")["ContentLength"] > 0

    caught = wait_execution(sfn, sfn.start_execution(stateMachineArn=machine, input=json.dumps({"fail": "x"}))["executionArn"])
    assert caught["status"] == "SUCCEEDED", caught
    error = json.loads(caught["output"])["error"]
    assert error["Error"] == "ValueError"
    assert json.loads(error["Cause"])["errorMessage"] == "asked to fail: x"


# ---------------------------------------------------------------------------------------------
# Pure helpers of the patches
# ---------------------------------------------------------------------------------------------


def test_sagemaker_results_are_step_functions_json():
    import datetime as dt

    from pipeline_tools.emulator.patches.sfn_sagemaker_sync import to_sfn_json

    stamp = dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.timezone.utc)
    converted = to_sfn_json({"CreationTime": stamp, "List": [{"T": stamp.replace(tzinfo=None)}], "ResponseMetadata": {}})
    assert converted == {"CreationTime": 1767323045678, "List": [{"T": 1767323045678}]}
    json.dumps(converted)  # what moto's DescribeExecution needs


def test_xgboost_hyperparameters_are_parsed_from_sagemaker_strings():
    from pipeline_tools.emulator.jobs.xgboost_train import InputProblem, booster_params

    params, rounds, early = booster_params(
        {"objective": "reg:logistic", "eval_metric": "rmse,logloss", "num_round": "5", "max_depth": "4", "eta": "0.3", "seed": "7"}
    )
    assert rounds == 5 and early is None
    assert params["objective"] == "reg:logistic" and params["eval_metric"] == ["rmse", "logloss"]
    assert params["max_depth"] == 4 and params["seed"] == 7 and params["eta"] == pytest.approx(0.3)
    with pytest.raises(InputProblem, match="num_round"):
        booster_params({"objective": "reg:logistic"})


LOGGING_HANDLER = '''
print("init output")

def handler(event, context):
    print("hello", event["n"])
    return {"group": context.log_group_name, "stream": context.log_stream_name, "request": context.aws_request_id}
'''


def test_lambda_logs_go_to_its_logging_config_group_one_stream_per_environment(emulator):
    """As Lambda writes them (lambda_logs.py): the LoggingConfig group (created when missing), stream
    YYYY/MM/DD/<function>[$LATEST]<environment id> in a custom group, reused while the environment is
    warm; init output, then START, the invocation's output, END, REPORT (Init Duration on the cold start)."""
    import re

    lam, logs = client("lambda", emulator), client("logs", emulator)
    lam.create_function(
        FunctionName="logging-fn", Runtime="python3.11", Role=create_role(client("iam", emulator), "logging-role"), Handler="app.handler",
        Code={"ZipFile": zip_files({"app.py": LOGGING_HANDLER})}, Timeout=30, LoggingConfig={"LogFormat": "Text", "LogGroup": "/custom/pipeline"},
    )
    answers = [json.loads(lam.invoke(FunctionName="logging-fn", Payload=json.dumps({"n": n}))["Payload"].read()) for n in (1, 2)]
    (stream,) = [s["logStreamName"] for s in logs.describe_log_streams(logGroupName="/custom/pipeline")["logStreams"]]
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/logging-fn\[\$LATEST\][0-9a-f]{32}", stream), stream
    assert [(a["group"], a["stream"]) for a in answers] == [("/custom/pipeline", stream)] * 2  # the runtime sees its names
    messages = [e["message"] for e in logs.get_log_events(logGroupName="/custom/pipeline", logStreamName=stream, startFromHead=True)["events"]]
    first, second = (a["request"] for a in answers)
    assert messages[:4] == ["init output", f"START RequestId: {first} Version: $LATEST", "hello 1", f"END RequestId: {first}"]
    assert re.fullmatch(rf"REPORT RequestId: {first}\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB\tInit Duration: [\d.]+ ms", messages[4])
    assert messages[5:8] == [f"START RequestId: {second} Version: $LATEST", "hello 2", f"END RequestId: {second}"]
    assert messages[8].startswith(f"REPORT RequestId: {second}\t") and "Init Duration" not in messages[8]  # warm
    assert len(messages) == 9


# SageMaker's name constraint (CreateTrainingJob's TrainingJobName, CreateProcessingJob's ProcessingJobName,
# CreateTransformJob's TransformJobName, CreateModel's ModelName): "Length Constraints: Maximum length of
# 63. Pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
# (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTrainingJob.html#sagemaker-CreateTrainingJob-request-TrainingJobName),
# answered in AWS's validation words (quoted in github.com/zenml-io/zenml/issues/1502).
PATTERN = "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"


def test_sagemaker_refuses_names_step_functions_accepts(emulator):
    """Step Functions accepts an execution name of up to 80 characters with `_` and `.`
    (StartExecution); SageMaker does not, and says so in its words."""
    from botocore.exceptions import ClientError

    sagemaker = client("sagemaker", emulator)
    role = create_role(client("iam", emulator), "name-check-role")

    def training(name: str) -> dict:
        return {"TrainingJobName": name, "RoleArn": role, "AlgorithmSpecification": {"TrainingImage": "x", "TrainingInputMode": "File"},
                "OutputDataConfig": {"S3OutputPath": "s3://b/o"}, "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 1},
                "StoppingCondition": {"MaxRuntimeInSeconds": 60}}

    def refused(call) -> str:
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Code"] == "ValidationException"
        return caught.value.response["Error"]["Message"]

    underscore = "nightly_2026.01.05"
    assert refused(lambda: sagemaker.create_training_job(**training(underscore))) == (
        f"1 validation error detected: Value '{underscore}' at 'trainingJobName' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {PATTERN}"
    )
    long = "a" * 64
    assert refused(lambda: sagemaker.create_model(ModelName=long, ExecutionRoleArn=role, PrimaryContainer={"Image": "x"})) == (
        f"2 validation errors detected: Value '{long}' at 'modelName' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {PATTERN}; Value '{long}' at 'modelName' failed to satisfy constraint: "
        "Member must have length less than or equal to 63"
    )
    assert "at 'processingJobName'" in refused(lambda: sagemaker.create_processing_job(
        ProcessingJobName="-leading-hyphen", RoleArn=role, AppSpecification={"ImageUri": "x"},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 1}}))
    assert "at 'transformJobName'" in refused(lambda: sagemaker.create_transform_job(
        TransformJobName="a.b", ModelName="m", TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/i"}}},
        TransformOutput={"S3OutputPath": "s3://b/o"}, TransformResources={"InstanceCount": 1, "InstanceType": "ml.m5.xlarge"}))
    assert underscore not in [j["TrainingJobName"] for j in sagemaker.list_training_jobs()["TrainingJobSummaries"]]  # nothing created
