"""The state machine definition (Amazon States Language), built by a pure function from the config.

It keeps the sample's three states, their names and order, their integration patterns
(a Lambda task, ``sagemaker:createProcessingJob.sync``, ``sagemaker:createTrainingJob.sync``),
instance settings and hyperparameters, and fixes the sample's defects:

* training reads only the standardized data (the sample's channel read the bucket root);
* every execution writes under ``runs/<execution name>/`` so runs never overwrite each other;
* images are current and regional (sklearn 1.2-1, sagemaker-xgboost 1.7-1), not pinned to sa-east-1;
* transient errors are retried, and any error ends in a Fail state that keeps the error and cause.

Job names stay ``$$.Execution.Name``-based, as in the sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .config import PipelineConfig

GENERATE = "Generate dataset"
STANDARDIZE = "Standardization: x' = (x - x̄) / σ"
TRAIN = "Train model (XGBoost)"
FAILED = "Pipeline failed"
STATE_NAMES = (GENERATE, STANDARDIZE, TRAIN)

# Per-execution layout in the bucket. `{}` is filled with $$.Execution.Name by States.Format.
RUN_PREFIX = "runs/{}"
RAW_KEY = RUN_PREFIX + "/input/raw.csv"
TRAIN_PREFIX = RUN_PREFIX + "/train"
MODELS_PREFIX = RUN_PREFIX + "/models"

# Paths inside the SageMaker processing container (as in the sample).
PROCESSING_INPUT = "/opt/ml/processing/input"
PROCESSING_CODE = "/opt/ml/processing/input/code"
PROCESSING_OUTPUT = "/opt/ml/processing/output/train"

# Transient errors worth a retry. Step Functions names an integration's errors
# "<Service>.<Exception>" (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
# Lambda: the four service errors AWS's best practices say to retry
# (https://docs.aws.amazon.com/step-functions/latest/dg/sfn-best-practices.html#bp-lambda-serviceexception).
LAMBDA_TRANSIENT_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
# SageMaker: only ResourceLimitExceeded ("You have exceeded an SageMaker resource limit. For example,
# you might have too many training jobs created": the Errors of CreateProcessingJob/CreateTrainingJob,
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTrainingJob.html#API_CreateTrainingJob_Errors).
# The create was refused, so no job of that name exists and the retry cannot fail on "job names
# must be unique" (ResourceInUse). Not retried: SageMaker.AmazonSageMakerException (it also carries
# validation errors that never succeed), States.TaskFailed (the job ran and failed: a retry with the
# same name would be refused as ResourceInUse), and a bare "ThrottlingException" (no integration
# error has that name; Step Functions itself retries the .sync polling).
SAGEMAKER_TRANSIENT_ERRORS = ["SageMaker.ResourceLimitExceededException"]
RETRY_INTERVAL_SECONDS = 5
RETRY_MAX_ATTEMPTS = 3
RETRY_BACKOFF_RATE = 2.0


@dataclass(frozen=True)
class DefinitionRefs:
    """Values the definition points at. Literal strings, or Terraform references when synthesized."""

    bucket: str
    lambda_arn: str
    sagemaker_role_arn: str
    transform_key: str
    partition: str = "aws"  # arn:<partition>:states:::... (a Terraform reference when synthesized)

    def integration(self, service: str, api: str) -> str:
        """An optimized integration's Resource ARN, in the stack's partition
        (https://docs.aws.amazon.com/step-functions/latest/dg/integrate-optimized.html)."""
        return f"arn:{self.partition}:states:::{service}:{api}"


def _s3(bucket: str, key_template: str) -> str:
    """An intrinsic building s3://bucket/<key with the execution name>."""
    return f"States.Format('s3://{bucket}/{key_template}', $$.Execution.Name)"


def _retry(errors: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "ErrorEquals": errors,
            "IntervalSeconds": RETRY_INTERVAL_SECONDS,
            "MaxAttempts": RETRY_MAX_ATTEMPTS,
            "BackoffRate": RETRY_BACKOFF_RATE,
            "JitterStrategy": "FULL",
        }
    ]


def _catch() -> list[dict[str, Any]]:
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": FAILED}]


