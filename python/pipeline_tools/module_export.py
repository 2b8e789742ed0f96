"""Export the pipeline as a plain Terraform module (JSON syntax) for Terraform/OpenTofu users.

Technique: synthesize the very same construct with *sentinel* config values (a prefix, instance
types, images, hyperparameters and a KMS key nobody would use), then rewrite the synthesized JSON:
each sentinel becomes a ``${var.x}`` / ``${local.x}`` reference, the provider and backend blocks
are dropped, tags move from the provider's ``default_tags`` onto the resources, the stack's own KMS
key (and its alias) gets ``count`` (created unless ``var.kms_key_arn`` is given or
``var.create_kms_key`` is false, as the construct decides), every use of the key becomes
``local.kms_key_arn``, the KMS-only policy statements become ``dynamic`` blocks (present only when
there is a key), the
hyperparameters map is spliced into the state machine definition (a Terraform template) as
``${jsonencode(var.hyperparameters)}``, the definition is given in both query languages (a
template directive on ``var.query_language``; the JSONata form is the construct's own translation,
``sfn_ml_pipeline.jsonata``), and asset paths become ``${path.module}/assets/...``.
The job-security fields (``sfn_ml_pipeline.job_security``) of the definition become template
directives: the key fields exist only with a key (volume keys not on instance types with local
storage), the VPC fields only with ``var.subnet_ids``; the Lambda's ``vpc_config`` is a dynamic block,
the network-interface grants dynamic statements, S3 access logging and code signing follow their
variables.

So the module and the CDK Terrain stack can never disagree: both are one synth of one construct.
Every rewrite asserts that it found what it rewrites, so a construct change that would make the
module silently wrong fails the export (and its test) instead.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .errors import UsageError
from .files import replacing_directory

MARKER = ".pipeline-tools-module"

PREFIX = "pxmodprefixq"
PROCESSING_INSTANCE = "ml.pxproc.sentinel"
TRAINING_INSTANCE = "ml.pxtrain.sentinel"
PROCESSING_IMAGE = "000000000001.dkr.ecr.us-east-1.amazonaws.com/pxprocimage:pxtag"
TRAINING_IMAGE = "000000000002.dkr.ecr.us-east-1.amazonaws.com/pxtrainimage:pxtag"
PROCESSING_REPO = "ecr:us-east-1:000000000001:repository/pxprocimage"
TRAINING_REPO = "ecr:us-east-1:000000000002:repository/pxtrainimage"
HYPERPARAMETERS_MARK = "__pxhyperparameters__"
# [network], access logging and code signing, as sentinels the rewrite finds and replaces.
SUBNET = "subnet-0000000000000dead"
SECURITY_GROUP = "sg-0000000000000beef"
ACCESS_LOG_BUCKET = "pxmodaccesslogs"
CODE_SIGNING = "arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0000000000000dead"
KEY_MARK = "__pxkey__"

# Resource types of the construct that take `tags` (on the CDK stack they come from default_tags).
TAGGABLE = ("aws_s3_bucket", "aws_cloudwatch_log_group", "aws_iam_role", "aws_kms_key", "aws_lambda_function", "aws_s3_object", "aws_sfn_state_machine")



def _sentinel_config():
    from sfn_ml_pipeline.config import PipelineConfig

    return PipelineConfig(
        name_prefix=PREFIX,
        network={"subnet_ids": [SUBNET], "security_group_ids": [SECURITY_GROUP]},
        access_log_bucket=ACCESS_LOG_BUCKET,
        generate_lambda={"code_signing_config_arn": CODE_SIGNING},
        processing={"instance_type": PROCESSING_INSTANCE, "image": PROCESSING_IMAGE},
        training={
            "instance_type": TRAINING_INSTANCE,
            "image": TRAINING_IMAGE,
            "hyperparameters": {"num_round": "1", "pxhpsentinel": "1"},
        },
    )


def _synth(work: Path) -> tuple[dict, Path]:
    """Synthesize the construct with sentinel values; return (cdk.tf.json, stack dir)."""
    from cdktn import App

    from sfn_ml_pipeline.stack import MlPipelineStack

    app = App(outdir=str(work / "out"))
    MlPipelineStack(app, "module", config=_sentinel_config())
    app.synth()
    stack_dir = work / "out" / "stacks" / "module"
    return json.loads((stack_dir / "cdk.tf.json").read_text()), stack_dir


def _strip_comments(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_comments(v) for k, v in value.items() if k != "//"}
    if isinstance(value, list):
        return [_strip_comments(v) for v in value]
    return value


class _Rewriter:
    """String rewrites that must each happen at least once (see the module docstring)."""

    def __init__(self) -> None:
        repo = "ecr:${local.%s_image_parts.region}:${local.%s_image_parts.account}:repository/${local.%s_image_parts.repo}"
        self.substrings = [
            (PROCESSING_IMAGE, "${local.processing_image}"),
            (TRAINING_IMAGE, "${local.training_image}"),
            (PROCESSING_REPO, repo % (("processing",) * 3)),
            (TRAINING_REPO, repo % (("training",) * 3)),
            (PROCESSING_INSTANCE, "${var.processing_instance_type}"),
            (TRAINING_INSTANCE, "${var.training_instance_type}"),
            (PREFIX, "${var.name_prefix}"),
        ]
        self.used: set[str] = set()

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, str):
            for old, new in self.substrings:
                if old in value:
                    self.used.add(old)
                    value = value.replace(old, new)
        return value

    def check(self) -> None:
        missing = [old for old, _ in self.substrings if old not in self.used]
        if missing:
            raise RuntimeError(f"module export: sentinel(s) not found in the synthesized stack: {missing}")


def _only(mapping: dict, kind: str) -> tuple[str, dict]:
    if len(mapping) != 1:
        raise RuntimeError(f"module export: expected one {kind}, found {len(mapping)}")
    return next(iter(mapping.items()))


def _definition_with_hyperparameters(definition: str) -> str:
    """Replace the training job's HyperParameters object by a jsonencode() of the variable."""
    document = json.loads(definition)
    found = 0
    for state in document["States"].values():
        parameters = state.get("Parameters", state.get("Arguments", {}))  # JSONPath / JSONata
        if "HyperParameters" in parameters:
            parameters["HyperParameters"] = HYPERPARAMETERS_MARK
            found += 1
    if found != 1:
        raise RuntimeError(f"module export: expected one state with HyperParameters, found {found}")
    return json.dumps(document, ensure_ascii=False, indent=2)  # the mark becomes jsonencode() last (_definition_template)


