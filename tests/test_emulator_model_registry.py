"""The emulator's parts of the quality gate (issue 23), each against what AWS documents, before the
stack uses them:

* a batch transform's DataProcessing on CSV records (InputFilter, JoinSource, OutputFilter: "Associate
  Prediction Results with Input Records", batch-transform-data-processing.html), so each output line
  of a labelled test split is ``label,prediction``;
* the Model Registry: a group, its versions, UpdateModelPackage that keeps what it is not given,
  tags of a version, DeleteModelPackageGroup (moto 5.2.5 has none);
* the AWS SDK integrations a state machine uses to read a JSON object (``aws-sdk:s3:getObject`` +
  ``States.StringToJson($.Body)``) and to register a model (``aws-sdk:sagemaker:createModelPackage``),
  called as the state machine's role with IAM enforced: allowed by the grant, refused without it.

One emulator (IAM enforced) for the module; the transform jobs run the real XGBoost 1.7-1 image
environment on a tiny model trained here with that image's xgboost.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import time

import pytest
from botocore.exceptions import ClientError

from pipeline_tools.emulator import client
from pipeline_tools.emulator.jobs.data_processing import DataProcessing, DataProcessingError, join_output, select

from .conftest_emulator import emulator_in, tls_only_policy, wait_execution

ACCOUNT, REGION = "123456789012", "us-east-1"
BUCKET = "registry-bucket"
GROUP = "registry-models"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


# -- DataProcessing on CSV records, as the page words it (pure) --------------------------------------


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("$", ["a", "b", "c", "d", "e", "f"]),
        ("$[1:]", ["b", "c", "d", "e", "f"]),  # "To exclude the first column from the input, set InputFilter to $[1:]"
        ("$[1:4]", ["b", "c", "d", "e"]),  # "$[1:4] specifies the second through fifth columns" (inclusive)
        ("$[:5]", ["a", "b", "c", "d", "e", "f"]),  # "from the first column (index 0) through the sixth column"
        ("$[0,-1]", ["a", "f"]),  # "the last column (-1) of the output contains the inferences"
        ("$[1,3,5]", ["b", "d", "f"]),
        ("$[-2:]", ["e", "f"]),
    ],
)
def test_csv_filters_select_fields_as_sagemaker_documents(expression, expected):
    assert select(expression, ["a", "b", "c", "d", "e", "f"]) == expected


def test_csv_join_appends_the_inference_to_the_whole_input_record_then_filters():
    processing = DataProcessing.of({"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"})
    assert join_output(processing, ["1,0.5,2.5", "0,-1,3"], ["0.93", "0.07"]) == ["1,0.93", "0,0.07"]
    assert join_output(DataProcessing.of({}), ["1,0.5,2.5"], ["0.93"]) == ["0.93"]  # the default: inferences only
    assert join_output(DataProcessing.of({"JoinSource": "Input"}), ['"a,b",2'], ["7"]) == ['"a,b",2,7']  # RFC 4180 quoting kept


@pytest.mark.parametrize(
    "request_, says",
    [
        ({"InputFilter": "$.features"}, "CSV records take index-based JSONPath only"),
        ({"OutputFilter": "$['id','SageMakerOutput']"}, "CSV records take index-based JSONPath only"),
        ({"JoinSource": "Output"}, "JoinSource 'Output' is not one of None, Input"),
    ],
)
def test_data_processing_a_csv_job_cannot_apply_is_refused_in_one_line(request_, says):
    with pytest.raises(DataProcessingError, match=says.replace("[", r"\[").replace("$", r"\$")):
        DataProcessing.of(request_)
    with pytest.raises(DataProcessingError, match="index 3 is outside a record of 2 field"):
        select("$[0,3]", ["a", "b"], "OutputFilter")


# -- the emulator ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIPELINE_TOOLS_EMULATOR_IAM", "1")
        with emulator_in(tmp_path_factory.mktemp("emulator-registry") / ".pipeline-tools") as state:
            yield state


def _trust(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}]})


def _role(emulator, name: str, service: str, statements: list[dict]) -> str:
    iam = client("iam", emulator)
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(service))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    return arn


def _tiny_model() -> bytes:
    """model.tar.gz holding an ``xgboost-model`` the 1.7-1 image's xgboost wrote (label = x1 > 0)."""
    from pipeline_tools.emulator.images import ensure, resolve

    python = ensure(resolve(XGBOOST_IMAGE))
    script = (
        "import sys, numpy as np, xgboost as xgb\n"
        "rng = np.random.default_rng(0); x = rng.normal(size=(400, 2)); y = (x[:, 0] > 0).astype(float)\n"
        "booster = xgb.train({'objective': 'binary:logistic', 'max_depth': 2}, xgb.DMatrix(x, label=y), 10)\n"
        "booster.save_model(sys.argv[1])\n"
    )
    with pytest.MonkeyPatch.context():
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / "xgboost-model"
            subprocess.run([str(python), "-c", script, str(target)], check=True, capture_output=True, timeout=120)
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
                archive.add(target, arcname="xgboost-model")
            return buffer.getvalue()


