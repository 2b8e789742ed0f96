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
before any job, names the jobs (:data:`JOB_NAME`, ``generate_dataset.sagemaker_name``): the execution's
name, or a valid one derived from it. The data layout keeps the execution's name.
"""

from __future__ import annotations

from typing import Any

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
    "TRAIN", "DefinitionRefs", "build_definition", "pipeline_tasks",
]

GENERATE = "Generate dataset"
STANDARDIZE = "Standardization: x' = (x - x̄) / σ"
TRAIN = "Train model (XGBoost)"
CREATE_MODEL = "Create model"
TRANSFORM = "Batch transform"
FAILED = "Pipeline failed"
STATE_NAMES = (GENERATE, STANDARDIZE, TRAIN)
BATCH_TRANSFORM_STATE_NAMES = (CREATE_MODEL, TRANSFORM)

# Per-execution layout in the bucket. `{}` is filled with $$.Execution.Name by States.Format.
RUN_PREFIX = "runs/{}"
RAW_KEY = RUN_PREFIX + "/input/raw.csv"
TRAIN_PREFIX = RUN_PREFIX + "/train"
MODELS_PREFIX = RUN_PREFIX + "/models"
# With [batch_transform]: the held-out rows (features and labels, line for line) and the predictions.
HOLDOUT_PREFIX = RUN_PREFIX + "/holdout"
HOLDOUT_FEATURES_PREFIX = HOLDOUT_PREFIX + "/features"
PREDICTIONS_PREFIX = RUN_PREFIX + "/predictions"

# The SageMaker job (and model) name of the execution: the Generate dataset function returns it
# (scripts/generate_dataset.py, sagemaker_name): the execution's name when SageMaker's pattern
# ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62} accepts it, else a valid name derived from it. ASL's JSONPath
# intrinsics cannot test a string's length or pattern, so the first state, a function, does it.
JOB_NAME = "$.dataset.job_name"

# Paths inside the SageMaker processing container (as in the sample).
PROCESSING_INPUT = "/opt/ml/processing/input"
PROCESSING_CODE = "/opt/ml/processing/input/code"
PROCESSING_OUTPUT = "/opt/ml/processing/output/train"
PROCESSING_HOLDOUT = "/opt/ml/processing/output/holdout"

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


def standardize(config: PipelineConfig, refs: DefinitionRefs) -> SageMakerCreateProcessingJob:
    """Standardization: transform.py in the scikit-learn image, raw.csv in, train/ out."""
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
    return SageMakerCreateProcessingJob(
        name=STANDARDIZE,
        parameters={
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": processing.instance_count,
                    "InstanceType": processing.instance_type,
                    "VolumeSizeInGB": processing.volume_size_gb,
                }
            },
            "ProcessingInputs": [
                _s3_input("input-1", PROCESSING_INPUT, **{"S3Uri.$": _s3(bucket, RAW_KEY)}),
                _s3_input("code", PROCESSING_CODE, S3Uri=f"s3://{bucket}/{refs.transform_key}"),
            ],
            "ProcessingOutputConfig": {"Outputs": outputs},
            "AppSpecification": app,
            "StoppingCondition": {"MaxRuntimeInSeconds": processing.max_runtime_seconds},
            "RoleArn": refs.sagemaker_role_arn,
            "ProcessingJobName.$": JOB_NAME,
        },
        result_selector={"ProcessingJobArn.$": "$.ProcessingJobArn", "ProcessingJobStatus.$": "$.ProcessingJobStatus"},
        result_path="$.processing",
    )


def train(config: PipelineConfig, refs: DefinitionRefs) -> SageMakerCreateTrainingJob:
    """Train model (XGBoost): the built-in XGBoost image on train/ only (the sample read the bucket root)."""
    bucket, training = refs.bucket, config.training
    return SageMakerCreateTrainingJob(
        name=TRAIN,
        parameters={
            "AlgorithmSpecification": {"TrainingImage": config.training_image, "TrainingInputMode": "File"},
            "OutputDataConfig": {"S3OutputPath.$": _s3(bucket, MODELS_PREFIX)},
            "StoppingCondition": {"MaxRuntimeInSeconds": training.max_runtime_seconds},
            "ResourceConfig": {
                "InstanceCount": training.instance_count,
                "InstanceType": training.instance_type,
                "VolumeSizeInGB": training.volume_size_gb,
            },
            "RoleArn": refs.sagemaker_role_arn,
            "InputDataConfig": [
                {
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataDistributionType": "ShardedByS3Key",
                            "S3DataType": "S3Prefix",
                            "S3Uri.$": _s3(bucket, TRAIN_PREFIX + "/"),
                        }
                    },
                    "ChannelName": "train",
                    "ContentType": "text/csv",
                }
            ],
            "HyperParameters": {key: str(value) for key, value in training.hyperparameters.items()},
            "TrainingJobName.$": JOB_NAME,
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
            "ModelName.$": JOB_NAME,
            "PrimaryContainer": {"Image": config.training_image, "ModelDataUrl.$": "$.training.ModelArtifacts.S3ModelArtifacts"},
            "ExecutionRoleArn": refs.model_role_arn or refs.sagemaker_role_arn,
        },
        result_selector={"ModelArn.$": "$.ModelArn"},
        result_path="$.model",
    )


def batch_transform(config: PipelineConfig, refs: DefinitionRefs) -> SageMakerCreateTransformJob:
    """Batch transform: the model predicts every held-out line; SageMaker writes <input file>.out."""
    bucket, stage = refs.bucket, config.batch_transform
    return SageMakerCreateTransformJob(
        name=TRANSFORM,
        parameters={
            "TransformJobName.$": JOB_NAME,
            "ModelName.$": JOB_NAME,
            "MaxPayloadInMB": stage.max_payload_mb,
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri.$": _s3(bucket, HOLDOUT_FEATURES_PREFIX + "/")}},
                "ContentType": "text/csv",
                "SplitType": "Line",
            },
            "TransformOutput": {"S3OutputPath.$": _s3(bucket, PREDICTIONS_PREFIX), "Accept": "text/csv", "AssembleWith": "Line"},
            "TransformResources": {"InstanceCount": stage.instance_count, "InstanceType": stage.instance_type},
        },
        result_selector={"TransformJobArn.$": "$.TransformJobArn", "TransformJobStatus.$": "$.TransformJobStatus"},
        result_path="$.transform",
    )


def pipeline_tasks(config: PipelineConfig, refs: DefinitionRefs) -> list[Task]:
    """The pipeline's tasks, in order: what the definition chains and the state machine role needs."""
    tasks: list[Task] = [generate_dataset(refs), standardize(config, refs), train(config, refs)]
    if config.batch_transform.enabled:
        tasks += [create_model(config, refs), batch_transform(config, refs)]
    return tasks


def build_definition(config: PipelineConfig, refs: DefinitionRefs) -> dict[str, Any]:
    """Return the ASL document as a dict. Pure: same inputs, same output."""
    tasks = pipeline_tasks(config, refs)
    states: dict[str, Any] = {}
    for task, following in zip(tasks, tasks[1:] + [None]):
        states[task.name] = {**task.state(refs, FAILED), **({"Next": following.name} if following else {"End": True})}
    states[FAILED] = {
        "Type": "Fail",
        "Comment": "Any state's error ends here; the execution keeps the original error and cause.",
        "ErrorPath": "$.error.Error",
        "CausePath": "$.error.Cause",
    }
    comment = "Generate a dataset, standardize it (SageMaker processing), train XGBoost (SageMaker training)."
    if config.batch_transform.enabled:
        comment = comment[:-1] + ", then predict the held-out rows (SageMaker model + batch transform)."
    return {
        "Comment": comment,
        "StartAt": tasks[0].name,
        "States": states,
    }


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
}
