"""The state machine definition (Amazon States Language), built by a pure function from the config.

It keeps the sample's three states, their names and order, their integration patterns
(a Lambda task, ``sagemaker:createProcessingJob.sync``, ``sagemaker:createTrainingJob.sync``),
instance settings and hyperparameters, and fixes the sample's defects:

* training reads only the standardized data (the sample's channel read the bucket root);
* every execution writes under ``runs/<execution name>/`` so runs never overwrite each other;
* images are current and regional (sklearn 1.2-1, sagemaker-xgboost 1.7-1), not pinned to sa-east-1;
* transient errors are retried, and any error ends in a Fail state that keeps the error and cause.

Job names are the execution's name, as in the sample, when SageMaker accepts it; Step Functions
accepts names SageMaker does not (``_``, ``.``, up to 80 characters), so the first state, which runs
before any job, names the jobs (:func:`job_name`, ``generate_dataset.sagemaker_name``): the execution's
name, or a valid one derived from it. The data layout keeps the execution's name. Without the
Generate dataset function (your data in S3) no state before the first job can test a name (JSONPath
intrinsics cannot test a string's length or pattern): the jobs take the execution's name, SageMaker
refuses one outside its pattern at the first job, and ``pipeline-tools run`` refuses such names.

With your data and code (``[input]``, ``source_dir``; README "Your data and code") the same builders
render your pipeline: no Generate dataset state when the data is in S3 (a Choice takes the execution
input's ``input``, only under the configured prefix, else the configured prefix), your processing
script with your arguments and outputs, built-in XGBoost on your channels or your training script
(script mode, as the SageMaker SDK's framework estimators pass it).

With ``[quality_gate]`` the model is predicted on rows training never saw (the batch transform of the
held-out split, or of your ``test`` output), evaluated, and registered only when its metric reaches
the threshold (``gate.py``).
"""

from __future__ import annotations

import json
from typing import Any

from . import gate, job_security
from .config import PipelineConfig
from .tasks import (
    DefinitionRefs,
    LambdaInvoke,
    SageMakerCreateModel,
    SageMakerCreateProcessingJob,
    SageMakerCreateTrainingJob,
    SageMakerCreateTransformJob,
    Task,
)
from .tasks.base import RETRY_BACKOFF_RATE, RETRY_INTERVAL_SECONDS, RETRY_MAX_ATTEMPTS
from .tasks.lambda_invoke import LAMBDA_TRANSIENT_ERRORS
from .tasks.sagemaker import RESOURCE_LIMIT_RETRY, SAGEMAKER_TRANSIENT_ERRORS

__all__ = [
    "BATCH_TRANSFORM_STATE_NAMES", "CREATE_MODEL", "FAILED", "GENERATE", "JOB_NAME", "TRANSFORM", "LAMBDA_TRANSIENT_ERRORS", "RETRY_BACKOFF_RATE", "RETRY_INTERVAL_SECONDS",
    "RETRY_MAX_ATTEMPTS", "RESOURCE_LIMIT_RETRY", "SAGEMAKER_TRANSIENT_ERRORS", "SAMPLE_DEVIATIONS", "STANDARDIZE", "STATE_NAMES",
    "TRAIN", "PREPROCESS", "TRAIN_SCRIPT", "INPUT_STATE_NAMES", "DefinitionRefs", "build_definition", "pipeline_tasks",
    "job_name", "processing_state_name", "training_state_name",
]

GENERATE = "Generate dataset"
STANDARDIZE = "Standardization: x' = (x - x̄) / σ"
TRAIN = "Train model (XGBoost)"
CREATE_MODEL = "Create model"
TRANSFORM = "Batch transform"
FAILED = "Pipeline failed"
STATE_NAMES = (GENERATE, STANDARDIZE, TRAIN)
BATCH_TRANSFORM_STATE_NAMES = (CREATE_MODEL, TRANSFORM)
# Your code: the processing state runs your script, the training state yours in script mode.
PREPROCESS = "Preprocess"
TRAIN_SCRIPT = "Train model (script mode)"
# Your data: which S3 location an execution reads.
CHOOSE_INPUT = "Choose input"
DEFAULT_INPUT = "Use the configured input"
INPUT_REFUSED = "Input outside the configured prefix"
INPUT_STATE_NAMES = (CHOOSE_INPUT, DEFAULT_INPUT, INPUT_REFUSED)

