"""The quality gate's states (``[quality_gate]``): evaluate the model on rows training never saw,
read the result, decide, register or fail.

After the batch transform has predicted the held-out rows (the sample's ``holdout/``, or your
``test`` output joined label first). Evaluate model runs after every batch transform whose predictions
can be judged (the sample's stage alone too: ``pipeline-tools run`` reports its evaluation.json); the
other states only with the gate.

* **Evaluate model** (``sagemaker:createProcessingJob.sync``): ``scripts/evaluate.py`` in the
  scikit-learn image, as Standardization runs transform.py, writes ``runs/<execution>/evaluation/``:
  ``evaluation.json`` (SageMaker Model Monitor's model quality metrics,
  https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html) and
  ``predictions.csv``.
* **Read evaluation** (``aws-sdk:s3:getObject``): the state machine reads the JSON itself,
  ``"ResultSelector": {"report.$": "States.StringToJson($.Body)"}``, as AWS's own workflows read an S3
  object's JSON (aws-samples/step-functions-workflows-collection,
  redshift-serverless-unload/statemachine/statemachine.asl.json; ``States.StringToJson``:
  https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html#asl-intrsc-func-json-manipulate).
* **Quality gate** (Choice): the metric's ``value`` against the threshold, ``>=`` or ``<=`` by the
  metric's direction; a value that is absent or not a number (``"NaN"``: undefined for these rows) goes
  to its own failure. A Choice rule on a path that does not exist fails the execution unless it tests
  ``IsPresent`` (https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html), so presence is
  tested first and rules are evaluated in order.
* **Quality gate failed** (Pass) builds the cause with ``States.Format`` (metric, value, threshold),
  **Model rejected** (Fail) ends the execution with ``Pipeline.QualityGateFailed`` and that cause
  (``CausePath``: https://docs.aws.amazon.com/step-functions/latest/dg/state-fail.html); nothing is registered.
* **Register model** (``aws-sdk:sagemaker:createModelPackage``): a version in the stack's model package
  group (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModelPackage.html): the
  image and ``model.tar.gz`` (InferenceSpecification), ``ModelMetrics.ModelQuality.Statistics`` pointing
  at evaluation.json, the execution's ARN in ``MetadataProperties.GeneratedBy``, metric, value, threshold
  and execution in ``CustomerMetadataProperties``, the configured ``ModelApprovalStatus``.

Plain JSONPath constructs only (Choice rules, Pass Parameters, intrinsic functions), so a JSONata
rendering of the definition can translate them.
"""

from __future__ import annotations

from typing import Any

from .config import PipelineConfig
from .quality import GROUPS, METRICS
from .tasks import DefinitionRefs, S3GetObject, SageMakerCreateModelPackage, SageMakerCreateProcessingJob

EVALUATE = "Evaluate model"
READ_EVALUATION = "Read evaluation"
QUALITY_GATE = "Quality gate"
GATE_FAILED = "Quality gate failed"
MODEL_REJECTED = "Model rejected"
METRIC_MISSING = "Quality metric missing"
REGISTER = "Register model"
QUALITY_GATE_STATE_NAMES = (EVALUATE, READ_EVALUATION, QUALITY_GATE, GATE_FAILED, MODEL_REJECTED, METRIC_MISSING, REGISTER)
GATE_FAILED_ERROR = "Pipeline.QualityGateFailed"
METRIC_MISSING_ERROR = "Pipeline.QualityMetricMissing"

RUN_PREFIX = "runs/{}"
EVALUATION_PREFIX = RUN_PREFIX + "/evaluation"
EVALUATION_KEY = EVALUATION_PREFIX + "/evaluation.json"
PREDICTIONS_CSV_KEY = EVALUATION_PREFIX + "/predictions.csv"
EVALUATION_OBJECTS = ("runs/*/evaluation/evaluation.json",)  # what the state machine role reads
PROCESSING_INPUT = "/opt/ml/processing/input"
EVALUATION_OUTPUT = "/opt/ml/processing/evaluation"
# The evaluation job's name: SageMaker job names are at most 63 letters, digits and hyphens
# (^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}, CreateProcessingJob), and the execution's name already names
# the pipeline's processing job. The MD5 of the execution's ARN (States.Hash: 32 hex digits,
# https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html)
# gives a valid, per-execution name whatever the execution is called.
EVALUATION_JOB_NAME = "States.Format('evaluate-{}', States.Hash($$.Execution.Id, 'MD5'))"


