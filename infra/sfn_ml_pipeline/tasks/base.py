"""What every task type shares: the values a definition points at, and Retry/Catch."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from ..statements import Arns, Statement

# Transient service errors (a throttled or failed call to the service): retried within seconds.
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
    kms_key_arn: str | None = None  # the stack's key (its own or kms_key_arn): job volumes and outputs (job_security.py)
    region: str = ""  # the stack's region (script mode's sagemaker_region)
    processing_code: str | None = None  # your processing code: its S3 prefix code/<hash>/ (sourcedir.tar.gz, runproc.sh)
    training_code: str | None = None  # script mode: your training code's prefix code/<hash>/ (sourcedir.tar.gz)
    model_role_arn: str | None = None  # the role CreateModel passes (the batch transform stage's own)
    evaluate_key: str | None = None  # Evaluate model: evaluate.py's key code/<sha256>/evaluate.py
    model_package_group: str | None = None  # [quality_gate]: the stack's model package group (its name)

    def integration(self, service: str, api: str) -> str:
        """An optimized integration's Resource ARN, in the stack's partition
        (https://docs.aws.amazon.com/step-functions/latest/dg/integrate-optimized.html)."""
        return f"arn:{self.partition}:states:::{service}:{api}"


def retry(errors: list[str]) -> list[dict[str, Any]]:
    """Jittered exponential backoff on the given (transient) errors, within seconds."""
    if not errors:
        return []
    return [
        {
            "ErrorEquals": errors,
            "IntervalSeconds": RETRY_INTERVAL_SECONDS,
            "MaxAttempts": RETRY_MAX_ATTEMPTS,
            "BackoffRate": RETRY_BACKOFF_RATE,
            "JitterStrategy": "FULL",
        }
    ]


def catch(fail_state: str) -> list[dict[str, Any]]:
    """Any error goes to ``fail_state``, keeping the error and cause under ``$.error``."""
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": fail_state}]


@dataclass(frozen=True)
class Task(ABC):
    """A Task state: its name, what it is given, and where its result goes.

    Subclasses say which Resource they call, which errors are transient for it, and what the state
    machine's role needs to run it.
    """

    name: str
    parameters: dict[str, Any]
    result_selector: dict[str, str]
    result_path: str

    @property
    @abstractmethod
    def transient_errors(self) -> list[str]:
        """Errors worth a quick retry (seconds) for this integration."""

    @property
    def retriers(self) -> list[dict[str, Any]]:
        """The state's Retry list: the quick retrier for transient errors; task types whose errors
        last longer add retriers of their own after it."""
        return retry(self.transient_errors)

    @abstractmethod
    def resource(self, refs: DefinitionRefs) -> str:
        """The state's Resource ARN."""

    @abstractmethod
    def policy_statements(self, arns: Arns) -> list[Statement]:
        """What the state machine's role needs to run this task."""

    def state(self, refs: DefinitionRefs, fail_state: str) -> dict[str, Any]:
        """The state, without its Next/End (the pipeline chains the states)."""
        return {
            "Type": "Task",
            "Resource": self.resource(refs),
            "Parameters": self.parameters,
            "ResultSelector": self.result_selector,
            "ResultPath": self.result_path,
            "Retry": self.retriers,
            "Catch": catch(fail_state),
        }