# Per-execution layout in the bucket. `{}` is filled with $$.Execution.Name by States.Format.
RUN_PREFIX = "runs/{}"
RAW_KEY = RUN_PREFIX + "/input/raw.csv"
TRAIN_PREFIX = RUN_PREFIX + "/train"
MODELS_PREFIX = RUN_PREFIX + "/models"
# With [batch_transform]: the held-out rows (features and labels, line for line) and the predictions.
HOLDOUT_PREFIX = RUN_PREFIX + "/holdout"
HOLDOUT_FEATURES_PREFIX = HOLDOUT_PREFIX + "/features"
PREDICTIONS_PREFIX = RUN_PREFIX + "/predictions"
# With [quality_gate] and your processing code: the test output, label first, predicted by the batch transform.
TEST_PREFIX = RUN_PREFIX + "/test"
# SageMaker's "Associate Prediction Results with Input Records" for CSV: the model sees all columns but the
# first (the label), each output line is the label followed by the prediction
# (https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform-data-processing.html).
LABEL_FIRST_JOIN = {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"}

# The SageMaker job (and model) name of the execution: the Generate dataset function returns it
# (scripts/generate_dataset.py, sagemaker_name): the execution's name when SageMaker's pattern
# ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62} accepts it, else a valid name derived from it. ASL's JSONPath
# intrinsics cannot test a string's length or pattern, so the first state, a function, does it.
JOB_NAME = "$.dataset.job_name"


def job_name(config: PipelineConfig) -> str:
    """The JSONPath of the jobs' name: the one Generate dataset returns, or, without that function
    (your data in S3: no state before the first job can test a name), the execution's name."""
    return JOB_NAME if config.generates_dataset else "$$.Execution.Name"


# Paths inside the SageMaker processing container (as in the sample).
PROCESSING_INPUT = "/opt/ml/processing/input"
PROCESSING_CODE = "/opt/ml/processing/input/code"
PROCESSING_OUTPUT = "/opt/ml/processing/output/train"
PROCESSING_HOLDOUT = "/opt/ml/processing/output/holdout"
# Your processing code: the data input, the code and its launcher, one output folder per name
# (the layout of the SageMaker Python SDK's FrameworkProcessor: "code" and "entrypoint" inputs).
PROCESSING_DATA = "/opt/ml/processing/input/data"
PROCESSING_ENTRYPOINT = "/opt/ml/processing/input/entrypoint"
PROCESSING_OUTPUTS = "/opt/ml/processing/output"
# Script mode: the code reaches the container as the "code" channel, where the SageMaker SDK puts it
# for network-isolated jobs (EstimatorBase.CONTAINER_CODE_CHANNEL_SOURCEDIR_PATH), so it never needs S3.
TRAINING_CODE_CHANNEL = "code"
TRAINING_CODE_ARCHIVE = "/opt/ml/input/data/code/sourcedir.tar.gz"

def _s3(bucket: str, key_template: str) -> str:
    """An intrinsic building s3://bucket/<key with the execution name>."""
    return f"States.Format('s3://{bucket}/{key_template}', $$.Execution.Name)"


def _s3_input(name: str, local_path: str, **uri: str) -> dict[str, Any]:
    """A processing input (S3Prefix, File mode, FullyReplicated, as in the sample). ``uri``: S3Uri or S3Uri.$."""
    return {
        "InputName": name,
        "S3Input": {
            **uri,
            "LocalPath": local_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
            "S3CompressionType": "None",
        },
    }


def _s3_output(name: str, key_template: str, local_path: str, bucket: str) -> dict[str, Any]:
    """A processing output uploaded at the end of the job to the execution's prefix."""
    return {
        "OutputName": name,
        "S3Output": {"S3Uri.$": _s3(bucket, key_template), "LocalPath": local_path, "S3UploadMode": "EndOfJob"},
    }


def generate_dataset(refs: DefinitionRefs) -> LambdaInvoke:
    """Generate dataset: the Lambda writes runs/<execution>/input/raw.csv."""
    return LambdaInvoke(
        name=GENERATE,
        function_arn=refs.lambda_arn,
        sid="InvokeGenerateDataset",
        parameters={
            "bucket": refs.bucket,
            "key.$": f"States.Format('{RAW_KEY}', $$.Execution.Name)",
            "options.$": "$",
            "execution.$": "$$.Execution.Name",
        },
        result_selector={"s3_uri.$": "$.s3_uri", "rows.$": "$.rows", "job_name.$": "$.job_name"},
        result_path="$.dataset",
    )


def processing_state_name(config: PipelineConfig) -> str:
    return PREPROCESS if config.processing.own_code else STANDARDIZE


def training_state_name(config: PipelineConfig) -> str:
    return TRAIN_SCRIPT if config.training.script_mode else TRAIN


def standardize(config: PipelineConfig, refs: DefinitionRefs) -> SageMakerCreateProcessingJob:
    """Standardization: transform.py in the scikit-learn image, raw.csv in, train/ out. With your
    processing code, :func:`preprocess` instead."""
    if config.processing.own_code:
        return preprocess(config, refs)
    bucket, processing = refs.bucket, config.processing
    outputs = [_s3_output("train_data", TRAIN_PREFIX, PROCESSING_OUTPUT, bucket)]
    app: dict[str, Any] = {
        "ImageUri": config.processing_image,
        "ContainerEntrypoint": ["python3", f"{PROCESSING_CODE}/transform.py"],
    }
    if config.batch_transform.enabled:
        # transform.py keeps the held-out rows out of the statistics and out of train/.
        outputs.append(_s3_output("holdout", HOLDOUT_PREFIX, PROCESSING_HOLDOUT, bucket))
        app["ContainerArguments"] = [
            "--held-out-fraction", repr(config.batch_transform.held_out_fraction), "--holdout-dir", PROCESSING_HOLDOUT,
        ]
    return _processing_job(
        STANDARDIZE, config, refs,
        [
            _s3_input("input-1", PROCESSING_INPUT, **{"S3Uri.$": _s3(bucket, RAW_KEY)}),
            _s3_input("code", PROCESSING_CODE, S3Uri=f"s3://{bucket}/{refs.transform_key}"),
        ],
        outputs, app,
    )


def preprocess(config: PipelineConfig, refs: DefinitionRefs) -> SageMakerCreateProcessingJob:
    """Your processing script: the data (your [input] prefix, or the generated raw.csv) at
    /opt/ml/processing/input/data, your code folder unpacked by its launcher (requirements.txt
    installed first), one output per name, uploaded to runs/<execution>/<name>/."""
    bucket, processing = refs.bucket, config.processing
    if not refs.processing_code:
        raise ValueError("DefinitionRefs.processing_code: the S3 prefix of the packaged processing code is needed")
    data = {"S3Uri.$": "$.input"} if config.input is not None else {"S3Uri.$": _s3(bucket, RAW_KEY)}
    code = f"s3://{bucket}/{refs.processing_code}"
    app: dict[str, Any] = {
        "ImageUri": config.processing_image,
        "ContainerEntrypoint": ["/bin/bash", f"{PROCESSING_ENTRYPOINT}/runproc.sh"],
    }
    if processing.arguments:
        app["ContainerArguments"] = list(processing.arguments)
    return _processing_job(
        PREPROCESS, config, refs,
        [
            _s3_input("data", PROCESSING_DATA, **data),
            _s3_input("code", PROCESSING_CODE, S3Uri=f"{code}sourcedir.tar.gz"),
            _s3_input("entrypoint", PROCESSING_ENTRYPOINT, S3Uri=f"{code}runproc.sh"),
        ],
        [_s3_output(name, f"{RUN_PREFIX}/{name}", f"{PROCESSING_OUTPUTS}/{name}", bucket) for name in processing.outputs],
        app,
        environment=dict(processing.environment),
    )


def _processing_job(
    name: str, config: PipelineConfig, refs: DefinitionRefs, inputs: list, outputs: list, app: dict, environment: dict | None = None
) -> SageMakerCreateProcessingJob:
    processing = config.processing
    parameters: dict[str, Any] = {
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": processing.instance_count,
                "InstanceType": processing.instance_type,
                "VolumeSizeInGB": processing.volume_size_gb,
            }
        },
        "ProcessingInputs": inputs,
        "ProcessingOutputConfig": {"Outputs": outputs},
        "AppSpecification": app,
        "StoppingCondition": {"MaxRuntimeInSeconds": processing.max_runtime_seconds},
        "RoleArn": refs.sagemaker_role_arn,
        "ProcessingJobName.$": job_name(config),
    }
    if environment:
        parameters["Environment"] = environment
    return SageMakerCreateProcessingJob(
        name=name,
        parameters=parameters,
        result_selector={"ProcessingJobArn.$": "$.ProcessingJobArn", "ProcessingJobStatus.$": "$.ProcessingJobStatus"},
        result_path="$.processing",
    )


