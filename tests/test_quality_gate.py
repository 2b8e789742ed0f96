"""[quality_gate] up to the stack (issue 23): the config's rules in one line naming the key, the states
the definition gains and where they lead, the request shapes (botocore's models), and exactly the IAM
the new tasks need. End to end: tests/test_batch_transform.py (the sample's held-out rows) and
tests/test_quality_gate_pipeline.py (your data's test output); the states' decisions in the emulator's
interpreter: tests/test_emulator_model_registry.py."""

from __future__ import annotations

import re

import pytest

from pipeline_tools.api_shapes import check_definition
from sfn_ml_pipeline import gate, iam
from sfn_ml_pipeline.config import ConfigError, config_from_mapping
from sfn_ml_pipeline.definition import DefinitionRefs, build_definition, pipeline_tasks
from sfn_ml_pipeline.quality import METRICS, problem_of_objective

from .conftest import ROOT, assert_clean_error, run_cli

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/mlpipe-sagemaker-jobs"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k1"
OWN_DATA = ROOT / "examples" / "own-data"
GATE = {"enabled": True, "metric": "auc", "threshold": 0.9}


def _refs(**extra) -> DefinitionRefs:
    return DefinitionRefs("mlpipe-data", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:mlpipe-generate-dataset", ROLE, "code/abc/transform.py",
                          evaluate_key="code/def/evaluate.py", model_package_group="mlpipe-models", **extra)


def _own_data(gate_config: dict | None = None, **processing) -> dict:
    return {
        "name_prefix": "cancer",
        "input": {"s3_uri": "s3://my-team-data/breast-cancer/"},
        "processing": {"source_dir": str(OWN_DATA / "code"), "entry_point": "preprocess.py", "outputs": ["train", "validation", "test"], **processing},
        "training": {"hyperparameters": {"objective": "binary:logistic", "num_round": "50"}},
        "quality_gate": gate_config or GATE,
    }


def _arns(kms: str | None = None) -> iam.Arns:
    return iam.Arns("aws", "us-east-1", ACCOUNT, "arn:aws:s3:::mlpipe-data", "", "", ROLE, [], kms_key_arn=kms)


# -- config ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mapping, says",
    [
        ({"quality_gate": {"enabled": True}}, "quality_gate.threshold: set the value quality_gate.metric must reach"),
        ({"quality_gate": {**GATE, "threshold": "0.9"}}, "quality_gate.threshold: '0.9' is not a number"),
        ({"quality_gate": {**GATE, "threshold": True}}, "quality_gate.threshold: True is not a number"),
        ({"quality_gate": {**GATE, "metric": "roc"}}, "quality_gate.metric: 'roc' is not a metric the gate decides on; binary: accuracy"),
        ({"quality_gate": {**GATE, "metric": "accuracy_best_constant_classifier"}}, "quality_gate.metric: 'accuracy_best_constant_classifier' is not a metric"),
        ({"quality_gate": {**GATE, "metric": "rmse"}}, "quality_gate.metric: 'rmse' measures regression models, this one is binary"),
        ({"quality_gate": {**GATE, "threshold": 1.5}}, "quality_gate.threshold: auc takes values 0..1, so 1.5 can never decide"),
        ({"quality_gate": {**GATE, "metric": "logloss", "threshold": -0.1}}, "quality_gate.threshold: logloss takes values >= 0"),
        ({"quality_gate": {**GATE, "approval_status": "approved"}}, "quality_gate.approval_status: 'approved' is not one of SageMaker's ModelApprovalStatus values (Approved, Rejected, PendingManualApproval)"),
        ({"quality_gate": {**GATE, "approval_status": "Rejected"}}, "quality_gate.approval_status: 'Rejected' would register every model that passes the gate as rejected"),
        ({"quality_gate": {**GATE, "problem_type": "multiclass"}}, "quality_gate.problem_type: Input should be 'binary' or 'regression'"),
        ({"quality_gate": GATE, "batch_transform": {"enabled": False}}, "quality_gate.enabled needs the batch transform's held-out predictions: remove batch_transform.enabled = false"),
        ({"quality_gate": GATE, "training": {"hyperparameters": {"objective": "multi:softmax", "num_round": "5"}}},
         "quality_gate.problem_type: the objective 'multi:softmax' is neither binary:* nor reg:*"),
        ({"quality_gate": {**GATE, "colour": "green"}}, "quality_gate.colour: unknown key"),
    ],
)
def test_a_bad_gate_is_one_line_naming_the_key(mapping, says):
    with pytest.raises(ConfigError) as caught:
        config_from_mapping(mapping, "pipeline.toml")
    assert str(caught.value).startswith("pipeline.toml: ") and says in str(caught.value), str(caught.value)
    assert "\n" not in str(caught.value)