def _definition_with_job_security(definition: str, key_reference: str) -> str:
    """The definition's job-security fields as template directives (see the module docstring):
    ``KmsKeyId`` only with a key, ``VolumeKmsKeyId`` also not on instance types with local storage
    (``sfn_ml_pipeline.job_security.LOCAL_STORAGE``, by the job's instance type variable), ``VpcConfig``
    only with subnets. job_security appends each as the last member of its object, after a comma."""
    import re

    from sfn_ml_pipeline.job_security import LOCAL_STORAGE
    from sfn_ml_pipeline.rules import hcl_string

    found = {"KmsKeyId": 0, "VolumeKmsKeyId": 0, "VpcConfig": 0}
    document = json.loads(definition)
    for state in document["States"].values():
        parameters = state.get("Parameters", state.get("Arguments", {}))  # JSONPath / JSONata
        instance = "processing" if "ProcessingResources" in parameters else "training"
        for holder in (parameters.get("ProcessingOutputConfig"), parameters.get("OutputDataConfig"), parameters.get("TransformOutput")):
            if isinstance(holder, dict) and holder.get("KmsKeyId") == key_reference:
                holder["KmsKeyId"] = f"{KEY_MARK}output"
        for holder in ((parameters.get("ProcessingResources") or {}).get("ClusterConfig"), parameters.get("ResourceConfig"), parameters.get("TransformResources")):
            if isinstance(holder, dict) and holder.get("VolumeKmsKeyId") == key_reference:
                holder["VolumeKmsKeyId"] = f"{KEY_MARK}volume:{instance}"
    text = json.dumps(document, ensure_ascii=False, indent=2)

    def key_field(match: re.Match) -> str:
        field, kind = match["field"], match["kind"]
        found[field] += 1
        condition = "local.kms_key_arn != null"
        if kind.startswith("volume:"):
            variable = f"var.{kind.split(':', 1)[1]}_instance_type"
            condition += f' && !can(regex("{hcl_string(LOCAL_STORAGE)}", {variable}))'
        return f'%{{ if {condition} }},{match["space"]}"{field}": "${{local.kms_key_arn}}"%{{ endif }}'

    text = re.sub(rf',(?P<space>\s*)"(?P<field>KmsKeyId|VolumeKmsKeyId)": "{KEY_MARK}(?P<kind>[a-z:]+)"', key_field, text)
    vpc = '"VpcConfig": {"Subnets": ${jsonencode(var.subnet_ids)}, "SecurityGroupIds": ${jsonencode(var.security_group_ids)}}'

    def vpc_field(match: re.Match) -> str:
        found["VpcConfig"] += 1
        return f'%{{ if local.network }},{match["space"]}{vpc}%{{ endif }}'

    text = re.sub(r',(?P<space>\s*)"VpcConfig": \{[^{}]*\}', vpc_field, text)
    if not all(found.values()) or SUBNET in text or KEY_MARK in text:
        raise RuntimeError(f"module export: job-security fields not all rewritten: {found}")
    return text