def _channel(name: str, bucket: str) -> dict[str, Any]:
    """A training channel reading runs/<execution>/<name>/ (a processing output), CSV. ``train`` is
    ShardedByS3Key, as in the sample (each host gets its share of the files); the others are
    FullyReplicated (every host validates on all of validation/)."""
    return {
        "DataSource": {
            "S3DataSource": {
                "S3DataDistributionType": "ShardedByS3Key" if name == "train" else "FullyReplicated",
                "S3DataType": "S3Prefix",
                "S3Uri.$": _s3(bucket, f"{RUN_PREFIX}/{name}/"),
            }
        },
        "ChannelName": name,
        "ContentType": "text/csv",
    }


def script_mode_hyperparameters(config: PipelineConfig, refs: DefinitionRefs) -> dict[str, str]:
    """Your hyperparameters and the ``sagemaker_*`` ones that make the image run your script, encoded
    as the SageMaker Python SDK encodes a framework estimator's (each value ``json.dumps``'d:
    sagemaker/estimator.py ``_json_encode_hyperparameters``); the container decodes each back
    (sagemaker-training-toolkit environment.read_hyperparameters) and passes yours as
    ``--name value`` arguments. The code comes from the ``code`` channel (the SDK's path for
    network-isolated jobs, _prepare_for_training), so the container never fetches it from S3."""
    encoded = {str(key): json.dumps(value) for key, value in config.training.hyperparameters.items()}
    encoded.update({
        "sagemaker_program": json.dumps(config.training.entry_point),
        "sagemaker_submit_directory": json.dumps(TRAINING_CODE_ARCHIVE),
        "sagemaker_container_log_level": "20",
        "sagemaker_region": json.dumps(refs.region),
    })
    return encoded


