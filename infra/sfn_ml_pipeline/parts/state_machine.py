"""The state machine: its definition, logging (level ALL, with execution data) to its own log group,
and X-Ray tracing."""

from __future__ import annotations

import json
from typing import Any

from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.sfn_state_machine import SfnStateMachine
from constructs import Construct

from ..config import PipelineConfig
from .log_group import pipeline_log_group


class PipelineStateMachine:
    def __init__(self, scope: Construct, config: PipelineConfig, kms_key_arn: str | None) -> None:
        self._scope = scope
        self._config = config
        self.log_group = pipeline_log_group(scope, "state-machine-logs", config.log_group_names[1], config, kms_key_arn)
        self.state_machine: SfnStateMachine | None = None

    def tags(self) -> dict[str, str]:
        """Where the jobs read and write, declared where operators and `verify-iam` read it (literal
        values, known in a plan before the definition is): ``sfn-ml-pipeline:outputs`` (the processing
        outputs under runs/<execution>/), ``sfn-ml-pipeline:channels`` (those training reads) and, with
        your data, ``sfn-ml-pipeline:input`` (the S3 prefix the jobs may read) and
        ``sfn-ml-pipeline:input-kms-key`` (its key); with the Evaluate model job, ``sfn-ml-pipeline:evaluation``
        (the rows it judges: ``holdout`` or ``test``); with the quality gate, ``sfn-ml-pipeline:approval-status``
        (the status it registers models with). "Tags may only contain Unicode letters, digits,
        white space, or these symbols: _ . : / = + - @", values up to 256 characters
        (https://docs.aws.amazon.com/step-functions/latest/apireference/API_Tag.html): the config's
        rules for names (rules.DATA_NAME) and ``s3_uri`` (rules.S3_URI) keep to that."""
        config = self._config
        tags = {
            "sfn-ml-pipeline:outputs": " ".join(config.processing_outputs),
            "sfn-ml-pipeline:channels": " ".join(config.training_channels),
        }
        if config.input is not None:
            tags["sfn-ml-pipeline:input"] = config.input.s3_uri
            if config.input.kms_key_arn:
                tags["sfn-ml-pipeline:input-kms-key"] = config.input.kms_key_arn
        if config.evaluation_source:
            tags["sfn-ml-pipeline:evaluation"] = config.evaluation_source
        if config.quality_gate.enabled:
            tags["sfn-ml-pipeline:approval-status"] = config.quality_gate.approval_status
        return tags

    def create(self, definition: dict[str, Any], role: IamRole, policy: IamRolePolicy) -> SfnStateMachine:
        """The state machine, once its role has its policy (Step Functions checks the role on create)."""
        self.state_machine = SfnStateMachine(
            self._scope,
            "state-machine",
            name=self._config.state_machine_name,
            role_arn=role.arn,
            definition=json.dumps(definition, ensure_ascii=False, indent=2),
            type="STANDARD",
            logging_configuration={
                "level": "ALL",
                "include_execution_data": True,
                "log_destination": f"{self.log_group.arn}:*",
            },
            tracing_configuration={"enabled": True},
            tags=self.tags() or None,
            depends_on=[policy],
        )
        return self.state_machine