def _definition_per_query_language(definition: str, key_reference: str) -> str:
    """``%{ if var.query_language == "JSONata" }<JSONata>%{ else }<JSONPath>%{ endif }``: a
    Terraform template directive (a string of a .tf.json file is a template) over both forms, each
    with its hyperparameters and job-security fields rewritten."""
    from sfn_ml_pipeline.jsonata import to_jsonata

    if "%{" in definition:
        raise RuntimeError("module export: the definition holds '%{', which a template directive would read")
    document = json.loads(definition)
    if "QueryLanguage" in document:
        raise RuntimeError("module export: the sentinel synth is expected in JSONPath")
    forms = []
    for text in (json.dumps(to_jsonata(document), ensure_ascii=False), definition):
        text = _definition_with_job_security(_definition_with_hyperparameters(text), key_reference)
        forms.append(text.replace(f'"{HYPERPARAMETERS_MARK}"', "${jsonencode(var.hyperparameters)}"))
    return f'%{{ if var.query_language == "JSONata" }}{forms[0]}%{{ else }}{forms[1]}%{{ endif }}'


def _network_statements(document: dict) -> int:
    """The network-interface statements (iam.network_interface_statements) as dynamic statements that
    exist only with subnets, their resources and ec2:Subnet values one per subnet and security group."""
    statements = document.get("statement", [])
    network = [st for st in statements if any(a.startswith("ec2:") for a in st.get("actions", []))]
    if not network:
        return 0

    def expand(values: list[str]) -> str:
        parts = []
        for value in values:
            if SUBNET in value:
                parts.append('[for s in var.subnet_ids : "' + value.replace(SUBNET, "${s}").replace('"', '\\"') + '"]')
            elif SECURITY_GROUP in value:
                parts.append('[for g in var.security_group_ids : "' + value.replace(SECURITY_GROUP, "${g}").replace('"', '\\"') + '"]')
            else:
                parts.append('["' + value.replace('"', '\\"') + '"]')
        return "${concat(" + ", ".join(parts) + ")}"

    document["statement"] = [st for st in statements if st not in network]
    for statement in network:
        content = dict(statement)
        content["resources"] = expand(statement["resources"])
        if statement.get("condition"):
            content["condition"] = [{**c, "values": expand(c["values"])} for c in statement["condition"]]
        document.setdefault("dynamic", {}).setdefault("statement", []).append({"for_each": "${local.network ? [1] : []}", "content": content})
    return len(network)