def train(config: PipelineConfig, refs: DefinitionRefs) -> SageMakerCreateTrainingJob:
    """Train model: the built-in XGBoost image (or, in script mode, your script in the image) on the
    processing outputs it reads, train/ first (the sample read the bucket root)."""
    bucket, training = refs.bucket, config.training
    algorithm: dict[str, Any] = {"TrainingImage": config.training_image, "TrainingInputMode": "File"}
    channels = [_channel(name, bucket) for name in config.training_channels]
    hyperparameters = {key: str(value) for key, value in training.hyperparameters.items()}
    if training.script_mode:
        if not refs.training_code:
            raise ValueError("DefinitionRefs.training_code: the S3 prefix of the packaged training code is needed")
        if training.metric_definitions:
            algorithm["MetricDefinitions"] = [{"Name": m.name, "Regex": m.regex} for m in training.metric_definitions]
        channels.append({
            "DataSource": {
                "S3DataSource": {
                    "S3DataDistributionType": "FullyReplicated",
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"s3://{bucket}/{refs.training_code}sourcedir.tar.gz",
                }
            },
            "ChannelName": TRAINING_CODE_CHANNEL,
        })
        hyperparameters = script_mode_hyperparameters(config, refs)
    return SageMakerCreateTrainingJob(
        name=training_state_name(config),
        parameters={
            "AlgorithmSpecification": algorithm,
            "OutputDataConfig": {"S3OutputPath.$": _s3(bucket, MODELS_PREFIX)},
            "StoppingCondition": {"MaxRuntimeInSeconds": training.max_runtime_seconds},
            "ResourceConfig": {
                "InstanceCount": training.instance_count,
                "InstanceType": training.instance_type,
                "VolumeSizeInGB": training.volume_size_gb,
            },
            "RoleArn": refs.sagemaker_role_arn,
            "InputDataConfig": channels,
            "HyperParameters": hyperparameters,
            "TrainingJobName.$": job_name(config),
        },
        result_selector={
            "TrainingJobArn.$": "$.TrainingJobArn",
            "TrainingJobStatus.$": "$.TrainingJobStatus",
            "ModelArtifacts.$": "$.ModelArtifacts",
        },
        result_path="$.training",
    )


def create_model(config: PipelineConfig, refs: DefinitionRefs) -> SageMakerCreateModel:
    """Create model: the training job's artifact with the XGBoost image, run as the model's own role
    (whose trust is SageMaker's inference form; the jobs' role keeps its job-only trust)."""
    return SageMakerCreateModel(
        name=CREATE_MODEL,
        parameters={
            "ModelName.$": job_name(config),
            "PrimaryContainer": {"Image": config.training_image, "ModelDataUrl.$": "$.training.ModelArtifacts.S3ModelArtifacts"},
            "ExecutionRoleArn": refs.model_role_arn or refs.sagemaker_role_arn,
        },
        result_selector={"ModelArn.$": "$.ModelArn"},
        result_path="$.model",
    )


