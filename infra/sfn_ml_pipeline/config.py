"""`PipelineConfig`: every knob of the pipeline, typed and validated before anything is synthesized.

Loaded from TOML (``pipeline.toml`` by default). Unknown keys are errors: a typo must never be
silently ignored. Every invalid value raises :class:`ConfigError` with a one-line message that
names the key.
"""

from __future__ import annotations

import json
import re
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from .quality import GROUPS, METRICS, ProblemType, metric_names, problem_of_objective
from .rules import (
    BUCKET_NAME, CODE_SIGNING_CONFIG_ARN, DATA_NAME, ECR_IMAGE, ENV_NAME, KMS_KEY_ARN, ML_INSTANCE, NAME_PREFIX, S3_URI,
    SECURITY_GROUP_ID, SUBNET_ID,
)

DEFAULT_CONFIG_FILE = Path("pipeline.toml")

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)

_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_BUCKET = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# An unresolved CDK Terrain string token (e.g. `KmsKey(...).arn` in an estate composing the
# construct): Terraform resolves it at apply time, so only literal values can be checked here.
_TOKEN = re.compile(r"^\$\{TfToken\[TOKEN\.\d+\]\}$")


class ConfigError(ValueError):
    """A configuration problem, already phrased as one line naming the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


@cache
def ecr_accounts() -> dict[str, str]:
    """Region -> ECR account serving the SageMaker sklearn and XGBoost images (data/ecr_accounts.json)."""
    table = json.loads(resources.files("sfn_ml_pipeline").joinpath("data/ecr_accounts.json").read_text())
    return table["accounts"]


def _instance_type(value: str) -> str:
    if not ML_INSTANCE.match(value):
        raise ValueError(f"{value!r} {ML_INSTANCE.message}")
    return value


def _image(value: str | None) -> str | None:
    if value is not None and not ECR_IMAGE.match(value):
        raise ValueError(f"{value!r} {ECR_IMAGE.message}")
    return value


def _source_dir(value: str | Path | None, info: ValidationInfo) -> Path | None:
    """A code folder: relative to the config file's folder (the validation context's ``base_dir``),
    else to the working directory; it must exist."""
    if value is None:
        return None
    base = Path((info.context or {}).get("base_dir") or ".")
    path = (base / Path(value).expanduser()).resolve()
    if not path.is_dir():
        raise ValueError(f"folder {path} not found (a path relative to the config file's folder)")
    return path


def _entry_point(value: str | None) -> str | None:
    if value is None:
        return None
    if value.startswith("/") or ".." in Path(value).parts or not value.endswith(".py"):
        raise ValueError(f"{value!r} must be a .py file inside source_dir, given relative to it (e.g. 'train.py')")
    return value


def _code_pair(source_dir: Path | None, entry_point: str | None) -> None:
    """source_dir and entry_point come together, and the entry point is in the folder."""
    if (source_dir is None) != (entry_point is None):
        raise ValueError("set both source_dir and entry_point (your code folder and the script in it that runs)")
    if source_dir is not None and not (source_dir / entry_point).is_file():
        raise ValueError(f"entry point {entry_point!r} not found in {source_dir}")


def _requirements_reachable(section: str, source_dir: Path | None, isolated: bool) -> None:
    """A requirements.txt is installed from a package index inside the job's container, which a
    network-isolated job "can't make any outbound network calls" from
    (https://docs.aws.amazon.com/sagemaker/latest/dg/mkt-algo-model-internet-free.html): on AWS the
    job would fail at `pip install`. Vendored packages (in the folder itself) need no network."""
    if isolated and source_dir is not None and (source_dir / "requirements.txt").is_file():
        raise ValueError(
            f"{source_dir / 'requirements.txt'}: the {section} job runs network-isolated, so pip cannot reach a package index "
            f"there: vendor the packages into the folder (`pip install -r requirements.txt --target {source_dir}`, then remove "
            f"requirements.txt) or set {section}.network_isolation = false"
        )


class InputConfig(_Strict):
    """Your data: every object under ``s3_uri`` is the processing job's input (mounted at
    /opt/ml/processing/input/data). With it the stack has no Generate dataset state and no Lambda.
    ``pipeline-tools run --input`` may point one execution at a location under it."""

    s3_uri: str = Field(description="s3://BUCKET/PREFIX/: the run reads everything under this prefix.")
    kms_key_arn: str | None = Field(None, description="The key of that bucket's objects, when they are SSE-KMS encrypted.")

    @field_validator("s3_uri")
    @classmethod
    def _uri(cls, value: str) -> str:
        if not S3_URI.match(value):
            raise ValueError(f"{value!r} {S3_URI.message}")
        # A prefix is a folder: "s3://b/churn" would also match "s3://b/churn-other/..." in IAM and in
        # the state machine's check, so the folder's "/" is part of it.
        return value if value.endswith("/") else value + "/"

    @field_validator("kms_key_arn")
    @classmethod
    def _kms(cls, value: str | None) -> str | None:
        if value is not None and not KMS_KEY_ARN.match(value):
            raise ValueError(KMS_KEY_ARN.message)
        return value

    @property
    def bucket(self) -> str:
        return S3_URI.match(self.s3_uri)["bucket"]

    @property
    def prefix(self) -> str:
        """The key prefix under the bucket ("" for the whole bucket), ending with "/" unless empty."""
        return S3_URI.match(self.s3_uri)["prefix"] or ""


class MetricDefinition(_Strict):
    """A metric SageMaker reads from the training job's logs (AlgorithmSpecification.MetricDefinitions:
    at most 40; Name 1-255 characters, Regex 1-500 with one group;
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_MetricDefinition.html)."""

    name: str = Field(min_length=1, max_length=255)
    regex: str = Field(min_length=1, max_length=500)

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as error:
            raise ValueError(f"{value!r} is not a regular expression: {error}") from None
        if compiled.groups < 1:
            raise ValueError(f"{value!r} needs a group around the value, e.g. 'auc:([0-9.]+)'")
        return value


class DatasetConfig(_Strict):
    """The synthetic dataset the Lambda writes: label = 1 if y >= slope * x + intercept."""

    rows: int = Field(5000, ge=1, le=100_000_000)
    seed: int | None = Field(None, description="Random seed; None draws a fresh dataset on every run.")
    slope: float = 3.0
    intercept: float = 5.0
    max_value: int = Field(100, ge=1, description="x and y are random integers in 0..max_value.")


class ProcessingConfig(_Strict):
    """Standardization: the SageMaker processing job running transform.py."""

    instance_type: str = "ml.m5.xlarge"
    instance_count: int = Field(1, ge=1, le=100)
    volume_size_gb: int = Field(10, ge=1, le=16384)
    max_runtime_seconds: int = Field(300, ge=1, le=432_000)
    image: str | None = Field(None, description="Override; default sagemaker-scikit-learn:1.2-1-cpu-py3 in the region.")
    image_tag: str = "1.2-1-cpu-py3"
    # Your code (default: the sample's transform.py). The folder is packaged reproducibly and runs as
    # the SageMaker SDK's FrameworkProcessor runs a source_dir: requirements.txt installed first.
    source_dir: Path | None = Field(None, description="Your processing code folder, relative to the config file.")
    entry_point: str | None = Field(None, description="The script in source_dir the job runs (e.g. preprocess.py).")
    # AppSpecification.ContainerArguments: at most 100, each at most 256 characters
    # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_AppSpecification.html).
    arguments: list[str] = Field(default_factory=list, max_length=100)
    # Environment: at most 100 entries, values at most 256 characters (API_CreateProcessingJob.html).
    environment: dict[str, str] = Field(default_factory=dict, max_length=100)
    # Each is /opt/ml/processing/output/<name>/ -> runs/<execution>/<name>/ (ProcessingOutputConfig:
    # at most 10 outputs, https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingOutputConfig.html).
    outputs: list[str] = Field(default_factory=lambda: ["train"], min_length=1, max_length=10)
    network_isolation: bool = Field(True, description="NetworkConfig.EnableNetworkIsolation: no network, no credentials in the container.")

    @field_validator("instance_type")
    @classmethod
    def _check_instance(cls, value: str) -> str:
        return _instance_type(value)

    @field_validator("image")
    @classmethod
    def _check_image(cls, value: str | None) -> str | None:
        return _image(value)

    @field_validator("source_dir", mode="before")
    @classmethod
    def _check_source_dir(cls, value, info: ValidationInfo):
        return _source_dir(value, info)

    @field_validator("entry_point")
    @classmethod
    def _check_entry_point(cls, value: str | None) -> str | None:
        return _entry_point(value)

    @field_validator("arguments")
    @classmethod
    def _check_arguments(cls, value: list[str]) -> list[str]:
        for argument in value:
            if len(argument) > 256:
                raise ValueError(f"argument {argument[:40]!r}... is longer than 256 characters (SageMaker's limit)")
        return value

    @field_validator("environment")
    @classmethod
    def _check_environment(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not ENV_NAME.match(name):
                raise ValueError(f"{name!r} {ENV_NAME.message}")
            if len(text) > 256:
                raise ValueError(f"the value of {name} is longer than 256 characters (SageMaker's limit)")
        return value

    @field_validator("outputs")
    @classmethod
    def _check_outputs(cls, value: list[str]) -> list[str]:
        for name in value:
            if not DATA_NAME.match(name):
                raise ValueError(f"{name!r} {DATA_NAME.message}")
        duplicates = sorted({name for name in value if value.count(name) > 1})
        if duplicates:
            raise ValueError(f"{duplicates[0]!r} is listed twice")
        if len(" ".join(value)) > 240:  # declared in a state machine tag (at most 256 characters, with holdout)
            raise ValueError("the output names take more than 240 characters together; use shorter names")
        reserved = sorted(set(value) & RESERVED_DATA_NAMES)
        if reserved:
            raise ValueError(f"{reserved[0]!r} is a folder the pipeline writes itself (runs/<execution>/{reserved[0]}/); pick another name")
        return value

    @model_validator(mode="after")
    def _code(self) -> "ProcessingConfig":
        _code_pair(self.source_dir, self.entry_point)
        _requirements_reachable("processing", self.source_dir, self.network_isolation)
        return self

    @property
    def own_code(self) -> bool:
        return self.source_dir is not None


# Folders of runs/<execution>/ the pipeline writes itself (the generated dataset, the model, the
# batch transform's predictions, issue 23's evaluation): no processing output may take their names.
RESERVED_DATA_NAMES = frozenset({"input", "models", "predictions", "evaluation", "code"})


class TrainingConfig(_Strict):
    """Train model (XGBoost): the SageMaker training job with the built-in XGBoost image."""

    instance_type: str = "ml.m5.xlarge"
    instance_count: int = Field(1, ge=1, le=100)
    volume_size_gb: int = Field(30, ge=1, le=16384)
    max_runtime_seconds: int = Field(86_400, ge=1, le=2_419_200)
    image: str | None = Field(None, description="Override; default sagemaker-xgboost:1.7-1 in the region.")
    image_tag: str = "1.7-1"
    # HyperParameters: at most 100, keys at most 256 and values at most 2,500 characters
    # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTrainingJob.html#sagemaker-CreateTrainingJob-request-HyperParameters).
    # The sample's three, plus tree_method "hist": the image's default is "auto" (AWS's XGBoost
    # hyperparameters page; the 1.7-1 container sets none, algorithm_mode/train.py), which xgboost
    # 1.7 turns into "exact" below 4M rows and "approx" above or on several hosts (gbtree.cc
    # PerformTreeMethodHeuristic), re-sketching every round; XGBoost's docs recommend "hist" for large
    # data and make it "auto" from 2.0. Measured in docs/benchmarks.md (issue 27).
    hyperparameters: dict[str, str | int | float] = Field(
        default_factory=lambda: {"objective": "reg:logistic", "eval_metric": "rmse", "num_round": "5", "tree_method": "hist"},
        max_length=100,
    )
    # Script mode: the image runs your script (sagemaker_program in sourcedir.tar.gz), as the SageMaker
    # SDK's framework estimators do; without it, the built-in XGBoost algorithm trains.
    source_dir: Path | None = Field(None, description="Script mode: your training code folder, relative to the config file.")
    entry_point: str | None = Field(None, description="Script mode: the script in source_dir (e.g. train.py).")
    metric_definitions: list[MetricDefinition] = Field(default_factory=list, max_length=40)
    channels: list[str] | None = Field(
        None, description="Processing outputs training reads, each as a channel. Default: train, and validation when an output has that name."
    )
    network_isolation: bool = Field(True, description="EnableNetworkIsolation: no network, no credentials in the container.")

    @field_validator("instance_type")
    @classmethod
    def _check_instance(cls, value: str) -> str:
        return _instance_type(value)

    @field_validator("image")
    @classmethod
    def _check_image(cls, value: str | None) -> str | None:
        return _image(value)

    @field_validator("source_dir", mode="before")
    @classmethod
    def _check_source_dir(cls, value, info: ValidationInfo):
        return _source_dir(value, info)

    @field_validator("entry_point")
    @classmethod
    def _check_entry_point(cls, value: str | None) -> str | None:
        return _entry_point(value)

    @field_validator("hyperparameters")
    @classmethod
    def _hyperparameters(cls, value: dict[str, str | int | float]) -> dict[str, str | int | float]:
        for key, item in value.items():
            if not 1 <= len(key) <= 256 or len(str(item)) > 2500:
                raise ValueError(f"{key[:40]!r}: keys are 1-256 and values at most 2,500 characters (SageMaker's limits)")
            if key.startswith("sagemaker_"):
                raise ValueError(f"{key!r}: the sagemaker_ hyperparameters are set by the pipeline (script mode)")
        return value

    @field_validator("channels")
    @classmethod
    def _check_channels(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if not value:
                raise ValueError("list at least one processing output (e.g. ['train'])")
            if "code" in value:
                raise ValueError("'code' is the channel of your training code (script mode); name the data otherwise")
        return value

    @model_validator(mode="after")
    def _mode(self) -> "TrainingConfig":
        _code_pair(self.source_dir, self.entry_point)
        _requirements_reachable("training", self.source_dir, self.network_isolation)
        if self.script_mode:
            return self
        if self.metric_definitions:
            raise ValueError("metric_definitions are for script mode (source_dir); "
                             "the built-in XGBoost algorithm publishes its own (validation:auc, train:rmse, ...)")
        if "num_round" not in self.hyperparameters:
            raise ValueError("hyperparameters: 'num_round' is required by the built-in XGBoost algorithm")
        try:
            rounds = int(str(self.hyperparameters["num_round"]))
        except ValueError:
            raise ValueError(f"hyperparameters: num_round must be an integer, got {self.hyperparameters['num_round']!r}") from None
        if rounds < 1:
            raise ValueError("hyperparameters: num_round must be >= 1")
        return self

    @property
    def script_mode(self) -> bool:
        return self.source_dir is not None


class BatchTransformConfig(_Strict):
    """Batch transform and evaluation (off by default: the sample's three states stay the graph).

    With ``enabled``, Standardization holds ``held_out_fraction`` of the rows out of training
    (standardized with the training part's mean and standard deviation), and after training the
    pipeline creates a SageMaker model and runs a batch transform on the held-out features; `run`
    scores the predictions against the held-out labels.
    """

    enabled: bool = False
    instance_type: str = "ml.m5.xlarge"
    instance_count: int = Field(1, ge=1, le=100)
    max_payload_mb: int = Field(6, ge=1, le=100, description="MaxPayloadInMB of the transform job (SageMaker: 0-100, default 6).")
    held_out_fraction: float = Field(0.2, gt=0.0, lt=1.0, description="Share of the rows kept out of training for evaluation.")

    @field_validator("instance_type")
    @classmethod
    def _check_instance(cls, value: str) -> str:
        return _instance_type(value)


# SageMaker's ModelApprovalStatus: Approved | Rejected | PendingManualApproval
# (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModelPackage.html#sagemaker-CreateModelPackage-request-ModelApprovalStatus).
APPROVAL_STATUSES = ("Approved", "Rejected", "PendingManualApproval")


class QualityGateConfig(_Strict):
    """``[quality_gate]``: the state machine evaluates the trained model on rows training never saw
    (the batch transform's held-out split, or your processing output named ``test``), and registers it
    in the stack's model package group only when ``metric`` reaches ``threshold``; otherwise the
    execution fails naming the metric, its value and the threshold. README "The model's quality decides"."""

    enabled: bool = False
    metric: str = Field("auc", description="A metric of evaluation.json (Model Monitor's names, plus logloss).")
    threshold: float | None = Field(None, description="The value the metric must reach (>= for higher-is-better metrics, <= for the others).")
    approval_status: str = Field("PendingManualApproval", description="The registered version's ModelApprovalStatus: PendingManualApproval or Approved.")
    problem_type: ProblemType | None = Field(None, description="binary or regression; default: from the training objective.")

    @field_validator("threshold", mode="before")
    @classmethod
    def _threshold(cls, value):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ValueError(f"{value!r} is not a number (e.g. threshold = 0.9)")
        return value

    @field_validator("approval_status")
    @classmethod
    def _approval(cls, value: str) -> str:
        if value not in APPROVAL_STATUSES:
            raise ValueError(f"{value!r} is not one of SageMaker's ModelApprovalStatus values ({', '.join(APPROVAL_STATUSES)})")
        if value == "Rejected":
            raise ValueError("'Rejected' would register every model that passes the gate as rejected; use PendingManualApproval or Approved")
        return value

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        if value not in METRICS:
            raise ValueError(
                f"{value!r} is not a metric the gate decides on; binary: {', '.join(metric_names('binary'))}; "
                f"regression: {', '.join(metric_names('regression'))}"
            )
        return value


class LambdaConfig(_Strict):
    """The "Generate dataset" function."""

    runtime: Literal["python3.11", "python3.12", "python3.13"] = "python3.12"
    memory_mb: int = Field(512, ge=128, le=10_240)
    timeout_seconds: int = Field(300, ge=1, le=900)
    # Unset by default: a reservation must "leave at least 100 simultaneous executions unreserved for
    # functions that aren't configured with a per-function limit"
    # (https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionConcurrency.html), and new
    # accounts have reduced concurrency quotas (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html),
    # so on an account whose quota is 100 or less any reservation fails the deploy.
    reserved_concurrency: int | None = Field(None, ge=1, le=1000)
    # Code signing: Lambda then accepts only packages signed by the configuration's signing profiles
    # (https://docs.aws.amazon.com/lambda/latest/dg/configuration-codesigning.html). Unset by default:
    # it needs an AWS Signer profile and a signed package (checkov CKV_AWS_272's skip says so).
    code_signing_config_arn: str | None = Field(None, description="A Lambda code signing configuration (AWS Signer).")

    @field_validator("code_signing_config_arn")
    @classmethod
    def _code_signing(cls, value: str | None) -> str | None:
        if value is not None and not (CODE_SIGNING_CONFIG_ARN.match(value) or _TOKEN.match(value)):
            raise ValueError(f"{value!r} {CODE_SIGNING_CONFIG_ARN.message}")
        return value


def _ids(value: list[str], rule, limit: int) -> list[str]:
    """A list of subnet or security group IDs: 1..limit of them, each an ID (or a CDK Terrain token), no repeats."""
    if not value:
        raise ValueError(f"{rule.name} needs at least one ID")
    if len(value) > limit:
        raise ValueError(f"at most {limit} {rule.name} (the Lambda and SageMaker VpcConfig limit), got {len(value)}")
    for item in value:
        if not (rule.match(item) or _TOKEN.match(item)):
            raise ValueError(f"{item!r}: {rule.name} {rule.message}")
    if len(set(value)) != len(value):
        raise ValueError(f"{rule.name} lists an ID twice")
    return value


class NetworkConfig(_Strict):
    """``[network]``: the Lambda and every SageMaker job and model in your VPC's subnets, with your
    security groups. The subnets need the VPC endpoints of README "Private subnets" (no internet)."""

    # Lambda's VpcConfig and SageMaker's both take up to 16 subnets and 5 security groups
    # (https://docs.aws.amazon.com/lambda/latest/api/API_VpcConfig.html,
    # https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_VpcConfig.html).
    subnet_ids: list[str]
    security_group_ids: list[str]

    @field_validator("subnet_ids")
    @classmethod
    def _subnets(cls, value: list[str]) -> list[str]:
        return _ids(value, SUBNET_ID, 16)

    @field_validator("security_group_ids")
    @classmethod
    def _groups(cls, value: list[str]) -> list[str]:
        return _ids(value, SECURITY_GROUP_ID, 5)


class BackendConfig(_Strict):
    """Where Terraform keeps the state. ``local`` (default): ``.pipeline-tools/state/<target>/``, out of
    the source tree. ``s3``: an S3 bucket with S3-native locking (``use_lockfile``, Terraform >= 1.10),
    so no DynamoDB table is needed. Only ``--target aws`` uses it; the local target always keeps its
    state locally (the emulator forgets everything when it stops)."""

    type: Literal["local", "s3"] = "local"
    bucket: str | None = Field(None, description="State bucket (type = 's3' only; must already exist).")
    key: str = Field("sfn-ml-pipeline/terraform.tfstate", description="Object key of the state file.")
    region: str | None = Field(None, description="Region of the state bucket. Default: the pipeline's region.")
    use_lockfile: bool = Field(True, description="S3-native state locking (Terraform >= 1.10).")
    encrypt: bool = Field(True, description="Server-side encryption of the state object.")

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str | None) -> str | None:
        if value is not None and not _BUCKET.match(value):
            raise ValueError(f"{value!r} is not a valid S3 bucket name (3-63 chars: a-z, 0-9, '.', '-')")
        return value

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not value or value.startswith("/") or len(value) > 1024 or any(ord(c) < 32 for c in value):
            raise ValueError(f"{value!r} is not a usable S3 object key (non-empty, no leading '/', printable)")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not _REGION.match(value):
            raise ValueError(f"{value!r} is not an AWS region name (e.g. 'eu-west-1')")
        return value

    @model_validator(mode="after")
    def _complete(self) -> "BackendConfig":
        if self.type == "s3" and self.bucket is None:
            raise ValueError("type = 's3' needs bucket = '<existing state bucket>'")
        if self.type == "local" and self.bucket is not None:
            raise ValueError("bucket is only used with type = 's3'")
        return self


class PipelineConfig(_Strict):
    """Everything the `MlPipeline` construct and its stack need. All fields have production-sane defaults.

    ``region``, ``provider_version``, ``backend`` and ``tags`` are deployment settings: the stack
    (``stack.py``) uses them for its provider and backend. The construct reads none of them: its ARNs
    come from the provider's partition, region and account, and it resolves the images for the
    provider's region (``in_region``), as the exported module does.
    """

    name_prefix: str = Field("mlpipe", description="Prefix of every resource name (lowercase, <= 20 chars).")
    region: str = "us-east-1"
    bucket_name: str | None = Field(None, description="Default: <prefix>-data-<account>-<region>.")
    log_retention_days: int = Field(365, description="CloudWatch Logs retention (>= 1 year by default, checkov CKV_AWS_338).")
    kms_key_arn: str | None = Field(None, description="Your customer-managed KMS key for the bucket, logs and Lambda environment.")
    create_kms_key: bool = Field(
        True,
        description="Without kms_key_arn: the stack creates its own customer-managed key (rotation on). "
        "False: AWS-managed encryption (SSE-S3, CloudWatch Logs' and Lambda's own keys).",
    )
    tags: dict[str, str] = Field(default_factory=dict)
    access_log_bucket: str | None = Field(
        None, description="S3 server access logging of the data bucket into this (existing, separately governed) bucket."
    )
    network: NetworkConfig | None = Field(None, description="The Lambda and every SageMaker job and model in these subnets.")
    provider_version: str = Field(">= 5.100, < 7", description="hashicorp/aws version constraint.")
    input: InputConfig | None = Field(None, description="Your data in S3; without it the Generate dataset Lambda writes the sample's.")
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)
    processing: ProcessingConfig = Field(default_factory=ProcessingConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    batch_transform: BatchTransformConfig = Field(default_factory=BatchTransformConfig)
    quality_gate: QualityGateConfig = Field(default_factory=QualityGateConfig)
    generate_lambda: LambdaConfig = Field(default_factory=LambdaConfig, alias="lambda")
    backend: BackendConfig = Field(default_factory=BackendConfig)
    query_language: Literal["JSONPath", "JSONata"] = Field(
        "JSONPath",
        description="The state machine's query language: JSONPath (the sample's) or JSONata, the same states "
        "translated (sfn_ml_pipeline.jsonata; docs/step-functions-conformance.md).",
    )

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, populate_by_name=True)

    @field_validator("name_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not NAME_PREFIX.match(value):
            raise ValueError(NAME_PREFIX.message)
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not _REGION.match(value):
            raise ValueError(f"{value!r} is not an AWS region name (e.g. 'eu-west-1')")
        return value

    @field_validator("bucket_name")
    @classmethod
    def _bucket(cls, value: str | None) -> str | None:
        if value is not None and not _BUCKET.match(value):
            raise ValueError(f"{value!r} is not a valid S3 bucket name (3-63 chars: a-z, 0-9, '.', '-')")
        return value

    @field_validator("access_log_bucket")
    @classmethod
    def _access_log_bucket(cls, value: str | None) -> str | None:
        if value is not None and not (_BUCKET.match(value) or _TOKEN.match(value)):
            raise ValueError(f"{value!r} {BUCKET_NAME.message}")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"{value} is not a CloudWatch Logs retention period; use one of {LOG_RETENTION_DAYS}")
        return value

    @field_validator("kms_key_arn")
    @classmethod
    def _kms(cls, value: str | None) -> str | None:
        if value is not None and not (KMS_KEY_ARN.match(value) or _TOKEN.match(value)):
            raise ValueError(f"{KMS_KEY_ARN.message} or a CDK Terrain token such as KmsKey(...).arn")
        return value

    @field_validator("provider_version")
    @classmethod
    def _provider_version(cls, value: str) -> str:
        # Must admit the 5.100.0 provider (the offline mirror) and 6.x (current). Cheap check of the common forms.
        if not re.fullmatch(r"[\s0-9.,<>=~!]+", value):
            raise ValueError(f"{value!r} is not a Terraform version constraint (e.g. '>= 5.100, < 7')")
        return value

    @model_validator(mode="after")
    def _data_flow(self) -> "PipelineConfig":
        """Your data needs your processing code; training reads processing outputs that exist."""
        if self.input is not None and not self.processing.own_code:
            raise ValueError(
                "[input] needs your processing code: set processing.source_dir and processing.entry_point "
                "(the sample's transform.py reads only the generated label,x,y table)"
            )
        outputs = self.processing.outputs
        for channel in self.training_channels:
            if channel not in outputs:
                raise ValueError(
                    f"training reads channel {channel!r}, which processing does not write: "
                    f"add it to processing.outputs (now {outputs}) or change training.channels"
                )
        if not self.training.script_mode and "train" not in self.training_channels:
            raise ValueError("the built-in XGBoost algorithm needs a 'train' channel: name a processing output 'train'")
        if self.batch_transform.enabled and self.processing.own_code:
            raise ValueError(
                "batch_transform predicts the held-out rows the sample's transform.py writes; with your own "
                "processing code, write a 'test' output instead (the batch transform stage needs transform.py)"
            )
        return self

    @model_validator(mode="before")
    @classmethod
    def _gate_implies_the_stage(cls, data):
        """The gate on the sample's data needs the batch transform's held-out predictions: it turns the
        stage on (an explicit ``enabled = false`` beside it is a contradiction, refused below)."""
        if not isinstance(data, dict):
            return data
        gate, processing = data.get("quality_gate"), data.get("processing")
        own_code = isinstance(processing, dict) and processing.get("source_dir") is not None
        stage = data.get("batch_transform")
        if isinstance(gate, dict) and gate.get("enabled") is True and not own_code and isinstance(stage, (dict, type(None))):
            stage = dict(stage or {})
            if stage.get("enabled") is False:
                raise ValueError("quality_gate.enabled needs the batch transform's held-out predictions: "
                                 "remove batch_transform.enabled = false (the gate turns the stage on)")
            data = {**data, "batch_transform": {**stage, "enabled": True}}
        return data

    @model_validator(mode="after")
    def _gate(self) -> "PipelineConfig":
        """What the gate needs: a threshold, rows training never saw, a metric of the problem the model solves."""
        gate = self.quality_gate
        if not gate.enabled:
            return self
        if gate.threshold is None:
            raise ValueError("quality_gate.threshold: set the value quality_gate.metric must reach (e.g. threshold = 0.9)")
        if self.processing.own_code and "test" not in self.processing.outputs:
            raise ValueError(
                "quality_gate needs rows training never saw: add a processing output named 'test' (label first, as "
                f"XGBoost reads CSV) to processing.outputs (now {self.processing.outputs})"
            )
        if self.processing.own_code and "test" in self.training_channels:
            raise ValueError("quality_gate evaluates on the 'test' output, which training reads too (training.channels): "
                             "the model would be judged on rows it trained on")
        problem = self.problem_type
        if problem is None:
            why = ("script mode runs your training code" if self.training.script_mode
                   else f"the objective {self.training.hyperparameters.get('objective')!r} is neither binary:* nor reg:*")
            raise ValueError(f"quality_gate.problem_type: {why}; set problem_type = 'binary' (a probability of 1 per row) or 'regression'")
        metric = METRICS[gate.metric]
        if metric.problem != problem:
            raise ValueError(f"quality_gate.metric: {gate.metric!r} measures {metric.problem} models, this one is {problem} "
                             f"({GROUPS[problem]}: {', '.join(metric_names(problem))})")
        low, high = metric.low, metric.high
        if (low is not None and gate.threshold < low) or (high is not None and gate.threshold > high):
            span = f"{low:g}..{high:g}" if low is not None and high is not None else (f">= {low:g}" if low is not None else f"<= {high:g}")
            raise ValueError(f"quality_gate.threshold: {gate.metric} takes values {span}, so {gate.threshold:g} can never decide")
        return self

    @model_validator(mode="after")
    def _images_resolvable(self) -> "PipelineConfig":
        if (self.processing.image is None or self.training.image is None) and self.region not in ecr_accounts():
            raise ValueError(
                f"region {self.region!r} has no known SageMaker image account; set processing.image and training.image"
            )
        return self

    # -- derived values ---------------------------------------------------------------------------

    @property
    def processing_image(self) -> str:
        return self.processing.image or _image_uri(self.region, "sagemaker-scikit-learn", self.processing.image_tag)

    @property
    def training_image(self) -> str:
        return self.training.image or _image_uri(self.region, "sagemaker-xgboost", self.training.image_tag)

    def in_region(self, region: str) -> "PipelineConfig":
        """This config with images resolved for ``region`` (the provider's): re-validated, so a region
        without the SageMaker images is the same one-line ConfigError as in the file."""
        if region == self.region:
            return self
        return config_from_mapping({**self.model_dump(by_alias=True, exclude_unset=True), "region": region}, f"provider region {region}")

    @property
    def generates_dataset(self) -> bool:
        """The sample's Generate dataset state and its Lambda (not with [input]: your data is in S3)."""
        return self.input is None

    @property
    def processing_outputs(self) -> list[str]:
        """Every folder the processing job writes under runs/<execution>/ (with the batch transform
        stage, transform.py's holdout/ as well)."""
        return list(self.processing.outputs) + (["holdout"] if self.batch_transform.enabled else [])

    @property
    def training_channels(self) -> list[str]:
        """The processing outputs training reads, one channel each (script mode adds its code channel)."""
        if self.training.channels is not None:
            return list(self.training.channels)
        return ["train"] + (["validation"] if "validation" in self.processing.outputs else [])

    @property
    def transform_stage(self) -> bool:
        """Create model + Batch transform: the sample's stage (``[batch_transform]``, which the gate
        turns on), or, with your processing code and the gate, the prediction of your ``test`` output."""
        return self.batch_transform.enabled or self.quality_gate.enabled

    @property
    def evaluation_source(self) -> str | None:
        """The rows the Evaluate model job judges the model on: ``holdout`` (the sample's batch transform
        of transform.py's held-out split, with or without the gate) or ``test`` (your processing output,
        with the gate); None without predictions or when what the model predicts is unknown (an objective
        other than binary:* or reg:* and no gate to say)."""
        if self.quality_gate.enabled:
            return "test" if self.processing.own_code else "holdout"
        if self.batch_transform.enabled and self.problem_type is not None:
            return "holdout"
        return None

    @property
    def problem_type(self) -> ProblemType | None:
        """binary or regression: the gate's ``problem_type``, else the built-in algorithm's objective."""
        if self.quality_gate.problem_type is not None:
            return self.quality_gate.problem_type
        if self.training.script_mode:
            return None
        return problem_of_objective(str(self.training.hyperparameters.get("objective") or "") or None)

    @property
    def model_package_group_name(self) -> str:
        """The stack's SageMaker model package group (a-z, 0-9 and hyphens: a valid group name)."""
        return f"{self.name_prefix}-models"

    @property
    def stack_key(self) -> bool:
        """Whether the construct creates its own customer-managed KMS key."""
        return self.kms_key_arn is None and self.create_kms_key

    @property
    def encrypted_with_kms(self) -> bool:
        """Whether the bucket, log groups and Lambda environment use a customer-managed key."""
        return self.kms_key_arn is not None or self.create_kms_key

    @property
    def state_machine_name(self) -> str:
        return f"{self.name_prefix}-pipeline"

    @property
    def function_name(self) -> str:
        return f"{self.name_prefix}-generate-dataset"

    @property
    def log_group_names(self) -> tuple[str, str]:
        """The Lambda's and the state machine's log groups (a key policy names them before they exist)."""
        return f"/aws/lambda/{self.function_name}", f"/aws/vendedlogs/states/{self.state_machine_name}"

    @property
    def stack_log_group_names(self) -> list[str]:
        """The log groups the stack creates: the state machine's, and the Lambda's when it has one."""
        lambda_group, machine_group = self.log_group_names
        return ([lambda_group] if self.generates_dataset else []) + [machine_group]


# Region prefix (cn, us-iso, ...) -> (partition, DNS suffix): the partitions of
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html and the domains the SageMaker
# SDK's image_uris.retrieve() gets from botocore and lists in utils.ALTERNATE_DOMAINS
# (data/ecr_accounts.json "_source"; tests/test_ecr_accounts.py checks every region in the table).
_PARTITIONS = {
    "cn": ("aws-cn", "amazonaws.com.cn"),
    "us-gov": ("aws-us-gov", "amazonaws.com"),
    "us-iso": ("aws-iso", "c2s.ic.gov"),
    "us-isob": ("aws-iso-b", "sc2s.sgov.gov"),
    "us-isof": ("aws-iso-f", "csp.hci.ic.gov"),
    "eu-isoe": ("aws-iso-e", "cloud.adc-e.uk"),
}


def _partition_and_domain(region: str) -> tuple[str, str]:
    return _PARTITIONS.get(region.rsplit("-", 2)[0], ("aws", "amazonaws.com"))


def partition_of(region: str) -> str:
    """aws, aws-cn, aws-us-gov or an ISO partition."""
    return _partition_and_domain(region)[0]


def _image_uri(region: str, repository: str, tag: str) -> str:
    domain = _partition_and_domain(region)[1]
    return f"{ecr_accounts()[region]}.dkr.ecr.{region}.{domain}/{repository}:{tag}"


def _location(error: dict) -> str:
    return ".".join(str(part) for part in error["loc"]) or "(root)"


def _one_line(source: str, error: ValidationError) -> str:
    first = error.errors()[0]
    key = _location(first)
    if first["type"] == "extra_forbidden":
        message = "unknown key (check the spelling; see `pipeline-tools synth --help` and README 'Configuration')"
    else:
        message = first["msg"].removeprefix("Value error, ")
    more = len(error.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    where = f"{key}: " if first["loc"] else ""  # a rule across sections names its keys itself
    return f"{source}: {where}{message}{suffix}"


def config_from_mapping(data: dict, source: str = "config", base_dir: Path | None = None) -> PipelineConfig:
    """Validate a mapping (e.g. parsed TOML) into a :class:`PipelineConfig`, or raise :class:`ConfigError`.
    Code folders (``source_dir``) are relative to ``base_dir`` (the config file's folder), else to the
    working directory."""
    try:
        return PipelineConfig.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as error:
        raise ConfigError(_one_line(source, error)) from None


def load_config(path: Path | None = None) -> PipelineConfig:
    """Load ``path`` (or ./pipeline.toml when present, else defaults). Raises :class:`ConfigError`."""
    if path is None:
        if not DEFAULT_CONFIG_FILE.is_file():
            return PipelineConfig()
        path = DEFAULT_CONFIG_FILE
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found (pass --config FILE or create pipeline.toml)") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config file: {error.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    return config_from_mapping(data, str(path), Path(path).resolve().parent)