def _replace_everywhere(value: Any, old: str, new: str) -> Any:
    """Every string in a JSON value with ``old`` replaced; fails when ``old`` occurs nowhere."""
    found = False

    def walk(node: Any) -> Any:
        nonlocal found
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            return type(node)(walk(v) for v in node)
        if isinstance(node, str) and old in node:
            found = True
            return node.replace(old, new)
        return node

    replaced = walk(value)
    if not found:
        raise RuntimeError(f"module export: {old} not found in the synthesized stack")
    return replaced


def build_module(stack: dict) -> dict[str, dict]:
    """The module's files (name -> JSON document) from the sentinel synth of the stack."""
    from sfn_ml_pipeline.config import PipelineConfig, ecr_accounts

    defaults = PipelineConfig()
    stack = _strip_comments(stack)
    data, resources = stack["data"], stack["resource"]

    # The state machine definition first: its hyperparameters are a JSON object, not a string.
    _, machine = _only(resources["aws_sfn_state_machine"], "state machine")
    key_id, _ = _only(resources["aws_kms_key"], "KMS key")
    machine["definition"] = _definition_per_query_language(machine["definition"], f"${{aws_kms_key.{key_id}.arn}}")

    rewrite = _Rewriter()
    data, resources = rewrite(data), rewrite(resources)
    rewrite.check()

    region_id, _ = _only(data["aws_region"], "aws_region data source")
    partition_id, _ = _only(data["aws_partition"], "aws_partition data source")
    region = f"data.aws_region.{region_id}.name"

    # Bucket name: the variable, else the construct's default (<prefix>-data-<account>-<region>).
    _, bucket = _only(resources["aws_s3_bucket"], "bucket")
    default_name = bucket["bucket"].replace('"', '\\"')
    bucket["bucket"] = '${coalesce(var.bucket_name, "' + default_name + '")}'

    # The key: the stack's own unless one is given or AWS-managed encryption is chosen (as the construct decides).
    key_id, key = _only(resources["aws_kms_key"], "KMS key")
    alias_id, alias = _only(resources["aws_kms_alias"], "KMS key alias")
    key["count"] = alias["count"] = "${local.create_kms_key ? 1 : 0}"
    alias["target_key_id"] = alias["target_key_id"].replace(f"aws_kms_key.{key_id}.key_id", f"aws_kms_key.{key_id}[0].key_id")
    key_reference = f"${{aws_kms_key.{key_id}.arn}}"
    data, resources = _replace_everywhere((data, resources), key_reference, "${local.kms_key_arn}")

    # Encryption: SSE-KMS with the key when there is one, else SSE-S3 (as the construct decides).
    _, encryption = _only(resources["aws_s3_bucket_server_side_encryption_configuration"], "bucket encryption")
    for rule in encryption["rule"]:
        rule["apply_server_side_encryption_by_default"]["sse_algorithm"] = '${local.kms_key_arn == null ? "AES256" : "aws:kms"}'
        rule["bucket_key_enabled"] = "${local.kms_key_arn != null}"

    # KMS statements exist only with a key: dynamic blocks keyed on it.
    moved = 0
    for document in data["aws_iam_policy_document"].values():
        statements = document.get("statement", [])
        kms = [s for s in statements if "${local.kms_key_arn}" in s.get("resources", [])]
        if not kms:
            continue
        document["statement"] = [s for s in statements if s not in kms]
        for statement in kms:
            content = dict(statement)
            content["resources"] = ["${statement.value}" if r == "${local.kms_key_arn}" else r for r in statement["resources"]]
            document.setdefault("dynamic", {}).setdefault("statement", []).append(
                {"for_each": "${local.kms_key_arn == null ? [] : [local.kms_key_arn]}", "content": content}
            )
            moved += 1
    if moved == 0:
        raise RuntimeError("module export: no KMS policy statement found")

    # [network]: the ENI grants only with subnets; the Lambda's vpc_config a dynamic block.
    if sum(_network_statements(document) for document in data["aws_iam_policy_document"].values()) != 6:
        raise RuntimeError("module export: expected the six network-interface statements (three per role)")
    (function_id, function), = resources["aws_lambda_function"].items()
    if function.pop("vpc_config", None) is None or function.get("code_signing_config_arn") != CODE_SIGNING:
        raise RuntimeError("module export: the function's vpc_config or code signing sentinel is missing")
    function["dynamic"] = {"vpc_config": {"for_each": "${local.network ? [1] : []}",
                                          "content": {"subnet_ids": "${var.subnet_ids}", "security_group_ids": "${var.security_group_ids}"}}}
    function["code_signing_config_arn"] = "${var.code_signing_config_arn}"
    # S3 access logging only with a log bucket.
    _, logging = _only(resources["aws_s3_bucket_logging"], "bucket access logging")
    if logging["target_bucket"] != ACCESS_LOG_BUCKET:
        raise RuntimeError("module export: the access log bucket sentinel is missing")
    logging["count"] = "${var.access_log_bucket == null ? 0 : 1}"
    logging["target_bucket"] = "${var.access_log_bucket}"
    text = json.dumps((data, resources))
    for sentinel in (SUBNET, SECURITY_GROUP, ACCESS_LOG_BUCKET, CODE_SIGNING):
        if sentinel in text:
            raise RuntimeError(f"module export: sentinel {sentinel} left in the module")

    for kind in TAGGABLE:
        for resource in resources.get(kind, {}).values():
            resource["tags"] = "${local.tags}"
    for resource in resources.get("aws_lambda_function", {}).values():
        resource["filename"] = "${path.module}/" + resource["filename"]
    for resource in resources.get("aws_s3_object", {}).values():
        resource["source"] = "${path.module}/" + resource["source"]

    locals_ = {
        "region": "${" + region + "}",
        "create_kms_key": "${var.kms_key_arn == null && var.create_kms_key}",
        "network": "${length(var.subnet_ids) > 0}",
        "kms_key_arn": f"${{var.kms_key_arn != null ? var.kms_key_arn : (local.create_kms_key ? aws_kms_key.{key_id}[0].arn : null)}}",
        "tags": '${merge({Project = var.name_prefix, ManagedBy = "sfn-ml-pipeline"}, var.tags)}',
        "ecr_accounts": ecr_accounts(),
        # The partition's DNS suffix (amazonaws.com.cn in China, the ISO partitions' own), as the SDK's image URIs use.
        "ecr_domain": "${data.aws_partition." + partition_id + ".dns_suffix}",
        "processing_image": '${coalesce(var.processing_image, "${local.ecr_accounts[local.region]}.dkr.ecr.${local.region}.${local.ecr_domain}/sagemaker-scikit-learn:'
        + defaults.processing.image_tag
        + '")}',
        "training_image": '${coalesce(var.training_image, "${local.ecr_accounts[local.region]}.dkr.ecr.${local.region}.${local.ecr_domain}/sagemaker-xgboost:'
        + defaults.training.image_tag
        + '")}',
        "processing_image_parts": "${" + _image_parts("local.processing_image") + "}",
        "training_image_parts": "${" + _image_parts("local.training_image") + "}",
    }
    main = {
        "//": "Generated by `pipeline-tools module export` from the sfn_ml_pipeline construct. Do not edit.",
        "terraform": {"required_providers": stack["terraform"]["required_providers"]},
        "locals": locals_,
        "data": data,
        "resource": resources,
    }
    outputs = {
        name.removeprefix(f"{PREFIX}_"): {k: v for k, v in output.items() if k in ("value", "description", "sensitive")}
        for name, output in stack["output"].items()
    }
    return {"main.tf.json": main, "variables.tf.json": {"variable": variables(defaults)}, "outputs.tf.json": {"output": outputs}}