def batch_transform(config: PipelineConfig, refs: DefinitionRefs) -> SageMakerCreateTransformJob:
    """Batch transform: the model predicts every held-out line; SageMaker writes <input file>.out. With
    your data, the ``test`` output's lines, each output line ``label,prediction`` (LABEL_FIRST_JOIN)."""
    bucket, stage = refs.bucket, config.batch_transform
    source = TEST_PREFIX if config.evaluation_source == "test" else HOLDOUT_FEATURES_PREFIX
    parameters: dict[str, Any] = {
        "TransformJobName.$": job_name(config),
        "ModelName.$": job_name(config),
        "MaxPayloadInMB": stage.max_payload_mb,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri.$": _s3(bucket, source + "/")}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath.$": _s3(bucket, PREDICTIONS_PREFIX), "Accept": "text/csv", "AssembleWith": "Line"},
        "TransformResources": {"InstanceCount": stage.instance_count, "InstanceType": stage.instance_type},
    }
    if config.evaluation_source == "test":
        parameters["DataProcessing"] = dict(LABEL_FIRST_JOIN)
    return SageMakerCreateTransformJob(
        name=TRANSFORM,
        parameters=parameters,
        result_selector={"TransformJobArn.$": "$.TransformJobArn", "TransformJobStatus.$": "$.TransformJobStatus"},
        result_path="$.transform",
    )


def pipeline_tasks(config: PipelineConfig, refs: DefinitionRefs) -> list[Task]:
    """The pipeline's tasks, in order: what the definition chains and the state machine role needs."""
    tasks: list[Task] = [generate_dataset(refs)] if config.generates_dataset else []
    tasks += [standardize(config, refs), train(config, refs)]
    if config.transform_stage:
        tasks += [create_model(config, refs), batch_transform(config, refs)]
    if config.transform_stage:
        tasks += gate.gate_tasks(config, refs)  # Evaluate model; with the gate, Read evaluation and Register model
    return [job_security.secure(task, config, refs) for task in tasks]  # isolation, keys, VPC: job_security.py


def _string_matches_literal(text: str) -> str:
    """``text`` as a StringMatches pattern matching itself: ``*`` and ``\\`` escaped with ``\\``
    (https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html, StringMatches)."""
    return text.replace("\\", "\\\\").replace("*", "\\*")


def input_states(config: PipelineConfig, first: str) -> dict[str, Any]:
    """Your data: the execution input's ``input`` (an S3 URI, e.g. from ``pipeline-tools run --input``)
    when it lies under the configured prefix; none: the configured prefix; anything else fails the
    execution before any job starts, saying which prefix is allowed."""
    prefix = config.input.s3_uri
    return {
        CHOOSE_INPUT: {
            "Type": "Choice",
            "Comment": f"Read the execution input's \"input\" when it lies under {prefix}, else all of {prefix}.",
            "Choices": [
                {"Variable": "$.input", "IsPresent": False, "Next": DEFAULT_INPUT},
                {
                    "And": [
                        {"Variable": "$.input", "IsString": True},
                        {"Variable": "$.input", "StringMatches": _string_matches_literal(prefix) + "*"},
                    ],
                    "Next": first,
                },
            ],
            "Default": INPUT_REFUSED,
        },
        DEFAULT_INPUT: {"Type": "Pass", "Result": prefix, "ResultPath": "$.input", "Next": first},
        INPUT_REFUSED: {
            "Type": "Fail",
            "Error": "Pipeline.InputOutsidePrefix",
            "Cause": f"The execution input's \"input\" must be an S3 URI under {prefix} (or left out, to read all of it).",
        },
    }


def build_definition(config: PipelineConfig, refs: DefinitionRefs) -> dict[str, Any]:
    """Return the ASL document as a dict. Pure: same inputs, same output."""
    tasks = pipeline_tasks(config, refs)
    states: dict[str, Any] = {}
    start = tasks[0].name
    if config.input is not None:
        states.update(input_states(config, tasks[0].name))
        start = CHOOSE_INPUT
    for task, following in zip(tasks, tasks[1:] + [None]):
        if following is not None and following.name == gate.REGISTER:  # Read evaluation -> the gate's Choice -> Register
            states[task.name] = {**task.state(refs, FAILED), "Next": gate.QUALITY_GATE}
            states.update(gate.gate_states(config))
            continue
        states[task.name] = {**task.state(refs, FAILED), **({"Next": following.name} if following else {"End": True})}
    states[FAILED] = {
        "Type": "Fail",
        "Comment": "Any state's error ends here; the execution keeps the original error and cause.",
        "ErrorPath": "$.error.Error",
        "CausePath": "$.error.Cause",
    }
    return {
        "Comment": _comment(config),
        "StartAt": start,
        "States": states,
    }