def build_definition(config: PipelineConfig, refs: DefinitionRefs) -> dict[str, Any]:
    """Return the ASL document as a dict. Pure: same inputs, same output."""
    bucket = refs.bucket
    processing, training = config.processing, config.training
    return {
        "Comment": "Generate a dataset, standardize it (SageMaker processing), train XGBoost (SageMaker training).",
        "StartAt": GENERATE,
        "States": {
            GENERATE: {
                "Type": "Task",
                "Resource": refs.lambda_arn,
                "Parameters": {
                    "bucket": bucket,
                    "key.$": f"States.Format('{RAW_KEY}', $$.Execution.Name)",
                    "options.$": "$",
                },
                "ResultSelector": {"s3_uri.$": "$.s3_uri", "rows.$": "$.rows"},
                "ResultPath": "$.dataset",
                "Retry": _retry(LAMBDA_TRANSIENT_ERRORS),
                "Catch": _catch(),
                "Next": STANDARDIZE,
            },
            STANDARDIZE: {
                "Type": "Task",
                "Resource": refs.integration("sagemaker", "createProcessingJob.sync"),
                "Parameters": {
                    "ProcessingResources": {
                        "ClusterConfig": {
                            "InstanceCount": processing.instance_count,
                            "InstanceType": processing.instance_type,
                            "VolumeSizeInGB": processing.volume_size_gb,
                        }
                    },
                    "ProcessingInputs": [
                        {
                            "InputName": "input-1",
                            "S3Input": {
                                "S3Uri.$": _s3(bucket, RAW_KEY),
                                "LocalPath": PROCESSING_INPUT,
                                "S3DataType": "S3Prefix",
                                "S3InputMode": "File",
                                "S3DataDistributionType": "FullyReplicated",
                                "S3CompressionType": "None",
                            },
                        },
                        {
                            "InputName": "code",
                            "S3Input": {
                                "S3Uri": f"s3://{bucket}/{refs.transform_key}",
                                "LocalPath": PROCESSING_CODE,
                                "S3DataType": "S3Prefix",
                                "S3InputMode": "File",
                                "S3DataDistributionType": "FullyReplicated",
                                "S3CompressionType": "None",
                            },
                        },
                    ],
                    "ProcessingOutputConfig": {
                        "Outputs": [
                            {
                                "OutputName": "train_data",
                                "S3Output": {
                                    "S3Uri.$": _s3(bucket, TRAIN_PREFIX),
                                    "LocalPath": PROCESSING_OUTPUT,
                                    "S3UploadMode": "EndOfJob",
                                },
                            }
                        ]
                    },
                    "AppSpecification": {
                        "ImageUri": config.processing_image,
                        "ContainerEntrypoint": ["python3", f"{PROCESSING_CODE}/transform.py"],
                    },
                    "StoppingCondition": {"MaxRuntimeInSeconds": processing.max_runtime_seconds},
                    "RoleArn": refs.sagemaker_role_arn,
                    "ProcessingJobName.$": "$$.Execution.Name",
                },
                "ResultSelector": {"ProcessingJobArn.$": "$.ProcessingJobArn", "ProcessingJobStatus.$": "$.ProcessingJobStatus"},
                "ResultPath": "$.processing",
                "Retry": _retry(SAGEMAKER_TRANSIENT_ERRORS),
                "Catch": _catch(),
                "Next": TRAIN,
            },
            TRAIN: {
                "Type": "Task",
                "Resource": refs.integration("sagemaker", "createTrainingJob.sync"),
                "Parameters": {
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
                    "TrainingJobName.$": "$$.Execution.Name",
                },
                "ResultSelector": {
                    "TrainingJobArn.$": "$.TrainingJobArn",
                    "TrainingJobStatus.$": "$.TrainingJobStatus",
                    "ModelArtifacts.$": "$.ModelArtifacts",
                },
                "ResultPath": "$.training",
                "Retry": _retry(SAGEMAKER_TRANSIENT_ERRORS),
                "Catch": _catch(),
                "End": True,
            },
            FAILED: {
                "Type": "Fail",
                "Comment": "Any state's error ends here; the execution keeps the original error and cause.",
                "ErrorPath": "$.error.Error",
                "CausePath": "$.error.Cause",
            },
        },
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
}