def _image_parts(expression: str) -> str:
    """account, region and repo of an image URI, by the same rule the config validates with."""
    from sfn_ml_pipeline.rules import ECR_IMAGE, hcl_string

    return f'regex("{hcl_string(ECR_IMAGE.pattern)}", {expression})'


def _validation(rule, variable: str, *, optional: bool = False) -> list[dict[str, str]]:
    """A variable validation generated from the config's rule for it (sfn_ml_pipeline.rules)."""
    condition = rule.terraform_condition(f"var.{variable}")
    if optional:
        condition = f"var.{variable} == null || {condition}"
    return [{"condition": "${" + condition + "}", "error_message": f"{variable} {rule.message}."}]


def _each(rule, variable: str) -> dict[str, str]:
    """A validation that every item of a list variable follows the config's rule for it."""
    return {"condition": "${alltrue([for item in var." + variable + " : " + rule.terraform_condition("item") + "])}",
            "error_message": f"{variable} {rule.message}."}


def variables(defaults) -> dict[str, dict]:
    from sfn_ml_pipeline.rules import (
        BUCKET_NAME, CODE_SIGNING_CONFIG_ARN, ECR_IMAGE, KMS_KEY_ARN, ML_INSTANCE, NAME_PREFIX, SECURITY_GROUP_ID, SUBNET_ID,
    )

    return {
        "name_prefix": {
            "type": "string",
            "description": "Prefix of every resource name (lowercase letter first, a-z 0-9 '-', at most 20 chars).",
            "validation": _validation(NAME_PREFIX, "name_prefix"),
        },
        "bucket_name": {
            "type": "string",
            "default": None,
            "description": "Data bucket name. Default: <name_prefix>-data-<account>-<region>.",
            "validation": [{"condition": '${var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))}', "error_message": "bucket_name must be a valid S3 bucket name (3-63 chars: a-z, 0-9, '.', '-')."}],
        },
        "processing_instance_type": {
            "type": "string",
            "default": defaults.processing.instance_type,
            "description": "Instance type of the Standardization processing job.",
            "validation": _validation(ML_INSTANCE, "processing_instance_type"),
        },
        "training_instance_type": {
            "type": "string",
            "default": defaults.training.instance_type,
            "description": "Instance type of the XGBoost training job.",
            "validation": _validation(ML_INSTANCE, "training_instance_type"),
        },
        "hyperparameters": {
            "type": "map(string)",
            "default": {k: str(v) for k, v in defaults.training.hyperparameters.items()},
            "description": "Built-in XGBoost hyperparameters (num_round is required).",
            "validation": [{"condition": '${contains(keys(var.hyperparameters), "num_round")}', "error_message": "hyperparameters must include num_round."}],
        },
        "processing_image": {
            "type": "string",
            "default": None,
            "description": f"Processing image URI. Default: sagemaker-scikit-learn:{defaults.processing.image_tag} in the provider's region.",
            "validation": _validation(ECR_IMAGE, "processing_image", optional=True),
        },
        "training_image": {
            "type": "string",
            "default": None,
            "description": f"Training image URI. Default: sagemaker-xgboost:{defaults.training.image_tag} in the provider's region.",
            "validation": _validation(ECR_IMAGE, "training_image", optional=True),
        },
        "tags": {"type": "map(string)", "default": {}, "description": "Tags on every resource (merged over Project and ManagedBy)."},
        "kms_key_arn": {
            "type": "string",
            "default": None,
            "description": "Your customer-managed KMS key for the bucket, the logs and the Lambda environment (its key policy: docs/kms-key-policy.md). Default: the module's own key, unless create_kms_key is false.",
            "validation": _validation(KMS_KEY_ARN, "kms_key_arn", optional=True),
        },
        "query_language": {
            "type": "string",
            "default": defaults.query_language,
            "description": "The state machine's query language: JSONPath, or JSONata (the same states, translated).",
            "validation": [{"condition": '${contains(["JSONPath", "JSONata"], var.query_language)}', "error_message": "query_language must be JSONPath or JSONata."}],
        },
        "create_kms_key": {
            "type": "bool",
            "default": defaults.create_kms_key,
            "description": "Without kms_key_arn: create the module's own customer-managed key (rotation on). false: AWS-managed encryption.",
        },
        "subnet_ids": {
            "type": "list(string)",
            "default": [],
            "description": "[network]: the Lambda and every SageMaker job and model in these subnets (1-16; they need the VPC endpoints of the README's 'Private subnets'). Default: none.",
            "validation": [
                _each(SUBNET_ID, "subnet_ids"),
                {"condition": "${length(var.subnet_ids) <= 16}", "error_message": "subnet_ids: at most 16 (the Lambda and SageMaker VpcConfig limit)."},
                {"condition": "${(length(var.subnet_ids) == 0) == (length(var.security_group_ids) == 0)}",
                 "error_message": "subnet_ids and security_group_ids go together: set both or neither."},
            ],
        },
        "security_group_ids": {
            "type": "list(string)",
            "default": [],
            "description": "[network]: the security groups of the Lambda, the jobs and the model (1-5, with subnet_ids).",
            "validation": [
                _each(SECURITY_GROUP_ID, "security_group_ids"),
                {"condition": "${length(var.security_group_ids) <= 5}", "error_message": "security_group_ids: at most 5 (the Lambda and SageMaker VpcConfig limit)."},
            ],
        },
        "access_log_bucket": {
            "type": "string",
            "default": None,
            "description": "S3 server access logging of the data bucket into this existing bucket (its policy must let logging.s3.amazonaws.com write). Default: off.",
            "validation": _validation(BUCKET_NAME, "access_log_bucket", optional=True),
        },
        "code_signing_config_arn": {
            "type": "string",
            "default": None,
            "description": "A Lambda code signing configuration: only packages signed by its profiles deploy. Default: none.",
            "validation": _validation(CODE_SIGNING_CONFIG_ARN, "code_signing_config_arn", optional=True),
        },
    }