TEST_ROWS = ["1,2.0,0.5", "0,-1.5,0.3", "1,0.8,-2.0", "0,-0.2,1.1"]


@pytest.fixture(scope="module")
def model(emulator):
    """A bucket, the model artifact, the labelled test rows, and a SageMaker model run as a role that
    reads the artifact and the rows and writes the predictions."""
    s3 = client("s3", emulator)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=tls_only_policy(BUCKET))
    s3.put_object(Bucket=BUCKET, Key="runs/r1/models/model.tar.gz", Body=_tiny_model())
    s3.put_object(Bucket=BUCKET, Key="runs/r1/test/test.csv", Body=("\n".join(TEST_ROWS) + "\n").encode())
    s3.put_object(Bucket=BUCKET, Key="runs/r1/features/test.csv", Body=("\n".join(r.split(",", 1)[1] for r in TEST_ROWS) + "\n").encode())
    role = _role(emulator, "registry-model", "sagemaker.amazonaws.com", [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": [f"arn:aws:s3:::{BUCKET}/runs/*"]},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": [f"arn:aws:s3:::{BUCKET}/runs/*/predictions*"]},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": [f"arn:aws:s3:::{BUCKET}"]},
        {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
         "Resource": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/*"},
        {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer",
                                       "ecr:BatchGetImage"], "Resource": "*"},
    ])
    client("sagemaker", emulator).create_model(
        ModelName="tiny", ExecutionRoleArn=role,
        PrimaryContainer={"Image": XGBOOST_IMAGE, "ModelDataUrl": f"s3://{BUCKET}/runs/r1/models/model.tar.gz"},
    )
    return "tiny"


def _transform(emulator, name: str, source: str, output: str, data_processing: dict | None = None, content_type: str = "text/csv") -> dict:
    sagemaker = client("sagemaker", emulator)
    request = {
        "TransformJobName": name, "ModelName": "tiny",
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{source}"}},
                           "ContentType": content_type, "SplitType": "Line"},
        "TransformOutput": {"S3OutputPath": f"s3://{BUCKET}/{output}", "Accept": content_type, "AssembleWith": "Line"},
        "TransformResources": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge"},
    }
    if data_processing is not None:
        request["DataProcessing"] = data_processing
    sagemaker.create_transform_job(**request)
    deadline = time.monotonic() + 120
    while True:
        job = sagemaker.describe_transform_job(TransformJobName=name)
        if job["TransformJobStatus"] not in ("InProgress", "Stopping"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


def _lines(emulator, key: str) -> list[str]:
    return client("s3", emulator).get_object(Bucket=BUCKET, Key=key)["Body"].read().decode().splitlines()


def test_a_transform_joins_each_label_with_its_prediction_as_documented(emulator, model):
    """InputFilter $[1:] feeds the model the features, JoinSource Input appends the prediction to the
    whole record, OutputFilter $[0,-1] keeps the label and the prediction: the same predictions as a
    transform of the features alone."""
    joined = _transform(emulator, "joined", "runs/r1/test/", "runs/r1/predictions",
                        {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"})
    assert joined["TransformJobStatus"] == "Completed", joined.get("FailureReason")
    assert joined["DataProcessing"] == {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"}
    plain = _transform(emulator, "plain", "runs/r1/features/", "runs/r1/predictions-plain")
    assert plain["TransformJobStatus"] == "Completed", plain.get("FailureReason")
    rows = [line.split(",") for line in _lines(emulator, "runs/r1/predictions/test.csv.out")]
    predictions = _lines(emulator, "runs/r1/predictions-plain/test.csv.out")
    assert [r[0] for r in rows] == [r.split(",")[0] for r in TEST_ROWS]
    assert [float(r[1]) for r in rows] == [float(p) for p in predictions]
    assert all(len(r) == 2 for r in rows)
    # the tiny model learnt label = x1 > 0: its predictions rank the positives first
    assert min(float(r[1]) for r in rows if r[0] == "1") > max(float(r[1]) for r in rows if r[0] == "0")


def test_data_processing_the_emulator_cannot_apply_fails_the_job_in_one_line(emulator, model):
    bad = _transform(emulator, "bad-filter", "runs/r1/test/", "runs/r1/predictions-bad", {"InputFilter": "$.features"})
    assert bad["TransformJobStatus"] == "Failed"
    assert bad["FailureReason"].startswith("ClientError: InputFilter '$.features': CSV records take index-based JSONPath only")
    json_lines = _transform(emulator, "json-lines", "runs/r1/test/", "runs/r1/predictions-json", {"JoinSource": "Input"},
                            content_type="application/jsonlines")
    assert json_lines["TransformJobStatus"] == "Failed"
    assert "DataProcessing to text/csv records only" in json_lines["FailureReason"]


# -- the Model Registry ----------------------------------------------------------------------------


def _package(sagemaker, status: str = "PendingManualApproval", **extra) -> str:
    return sagemaker.create_model_package(
        ModelPackageGroupName=GROUP, ModelApprovalStatus=status,
        InferenceSpecification={"Containers": [{"Image": XGBOOST_IMAGE, "ModelDataUrl": f"s3://{BUCKET}/runs/r1/models/model.tar.gz"}],
                                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        **extra,
    )["ModelPackageArn"]


@pytest.fixture(scope="module")
def group(emulator):
    sagemaker = client("sagemaker", emulator)
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP, ModelPackageGroupDescription="models of the registry tests")
    return GROUP


def test_approving_a_version_keeps_its_metadata_and_tags_read_on_its_arn(emulator, group):
    sagemaker = client("sagemaker", emulator)
    first = _package(sagemaker, CustomerMetadataProperties={"metric": "auc", "value": "0.97"},
                     MetadataProperties={"GeneratedBy": "arn:aws:states:us-east-1:123456789012:execution:m:e1"})
    assert first == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{GROUP}/1"
    # As model-registry-approve.html does it: only the ARN and the status.
    sagemaker.update_model_package(ModelPackageArn=first, ModelApprovalStatus="Approved")
    described = sagemaker.describe_model_package(ModelPackageName=first)
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["CustomerMetadataProperties"] == {"metric": "auc", "value": "0.97"}  # moto 5.2.5 drops them
    assert described["MetadataProperties"]["GeneratedBy"].endswith(":execution:m:e1")
    sagemaker.update_model_package(ModelPackageArn=first, CustomerMetadataProperties={"note": "checked"},
                                   CustomerMetadataPropertiesToRemove=["value"])
    described = sagemaker.describe_model_package(ModelPackageName=first)
    assert (described["ModelApprovalStatus"], described["CustomerMetadataProperties"]) == ("Approved", {"metric": "auc", "note": "checked"})
    assert sagemaker.list_tags(ResourceArn=first)["Tags"] == []  # moto 5.2.5: a server error
    sagemaker.add_tags(ResourceArn=first, Tags=[{"Key": "team", "Value": "ml"}])
    assert sagemaker.list_tags(ResourceArn=first)["Tags"] == [{"Key": "team", "Value": "ml"}]
    second = _package(sagemaker)
    assert second.endswith(f"/{GROUP}/2")
    listed = sagemaker.list_model_packages(ModelPackageGroupName=GROUP, SortBy="CreationTime", SortOrder="Descending")["ModelPackageSummaryList"]
    assert [p["ModelPackageVersion"] for p in listed] == [2, 1]
    assert [p["ModelApprovalStatus"] for p in listed] == ["PendingManualApproval", "Approved"]


def test_a_model_package_group_can_be_deleted_and_then_does_not_exist(emulator):
    sagemaker = client("sagemaker", emulator)
    sagemaker.create_model_package_group(ModelPackageGroupName="to-delete")
    sagemaker.delete_model_package_group(ModelPackageGroupName="to-delete")
    for call in (lambda: sagemaker.describe_model_package_group(ModelPackageGroupName="to-delete"),
                 lambda: sagemaker.delete_model_package_group(ModelPackageGroupName="to-delete")):
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Code"] == "ValidationException"
        assert caught.value.response["Error"]["Message"] == f"ModelPackageGroup arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/to-delete does not exist."


# -- the AWS SDK integrations as the state machine's role ---------------------------------------------

GATE = {
    "StartAt": "Read evaluation",
    "States": {
        "Read evaluation": {
            "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
            "Parameters": {"Bucket": BUCKET, "Key.$": "States.Format('runs/{}/evaluation/evaluation.json', $$.Execution.Name)"},
            "ResultSelector": {"report.$": "States.StringToJson($.Body)"}, "ResultPath": "$.evaluation", "Next": "Gate",
        },
        "Gate": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.evaluation.report.binary_classification_metrics.auc.value", "NumericGreaterThanEquals": 0.9,
                         "Next": "Register"}],
            "Default": "Rejected",
        },
        "Rejected": {"Type": "Fail", "Error": "Pipeline.QualityGateFailed", "Cause": "auc below 0.9"},
        "Register": {
            "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sagemaker:createModelPackage",
            "Parameters": {
                "ModelPackageGroupName": GROUP, "ModelApprovalStatus": "PendingManualApproval",
                "InferenceSpecification": {"Containers": [{"Image": XGBOOST_IMAGE, "ModelDataUrl": f"s3://{BUCKET}/runs/r1/models/model.tar.gz"}],
                                           "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
                "MetadataProperties": {"GeneratedBy.$": "$$.Execution.Id"},
                "CustomerMetadataProperties": {"metric": "auc", "value.$": "States.Format('{}', $.evaluation.report.binary_classification_metrics.auc.value)"},
            },
            "ResultSelector": {"ModelPackageArn.$": "$.ModelPackageArn"}, "ResultPath": "$.registered", "End": True,
        },
    },
}


def _machine_role(emulator, name: str, register_status: str = "PendingManualApproval") -> str:
    machines = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:*"
    iam = client("iam", emulator)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"},
                        "Action": "sts:AssumeRole", "Condition": {"ArnLike": {"aws:SourceArn": machines}}}]})
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="gate", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadEvaluations", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/runs/*/evaluation/evaluation.json"},
        {"Sid": "RegisterModels", "Effect": "Allow", "Action": "sagemaker:CreateModelPackage",
         "Resource": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{GROUP}/*",
         "Condition": {"StringEquals": {"sagemaker:ModelApprovalStatus": register_status}}},
    ]}))
    return arn


def _run(emulator, machine: str, execution: str, auc: float | None) -> dict:
    s3, sfn = client("s3", emulator), client("stepfunctions", emulator)
    if auc is not None:
        report = {"binary_classification_metrics": {"auc": {"value": auc, "standard_deviation": 0.01}}}
        s3.put_object(Bucket=BUCKET, Key=f"runs/{execution}/evaluation/evaluation.json", Body=json.dumps(report).encode())
    started = sfn.start_execution(stateMachineArn=machine, name=execution, input="{}")
    return wait_execution(sfn, started["executionArn"], timeout=60)


def _access(emulator, execution_arn: str) -> list[dict]:
    from pipeline_tools.emulator.access import fetch_access_log

    return fetch_access_log(emulator, execution_arn)["decisions"]


def test_the_gate_reads_the_json_and_registers_as_the_state_machine_role(emulator, model, group):
    role = _machine_role(emulator, "gate-machine")
    sfn, sagemaker = client("stepfunctions", emulator), client("sagemaker", emulator)
    machine = sfn.create_state_machine(name="gate", definition=json.dumps(GATE), roleArn=role)["stateMachineArn"]
    before = len(sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"])

    passed = _run(emulator, machine, "good", 0.97)
    assert passed["status"] == "SUCCEEDED", passed
    output = json.loads(passed["output"])
    assert output["evaluation"]["report"]["binary_classification_metrics"]["auc"]["value"] == 0.97  # Body read as JSON text
    package = sagemaker.describe_model_package(ModelPackageName=output["registered"]["ModelPackageArn"])
    assert package["CustomerMetadataProperties"] == {"metric": "auc", "value": "0.97"}
    assert package["MetadataProperties"]["GeneratedBy"] == passed["executionArn"]
    decisions = {(d["action"], d["resource"], d["decision"]) for d in _access(emulator, passed["executionArn"])}
    assert ("s3:GetObject", f"arn:aws:s3:::{BUCKET}/runs/good/evaluation/evaluation.json", "allowed") in decisions
    assert ("sagemaker:CreateModelPackage", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{GROUP}/{before + 1}", "allowed") in decisions
    assert all(d["role"] == role for d in _access(emulator, passed["executionArn"]) if d["action"] in ("s3:GetObject", "sagemaker:CreateModelPackage"))

    failed = _run(emulator, machine, "poor", 0.55)
    assert (failed["status"], failed["error"]) == ("FAILED", "Pipeline.QualityGateFailed")
    assert len(sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]) == before + 1

    missing = _run(emulator, machine, "missing", None)  # no evaluation.json: S3's NoSuchKey, named as Step Functions names it
    assert (missing["status"], missing["error"]) == ("FAILED", "S3.NoSuchKeyException"), missing


def test_registering_with_another_approval_status_than_the_role_allows_is_refused(emulator, model, group):
    """The grant's sagemaker:ModelApprovalStatus condition: a role allowed PendingManualApproval only
    cannot register a version as Approved (the request carries the key: the Service Authorization Reference)."""
    role = _machine_role(emulator, "gate-machine-strict")
    definition = json.loads(json.dumps(GATE))
    definition["States"]["Register"]["Parameters"]["ModelApprovalStatus"] = "Approved"
    sfn = client("stepfunctions", emulator)
    machine = sfn.create_state_machine(name="gate-approved", definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
    refused = _run(emulator, machine, "approved", 0.97)
    assert refused["status"] == "FAILED"
    assert refused["error"].startswith("SageMaker."), refused
    denied = [d for d in _access(emulator, refused["executionArn"]) if d["decision"] != "allowed"]
    assert [(d["action"], d["role"]) for d in denied] == [("sagemaker:CreateModelPackage", role)], denied


# -- the gate's own states (gate.gate_states), run by the emulator's interpreter ------------------------


def _gate_machine(emulator, name: str, config_mapping: dict) -> str:
    """Inject (a Pass holding the execution input as the read evaluation) -> the pipeline's Quality gate
    states -> Register model replaced by a Succeed."""
    from sfn_ml_pipeline import gate
    from sfn_ml_pipeline.config import config_from_mapping

    config = config_from_mapping(config_mapping)
    states = {
        "Inject": {"Type": "Pass", "Parameters": {"report.$": "$.report"}, "ResultPath": "$.evaluation", "Next": gate.QUALITY_GATE},
        **gate.gate_states(config),
        gate.REGISTER: {"Type": "Succeed"},
    }
    definition = json.dumps({"StartAt": "Inject", "States": states})
    sfn = client("stepfunctions", emulator)
    assert sfn.validate_state_machine_definition(definition=definition)["result"] == "OK"
    role = _machine_role(emulator, f"{name}-role")
    return sfn.create_state_machine(name=name, definition=definition, roleArn=role)["stateMachineArn"]


def _judge(emulator, machine: str, execution: str, report: dict) -> dict:
    sfn = client("stepfunctions", emulator)
    started = sfn.start_execution(stateMachineArn=machine, name=execution, input=json.dumps({"report": report}))
    return wait_execution(sfn, started["executionArn"], timeout=30)


GATE_CASES = [
    # (config, report, status, error, cause)
    ({"metric": "auc", "threshold": 0.9}, {"binary_classification_metrics": {"auc": {"value": 0.9}}}, "SUCCEEDED", None, None),
    ({"metric": "auc", "threshold": 0.9}, {"binary_classification_metrics": {"auc": {"value": 0.89}}}, "FAILED", "Pipeline.QualityGateFailed",
     "auc = 0.89 is below the threshold 0.9 (auc >= 0.9 required): the model is not registered"),
    ({"metric": "logloss", "threshold": 0.3}, {"binary_classification_metrics": {"logloss": {"value": 0.3}}}, "SUCCEEDED", None, None),
    ({"metric": "logloss", "threshold": 0.3}, {"binary_classification_metrics": {"logloss": {"value": 0.31}}}, "FAILED", "Pipeline.QualityGateFailed",
     "logloss = 0.31 is above the threshold 0.3 (logloss <= 0.3 required): the model is not registered"),
    ({"metric": "auc", "threshold": 0.9}, {"binary_classification_metrics": {"auc": {"value": "NaN"}}}, "FAILED", "Pipeline.QualityMetricMissing",
     "evaluation.json has no number at binary_classification_metrics.auc.value"),
    ({"metric": "auc", "threshold": 0.9}, {"binary_classification_metrics": {"accuracy": {"value": 0.99}}}, "FAILED", "Pipeline.QualityMetricMissing",
     "evaluation.json has no number at binary_classification_metrics.auc.value"),
    ({"metric": "rmse", "threshold": 0.5, "problem_type": "regression"}, {"regression_metrics": {"rmse": {"value": 0.2}}}, "SUCCEEDED", None, None),
    ({"metric": "r2", "threshold": 0.8, "problem_type": "regression"}, {"regression_metrics": {"r2": {"value": 0.5}}}, "FAILED",
     "Pipeline.QualityGateFailed", "r2 = 0.5 is below the threshold 0.8 (r2 >= 0.8 required): the model is not registered"),
]


def test_the_gate_decides_by_the_metrics_direction_and_a_missing_value_is_its_own_failure(emulator):
    """Both sides of the threshold for a higher- and a lower-is-better metric (equal passes), a value
    that is not a number ("NaN": undefined) or absent, a regression metric: what the deployed Choice does."""
    machines: dict[str, str] = {}
    for index, (gate_config, report, status, error, cause) in enumerate(GATE_CASES):
        key = json.dumps(gate_config, sort_keys=True)
        if key not in machines:
            machines[key] = _gate_machine(emulator, f"gate-only-{len(machines)}", {"quality_gate": {"enabled": True, **gate_config}})
        described = _judge(emulator, machines[key], f"case-{index}", report)
        assert described["status"] == status, (gate_config, report, described)
        if error:
            assert described["error"] == error
            assert described["cause"].startswith(cause), described["cause"]
