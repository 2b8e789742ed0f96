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

With a config (``module export DIR --config FILE``) the synth starts from that config instead of the
built-in defaults, so the module has that config's shape: your code folders (``source_dir``) packaged
as module assets (``assets/...``, uploaded content-addressed under ``code/<hash>/``), the data layout
(processing outputs, training channels, script mode or the built-in algorithm, arguments,
environment, network isolation, instance counts, ...) baked in; the knobs above stay variables, with
the config's values as defaults. With ``[input]`` there is no Generate dataset Lambda and the module
takes ``input_s3_uri`` (required; the IAM ARNs and ``s3:prefix`` condition, the definition's input
Choice, Pass and Fail, and the state machine's ``sfn-ml-pipeline:input`` tag all follow it through
locals, the JSONata form's StringMatches as the regex the translation writes) and ``input_kms_key_arn``
(optional: its ``kms:Decrypt`` statement and tag exist only with it). The stages' roles (the Lambda's
without your data, the model's with the batch transform stage) follow the config too.
In script mode the hyperparameters are encoded in the template as the construct encodes them
(each value JSON-encoded, then the ``sagemaker_*`` ones). Without a config the export is the sample's.
The state machine keeps the construct's ``sfn-ml-pipeline:*`` tags (merged over ``var.tags``), which
``verify-iam --plan`` reads the data layout from.

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
# [input] (your data): the location and its key. The rewrite turns the URI into local.input_s3_uri, then
# what is left of its parts (the ARNs and the s3:prefix condition) into local.input_bucket / local.input_prefix.
INPUT_BUCKET = "pxinputbucketq"
INPUT_PREFIX = "pxinputprefixq/"
INPUT_URI = f"s3://{INPUT_BUCKET}/{INPUT_PREFIX}"
INPUT_KEY = "arn:aws:kms:us-east-1:000000000000:key/pxinputkeysentinel"
INPUT_KEY_TAG = "sfn-ml-pipeline:input-kms-key"  # parts/state_machine.py

# Resource types of the construct that take `tags` (on the CDK stack they come from default_tags).
TAGGABLE = ("aws_s3_bucket", "aws_cloudwatch_log_group", "aws_iam_role", "aws_kms_key", "aws_lambda_function", "aws_s3_object", "aws_sfn_state_machine")


def _sentinel_config(config=None):
    """``config`` (default: the built-in defaults, the sample) with every value the module takes as a
    variable replaced by a sentinel, and the stack's own key on (the module decides about the key
    itself, as the construct does). Everything else (code folders, data layout, counts, sizes,
    isolation, ...) stays the config's and is baked into the module."""
    from sfn_ml_pipeline.config import PipelineConfig, config_from_mapping

    config = config or PipelineConfig()
    data = config.model_dump(by_alias=True, exclude_none=True)
    for key in ("bucket_name", "kms_key_arn"):
        data.pop(key, None)
    data.update(
        name_prefix=PREFIX,
        query_language="JSONPath",  # both forms come from the JSONPath synth (_definition_per_query_language)
        create_kms_key=True,
        tags={},
        network={"subnet_ids": [SUBNET], "security_group_ids": [SECURITY_GROUP]},
        access_log_bucket=ACCESS_LOG_BUCKET,
    )
    data["lambda"]["code_signing_config_arn"] = CODE_SIGNING
    data["processing"].update(instance_type=PROCESSING_INSTANCE, image=PROCESSING_IMAGE)
    data["training"].update(instance_type=TRAINING_INSTANCE, image=TRAINING_IMAGE, hyperparameters={"num_round": "1", "pxhpsentinel": "1"})
    if config.input is not None:
        data["input"] = {"s3_uri": INPUT_URI, "kms_key_arn": INPUT_KEY}
    if config.problem_type is not None and "quality_gate" in data:
        # the sentinel hyperparameters have no objective: what the model predicts (which the gate's
        # metric, its direction and Evaluate model's report depend on) is the config's, baked in
        data["quality_gate"]["problem_type"] = config.problem_type
    return config_from_mapping(data, "module export")


def _synth(work: Path, config=None) -> tuple[dict, Path]:
    """Synthesize the construct with sentinel values; return (cdk.tf.json, stack dir)."""
    from cdktn import App

    from sfn_ml_pipeline.stack import MlPipelineStack

    app = App(outdir=str(work / "out"))
    MlPipelineStack(app, "module", config=_sentinel_config(config))
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

    def __init__(self, own_input: bool = False) -> None:
        repo = "ecr:${local.%s_image_parts.region}:${local.%s_image_parts.account}:repository/${local.%s_image_parts.repo}"
        # Your data: the whole URI first (definition, tag; in the JSONata form's StringMatches also as a regex),
        # then its parts (IAM ARNs, the s3:prefix condition).
        data = [
            (_input_regex_text(INPUT_URI), "${local.input_s3_regex}"),
            (INPUT_URI, "${local.input_s3_uri}"),
            (INPUT_BUCKET, "${local.input_bucket}"),
            (INPUT_PREFIX, "${local.input_prefix}"),
            (INPUT_KEY, "${var.input_kms_key_arn}"),
        ]
        self.substrings = (data if own_input else []) + [
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


def _definition_with_hyperparameters(definition: str) -> tuple[str, dict[str, str]]:
    """Replace the training job's HyperParameters object by a mark (it becomes a jsonencode() of the
    variable last, :func:`_hyperparameters_expression`); return the definition and the object replaced."""
    document = json.loads(definition)
    found = []
    for state in document["States"].values():
        parameters = state.get("Parameters", state.get("Arguments", {}))  # JSONPath / JSONata
        if "HyperParameters" in parameters:
            found.append(parameters["HyperParameters"])
            parameters["HyperParameters"] = HYPERPARAMETERS_MARK
    if len(found) != 1:
        raise RuntimeError(f"module export: expected one state with HyperParameters, found {len(found)}")
    return json.dumps(document, ensure_ascii=False, indent=2), found[0]


def _hyperparameters_expression(synthesized: dict[str, str], script_mode: bool) -> str:
    """The training job's HyperParameters as a template expression of ``var.hyperparameters``.

    Built-in algorithm: the variable as is. Script mode: as the construct encodes them
    (``sfn_ml_pipeline.definition.script_mode_hyperparameters``): each of yours JSON-encoded (as the
    SageMaker SDK's estimators do), merged with the ``sagemaker_*`` ones the synth wrote (literals,
    and the region as the provider's)."""
    import re

    from sfn_ml_pipeline.rules import hcl_string

    if not script_mode:
        return "${jsonencode(var.hyperparameters)}"
    fixed = {k: v for k, v in synthesized.items() if k.startswith("sagemaker_")}
    if set(synthesized) - set(fixed) != {"num_round", "pxhpsentinel"} or "sagemaker_program" not in fixed:
        raise RuntimeError(f"module export: unexpected script-mode hyperparameters {sorted(synthesized)}")
    members = []
    for key, value in fixed.items():
        if "${" in value:
            reference = re.fullmatch(r'"\$\{(data\.aws_region\.[A-Za-z0-9_]+\.name)\}"', value)
            if reference is None:
                raise RuntimeError(f"module export: unexpected reference in hyperparameter {key}: {value}")
            members.append(f'"{key}" = jsonencode({reference[1]})')
        else:
            members.append(f'"{key}" = "{hcl_string(value)}"')
    return "${jsonencode(merge({for k, v in var.hyperparameters : k => jsonencode(v)}, {" + ", ".join(members) + "}))}"


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


def _definition_per_query_language(definition: str, key_reference: str, script_mode: bool = False) -> str:
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
        text, hyperparameters = _definition_with_hyperparameters(text)
        text = _definition_with_job_security(text, key_reference)
        forms.append(text.replace(f'"{HYPERPARAMETERS_MARK}"', _hyperparameters_expression(hyperparameters, script_mode)))
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


def build_module(stack: dict, config=None) -> dict[str, dict]:
    """The module's files (name -> JSON document) from the sentinel synth of the stack. ``config``: the
    one the synth started from (its shape; the variables' defaults), default the built-in one."""
    from sfn_ml_pipeline.config import PipelineConfig, ecr_accounts

    config = config or PipelineConfig()
    own_input = config.input is not None
    stack = _strip_comments(stack)
    data, resources = stack["data"], stack["resource"]

    # The state machine definition first: its hyperparameters are a JSON object, not a string.
    _, machine = _only(resources["aws_sfn_state_machine"], "state machine")
    key_id, _ = _only(resources["aws_kms_key"], "KMS key")
    machine["definition"] = _definition_per_query_language(
        machine["definition"], f"${{aws_kms_key.{key_id}.arn}}", config.training.script_mode
    )

    rewrite = _Rewriter(own_input)
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

    # KMS statements exist only with a key: dynamic blocks keyed on it (the stack's key; your data's key).
    if _dynamic_key_statements(data, "${local.kms_key_arn}", "local.kms_key_arn") == 0:
        raise RuntimeError("module export: no KMS policy statement found")
    if own_input and _dynamic_key_statements(data, "${var.input_kms_key_arn}", "var.input_kms_key_arn") != 1:
        raise RuntimeError("module export: expected one statement for the input's key")

    # [network]: the ENI grants only with subnets; the Lambda's vpc_config a dynamic block.
    # The jobs' role; the Lambda's (not with your data); the model's (the batch transform stage's).
    roles = 1 + config.generates_dataset + config.batch_transform.enabled
    if sum(_network_statements(document) for document in data["aws_iam_policy_document"].values()) != 3 * roles:
        raise RuntimeError(f"module export: expected the {3 * roles} network-interface statements (three per role)")
    if config.generates_dataset:
        (function_id, function), = resources["aws_lambda_function"].items()
        if function.pop("vpc_config", None) is None or function.get("code_signing_config_arn") != CODE_SIGNING:
            raise RuntimeError("module export: the function's vpc_config or code signing sentinel is missing")
        function["dynamic"] = {"vpc_config": {"for_each": "${local.network ? [1] : []}",
                                              "content": {"subnet_ids": "${var.subnet_ids}", "security_group_ids": "${var.security_group_ids}"}}}
        function["code_signing_config_arn"] = "${var.code_signing_config_arn}"
    elif resources.get("aws_lambda_function"):
        raise RuntimeError("module export: a Lambda function in a stack that reads your data")
    # S3 access logging only with a log bucket.
    _, logging = _only(resources["aws_s3_bucket_logging"], "bucket access logging")
    if logging["target_bucket"] != ACCESS_LOG_BUCKET:
        raise RuntimeError("module export: the access log bucket sentinel is missing")
    logging["count"] = "${var.access_log_bucket == null ? 0 : 1}"
    logging["target_bucket"] = "${var.access_log_bucket}"

    # Tags: the module's on everything; the state machine keeps its own (the data layout verify-iam reads),
    # your data's key only when there is one.
    machine_tags = dict(_machine_tags(resources))
    key_tag = machine_tags.pop(INPUT_KEY_TAG, None)
    if own_input != (key_tag == "${var.input_kms_key_arn}"):
        raise RuntimeError("module export: the state machine's input key tag is not the sentinel's")
    for kind in TAGGABLE:
        for resource in resources.get(kind, {}).values():
            resource["tags"] = "${local.tags}"
    key_tag_expression = ", {for k, v in {\"%s\" = var.input_kms_key_arn} : k => v if v != null}" % INPUT_KEY_TAG if own_input else ""
    _, machine = _only(resources["aws_sfn_state_machine"], "state machine")  # the rewrites above made new dicts
    machine["tags"] = "${merge(local.tags, local.state_machine_tags" + key_tag_expression + ")}"
    for resource in resources.get("aws_lambda_function", {}).values():
        resource["filename"] = "${path.module}/" + resource["filename"]
    for resource in resources.get("aws_s3_object", {}).values():
        resource["source"] = "${path.module}/" + resource["source"]

    text = json.dumps((data, resources))
    for sentinel in (SUBNET, SECURITY_GROUP, ACCESS_LOG_BUCKET, CODE_SIGNING, INPUT_BUCKET, INPUT_PREFIX.rstrip("/"), INPUT_KEY, "pxhpsentinel"):
        if sentinel in text:
            raise RuntimeError(f"module export: sentinel {sentinel} left in the module")

    locals_ = {
        "region": "${" + region + "}",
        "create_kms_key": "${var.kms_key_arn == null && var.create_kms_key}",
        "network": "${length(var.subnet_ids) > 0}",
        "kms_key_arn": f"${{var.kms_key_arn != null ? var.kms_key_arn : (local.create_kms_key ? aws_kms_key.{key_id}[0].arn : null)}}",
        "tags": '${merge({Project = var.name_prefix, ManagedBy = "sfn-ml-pipeline"}, var.tags)}',
        "state_machine_tags": machine_tags,
        "ecr_accounts": ecr_accounts(),
        # The partition's DNS suffix (amazonaws.com.cn in China, the ISO partitions' own), as the SDK's image URIs use.
        "ecr_domain": "${data.aws_partition." + partition_id + ".dns_suffix}",
        "processing_image": '${coalesce(var.processing_image, "${local.ecr_accounts[local.region]}.dkr.ecr.${local.region}.${local.ecr_domain}/sagemaker-scikit-learn:'
        + config.processing.image_tag
        + '")}',
        "training_image": '${coalesce(var.training_image, "${local.ecr_accounts[local.region]}.dkr.ecr.${local.region}.${local.ecr_domain}/sagemaker-xgboost:'
        + config.training.image_tag
        + '")}',
        "processing_image_parts": "${" + _image_parts("local.processing_image") + "}",
        "training_image_parts": "${" + _image_parts("local.training_image") + "}",
    }
    if own_input:
        locals_.update(_input_locals())
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
    return {"main.tf.json": main, "variables.tf.json": {"variable": variables(config)}, "outputs.tf.json": {"output": outputs}}


def _machine_tags(resources: dict) -> dict[str, str]:
    """The state machine's own tags (parts/state_machine.py: the data layout, your data and its key)."""
    _, machine = _only(resources["aws_sfn_state_machine"], "state machine")
    tags = machine.get("tags")
    if not isinstance(tags, dict) or not all(key.startswith("sfn-ml-pipeline:") for key in tags):
        raise RuntimeError(f"module export: the state machine's tags are not the data layout's: {tags!r}")
    return tags


def _dynamic_key_statements(data: dict, reference: str, expression: str) -> int:
    """The policy statements on a key (``reference``) as dynamic blocks that exist only when
    ``expression`` is not null; returns how many were moved."""
    moved = 0
    for document in data["aws_iam_policy_document"].values():
        statements = document.get("statement", [])
        keyed = [s for s in statements if reference in s.get("resources", [])]
        if not keyed:
            continue
        document["statement"] = [s for s in statements if s not in keyed]
        for statement in keyed:
            content = dict(statement)
            content["resources"] = ["${statement.value}" if r == reference else r for r in statement["resources"]]
            document.setdefault("dynamic", {}).setdefault("statement", []).append(
                {"for_each": f"${{{expression} == null ? [] : [{expression}]}}", "content": content}
            )
            moved += 1
    return moved


def _input_locals() -> dict[str, str]:
    """Your data's location as the config reads it (``InputConfig``): a folder (a final "/" added when
    missing), its bucket by the same rule (rules.S3_URI), its key prefix ("" for the whole bucket), and
    the location as the JSONata form's StringMatches regex spells it (:func:`_input_regex_text`)."""
    from sfn_ml_pipeline.rules import S3_URI, hcl_string

    return {
        "input_s3_uri": '${endswith(var.input_s3_uri, "/") ? var.input_s3_uri : "${var.input_s3_uri}/"}',
        "input_bucket": f'${{regex("{hcl_string(S3_URI.pattern)}", local.input_s3_uri)["bucket"]}}',
        "input_prefix": '${trimprefix(local.input_s3_uri, "s3://${local.input_bucket}/")}',
        # Each such character after a backslash, written as the definition's JSON text writes one: "\\\\".
        "input_s3_regex": '${replace(local.input_s3_uri, "/([' + REGEX_ESCAPED_IN_S3_URI + '])/", "\\\\\\\\$1")}',
    }


# The characters rules.S3_URI admits that sfn_ml_pipeline.jsonata._wildcard_regex escapes in a regex
# (of \^$.|?*+()[]{}/): the dot, the plus and the slash. _input_regex_text checks the claim.
REGEX_ESCAPED_IN_S3_URI = "./+"


def _input_regex_text(uri: str) -> str:
    """``uri`` as the JSONata translation puts it in the StringMatches regex (``jsonata._wildcard_regex``),
    as it reads in the definition's JSON text."""
    from sfn_ml_pipeline.jsonata import _wildcard_regex

    regex = _wildcard_regex(uri)  # "/^" + the escaped characters + "$/"
    escaped = "".join("\\" + c if c in REGEX_ESCAPED_IN_S3_URI else c for c in uri)
    if regex != "/^" + escaped + "$/":
        raise RuntimeError(f"module export: the JSONata translation escapes {uri!r} as {regex}, not as the module does")
    return json.dumps(escaped)[1:-1]


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


def variables(config) -> dict[str, dict]:
    """The module's inputs: the construct's knobs, with ``config``'s values as config. The names a
    pipeline instance must own (``name_prefix``, ``input_s3_uri``) have none; ``bucket_name`` and
    ``input_kms_key_arn`` default to none (the derived bucket name; no key), whatever the config says,
    so two instances never share a bucket or a data key by accident (the README's example shows the
    config's values)."""
    from sfn_ml_pipeline.definition import PREPROCESS
    from sfn_ml_pipeline.rules import (
        BUCKET_NAME, CODE_SIGNING_CONFIG_ARN, ECR_IMAGE, KMS_KEY_ARN, ML_INSTANCE, NAME_PREFIX, S3_URI, SECURITY_GROUP_ID, SUBNET_ID,
    )

    network = config.network
    processing_job = f"{PREPROCESS} processing job (your {config.processing.entry_point})" if config.processing.own_code else "Standardization processing job"
    training_job = f"training job (your {config.training.entry_point}, script mode)" if config.training.script_mode else "XGBoost training job"
    variables: dict[str, dict] = {
        "name_prefix": {
            "type": "string",
            "description": "Prefix of every resource name (lowercase letter first, a-z 0-9 '-', at most 20 chars).",
            "validation": _validation(NAME_PREFIX, "name_prefix"),
        },
    }
    if config.input is not None:
        variables["input_s3_uri"] = {
            "type": "string",
            "description": "Your data, s3://BUCKET/PREFIX/: every execution reads everything under it, or the location under it "
            "its input's \"input\" names (else the execution fails before any job). The jobs' role may read only there. "
            "A missing final '/' is added (a prefix is a folder), as the config does.",
            "validation": _validation(S3_URI, "input_s3_uri"),
        }
        variables["input_kms_key_arn"] = {
            "type": "string",
            "default": None,
            "description": "The key of your data's objects, when they are SSE-KMS encrypted: the jobs' role may decrypt with it "
            "through S3 only (a key of another account must also allow that role, output sagemaker_role_arn, in its key policy). Default: none.",
            "validation": _validation(KMS_KEY_ARN, "input_kms_key_arn", optional=True),
        }
    variables |= {
        "bucket_name": {
            "type": "string",
            "default": None,
            "description": "Data bucket name. Default: <name_prefix>-data-<account>-<region>.",
            "validation": [{"condition": '${var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))}', "error_message": "bucket_name must be a valid S3 bucket name (3-63 chars: a-z, 0-9, '.', '-')."}],
        },
        "processing_instance_type": {
            "type": "string",
            "default": config.processing.instance_type,
            "description": f"Instance type of the {processing_job}.",
            "validation": _validation(ML_INSTANCE, "processing_instance_type"),
        },
        "training_instance_type": {
            "type": "string",
            "default": config.training.instance_type,
            "description": f"Instance type of the {training_job}.",
            "validation": _validation(ML_INSTANCE, "training_instance_type"),
        },
        "hyperparameters": _hyperparameters_variable(config),
        "processing_image": {
            "type": "string",
            "default": config.processing.image,
            "description": f"Processing image URI. Default: sagemaker-scikit-learn:{config.processing.image_tag} in the provider's region.",
            "validation": _validation(ECR_IMAGE, "processing_image", optional=True),
        },
        "training_image": {
            "type": "string",
            "default": config.training.image,
            "description": f"Training image URI. Default: sagemaker-xgboost:{config.training.image_tag} in the provider's region.",
            "validation": _validation(ECR_IMAGE, "training_image", optional=True),
        },
        "tags": {"type": "map(string)", "default": dict(config.tags), "description": "Tags on every resource (merged over Project and ManagedBy)."},
        "kms_key_arn": {
            "type": "string",
            "default": config.kms_key_arn,
            "description": "Your customer-managed KMS key for the bucket, the logs and the Lambda environment (its key policy: docs/kms-key-policy.md). Default: the module's own key, unless create_kms_key is false.",
            "validation": _validation(KMS_KEY_ARN, "kms_key_arn", optional=True),
        },
        "query_language": {
            "type": "string",
            "default": config.query_language,
            "description": "The state machine's query language: JSONPath, or JSONata (the same states, translated).",
            "validation": [{"condition": '${contains(["JSONPath", "JSONata"], var.query_language)}', "error_message": "query_language must be JSONPath or JSONata."}],
        },
        "create_kms_key": {
            "type": "bool",
            "default": config.create_kms_key,
            "description": "Without kms_key_arn: create the module's own customer-managed key (rotation on). false: AWS-managed encryption.",
        },
        "subnet_ids": {
            "type": "list(string)",
            "default": list(network.subnet_ids) if network else [],
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
            "default": list(network.security_group_ids) if network else [],
            "description": "[network]: the security groups of the Lambda, the jobs and the model (1-5, with subnet_ids).",
            "validation": [
                _each(SECURITY_GROUP_ID, "security_group_ids"),
                {"condition": "${length(var.security_group_ids) <= 5}", "error_message": "security_group_ids: at most 5 (the Lambda and SageMaker VpcConfig limit)."},
            ],
        },
        "access_log_bucket": {
            "type": "string",
            "default": config.access_log_bucket,
            "description": "S3 server access logging of the data bucket into this existing bucket (its policy must let logging.s3.amazonaws.com write). Default: off.",
            "validation": _validation(BUCKET_NAME, "access_log_bucket", optional=True),
        },
        "code_signing_config_arn": {
            "type": "string",
            "default": config.generate_lambda.code_signing_config_arn,
            "description": "A Lambda code signing configuration: only packages signed by its profiles deploy. Default: none.",
            "validation": _validation(CODE_SIGNING_CONFIG_ARN, "code_signing_config_arn", optional=True),
        },
    }
    if not config.generates_dataset:  # your data: no Generate dataset Lambda to sign, place or encrypt for
        del variables["code_signing_config_arn"]
        for old, new in (("the Lambda and every SageMaker job", "every SageMaker job"), ("of the Lambda, the jobs", "of the jobs"),
                         ("the bucket, the logs and the Lambda environment", "the bucket and the logs")):
            for spec in variables.values():
                spec["description"] = spec["description"].replace(old, new)
    return variables


def _hyperparameters_variable(config) -> dict:
    """Built-in XGBoost: a map of strings, as the algorithm reads them. Script mode: any values, each
    JSON-encoded into the job (as the construct and the SageMaker SDK do), so numbers stay numbers."""
    if not config.training.script_mode:
        return {
            "type": "map(string)",
            "default": {k: str(v) for k, v in config.training.hyperparameters.items()},
            "description": "Built-in XGBoost hyperparameters (num_round is required).",
            "validation": [{"condition": '${contains(keys(var.hyperparameters), "num_round")}', "error_message": "hyperparameters must include num_round."}],
        }
    return {
        "type": "any",
        "default": dict(config.training.hyperparameters),
        "description": f"Script mode: the hyperparameters of your {config.training.entry_point}, an object of strings and numbers; "
        "the script gets each as --name value (the sagemaker_* ones are the module's).",
        "validation": [{
            "condition": '${try(alltrue([for k, v in var.hyperparameters : !startswith(k, "sagemaker_") && can(tostring(v))]), false)}',
            "error_message": "hyperparameters must be an object of strings and numbers without sagemaker_ keys (the module sets those).",
        }],
    }


def readme(files: dict[str, dict], config=None, source: str | None = None) -> str:
    """The module's README: what it runs, how to call it, every input and output, and (exported from a
    config, ``source``) what that config baked in."""
    from sfn_ml_pipeline.config import PipelineConfig
    from sfn_ml_pipeline.definition import BATCH_TRANSFORM_STATE_NAMES, CHOOSE_INPUT, GENERATE, processing_state_name, training_state_name
    from sfn_ml_pipeline.gate import EVALUATE, QUALITY_GATE, REGISTER

    config = config or PipelineConfig()

    def default(spec: dict) -> str:
        if "default" not in spec:
            return "required"
        return "`null`" if spec["default"] is None else f"`{json.dumps(spec['default'])}`"

    processing = processing_state_name(config).split(":")[0]  # "Standardization: x' = (x - x̄) / σ" -> Standardization
    states = [GENERATE if config.generates_dataset else CHOOSE_INPUT, processing, training_state_name(config)]
    states += list(BATCH_TRANSFORM_STATE_NAMES) if config.batch_transform.enabled else []
    states += [EVALUATE, QUALITY_GATE, REGISTER] if config.quality_gate.enabled else []
    call = [("source", "./path/to/this/module"), ("name_prefix", config.name_prefix if source else "churn")]
    if config.input is not None:
        call.append(("input_s3_uri", config.input.s3_uri))
    width = max(len(name) for name, _ in call)
    example = [f"  {name.ljust(width)} = {json.dumps(value)}" for name, value in call]
    if config.input is not None:
        key = config.input.kms_key_arn or "arn:aws:kms:REGION:ACCOUNT:key/ID"
        example.append(f"  # input_kms_key_arn = {json.dumps(key)}   # when your objects are SSE-KMS")
    pipeline = f"ML pipeline ({' -> '.join(states)}) with its bucket, "
    no_provider = "No provider or backend block: configure `hashicorp/aws` in the calling module."
    if config.generates_dataset:
        what = [pipeline + "Lambda,", f"roles and logs. {no_provider}"]
    else:
        what = [pipeline + "roles and logs.", no_provider]
    lines = [
        "# sfn-ml-pipeline Terraform module",
        "",
        "Generated by `pipeline-tools module export`; do not edit (re-export instead). The Step Functions",
        *what,
        "",
        "```hcl",
        'module "pipeline" {',
        *example,
        "}",
        "```",
        "",
    ]
    if source is not None:
        lines += _baked_in(files, config, source)
    lines += [
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


def _baked_in(files: dict[str, dict], config, source: str) -> list[str]:
    """README lines: the shape the config gave the module (not variables: re-export to change them)."""
    processing, training = config.processing, config.training

    def names(items) -> str:
        return ", ".join(f"`{item}`" for item in items)

    def isolation(section) -> str:
        return "network-isolated" if section.network_isolation else "with network access"

    lines = [f"## Baked in from `{source}`", "", "Re-export to change these; everything under Inputs is a variable.", ""]
    if config.input is not None:
        lines.append("* **Data**: everything under `input_s3_uri`, at `/opt/ml/processing/input/data` in the processing job; "
                     "no Generate dataset Lambda.")
    else:
        lines.append(f"* **Data**: the sample's generated dataset ({config.dataset.rows} rows by default), written by the Generate dataset Lambda.")
    if processing.own_code:
        detail = f"`{processing.entry_point}` from `{processing.source_dir.name}/`"
        detail += f", arguments `{json.dumps(list(processing.arguments))}`" if processing.arguments else ""
        detail += f", environment `{json.dumps(dict(processing.environment))}`" if processing.environment else ""
    else:
        detail = "the sample's `transform.py`"
    lines.append(f"* **Processing**: {detail}; outputs {names(config.processing_outputs)} (each `runs/<execution>/<name>/`); "
                 f"{processing.instance_count} instance(s), {processing.volume_size_gb} GB, at most {processing.max_runtime_seconds} s, {isolation(processing)}.")
    if training.script_mode:
        detail = f"script mode: `{training.entry_point}` from `{training.source_dir.name}/` in the training image"
        if training.metric_definitions:
            detail += f", metrics {names(m.name for m in training.metric_definitions)}"
    else:
        detail = "the built-in XGBoost algorithm"
    lines.append(f"* **Training**: {detail}; channels {names(config.training_channels)}; {training.instance_count} instance(s), "
                 f"{training.volume_size_gb} GB, at most {training.max_runtime_seconds} s, {isolation(training)}.")
    if config.quality_gate.enabled:
        from sfn_ml_pipeline.quality import METRICS

        gate = config.quality_gate
        at_least = METRICS[gate.metric].comparison == "NumericGreaterThanEquals"
        lines.append(f"* **Quality gate**: `{gate.metric} {'>=' if at_least else '<='} {gate.threshold}` on rows training never saw; a passing model "
                     f"is registered in `<name_prefix>-models` as `{gate.approval_status}`.")
    lines.append(f"* **Logs** kept {config.log_retention_days} days.")
    code = {
        body["key"]: body["source"].removeprefix("${path.module}/")
        for body in files["main.tf.json"]["resource"].get("aws_s3_object", {}).values()
    }
    if code:
        lines += ["", "Code in the bucket, content-addressed: a changed file changes these objects and the state machine's",
                  "definition, nothing else.", "", "| Object key | Module asset |", "|---|---|"]
        lines += [f"| `{key}` | `{path}` |" for key, path in sorted(code.items())]
    return lines + [""]


def export_module(directory: Path, config=None, source: str | None = None) -> Path:
    """Write the module into ``directory`` all-or-nothing (staging dir, then rename). A directory
    that exists must be empty or a previous export (it holds the marker file). ``config``: the
    shape to export (default: the built-in one, the sample); ``source`` names it in the README."""
    directory = Path(directory)
    if directory.exists():
        if not directory.is_dir():
            raise UsageError(f"{directory} exists and is not a directory", "pass a new or empty directory")
        if any(directory.iterdir()) and not (directory / MARKER).exists():
            raise UsageError(f"{directory} is not empty and holds no previous module export", "pass a new or empty directory")
    with tempfile.TemporaryDirectory(prefix="pipeline-tools-module-") as work:
        stack, stack_dir = _synth(Path(work), config)
        files = build_module(stack, config)
        with replacing_directory(directory) as staging:
            for name, document in files.items():
                (staging / name).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
            (staging / "README.md").write_text(readme(files, config, source))
            shutil.copytree(stack_dir / "assets", staging / "assets")
            (staging / MARKER).write_text("generated by pipeline-tools module export\n")
    return directory
