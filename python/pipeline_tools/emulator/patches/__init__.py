"""Patches to moto 5.2.5's internals, one module per gap, each small enough to offer upstream.

Every module exposes ``apply()``; :func:`apply_all` applies them in order and returns their
names (the health probe reports them), leaving out a module whose ``apply()`` returns False
(switched off in this server, e.g. ``iam_enforce`` without ``PIPELINE_TOOLS_EMULATOR_IAM=1``). They are applied only inside the emulator's server
process (:mod:`pipeline_tools.emulator.serve`), never on import.
"""

from __future__ import annotations

import importlib

MODULES = (
    "accounts",  # the access key ID <12 digits> is that account's administrator (a second account)
    "callback_tls",  # moto's interpreter calls back into the server: over HTTPS, verified
    "sfn_execution_role",  # ... as the state machine's role, per execution (with IAM enforcement)
    "sfn_api",  # ValidateStateMachineDefinition (statelint) + ListStateMachineVersions
    "sfn_fail_error_path",  # a Fail state may re-raise a caught States.* error via ErrorPath
    "sfn_unicode_escapes",  # \uXXXX in a definition means the character (state names)
    "sfn_query_language_scope",  # each parse has its own QueryLanguage scopes (moto's leak across parses)
    "sfn_assign_string_escapes",  # "\"" in an Assign string literal is a quote, as in Parameters
    "sfn_string_matches",  # StringMatches: "*" the only wildcard, "\\*" a literal star (moto: fnmatch)
    "sfn_choice_default_assign",  # a Choice's own Assign/Output only when no rule matched
    "sfn_string_output",  # DescribeExecution: a string output is JSON ("medium"), not bare
    "sfn_jsonata",  # JSONata expressions and variable reads evaluate (moto's engine is None)
    "sfn_jsonata_functions",  # $partition, $range, $hash, $random, $uuid, $parse
    "sfn_variable_assign_order",  # Assign takes effect when the state is done (Output reads the old values)
    "sfn_context_timestamps",  # $$.Execution.StartTime / $$.State.EnteredTime as 2019-03-26T20:14:13.192Z
    "sfn_array_unique",  # States.ArrayUnique on arrays of arrays/objects
    "sfn_sagemaker_sync",  # arn:aws:states:::sagemaker:create{Processing,Training}Job.sync
    "sagemaker_jobs",  # processing and training jobs that really run
    "sagemaker_model_isolation",  # CreateModel keeps EnableNetworkIsolation (DescribeModel answers it)
    "sagemaker_model_role",  # CreateModel assumes the model's role (trust evaluated, IAM enforcement on)
    "sagemaker_names",  # job and model names outside SageMaker's pattern are refused, in its words
    "sagemaker_model_registry",  # DeleteModelPackageGroup; UpdateModelPackage keeps what it is not given; tags of versions
    "sfn_aws_sdk",  # arn:aws:states:::aws-sdk:*: results as JSON (S3 GetObject's Body as text), errors named S3.*/SageMaker.*
    "lambda_invoke",  # Lambda invokes run the packaged handler in a subprocess
    "lambda_executed_version",  # Invoke answers X-Amz-Executed-Version (lambda:invoke's ExecutedVersion)
    "lambda_logging_config",  # functions keep LoggingConfig (else terraform re-plans them forever)
    "logs_filter_prefix",  # FilterLogEvents honours logStreamNamePrefix and interleaves, as AWS's
    "s3_secure_transport",  # bucket policies see aws:SecureTransport; conditions evaluated
    "s3_lifecycle",  # GetBucketLifecycleConfiguration returns what was put
    "s3_chunked_body",  # aws-chunked upload bodies decoded in linear, not quadratic, time
    "s3_bodies_on_disk",  # object bodies are files under .pipeline-tools/emulator/objects/ (durable.py)
    "sfn_durable_executions",  # executions pickle with their history, without the live interpreter
    "iam_enforce",  # requests authenticated and authorized by AWS's policy evaluation (PIPELINE_TOOLS_EMULATOR_IAM=1)
)


def apply_all() -> list[str]:
    applied = []
    for name in MODULES:
        if importlib.import_module(f"{__name__}.{name}").apply() is not False:
            applied.append(name)
    return applied
