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

# Resource types of the construct that take `tags` (on the CDK stack they come from default_tags).
TAGGABLE = ("aws_s3_bucket", "aws_cloudwatch_log_group", "aws_iam_role", "aws_kms_key", "aws_lambda_function", "aws_s3_object", "aws_sfn_state_machine")



def _sentinel_config():
    from sfn_ml_pipeline.config import PipelineConfig

    return PipelineConfig(
        name_prefix=PREFIX,
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
    text = json.dumps(document, ensure_ascii=False, indent=2)
    return text.replace(f'"{HYPERPARAMETERS_MARK}"', "${jsonencode(var.hyperparameters)}")


def _definition_per_query_language(definition: str) -> str:
    """``%{ if var.query_language == "JSONata" }<JSONata>%{ else }<JSONPath>%{ endif }``: a
    Terraform template directive (a string of a .tf.json file is a template) over both forms."""
    from sfn_ml_pipeline.jsonata import to_jsonata

    document = json.loads(definition)
    if "QueryLanguage" in document:
        raise RuntimeError("module export: the sentinel synth is expected in JSONPath")
    forms = [_definition_with_hyperparameters(text) for text in (json.dumps(to_jsonata(document), ensure_ascii=False), definition)]
    if any("%{" in form for form in forms):
        raise RuntimeError("module export: a definition holds '%{', which a template directive would read")
    return f'%{{ if var.query_language == "JSONata" }}{forms[0]}%{{ else }}{forms[1]}%{{ endif }}'


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
    # Both query languages (config query_language): the JSONata form is the construct's translation
    # of the same definition, chosen by a template directive on var.query_language.
    _, machine = _only(resources["aws_sfn_state_machine"], "state machine")
    machine["definition"] = _definition_per_query_language(machine["definition"])

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
        contents = []
        for statement in kms:
            content = dict(statement)
            content["resources"] = ["${statement.value}" if r == "${local.kms_key_arn}" else r for r in statement["resources"]]
            contents.append({"for_each": "${local.kms_key_arn == null ? [] : [local.kms_key_arn]}", "content": content})
            moved += 1
        document["dynamic"] = {"statement": contents}
    if moved == 0:
        raise RuntimeError("module export: no KMS policy statement found")

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


def variables(defaults) -> dict[str, dict]:
    from sfn_ml_pipeline.rules import ECR_IMAGE, KMS_KEY_ARN, ML_INSTANCE, NAME_PREFIX

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