def _s3(bucket: str, key_template: str) -> str:
    return f"States.Format('s3://{bucket}/{key_template}', $$.Execution.Name)"


def _format_literal(text: str) -> str:
    """``text`` inside a States.Format template: ', {, } and \\ escaped with \\
    (https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html, reserved characters)."""
    for character in ("\\", "'", "{", "}"):
        text = text.replace(character, "\\" + character)
    return text


def metric_path(config: PipelineConfig) -> str:
    """Where the gate's metric value is in the state's data once Read evaluation ran."""
    gate = config.quality_gate
    return f"$.evaluation.report.{GROUPS[config.problem_type]}.{gate.metric}.value"


def _threshold_text(config: PipelineConfig) -> str:
    return repr(config.quality_gate.threshold)


def evaluate(config: PipelineConfig, refs: DefinitionRefs) -> SageMakerCreateProcessingJob:
    """Evaluate model: evaluate.py on the batch transform's predictions (and the held-out labels)."""
    if not refs.evaluate_key:
        raise ValueError("DefinitionRefs.evaluate_key: the S3 key of the packaged evaluate.py is needed")
    bucket, processing = refs.bucket, config.processing
    inputs = [_input("predictions", f"{RUN_PREFIX}/predictions/", bucket)]
    arguments = ["--problem-type", str(config.problem_type), "--predictions-dir", f"{PROCESSING_INPUT}/predictions"]
    if config.evaluation_source == "holdout":  # labels beside the predictions, line for line
        inputs.append(_input("labels", f"{RUN_PREFIX}/holdout/labels/", bucket))
        arguments += ["--labels-dir", f"{PROCESSING_INPUT}/labels"]
    inputs.append({
        "InputName": "code",
        "S3Input": {"S3Uri": f"s3://{bucket}/{refs.evaluate_key}", "LocalPath": f"{PROCESSING_INPUT}/code", "S3DataType": "S3Prefix",
                    "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated", "S3CompressionType": "None"},
    })
    arguments += ["--output-dir", EVALUATION_OUTPUT]
    return SageMakerCreateProcessingJob(
        name=EVALUATE,
        parameters={
            "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": processing.instance_type,
                                                      "VolumeSizeInGB": processing.volume_size_gb}},
            "ProcessingInputs": inputs,
            "ProcessingOutputConfig": {"Outputs": [{
                "OutputName": "evaluation",
                "S3Output": {"S3Uri.$": _s3(bucket, EVALUATION_PREFIX), "LocalPath": EVALUATION_OUTPUT, "S3UploadMode": "EndOfJob"},
            }]},
            "AppSpecification": {
                "ImageUri": config.processing_image,
                "ContainerEntrypoint": ["python3", f"{PROCESSING_INPUT}/code/evaluate.py"],
                "ContainerArguments": arguments,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": processing.max_runtime_seconds},
            "RoleArn": refs.sagemaker_role_arn,
            "ProcessingJobName.$": EVALUATION_JOB_NAME,
        },
        result_selector={"ProcessingJobName.$": "$.ProcessingJobName", "ProcessingJobStatus.$": "$.ProcessingJobStatus"},
        result_path="$.evaluation_job",
    )


def _input(name: str, key_template: str, bucket: str) -> dict[str, Any]:
    return {
        "InputName": name,
        "S3Input": {"S3Uri.$": _s3(bucket, key_template), "LocalPath": f"{PROCESSING_INPUT}/{name}", "S3DataType": "S3Prefix",
                    "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated", "S3CompressionType": "None"},
    }


