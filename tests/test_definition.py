"""The state machine definition against the sample, field by field, and statelint."""

from __future__ import annotations

import json

import pytest
from statelint.linter import Linter

from sfn_ml_pipeline.config import PipelineConfig
from sfn_ml_pipeline.definition import (
    FAILED,
    GENERATE,
    SAMPLE_DEVIATIONS,
    STANDARDIZE,
    STATE_NAMES,
    TRAIN,
    DefinitionRefs,
    build_definition,
)

from .conftest import REFERENCE, SAMPLE_DEFINITION

SAMPLE = json.loads(SAMPLE_DEFINITION.read_text())
SAMPLE_BUCKET = "featuretransform-bucketforcodeanddata-1jn1le6gadwfz"
REFS = DefinitionRefs(
    bucket=SAMPLE_BUCKET,
    lambda_arn=SAMPLE["States"][GENERATE]["Resource"],
    sagemaker_role_arn=SAMPLE["States"][STANDARDIZE]["Parameters"]["RoleArn"],
    transform_key="code/0123456789abcdef/transform.py",
    evaluate_key="code/fedcba9876543210/evaluate.py",  # the stage's Evaluate model job (issue 23)
)


@pytest.fixture
def definition():
    # Per test, not per module: mutmut maps a function to the tests that call it, and a module
    # fixture's calls count for the first test only (docs/mutation.md); building it is cheap.
    return build_definition(PipelineConfig(region="sa-east-1"), REFS)


