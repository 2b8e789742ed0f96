"""AWS SDK service integrations (``arn:aws:states:::aws-sdk:<service>:<apiAction>``) answer JSON.

What moto 5.2.5's interpreter lacks (``StateTaskServiceAwsSdk``):

* It puts boto3's response on the state's data as boto3 returns it: S3 GetObject's ``Body`` is a
  ``StreamingBody`` and ``LastModified`` a ``datetime``, neither of which is JSON, so the state's
  result cannot be read by ``States.StringToJson($.Body)`` and the execution history cannot record
  it. Step Functions hands a task's result on as JSON; AWS's own workflows read an S3 object's text
  with ``arn:aws:states:::aws-sdk:s3:getObject`` and ``"ResultSelector": {"result.$":
  "States.StringToJson($.Body)"}`` (aws-samples/step-functions-workflows-collection,
  redshift-serverless-unload/statemachine/statemachine.asl.json), so ``Body`` is the object's text.
  Here a streamed body becomes its UTF-8 text, bytes likewise, timestamps ISO 8601 strings.
* Its error names: an AWS SDK integration's Error is ``ServiceName.ErrorName``, "Both the service
  name and error name are in Pascal case", with an ``Exception`` suffix even where the service's
  error has none (S3's ``BucketAlreadyExists`` is ``S3.BucketAlreadyExistsException``:
  https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html). moto knows
  the Pascal case of DynamoDB and Step Functions only and names S3's and SageMaker's errors
  ``s3.NoSuchKeyException``, ``sagemaker.ConflictException``; here ``S3.`` and ``SageMaker.``, the
  prefix the optimized SageMaker integration already uses (sfn_sagemaker_sync).

The calls themselves already go out as the state machine's role with IAM enforced (callback_tls,
sfn_execution_role): the aws-sdk service asks moto's ``boto_client_for``, which those patches replace.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

SERVICE_ERROR_NAMES = {"s3": "S3", "sagemaker": "SageMaker"}


def as_json(value: Any) -> Any:
    """A boto3 response as Step Functions passes a result on: JSON values only."""
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items() if key != "ResponseMetadata"}
    if isinstance(value, (list, tuple)):
        return [as_json(item) for item in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    if hasattr(value, "read") and callable(value.read):  # botocore's StreamingBody
        return value.read().decode("utf-8", errors="replace")
    return value


def apply() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_aws_sdk as module

    module._SERVICE_ERROR_NAMES.update(SERVICE_ERROR_NAMES)
    service = module.StateTaskServiceAwsSdk
    original = service._eval_service_task

    def _eval_service_task(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        original(self, env, *args, **kwargs)
        env.stack.append(as_json(env.stack.pop()))

    _eval_service_task.__wrapped__ = original  # type: ignore[attr-defined]
    service._eval_service_task = _eval_service_task