def test_your_data_needs_a_test_output_training_does_not_read_and_script_mode_says_what_it_predicts():
    with pytest.raises(ConfigError, match=r"quality_gate needs rows training never saw: add a processing output named 'test'.*now \['train', 'validation'\]"):
        config_from_mapping(_own_data(outputs=["train", "validation"]))
    with pytest.raises(ConfigError, match="the model would be judged on rows it trained on"):
        config_from_mapping({**_own_data(), "training": {"hyperparameters": {"num_round": "5"}, "channels": ["train", "test"]}})
    script = {**_own_data(), "training": {"source_dir": str(OWN_DATA / "code"), "entry_point": "train.py"}}
    with pytest.raises(ConfigError, match="quality_gate.problem_type: script mode runs your training code"):
        config_from_mapping(script)
    assert config_from_mapping({**script, "quality_gate": {**GATE, "problem_type": "binary"}}).evaluation_source == "test"


def test_a_bad_gate_stops_synth_with_exit_2(tmp_path):
    (tmp_path / "pipeline.toml").write_text('[quality_gate]\nenabled = true\nmetric = "f3"\nthreshold = 0.9\n')
    assert_clean_error(run_cli("synth", "--out", str(tmp_path / "out"), cwd=tmp_path), "quality_gate.metric: 'f3' is not a metric the gate decides on")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "objective, problem",
    [("binary:logistic", "binary"), ("binary:hinge", "binary"), ("reg:logistic", "binary"), ("reg:squarederror", "regression"),
     ("reg:absoluteerror", "regression"), (None, "regression"), ("multi:softprob", None), ("rank:pairwise", None), ("count:poisson", None)],
)
def test_what_the_built_in_objective_predicts(objective, problem):
    assert problem_of_objective(objective) == problem


def test_the_gate_turns_the_sample_stage_on_and_evaluation_follows_every_judgeable_transform():
    gated = config_from_mapping({"quality_gate": GATE})
    assert (gated.batch_transform.enabled, gated.transform_stage, gated.evaluation_source, gated.problem_type) == (True, True, "holdout", "binary")
    stage_only = config_from_mapping({"batch_transform": {"enabled": True}})
    assert (stage_only.evaluation_source, stage_only.quality_gate.enabled) == ("holdout", False)
    unknown = config_from_mapping({"batch_transform": {"enabled": True}, "training": {"hyperparameters": {"objective": "multi:softmax", "num_round": "3"}}})
    assert unknown.evaluation_source is None
    assert config_from_mapping({}).evaluation_source is None
    assert config_from_mapping(_own_data()).model_package_group_name == "cancer-models"


# -- the definition ----------------------------------------------------------------------------------------


def test_the_sample_gate_chains_evaluate_read_gate_register():
    definition = build_definition(config_from_mapping({"quality_gate": GATE}), _refs())
    states = definition["States"]
    chain, name = [], definition["StartAt"]
    while name:
        chain.append(name)
        state = states[name]
        name = state.get("Next") or (state["Choices"][-1]["Next"] if state["Type"] == "Choice" else None)
    assert chain == ["Generate dataset", "Standardization: x' = (x - x̄) / σ", "Train model (XGBoost)", "Create model", "Batch transform",
                     "Evaluate model", "Read evaluation", "Quality gate", "Register model"]
    assert states["Register model"]["End"] is True
    choice = states["Quality gate"]
    value = "$.evaluation.report.binary_classification_metrics.auc.value"
    assert choice["Choices"] == [
        {"Variable": value, "IsPresent": False, "Next": "Quality metric missing"},
        {"Not": {"Variable": value, "IsNumeric": True}, "Next": "Quality metric missing"},
        {"Variable": value, "NumericGreaterThanEquals": 0.9, "Next": "Register model"},
    ]
    assert choice["Default"] == "Quality gate failed"
    assert states["Quality gate failed"]["Next"] == "Model rejected"
    assert states["Model rejected"] == {"Type": "Fail", "Error": "Pipeline.QualityGateFailed", "CausePath": "$.gate.cause"}
    assert states["Quality metric missing"]["Error"] == "Pipeline.QualityMetricMissing"
    read = states["Read evaluation"]
    assert read["Resource"] == "arn:aws:states:::aws-sdk:s3:getObject" and "Retry" not in read
    assert read["ResultSelector"] == {"report.$": "States.StringToJson($.Body)"}
    assert read["Catch"][0]["Next"] == "Pipeline failed"
    evaluate = states["Evaluate model"]["Parameters"]
    assert evaluate["AppSpecification"]["ContainerArguments"][:2] == ["--problem-type", "binary"]
    assert "--labels-dir" in evaluate["AppSpecification"]["ContainerArguments"]
    assert [i["InputName"] for i in evaluate["ProcessingInputs"]] == ["predictions", "labels", "code"]
    assert evaluate["NetworkConfig"]["EnableNetworkIsolation"] is True  # held to the stack's standard (job_security)
    assert "DataProcessing" not in states["Batch transform"]["Parameters"]
    assert check_definition(definition) == []  # every request as botocore's SageMaker and S3 models take it