def _comment(config: PipelineConfig) -> str:
    if not config.processing.own_code and not config.training.script_mode:
        comment = "Generate a dataset, standardize it (SageMaker processing), train XGBoost (SageMaker training)."
        if config.batch_transform.enabled:
            comment = comment[:-1] + ", then predict the held-out rows (SageMaker model + batch transform)"
            comment += " and evaluate the predictions (SageMaker processing)." if config.evaluation_source else "."
        return comment[:-1] + _gate_comment(config) if config.quality_gate.enabled else comment
    data = f"Read {config.input.s3_uri}" if config.input is not None else "Generate a dataset"
    processing = f"run {config.processing.entry_point}" if config.processing.own_code else "standardize it"
    training = f"train with {config.training.entry_point}" if config.training.script_mode else "train XGBoost"
    comment = f"{data}, {processing} (SageMaker processing), {training} (SageMaker training)."
    return comment[:-1] + _gate_comment(config) if config.quality_gate.enabled else comment


def _gate_comment(config: PipelineConfig) -> str:
    gate = f"register the model only if {config.quality_gate.metric} passes the quality gate."
    if config.evaluation_source == "test":
        return f"; predict the test rows (SageMaker model + batch transform), evaluate them (SageMaker processing) and {gate}"
    return f"; {gate}"


# Every place the definition deliberately differs from the sample's
# (../shared/reference/sample-state-machine.asl.json), keyed by the sample's JSON path.
# tests/test_definition.py compares the two field by field and allows differences only here.
SAMPLE_DEVIATIONS: dict[str, str] = {
    f"States.{STANDARDIZE}.Parameters.ProcessingInputs.0.S3Input.S3Uri":
        "per-execution input runs/<execution>/input/raw.csv (the sample's runs overwrote each other)",
    f"States.{STANDARDIZE}.Parameters.ProcessingInputs.1.S3Input.S3Uri":
        "transform.py is content-addressed (code/<sha256>/transform.py) so a changed script is a visible change",
    f"States.{STANDARDIZE}.Parameters.ProcessingOutputConfig.Outputs.0.S3Output.S3Uri":
        "per-execution output runs/<execution>/train",
    f"States.{STANDARDIZE}.Parameters.AppSpecification.ImageUri":
        "current sagemaker-scikit-learn:1.2-1-cpu-py3 in the stack's region (sample: 0.20.0 in sa-east-1)",
    f"States.{TRAIN}.Parameters.AlgorithmSpecification.TrainingImage":
        "current sagemaker-xgboost:1.7-1 in the stack's region (sample: legacy xgboost:latest in sa-east-1)",
    f"States.{TRAIN}.Parameters.OutputDataConfig.S3OutputPath":
        "per-execution models runs/<execution>/models",
    f"States.{TRAIN}.Parameters.InputDataConfig.0.DataSource.S3DataSource.S3Uri":
        "training reads only the standardized data runs/<execution>/train/ (the sample read the bucket root)",
    f"States.{STANDARDIZE}.Parameters.ProcessingJobName.$":
        "the name Generate dataset gives the jobs: the execution's name when SageMaker accepts it, else a valid one "
        "derived from it (Step Functions accepts names SageMaker refuses: `_`, `.`, up to 80 characters)",
    f"States.{TRAIN}.Parameters.TrainingJobName.$":
        "as ProcessingJobName: the execution's name when SageMaker accepts it, else a valid one derived from it",
    # The sample's objective, eval_metric and num_round are kept (their leaves are still compared);
    # the default adds tree_method.
    f"States.{TRAIN}.Parameters.HyperParameters":
        "the sample's plus tree_method=hist: the 1.7-1 image's default is auto (AWS's XGBoost hyperparameters page), "
        "which xgboost 1.7 runs as approx from 4M rows (exact below), re-sketching every round; XGBoost recommends hist "
        "for large data and made it the default in 2.0 (docs/benchmarks.md, issue 27)",
}
