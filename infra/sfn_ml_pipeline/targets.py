"""Where a stack goes: names and endpoints, in plain Python (importing this never starts jsii)."""

from __future__ import annotations

from dataclasses import dataclass

STACK_NAME = "ml-pipeline"

# Every service the stack and the pipeline touch; the local target sends them all to the emulator.
LOCAL_SERVICES = ("cloudwatch", "events", "iam", "kms", "lambda", "logs", "s3", "sagemaker", "sfn", "sts", "xray")


# The named profile of the shared AWS config file `pipeline-tools local up` writes
# (`.pipeline-tools/aws-config`): its `endpoint_url` is the emulator's endpoint for every service.
LOCAL_PROFILE = "pipeline-tools-local"


@dataclass(frozen=True)
class LocalEndpoint:
    """Where the local emulator listens (from `.pipeline-tools/emulator.json`). With ``config_file``
    (the shared AWS config file `local up` writes) the provider reads the endpoint from there;
    without, it names the endpoint per service."""

    url: str
    ca_bundle: str | None = None
    config_file: str | None = None
    access_key: str = "testing"
    secret_key: str = "testing"  # noqa: S105 - throwaway credentials the emulator accepts
