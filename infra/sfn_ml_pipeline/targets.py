"""Where a stack goes: names and endpoints, in plain Python (importing this never starts jsii)."""

from __future__ import annotations

from dataclasses import dataclass

STACK_NAME = "ml-pipeline"

# Every service the stack and the pipeline touch; the local target sends them all to the emulator.
LOCAL_SERVICES = ("cloudwatch", "events", "iam", "kms", "lambda", "logs", "s3", "sagemaker", "sfn", "sts", "xray")


@dataclass(frozen=True)
class LocalEndpoint:
    """Where the local emulator listens (from `.pipeline-tools/emulator.json`)."""

    url: str
    ca_bundle: str | None = None
    access_key: str = "testing"
    secret_key: str = "testing"  # noqa: S105 - throwaway credentials the emulator accepts