def test_a_lower_is_better_metric_passes_at_or_below_the_threshold():
    config = config_from_mapping({"quality_gate": {"enabled": True, "metric": "logloss", "threshold": 0.25, "approval_status": "Approved"}})
    states = build_definition(config, _refs())["States"]
    rule = states["Quality gate"]["Choices"][-1]
    assert rule == {"Variable": "$.evaluation.report.binary_classification_metrics.logloss.value", "NumericLessThanEquals": 0.25, "Next": "Register model"}
    assert "is above the threshold 0.25 (logloss <= 0.25 required)" in states["Quality gate failed"]["Parameters"]["cause.$"]
    assert states["Register model"]["Parameters"]["ModelApprovalStatus"] == "Approved"


def test_registration_carries_the_image_the_artifact_the_metrics_and_the_execution():
    parameters = build_definition(config_from_mapping({"quality_gate": GATE}), _refs())["States"]["Register model"]["Parameters"]
    assert parameters["ModelPackageGroupName"] == "mlpipe-models"
    (container,) = parameters["InferenceSpecification"]["Containers"]
    assert container == {"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                         "ModelDataUrl.$": "$.training.ModelArtifacts.S3ModelArtifacts"}
    assert parameters["ModelMetrics"]["ModelQuality"]["Statistics"] == {
        "ContentType": "application/json", "S3Uri.$": "States.Format('s3://mlpipe-data/runs/{}/evaluation/evaluation.json', $$.Execution.Name)"}
    assert parameters["MetadataProperties"] == {"GeneratedBy.$": "$$.Execution.Id"}
    assert parameters["CustomerMetadataProperties"] == {
        "metric": "auc", "value.$": "States.Format('{}', $.evaluation.report.binary_classification_metrics.auc.value)",
        "threshold": "0.9", "execution.$": "$$.Execution.Name"}


def test_your_data_is_predicted_label_first_and_evaluated_without_labels_beside():
    states = build_definition(config_from_mapping(_own_data()), _refs(processing_code="code/123/"))["States"]
    transform = states["Batch transform"]["Parameters"]
    assert transform["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri.$"] == "States.Format('s3://mlpipe-data/runs/{}/test/', $$.Execution.Name)"
    assert transform["DataProcessing"] == {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"}
    arguments = states["Evaluate model"]["Parameters"]["AppSpecification"]["ContainerArguments"]
    assert "--labels-dir" not in arguments
    assert states["Train model (XGBoost)"]["Next"] == "Create model"


def test_the_evaluation_job_name_is_valid_for_any_execution_and_the_stage_alone_ends_at_evaluate():
    definition = build_definition(config_from_mapping({"batch_transform": {"enabled": True}}), _refs())
    states = definition["States"]
    assert states["Evaluate model"]["End"] is True and "Quality gate" not in states
    assert states["Evaluate model"]["Parameters"]["ProcessingJobName.$"] == "States.Format('evaluate-{}', States.Hash($$.Execution.Id, 'MD5'))"
    from pipeline_tools.evaluation import evaluation_job_name

    name = evaluation_job_name("arn:aws:states:us-east-1:123456789012:execution:mlpipe-pipeline:" + "n" * 80)
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name) and len(name) == 41  # SageMaker's job name pattern
    unknown = config_from_mapping({"batch_transform": {"enabled": True}, "training": {"hyperparameters": {"objective": "multi:softmax", "num_round": "3"}}})
    assert "Evaluate model" not in build_definition(unknown, _refs())["States"]


# -- IAM: exactly what the new tasks need -----------------------------------------------------------------------


def _statements(statements) -> dict[str, tuple]:
    return {s.sid: (s.actions, s.resources, s.conditions) for s in statements}


def test_the_state_machine_reads_the_evaluation_and_registers_only_in_its_group_with_its_status():
    config = config_from_mapping({"quality_gate": GATE})
    plain = _statements(iam.state_machine_statements(_arns(), pipeline_tasks(config, _refs()), logging=False, tracing=False))
    assert plain["ReadEvaluations"] == (["s3:GetObject"], ["arn:aws:s3:::mlpipe-data/runs/*/evaluation/evaluation.json"], [])
    assert plain["RegisterModels"] == (
        ["sagemaker:CreateModelPackage"], [f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/mlpipe-models/*"],
        [("StringEquals", "sagemaker:ModelApprovalStatus", ["PendingManualApproval"])])
    assert "ReadEvaluationsKey" not in plain
    assert not any("iam:PassRole" in actions and "model-package" in str(resources) for actions, resources, _ in plain.values())
    keyed = _statements(iam.state_machine_statements(_arns(KEY), pipeline_tasks(config, _refs(kms_key_arn=KEY)), logging=False, tracing=False))
    assert keyed["ReadEvaluationsKey"] == (["kms:Decrypt"], [KEY], [("StringEquals", "kms:ViaService", ["s3.us-east-1.amazonaws.com"])])
    without = _statements(iam.state_machine_statements(_arns(), pipeline_tasks(config_from_mapping({"batch_transform": {"enabled": True}}), _refs()),
                                                       logging=False, tracing=False))
    assert "ReadEvaluations" not in without and "RegisterModels" not in without


def test_the_jobs_role_evaluates_and_the_models_role_predicts_your_test_output():
    """Evaluate model runs as the jobs' role: the predictions (and the held-out labels) in, evaluation/ out;
    the batch transform runs as the model's role (issue 21): the held-out features, or your test output."""
    sample = _statements(iam.sagemaker_statements(_arns(), iam.DataLayout.of(config_from_mapping({"quality_gate": GATE}), "aws")))
    reads, writes = sample["ReadPipelineData"][1], sample["WritePipelineOutputs"][1]
    assert {"arn:aws:s3:::mlpipe-data/runs/*/predictions/*", "arn:aws:s3:::mlpipe-data/runs/*/holdout/labels/*"} <= set(reads)
    assert not any("features" in r or "/test/" in r for r in reads)
    assert "arn:aws:s3:::mlpipe-data/runs/*/evaluation/*" in writes
    assert {"runs/*/predictions/*", "runs/*/holdout/labels/*"} <= set(sample["ListPipelineData"][2][0][2])
    own_layout = iam.DataLayout.of(config_from_mapping(_own_data()), "aws")
    own = _statements(iam.sagemaker_statements(_arns(), own_layout))
    assert "arn:aws:s3:::mlpipe-data/runs/*/predictions/*" in own["ReadPipelineData"][1]
    assert not any("holdout" in r for r in own["ReadPipelineData"][1] + own["ListPipelineData"][2][0][2])
    model = _statements(iam.model_statements(_arns(), ["arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-xgboost"], own_layout.transform_input))
    assert model["ReadPipelineData"][1] == ["arn:aws:s3:::mlpipe-data/runs/*/models/*", "arn:aws:s3:::mlpipe-data/runs/*/test/*"]
    assert model["ListPipelineData"][2] == [("StringLike", "s3:prefix", ["runs/*/test/*"])]
    sample_model = _statements(iam.model_statements(_arns(), [], iam.DataLayout.of(config_from_mapping({"quality_gate": GATE}), "aws").transform_input))
    assert sample_model["ReadPipelineData"][1] == ["arn:aws:s3:::mlpipe-data/runs/*/models/*", "arn:aws:s3:::mlpipe-data/runs/*/holdout/features/*"]


def test_every_metric_the_gate_takes_has_a_direction_and_a_range():
    for name, metric in METRICS.items():
        assert metric.comparison in ("NumericGreaterThanEquals", "NumericLessThanEquals"), name
        assert metric.low is not None or metric.high is not None, name
    assert gate.GATE_FAILED_ERROR == "Pipeline.QualityGateFailed"


def test_models_without_the_gate_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "pipeline.toml").write_text('name_prefix = "churn"\n')
    assert_clean_error(run_cli("models", "list", "--target", "local", cwd=tmp_path),
                       "this pipeline (churn) has no model package group: [quality_gate] is not enabled")
    assert_clean_error(run_cli("models", "approve", "1", "--target", "local", cwd=tmp_path), "[quality_gate] is not enabled")