def readme(files: dict[str, dict]) -> str:
    def default(spec: dict) -> str:
        if "default" not in spec:
            return "required"
        return "`null`" if spec["default"] is None else f"`{json.dumps(spec['default'])}`"

    lines = [
        "# sfn-ml-pipeline Terraform module",
        "",
        "Generated by `pipeline-tools module export`; do not edit (re-export instead). The Step Functions",
        "ML pipeline (Generate dataset -> Standardization -> Train model (XGBoost)) with its bucket, Lambda,",
        "roles and logs. No provider or backend block: configure `hashicorp/aws` in the calling module.",
        "",
        "```hcl",
        'module "pipeline" {',
        '  source      = "./path/to/this/module"',
        '  name_prefix = "churn"',
        "}",
        "```",
        "",
        "## Inputs",
        "",
        "| Name | Type | Default | Description |",
        "|---|---|---|---|",
    ]
    for name, spec in files["variables.tf.json"]["variable"].items():
        lines.append(f"| `{name}` | `{spec['type']}` | {default(spec)} | {spec['description']} |")
    lines += ["", "## Outputs", "", "| Name | Description |", "|---|---|"]
    for name, spec in files["outputs.tf.json"]["output"].items():
        lines.append(f"| `{name}` | {spec.get('description', '')} |")
    return "\n".join(lines) + "\n"


def export_module(directory: Path) -> Path:
    """Write the module into ``directory`` all-or-nothing (staging dir, then rename). A directory
    that exists must be empty or a previous export (it holds the marker file)."""
    directory = Path(directory)
    if directory.exists():
        if not directory.is_dir():
            raise UsageError(f"{directory} exists and is not a directory", "pass a new or empty directory")
        if any(directory.iterdir()) and not (directory / MARKER).exists():
            raise UsageError(f"{directory} is not empty and holds no previous module export", "pass a new or empty directory")
    with tempfile.TemporaryDirectory(prefix="pipeline-tools-module-") as work:
        stack, stack_dir = _synth(Path(work))
        files = build_module(stack)
        with replacing_directory(directory) as staging:
            for name, document in files.items():
                (staging / name).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
            (staging / "README.md").write_text(readme(files))
            shutil.copytree(stack_dir / "assets", staging / "assets")
            (staging / MARKER).write_text("generated by pipeline-tools module export\n")
    return directory