def leaves(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from leaves(value, (*path, str(index)))
    else:
        yield path, node


def lookup(node, path):
    for part in path:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def test_the_sample_copy_is_verbatim():
    reference = REFERENCE / SAMPLE_DEFINITION.name
    if not reference.is_file():
        pytest.skip(f"{reference} not beside this checkout")
    assert SAMPLE_DEFINITION.read_bytes() == reference.read_bytes()


def test_same_states_in_the_same_order_with_the_same_integrations(definition):
    assert definition["StartAt"] == SAMPLE["StartAt"] == GENERATE
    assert [s for s in definition["States"] if s != FAILED] == list(SAMPLE["States"]) == list(STATE_NAMES)
    assert definition["States"][GENERATE]["Next"] == STANDARDIZE
    assert definition["States"][STANDARDIZE]["Next"] == TRAIN
    assert definition["States"][TRAIN]["End"] is True
    for name in STATE_NAMES:
        assert definition["States"][name]["Resource"] == SAMPLE["States"][name]["Resource"]


def test_every_sample_field_is_kept_unless_a_documented_fix_says_otherwise(definition):
    unexplained = []
    for path, value in leaves(SAMPLE):
        dotted = ".".join(path)
        if dotted in SAMPLE_DEVIATIONS:
            continue
        try:
            ours = lookup(definition, path)
        except (KeyError, IndexError):
            unexplained.append(f"{dotted}: missing")
            continue
        if ours != value:
            unexplained.append(f"{dotted}: {ours!r} != sample {value!r}")
    assert unexplained == []


def test_every_documented_deviation_really_differs(definition):
    """A stale entry in SAMPLE_DEVIATIONS would hide nothing but still mislead readers."""
    for dotted in SAMPLE_DEVIATIONS:
        # A key of the sample's own `.$` form (a JSONPath in both) keeps its `.$` as one part.
        dynamic = dotted.endswith(".$")
        path = tuple(dotted.removesuffix(".$").split("."))
        path = (*path[:-1], f"{path[-1]}.$") if dynamic else path
        # Dynamic values move to the `.$` form of the key.
        parent, key = path[:-1], path[-1]
        ours_parent = lookup(definition, parent)
        ours = ours_parent.get(key, ours_parent.get(f"{key}.$"))
        assert ours is not None, dotted
        assert ours != lookup(SAMPLE, path), dotted


def test_hyperparameters_are_the_samples_plus_only_the_documented_tree_method(definition):
    """test_every_sample_field_is_kept... walks the sample's leaves, so it cannot see a hyperparameter
    added beside them: the default is the sample's three plus tree_method=hist, nothing else."""
    sample = SAMPLE["States"][TRAIN]["Parameters"]["HyperParameters"]
    ours = definition["States"][TRAIN]["Parameters"]["HyperParameters"]
    assert ours == {**sample, "tree_method": "hist"}
    assert f"States.{TRAIN}.Parameters.HyperParameters" in SAMPLE_DEVIATIONS


def test_training_reads_only_the_standardized_output_of_the_same_execution(definition):
    processing = definition["States"][STANDARDIZE]["Parameters"]
    training = definition["States"][TRAIN]["Parameters"]
    written = processing["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri.$"]
    read = training["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri.$"]
    assert written == f"States.Format('s3://{SAMPLE_BUCKET}/runs/{{}}/train', $$.Execution.Name)"
    assert read == f"States.Format('s3://{SAMPLE_BUCKET}/runs/{{}}/train/', $$.Execution.Name)"
    assert read != f"s3://{SAMPLE_BUCKET}"


def test_every_execution_writes_under_its_own_prefix(definition):
    writes = [
        definition["States"][GENERATE]["Parameters"]["key.$"],
        definition["States"][STANDARDIZE]["Parameters"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri.$"],
        definition["States"][TRAIN]["Parameters"]["OutputDataConfig"]["S3OutputPath.$"],
    ]
    for template in writes:
        assert "runs/{}/" in template and template.endswith("$$.Execution.Name)")


def test_job_names_are_the_name_the_first_state_gives_them(definition):
    """The sample names its jobs $$.Execution.Name; Step Functions accepts execution names SageMaker
    refuses, so Generate dataset (before any job) returns the jobs' name: the execution's own when
    SageMaker accepts it (scripts/generate_dataset.py, sagemaker_name; tests/test_scripts.py)."""
    generate = definition["States"][GENERATE]
    assert generate["Parameters"]["execution.$"] == "$$.Execution.Name"
    assert generate["ResultSelector"]["job_name.$"] == "$.job_name" and generate["ResultPath"] == "$.dataset"
    assert definition["States"][STANDARDIZE]["Parameters"]["ProcessingJobName.$"] == "$.dataset.job_name"
    assert definition["States"][TRAIN]["Parameters"]["TrainingJobName.$"] == "$.dataset.job_name"
    states = build_definition(BATCH, REFS)["States"]
    from sfn_ml_pipeline.definition import CREATE_MODEL, TRANSFORM

    assert states[CREATE_MODEL]["Parameters"]["ModelName.$"] == "$.dataset.job_name"
    assert states[TRANSFORM]["Parameters"]["TransformJobName.$"] == states[TRANSFORM]["Parameters"]["ModelName.$"] == "$.dataset.job_name"


def test_tasks_retry_transient_errors_and_catch_into_a_fail_state_that_keeps_the_cause(definition):
    for name in STATE_NAMES:
        state = definition["States"][name]
        assert state["Retry"] and "States.ALL" not in state["Retry"][0]["ErrorEquals"]
        assert state["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": FAILED}]
    failed = definition["States"][FAILED]
    assert (failed["Type"], failed["ErrorPath"], failed["CausePath"]) == ("Fail", "$.error.Error", "$.error.Cause")


def test_retry_values_and_only_errors_a_retried_create_survives():
    # AWS's best practice: "a 500 error, such as ClientExecutionTimeoutException, ServiceException,
    # AWSLambdaException, or SdkClientException", plus Lambda.TooManyRequestsException
    # (https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html).
    lambda_retry = [{"ErrorEquals": ["Lambda.ClientExecutionTimeoutException", "Lambda.ServiceException", "Lambda.AWSLambdaException",
                                     "Lambda.SdkClientException", "Lambda.TooManyRequestsException"],
                     "IntervalSeconds": 5, "MaxAttempts": 3, "BackoffRate": 2.0, "JitterStrategy": "FULL"}]  # fmt: skip
    sagemaker_retry = [{"ErrorEquals": ["SageMaker.ResourceLimitExceededException"],
                        "IntervalSeconds": 60, "MaxAttempts": 8, "BackoffRate": 2.0, "MaxDelaySeconds": 900, "JitterStrategy": "FULL"}]  # fmt: skip
    states = build_definition(PipelineConfig(), REFS)["States"]
    assert states[GENERATE]["Retry"] == lambda_retry
    for name in (STANDARDIZE, TRAIN):
        errors = [e for retrier in states[name]["Retry"] for e in retrier["ErrorEquals"]]
        assert states[name]["Retry"] == sagemaker_retry
        # The old forms: a validation error never succeeds on retry, and no SageMaker integration error
        # is named plain "ThrottlingException"; a failed job retried under the same name is ResourceInUse.
        assert not {"SageMaker.AmazonSageMakerException", "ThrottlingException", "States.TaskFailed", "States.ALL"} & set(errors)


def _waits(retrier: dict) -> list[float]:
    """The longest wait before each retry (before jitter): IntervalSeconds x BackoffRate^n, capped at
    MaxDelaySeconds (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html)."""
    cap = retrier.get("MaxDelaySeconds", float("inf"))
    return [min(retrier["IntervalSeconds"] * retrier.get("BackoffRate", 2.0) ** n, cap) for n in range(retrier["MaxAttempts"])]


def test_a_resource_limit_is_waited_out_for_minutes_not_seconds():
    """A limit on concurrent jobs holds until other jobs end. Step Functions' SageMaker example retries
    SageMaker.ResourceLimitExceededException every 60 s (connect-sagemaker.html), SageMaker Pipelines'
    example policy for it starts at 60 s and gives up after 120 minutes
    (pipelines-configuring-retry-policy.html). The old retrier (5 s, 3 attempts, x2) gave up after 35 s."""
    for config in (PipelineConfig(), BATCH):
        for name, state in build_definition(config, REFS)["States"].items():
            if not state.get("Resource", "").startswith("arn:aws:states:::sagemaker:"):
                continue
            (retrier,) = [r for r in state["Retry"] if "SageMaker.ResourceLimitExceededException" in r["ErrorEquals"]]
            waits = _waits(retrier)
            assert waits[0] >= 60, name
            assert 30 * 60 <= sum(waits) <= 120 * 60, (name, waits)
            assert retrier["JitterStrategy"] == "FULL"  # executions waiting for one limit do not return together


@pytest.mark.parametrize(
    ("region", "partition"), [("us-east-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")]
)
def test_integration_arns_follow_the_partition(region, partition):
    from dataclasses import replace

    from sfn_ml_pipeline.config import partition_of

    assert partition_of(region) == partition
    states = build_definition(PipelineConfig(region=region), replace(REFS, partition=partition))["States"]
    assert states[STANDARDIZE]["Resource"] == f"arn:{partition}:states:::sagemaker:createProcessingJob.sync"
    assert states[TRAIN]["Resource"] == f"arn:{partition}:states:::sagemaker:createTrainingJob.sync"


def test_images_follow_the_region():
    config = PipelineConfig(region="eu-west-1")
    params = build_definition(config, REFS)["States"]
    assert params[STANDARDIZE]["Parameters"]["AppSpecification"]["ImageUri"] == (
        "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    )
    assert params[TRAIN]["Parameters"]["AlgorithmSpecification"]["TrainingImage"] == (
        "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    )


def test_hyperparameters_and_settings_come_from_the_config():
    config = PipelineConfig.model_validate(
        {"training": {"instance_type": "ml.m5.2xlarge", "hyperparameters": {"num_round": 20, "eta": 0.3}}}
    )
    train = build_definition(config, REFS)["States"][TRAIN]["Parameters"]
    assert train["HyperParameters"] == {"num_round": "20", "eta": "0.3"}
    assert train["ResourceConfig"]["InstanceType"] == "ml.m5.2xlarge"


def test_pure_same_inputs_same_output():
    config = PipelineConfig()
    assert json.dumps(build_definition(config, REFS)) == json.dumps(build_definition(config, REFS))


def test_statelint_clean(definition):
    assert Linter.validate(definition) == []


def test_statelint_catches_a_broken_definition(definition):
    broken = json.loads(json.dumps(definition))
    broken["States"][GENERATE]["Next"] = "No such state"
    assert Linter.validate(broken) != []


# -- the optional batch transform stage ------------------------------------------------------------

BATCH = PipelineConfig.model_validate({"batch_transform": {"enabled": True, "held_out_fraction": 0.25, "instance_count": 2}})


def test_the_default_graph_has_no_batch_transform_states():
    assert list(build_definition(PipelineConfig(), REFS)["States"]) == [*STATE_NAMES, FAILED]


def test_with_the_stage_training_is_followed_by_create_model_and_batch_transform():
    from sfn_ml_pipeline.definition import CREATE_MODEL, TRANSFORM

    states = build_definition(BATCH, REFS)["States"]
    # then the pipeline evaluates the predictions itself (Evaluate model, issue 23; tests/test_quality_gate.py)
    assert list(states) == [*STATE_NAMES, CREATE_MODEL, TRANSFORM, "Evaluate model", FAILED]
    assert states[TRAIN]["Next"] == CREATE_MODEL and states[CREATE_MODEL]["Next"] == TRANSFORM
    assert states[TRANSFORM]["Next"] == "Evaluate model" and states["Evaluate model"]["End"]
    model = states[CREATE_MODEL]
    assert model["Resource"] == "arn:aws:states:::sagemaker:createModel"
    assert model["Parameters"]["PrimaryContainer"]["ModelDataUrl.$"] == "$.training.ModelArtifacts.S3ModelArtifacts"
    assert model["Parameters"]["PrimaryContainer"]["Image"] == states[TRAIN]["Parameters"]["AlgorithmSpecification"]["TrainingImage"]
    assert model["Parameters"]["ExecutionRoleArn"] == REFS.sagemaker_role_arn  # without a model role of its own (REFS)
    from dataclasses import replace

    with_model_role = build_definition(BATCH, replace(REFS, model_role_arn="arn:aws:iam::1234567890:role/model"))["States"]
    assert with_model_role[CREATE_MODEL]["Parameters"]["ExecutionRoleArn"] == "arn:aws:iam::1234567890:role/model"
    transform = states[TRANSFORM]["Parameters"]
    assert states[TRANSFORM]["Resource"] == "arn:aws:states:::sagemaker:createTransformJob.sync"
    assert transform["ModelName.$"] == transform["TransformJobName.$"] == "$.dataset.job_name"
    assert transform["TransformInput"]["SplitType"] == "Line" and transform["TransformInput"]["ContentType"] == "text/csv"
    assert "/holdout/features/" in transform["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri.$"]
    assert "/predictions" in transform["TransformOutput"]["S3OutputPath.$"] and transform["TransformOutput"]["AssembleWith"] == "Line"
    assert transform["TransformResources"]["InstanceCount"] == 2
    for name in (CREATE_MODEL, TRANSFORM):
        assert states[name]["Retry"][0]["ErrorEquals"] == ["SageMaker.ResourceLimitExceededException"]
        assert states[name]["Catch"][0]["Next"] == FAILED


def test_with_the_stage_standardization_holds_rows_out_and_training_reads_only_its_part():
    states = build_definition(BATCH, REFS)["States"]
    processing = states[STANDARDIZE]["Parameters"]
    assert processing["AppSpecification"]["ContainerArguments"] == [
        "--held-out-fraction", "0.25", "--holdout-dir", "/opt/ml/processing/output/holdout",
    ]
    outputs = {o["OutputName"]: o["S3Output"] for o in processing["ProcessingOutputConfig"]["Outputs"]}
    assert outputs["holdout"]["LocalPath"] == "/opt/ml/processing/output/holdout"
    assert "/holdout'" in outputs["holdout"]["S3Uri.$"]
    channel = states[TRAIN]["Parameters"]["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri.$"]
    assert channel.endswith("/train/', $$.Execution.Name)")


def test_run_takes_names_step_functions_logs_and_sagemaker_ones_where_the_jobs_take_it(tmp_path):
    """`run --name`: StartExecution's names that CloudWatch Logs logging keeps (0-9, A-Z, a-z, -, _, up
    to 80); a pipeline without Generate dataset (your data in S3) names its jobs after the execution,
    so there SageMaker's pattern too (definition.job_name)."""
    from pipeline_tools.errors import UsageError
    from pipeline_tools.execution import check_execution_name
    from sfn_ml_pipeline.definition import job_name

    assert check_execution_name("nightly_2026_01_05") == "nightly_2026_01_05"
    assert check_execution_name("x" * 80) == "x" * 80
    for bad in ("nightly.2026", "x" * 81, "a b", ""):
        with pytest.raises(UsageError, match="not one Step Functions logs to CloudWatch Logs"):
            check_execution_name(bad)
    with pytest.raises(UsageError, match="cannot name SageMaker jobs"):
        check_execution_name("nightly_2026_01_05", names_its_jobs=False)
    assert check_execution_name("run-20261204-120000-ab12", names_its_jobs=False)
    (tmp_path / "preprocess.py").write_text("print('hi')\n")
    own = PipelineConfig.model_validate(
        {"input": {"s3_uri": "s3://your-bucket/data/"}, "processing": {"source_dir": str(tmp_path), "entry_point": "preprocess.py"}}
    )
    assert job_name(own) == "$$.Execution.Name" and job_name(PipelineConfig()) == "$.dataset.job_name"


# -- every field of every state, exactly (issue 26: a narrow fault in a field must fail a test) ------

EXACT_REFS = DefinitionRefs(
    bucket="b", lambda_arn="arn:aws:lambda:us-east-1:111122223333:function:f", sagemaker_role_arn="arn:aws:iam::111122223333:role/r",
    transform_key="code/t/transform.py", region="us-east-1", processing_code="code/p/", training_code="code/q/",
    evaluate_key="code/e/evaluate.py",
)
SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def _fields(states: dict) -> dict:
    """The states without Type, Resource, Retry and Catch (tested above)."""
    return {name: {k: v for k, v in state.items() if k not in ("Type", "Resource", "Retry", "Catch")} for name, state in states.items()}


def _input(name: str, local_path: str, **uri: str) -> dict:
    return {"InputName": name, "S3Input": {**uri, "LocalPath": local_path, "S3DataType": "S3Prefix", "S3InputMode": "File",
                                           "S3DataDistributionType": "FullyReplicated", "S3CompressionType": "None"}}


def _output(name: str, folder: str, local_path: str) -> dict:
    return {"OutputName": name, "S3Output": {"S3Uri.$": f"States.Format('s3://b/runs/{{}}/{folder}', $$.Execution.Name)",
                                             "LocalPath": local_path, "S3UploadMode": "EndOfJob"}}


def _channel(name: str, distribution: str) -> dict:
    return {"DataSource": {"S3DataSource": {"S3DataDistributionType": distribution, "S3DataType": "S3Prefix",
                                            "S3Uri.$": f"States.Format('s3://b/runs/{{}}/{name}/', $$.Execution.Name)"}},
            "ChannelName": name, "ContentType": "text/csv"}


PROCESSING_RESULT = {"ResultSelector": {"ProcessingJobArn.$": "$.ProcessingJobArn", "ProcessingJobStatus.$": "$.ProcessingJobStatus"},
                     "ResultPath": "$.processing"}
TRAINING_RESULT = {"ResultSelector": {"TrainingJobArn.$": "$.TrainingJobArn", "TrainingJobStatus.$": "$.TrainingJobStatus",
                                      "ModelArtifacts.$": "$.ModelArtifacts"}, "ResultPath": "$.training"}


def test_the_sample_graph_with_the_batch_transform_stage_field_by_field():
    from sfn_ml_pipeline.definition import CREATE_MODEL, TRANSFORM

    config = PipelineConfig.model_validate({"batch_transform": {"enabled": True, "held_out_fraction": 0.25, "instance_count": 2,
                                                                "max_payload_mb": 7, "instance_type": "ml.c5.xlarge"},
                                            "processing": {"instance_count": 3, "volume_size_gb": 11, "max_runtime_seconds": 301},
                                            "training": {"instance_count": 4, "volume_size_gb": 31, "max_runtime_seconds": 86_401,
                                                         "instance_type": "ml.m5.2xlarge"}})
    definition = build_definition(config, EXACT_REFS)
    evaluate = definition["States"].pop("Evaluate model")  # its fields: tests/test_quality_gate.py (issue 23)
    assert evaluate["End"] is True
    assert definition["Comment"] == ("Generate a dataset, standardize it (SageMaker processing), train XGBoost (SageMaker training), "
                                     "then predict the held-out rows (SageMaker model + batch transform) "
                                     "and evaluate the predictions (SageMaker processing).")
    assert definition["StartAt"] == GENERATE
    assert _fields(definition["States"]) == {
        GENERATE: {
            "Parameters": {"bucket": "b", "key.$": "States.Format('runs/{}/input/raw.csv', $$.Execution.Name)", "options.$": "$",
                           "execution.$": "$$.Execution.Name"},
            "ResultSelector": {"s3_uri.$": "$.s3_uri", "rows.$": "$.rows", "job_name.$": "$.job_name"},
            "ResultPath": "$.dataset", "Next": STANDARDIZE,
        },
        STANDARDIZE: {
            "Parameters": {
                "ProcessingResources": {"ClusterConfig": {"InstanceCount": 3, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 11}},
                "ProcessingInputs": [
                    _input("input-1", "/opt/ml/processing/input", **{"S3Uri.$": "States.Format('s3://b/runs/{}/input/raw.csv', $$.Execution.Name)"}),
                    _input("code", "/opt/ml/processing/input/code", S3Uri="s3://b/code/t/transform.py"),
                ],
                "ProcessingOutputConfig": {"Outputs": [_output("train_data", "train", "/opt/ml/processing/output/train"),
                                                       _output("holdout", "holdout", "/opt/ml/processing/output/holdout")]},
                "AppSpecification": {"ImageUri": SKLEARN, "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/transform.py"],
                                     "ContainerArguments": ["--held-out-fraction", "0.25", "--holdout-dir", "/opt/ml/processing/output/holdout"]},
                "StoppingCondition": {"MaxRuntimeInSeconds": 301},
                "RoleArn": "arn:aws:iam::111122223333:role/r",
                "ProcessingJobName.$": "$.dataset.job_name",
                # several hosts: their traffic encrypted (job_security.py)
                "NetworkConfig": {"EnableNetworkIsolation": True, "EnableInterContainerTrafficEncryption": True},
            },
            **PROCESSING_RESULT, "Next": TRAIN,
        },
        TRAIN: {
            "Parameters": {
                "AlgorithmSpecification": {"TrainingImage": XGBOOST, "TrainingInputMode": "File"},
                "OutputDataConfig": {"S3OutputPath.$": "States.Format('s3://b/runs/{}/models', $$.Execution.Name)"},
                "StoppingCondition": {"MaxRuntimeInSeconds": 86_401},
                "ResourceConfig": {"InstanceCount": 4, "InstanceType": "ml.m5.2xlarge", "VolumeSizeInGB": 31},
                "RoleArn": "arn:aws:iam::111122223333:role/r",
                "InputDataConfig": [_channel("train", "ShardedByS3Key")],
                "HyperParameters": {"objective": "reg:logistic", "eval_metric": "rmse", "num_round": "5", "tree_method": "hist"},
                "TrainingJobName.$": "$.dataset.job_name",
                "EnableNetworkIsolation": True, "EnableInterContainerTrafficEncryption": True,
            },
            **TRAINING_RESULT, "Next": CREATE_MODEL,
        },
        CREATE_MODEL: {
            "Parameters": {"ModelName.$": "$.dataset.job_name",
                           "PrimaryContainer": {"Image": XGBOOST, "ModelDataUrl.$": "$.training.ModelArtifacts.S3ModelArtifacts"},
                           "ExecutionRoleArn": "arn:aws:iam::111122223333:role/r", "EnableNetworkIsolation": True},
            "ResultSelector": {"ModelArn.$": "$.ModelArn"}, "ResultPath": "$.model", "Next": TRANSFORM,
        },
        TRANSFORM: {
            "Parameters": {
                "TransformJobName.$": "$.dataset.job_name", "ModelName.$": "$.dataset.job_name", "MaxPayloadInMB": 7,
                "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                                   "S3Uri.$": "States.Format('s3://b/runs/{}/holdout/features/', $$.Execution.Name)"}},
                                   "ContentType": "text/csv", "SplitType": "Line"},
                "TransformOutput": {"S3OutputPath.$": "States.Format('s3://b/runs/{}/predictions', $$.Execution.Name)",
                                    "Accept": "text/csv", "AssembleWith": "Line"},
                "TransformResources": {"InstanceCount": 2, "InstanceType": "ml.c5.xlarge"},
            },
            "ResultSelector": {"TransformJobArn.$": "$.TransformJobArn", "TransformJobStatus.$": "$.TransformJobStatus"},
            "ResultPath": "$.transform", "Next": "Evaluate model",
        },
        FAILED: {"Comment": "Any state's error ends here; the execution keeps the original error and cause.",
                 "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
    }


@pytest.fixture
def code(tmp_path):
    for name in ("prep.py", "train.py"):
        (tmp_path / name).write_text("print('hi')\n")
    return tmp_path


def test_your_data_and_code_field_by_field(code):
    from sfn_ml_pipeline.definition import CHOOSE_INPUT, DEFAULT_INPUT, INPUT_REFUSED, PREPROCESS, TRAIN_SCRIPT

    config = PipelineConfig.model_validate({
        "input": {"s3_uri": "s3://your-in/data/"},
        "processing": {"source_dir": str(code), "entry_point": "prep.py", "arguments": ["--k", "3"], "environment": {"A": "1"},
                       "outputs": ["train", "validation"]},
        "training": {"source_dir": str(code), "entry_point": "train.py", "hyperparameters": {"epochs": 3, "lr": "0.1"},
                     "metric_definitions": [{"name": "auc", "regex": "auc:([0-9.]+)"}]},
    })
    definition = build_definition(config, EXACT_REFS)
    assert definition["Comment"] == "Read s3://your-in/data/, run prep.py (SageMaker processing), train with train.py (SageMaker training)."
    assert definition["StartAt"] == CHOOSE_INPUT
    states = definition["States"]
    assert list(states) == [CHOOSE_INPUT, DEFAULT_INPUT, INPUT_REFUSED, PREPROCESS, TRAIN_SCRIPT, FAILED]
    assert states[CHOOSE_INPUT] == {
        "Type": "Choice",
        "Comment": "Read the execution input's \"input\" when it lies under s3://your-in/data/, else all of s3://your-in/data/.",
        "Choices": [
            {"Variable": "$.input", "IsPresent": False, "Next": DEFAULT_INPUT},
            {"And": [{"Variable": "$.input", "IsString": True}, {"Variable": "$.input", "StringMatches": "s3://your-in/data/*"}],
             "Next": PREPROCESS},
        ],
        "Default": INPUT_REFUSED,
    }
    assert states[DEFAULT_INPUT] == {"Type": "Pass", "Result": "s3://your-in/data/", "ResultPath": "$.input", "Next": PREPROCESS}
    assert states[INPUT_REFUSED] == {
        "Type": "Fail", "Error": "Pipeline.InputOutsidePrefix",
        "Cause": "The execution input's \"input\" must be an S3 URI under s3://your-in/data/ (or left out, to read all of it).",
    }
    fields = _fields(states)
    assert fields[PREPROCESS] == {
        "Parameters": {
            "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 10}},
            "ProcessingInputs": [
                _input("data", "/opt/ml/processing/input/data", **{"S3Uri.$": "$.input"}),
                _input("code", "/opt/ml/processing/input/code", S3Uri="s3://b/code/p/sourcedir.tar.gz"),
                _input("entrypoint", "/opt/ml/processing/input/entrypoint", S3Uri="s3://b/code/p/runproc.sh"),
            ],
            "ProcessingOutputConfig": {"Outputs": [_output("train", "train", "/opt/ml/processing/output/train"),
                                                   _output("validation", "validation", "/opt/ml/processing/output/validation")]},
            "AppSpecification": {"ImageUri": SKLEARN, "ContainerEntrypoint": ["/bin/bash", "/opt/ml/processing/input/entrypoint/runproc.sh"],
                                 "ContainerArguments": ["--k", "3"]},
            "StoppingCondition": {"MaxRuntimeInSeconds": 300},
            "RoleArn": "arn:aws:iam::111122223333:role/r",
            "ProcessingJobName.$": "$$.Execution.Name",
            "Environment": {"A": "1"},
            "NetworkConfig": {"EnableNetworkIsolation": True},
        },
        **PROCESSING_RESULT, "Next": TRAIN_SCRIPT,
    }
    assert fields[TRAIN_SCRIPT] == {
        "Parameters": {
            "AlgorithmSpecification": {"TrainingImage": XGBOOST, "TrainingInputMode": "File",
                                       "MetricDefinitions": [{"Name": "auc", "Regex": "auc:([0-9.]+)"}]},
            "OutputDataConfig": {"S3OutputPath.$": "States.Format('s3://b/runs/{}/models', $$.Execution.Name)"},
            "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30},
            "RoleArn": "arn:aws:iam::111122223333:role/r",
            "InputDataConfig": [
                _channel("train", "ShardedByS3Key"), _channel("validation", "FullyReplicated"),
                {"DataSource": {"S3DataSource": {"S3DataDistributionType": "FullyReplicated", "S3DataType": "S3Prefix",
                                                 "S3Uri": "s3://b/code/q/sourcedir.tar.gz"}}, "ChannelName": "code"},
            ],
            # as the SageMaker SDK encodes a framework estimator's: each value json.dumps'd
            "HyperParameters": {"epochs": "3", "lr": '"0.1"', "sagemaker_program": '"train.py"',
                                "sagemaker_submit_directory": '"/opt/ml/input/data/code/sourcedir.tar.gz"',
                                "sagemaker_container_log_level": "20", "sagemaker_region": '"us-east-1"'},
            "TrainingJobName.$": "$$.Execution.Name",
            "EnableNetworkIsolation": True,
        },
        **TRAINING_RESULT, "End": True,
    }


def test_the_comment_names_each_part_that_is_yours(code):
    def comment(data: dict) -> str:
        return build_definition(PipelineConfig.model_validate(data), EXACT_REFS)["Comment"]

    own_processing = {"source_dir": str(code), "entry_point": "prep.py"}
    own_training = {"source_dir": str(code), "entry_point": "train.py"}
    assert comment({}) == "Generate a dataset, standardize it (SageMaker processing), train XGBoost (SageMaker training)."
    assert comment({"processing": own_processing}) == "Generate a dataset, run prep.py (SageMaker processing), train XGBoost (SageMaker training)."
    assert comment({"training": own_training}) == "Generate a dataset, standardize it (SageMaker processing), train with train.py (SageMaker training)."
    assert comment({"training": own_training, "batch_transform": {"enabled": True}}) == (
        "Generate a dataset, standardize it (SageMaker processing), train with train.py (SageMaker training)."
    )


def test_own_processing_code_reads_the_generated_data_without_input_and_needs_its_prefix(code):
    from dataclasses import replace

    from sfn_ml_pipeline.definition import PREPROCESS, processing_state_name, training_state_name

    config = PipelineConfig.model_validate({"processing": {"source_dir": str(code), "entry_point": "prep.py"}})
    assert (processing_state_name(config), training_state_name(config)) == (PREPROCESS, TRAIN)
    assert (processing_state_name(PipelineConfig()), training_state_name(PipelineConfig())) == (STANDARDIZE, TRAIN)
    state = build_definition(config, EXACT_REFS)["States"][PREPROCESS]["Parameters"]
    assert state["ProcessingInputs"][0] == _input("data", "/opt/ml/processing/input/data",
                                                  **{"S3Uri.$": "States.Format('s3://b/runs/{}/input/raw.csv', $$.Execution.Name)"})
    assert "ContainerArguments" not in state["AppSpecification"] and "Environment" not in state
    assert state["ProcessingJobName.$"] == "$.dataset.job_name"
    with pytest.raises(ValueError) as raised:
        build_definition(config, replace(EXACT_REFS, processing_code=None))
    assert str(raised.value) == "DefinitionRefs.processing_code: the S3 prefix of the packaged processing code is needed"


def test_script_mode_needs_its_code_prefix_and_sends_no_metrics_unless_asked(code):
    from dataclasses import replace

    from sfn_ml_pipeline.definition import TRAIN_SCRIPT, training_state_name

    config = PipelineConfig.model_validate({"training": {"source_dir": str(code), "entry_point": "train.py"}})
    assert training_state_name(config) == TRAIN_SCRIPT
    algorithm = build_definition(config, EXACT_REFS)["States"][TRAIN_SCRIPT]["Parameters"]["AlgorithmSpecification"]
    assert algorithm == {"TrainingImage": XGBOOST, "TrainingInputMode": "File"}
    with pytest.raises(ValueError) as raised:
        build_definition(config, replace(EXACT_REFS, training_code=None))
    assert str(raised.value) == "DefinitionRefs.training_code: the S3 prefix of the packaged training code is needed"


def test_a_prefix_matches_itself_in_string_matches():
    from sfn_ml_pipeline.definition import _string_matches_literal

    assert _string_matches_literal("s3://b/a*b\\c/") == "s3://b/a\\*b\\\\c/"
    assert _string_matches_literal("s3://b/plain/") == "s3://b/plain/"


def test_the_comment_names_the_quality_gate_and_the_rows_it_judges(code):
    from dataclasses import replace

    refs = replace(EXACT_REFS, model_package_group="g")
    gate = {"enabled": True, "metric": "auc", "threshold": 0.9}
    binary = {"hyperparameters": {"objective": "binary:logistic", "num_round": "5"}}
    sample = PipelineConfig.model_validate({"quality_gate": gate, "training": binary})
    assert build_definition(sample, refs)["Comment"] == (
        "Generate a dataset, standardize it (SageMaker processing), train XGBoost (SageMaker training), then predict the held-out "
        "rows (SageMaker model + batch transform) and evaluate the predictions (SageMaker processing); register the model only if "
        "auc passes the quality gate."
    )
    (code / "prep.py").write_text("print('hi')\n")
    own = PipelineConfig.model_validate({"input": {"s3_uri": "s3://your-in/data/"}, "quality_gate": gate, "training": binary,
                                         "processing": {"source_dir": str(code), "entry_point": "prep.py", "outputs": ["train", "test"]}})
    assert build_definition(own, refs)["Comment"] == (
        "Read s3://your-in/data/, run prep.py (SageMaker processing), train XGBoost (SageMaker training); predict the test rows "
        "(SageMaker model + batch transform), evaluate them (SageMaker processing) and register the model only if auc passes the "
        "quality gate."
    )
    unjudged = PipelineConfig.model_validate({"training": {"hyperparameters": {"objective": "multi:softmax", "num_round": "5", "num_class": "3"}},
                                              "batch_transform": {"enabled": True}})
    assert unjudged.evaluation_source is None  # what the model predicts is unknown: no Evaluate model
    assert build_definition(unjudged, refs)["Comment"] == (
        "Generate a dataset, standardize it (SageMaker processing), train XGBoost (SageMaker training), then predict the held-out "
        "rows (SageMaker model + batch transform)."
    )