def read_evaluation(refs: DefinitionRefs) -> S3GetObject:
    return S3GetObject(
        name=READ_EVALUATION,
        parameters={"Bucket": refs.bucket, "Key.$": f"States.Format('{EVALUATION_KEY}', $$.Execution.Name)"},
        result_selector={"report.$": "States.StringToJson($.Body)"},
        result_path="$.evaluation",
        objects=EVALUATION_OBJECTS,
        sid="ReadEvaluations",
    )


def register(config: PipelineConfig, refs: DefinitionRefs) -> SageMakerCreateModelPackage:
    if not refs.model_package_group:
        raise ValueError("DefinitionRefs.model_package_group: the stack's model package group is needed")
    gate = config.quality_gate
    value = metric_path(config)
    return SageMakerCreateModelPackage(
        name=REGISTER,
        parameters={
            "ModelPackageGroupName": refs.model_package_group,
            "ModelPackageDescription.$": (
                f"States.Format('Trained and evaluated by execution {{}}: {gate.metric} = {{}} "
                f"(threshold {_format_literal(_threshold_text(config))})', $$.Execution.Name, {value})"
            ),
            "InferenceSpecification": {
                "Containers": [{"Image": config.training_image, "ModelDataUrl.$": "$.training.ModelArtifacts.S3ModelArtifacts"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            "ModelApprovalStatus": gate.approval_status,
            "ModelMetrics": {"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri.$": _s3(refs.bucket, EVALUATION_KEY)}}},
            "MetadataProperties": {"GeneratedBy.$": "$$.Execution.Id"},
            "CustomerMetadataProperties": {
                "metric": gate.metric,
                "value.$": f"States.Format('{{}}', {value})",
                "threshold": _threshold_text(config),
                "execution.$": "$$.Execution.Name",
            },
        },
        result_selector={"ModelPackageArn.$": "$.ModelPackageArn"},
        result_path="$.registered",
    )


def gate_tasks(config: PipelineConfig, refs: DefinitionRefs) -> list:
    """After the batch transform, in order: Evaluate model (whenever its predictions can be judged:
    ``config.evaluation_source``), then, with the gate, Read evaluation and Register model (what the
    state machine role needs, with the pipeline's tasks)."""
    tasks = [evaluate(config, refs)] if config.evaluation_source else []
    if config.quality_gate.enabled:
        tasks += [read_evaluation(refs), register(config, refs)]
    return tasks


def gate_states(config: PipelineConfig) -> dict[str, Any]:
    """Quality gate (Choice) and its failures; the Choice leads to Register model."""
    gate = config.quality_gate
    metric = METRICS[gate.metric]
    value = metric_path(config)
    threshold = gate.threshold
    worse = "below" if metric.higher_is_better else "above"
    template = (
        _format_literal(f"{gate.metric} = ") + "{}" + _format_literal(
            f" is {worse} the threshold {_threshold_text(config)} ({gate.metric} {metric.relation} {_threshold_text(config)} required): "
            "the model is not registered"
        )
    )
    where = f"{GROUPS[config.problem_type]}.{gate.metric}.value"
    return {
        QUALITY_GATE: {
            "Type": "Choice",
            "Comment": f"Register the model when {gate.metric} {metric.relation} {_threshold_text(config)} on rows training never saw.",
            "Choices": [
                {"Variable": value, "IsPresent": False, "Next": METRIC_MISSING},
                {"Not": {"Variable": value, "IsNumeric": True}, "Next": METRIC_MISSING},
                {"Variable": value, metric.comparison: threshold, "Next": REGISTER},
            ],
            "Default": GATE_FAILED,
        },
        GATE_FAILED: {
            "Type": "Pass",
            "Parameters": {"cause.$": f"States.Format('{template}', {value})"},
            "ResultPath": "$.gate",
            "Next": MODEL_REJECTED,
        },
        MODEL_REJECTED: {"Type": "Fail", "Error": GATE_FAILED_ERROR, "CausePath": "$.gate.cause"},
        METRIC_MISSING: {
            "Type": "Fail",
            "Error": METRIC_MISSING_ERROR,
            "Cause": f"evaluation.json has no number at {where} (undefined for the evaluated rows, e.g. one class only): the model is not registered",
        },
    }
