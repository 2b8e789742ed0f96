"""Your data, your code (issue 22), up to the synthesized stack: the config's rules, the packaged
code folders, the definition's states and requests, the derived IAM, and verify-iam on own-data
stacks (synthesized and as a plan). The emulator runs are in tests/test_own_data_pipeline.py."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from sfn_ml_pipeline.config import ConfigError, config_from_mapping, load_config
from sfn_ml_pipeline.definition import (
    CHOOSE_INPUT, DEFAULT_INPUT, INPUT_REFUSED, PREPROCESS, TRAIN, TRAIN_SCRIPT, DefinitionRefs, build_definition,
)
from sfn_ml_pipeline.iam import Arns, DataLayout, sagemaker_statements
from sfn_ml_pipeline.packaging import SourceProblem, package_source, processing_launcher

from .conftest import assert_clean_error, run_cli


@pytest.fixture
def code(tmp_path) -> Path:
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "preprocess.py").write_text("print('preprocess')\n")
    (folder / "train.py").write_text("print('train')\n")
    (folder / "README.md").write_text("not code\n")
    return folder


def own(code: Path, **overrides) -> dict:
    data = {
        "input": {"s3_uri": "s3://team-data/churn/"},
        "processing": {"source_dir": str(code), "entry_point": "preprocess.py", "outputs": ["train", "validation", "test"]},
        "training": {"hyperparameters": {"objective": "binary:logistic", "num_round": "10"}},
    }
    for section, values in overrides.items():
        data[section] = values if values is None else {**data.get(section, {}), **values}
    return {k: v for k, v in data.items() if v is not None}


REFS = DefinitionRefs("b", "", "arn:aws:iam::123456789012:role/jobs", "", region="us-east-1",
                      processing_code="code/p/", training_code="code/t/")


# --- config ----------------------------------------------------------------------------------------


def test_source_dir_is_relative_to_the_config_file(tmp_path, code):
    project = tmp_path / "project"
    project.mkdir()
    (project / "pipeline.toml").write_text(
        '[input]\ns3_uri = "s3://team-data/churn"\n[processing]\nsource_dir = "../code"\nentry_point = "preprocess.py"\n'
    )
    config = load_config(project / "pipeline.toml")
    assert config.processing.source_dir == code.resolve()
    assert config.input.s3_uri == "s3://team-data/churn/"  # a prefix is a folder
    assert (config.input.bucket, config.input.prefix) == ("team-data", "churn/")


def test_defaults_stay_the_sample(code):
    config = config_from_mapping({})
    assert config.generates_dataset and not config.processing.own_code and not config.training.script_mode
    assert (config.processing_outputs, config.training_channels) == (["train"], ["train"])


def test_validation_is_a_channel_when_an_output_has_that_name(code):
    config = config_from_mapping(own(code))
    assert config.training_channels == ["train", "validation"] and not config.generates_dataset


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"input": {"s3_uri": "team-data/churn"}}, "input.s3_uri: 'team-data/churn' must be an S3 location"),
        ({"input": {"s3_uri": "s3://Team_Data/x/"}}, "must be an S3 location"),
        ({"input": {"s3_uri": "s3://team-data/a*b/"}}, "must be an S3 location"),  # not a tag value's character
        ({"processing": {"source_dir": "/nonexistent/code"}}, "processing.source_dir: folder /nonexistent/code not found"),
        ({"processing": {"entry_point": "nope.py"}}, "entry point 'nope.py' not found in"),
        ({"processing": {"entry_point": "../x.py"}}, "must be a .py file inside source_dir"),
        ({"processing": {"entry_point": "preprocess.sh"}}, "must be a .py file inside source_dir"),
        ({"processing": {"outputs": ["train", "train"]}}, "'train' is listed twice"),
        ({"processing": {"outputs": ["train", "models"]}}, "'models' is a folder the pipeline writes itself"),
        ({"processing": {"outputs": ["train", "a.b"]}}, "must be 1-64 characters"),
        ({"processing": {"outputs": ["validation"]}}, "training reads channel 'train', which processing does not write"),
        ({"training": {"channels": ["validation"]}}, "the built-in XGBoost algorithm needs a 'train' channel"),
        ({"processing": {"environment": {"1BAD": "x"}}}, "must be an environment variable name"),
        ({"processing": {"arguments": ["x" * 257]}}, "longer than 256 characters"),
        ({"training": {"channels": ["train", "extra"]}}, "training reads channel 'extra', which processing does not write"),
        ({"training": {"hyperparameters": {"num_round": "1", "sagemaker_program": "x"}}}, "set by the pipeline"),
        ({"training": {"metric_definitions": [{"name": "auc", "regex": "auc:(.*)"}]}}, "metric_definitions are for script mode"),
        ({"training": {"source_dir": "SRC", "entry_point": "train.py", "metric_definitions": [{"name": "auc", "regex": "auc:.*"}]}},
         "needs a group around the value"),
        ({"training": {"source_dir": "SRC", "entry_point": "train.py", "metric_definitions": [{"name": "auc", "regex": "auc:(["}]}},
         "is not a regular expression"),
        ({"processing": None}, "[input] needs your processing code"),
        ({"batch_transform": {"enabled": True}}, "batch_transform predicts the held-out rows"),
    ],
)
def test_bad_own_data_settings_are_one_line_naming_the_key(code, change, message):
    data = own(code, **{k: v for k, v in change.items()})
    if "training" in change and change["training"] and change["training"].get("source_dir") == "SRC":
        data["training"]["source_dir"] = str(code)
    with pytest.raises(ConfigError) as error:
        config_from_mapping(data, "pipeline.toml")
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_requirements_txt_needs_a_job_with_network(code):
    """pip installs from a package index inside the container; an isolated job (the default) has no network."""
    (code / "requirements.txt").write_text("tabulate==0.9.0\n")
    with pytest.raises(ConfigError, match=r"requirements.txt: the processing job runs network-isolated, so pip cannot reach a package index"):
        config_from_mapping(own(code))
    script = {"source_dir": str(code), "entry_point": "train.py", "hyperparameters": {"n": 1}}
    with pytest.raises(ConfigError, match=r"the training job runs network-isolated"):
        config_from_mapping(own(code, processing={"network_isolation": False}, training=script))
    config = config_from_mapping(own(code, processing={"network_isolation": False}, training={**script, "network_isolation": False}))
    definition = build_definition(config, REFS)
    assert definition["States"][PREPROCESS]["Parameters"]["NetworkConfig"]["EnableNetworkIsolation"] is False
    assert definition["States"][TRAIN_SCRIPT]["Parameters"]["EnableNetworkIsolation"] is False


def test_a_bad_config_is_exit_2_before_anything_runs(tmp_path, code):
    (tmp_path / "pipeline.toml").write_text(f'[input]\ns3_uri = "s3://team-data/churn/"\n[processing]\nsource_dir = "{code}"\nentry_point = "missing.py"\n')
    assert_clean_error(run_cli("synth", cwd=tmp_path), "entry point 'missing.py' not found")


# --- packaging -------------------------------------------------------------------------------------


def test_a_code_folder_packages_reproducibly_without_caches(tmp_path, code):
    (code / "__pycache__").mkdir()
    (code / "__pycache__" / "preprocess.cpython-311.pyc").write_bytes(b"\0")
    (code / ".git").mkdir()
    (code / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (code / "lib").mkdir()
    (code / "lib" / "helpers.py").write_text("X = 1\n")
    first = package_source("processing", code, "preprocess.py", tmp_path / "one")
    (code / "lib" / "helpers.py").touch()  # a new mtime, same bytes
    second = package_source("processing", code, "preprocess.py", tmp_path / "two")
    assert first.files == ("README.md", "lib/helpers.py", "preprocess.py", "train.py")
    assert first.archive.path.read_bytes() == second.archive.path.read_bytes() and first.prefix == second.prefix
    with tarfile.open(first.archive.path) as archive:
        assert archive.getnames() == list(first.files)
        assert {m.mtime for m in archive.getmembers()} == {0} and {m.uname for m in archive.getmembers()} == {""}
    (code / "lib" / "helpers.py").write_text("X = 2\n")
    assert package_source("processing", code, "preprocess.py", tmp_path / "three").prefix != first.prefix
    # the entry point is part of the package's identity (runproc.sh runs it)
    assert package_source("processing", code, "train.py", tmp_path / "four").prefix != first.prefix


def test_the_processing_launcher_unpacks_installs_and_runs(code, tmp_path):
    launcher = processing_launcher("preprocess.py")
    assert launcher.index("tar -xzf sourcedir.tar.gz") < launcher.index("pip install -r requirements.txt") < launcher.index("exec python3 preprocess.py \"$@\"")
    assert launcher.splitlines()[2:4] == ["# FrameworkProcessor: unpack the code, install requirements.txt, run the entry point.", "set -e"]


def test_a_syntax_error_names_file_and_line(code, tmp_path):
    (code / "lib").mkdir()
    (code / "lib" / "broken.py").write_text("x = 1\ndef f(:\n    pass\n")
    with pytest.raises(SourceProblem, match=r"lib/broken.py:2: SyntaxError: "):
        package_source("training", code, "train.py", tmp_path / "out")


def test_code_that_needs_a_newer_python_than_the_images_is_refused(code, tmp_path):
    (code / "train.py").write_text("match 1:\n    case 1:\n        pass\n")
    with pytest.raises(SourceProblem, match=r"train.py:\d+: SyntaxError: .*Python 3.9"):
        package_source("training", code, "train.py", tmp_path / "out")


# --- the definition ------------------------------------------------------------------------------


def test_own_data_starts_with_the_input_choice_and_has_no_lambda(code):
    definition = build_definition(config_from_mapping(own(code)), REFS)
    assert definition["StartAt"] == CHOOSE_INPUT
    assert list(definition["States"]) == [CHOOSE_INPUT, DEFAULT_INPUT, INPUT_REFUSED, PREPROCESS, TRAIN, "Pipeline failed"]
    choice = definition["States"][CHOOSE_INPUT]
    assert choice["Choices"][0] == {"Variable": "$.input", "IsPresent": False, "Next": DEFAULT_INPUT}
    assert choice["Choices"][1]["And"][1] == {"Variable": "$.input", "StringMatches": "s3://team-data/churn/*"}
    assert choice["Default"] == INPUT_REFUSED
    assert definition["States"][DEFAULT_INPUT]["Result"] == "s3://team-data/churn/"
    assert "s3://team-data/churn/" in definition["States"][INPUT_REFUSED]["Cause"]


def test_own_processing_runs_the_launcher_with_your_arguments_and_outputs(code):
    config = config_from_mapping(own(code, processing={"arguments": ["--label-column", "churned"], "environment": {"MODE": "full"}}))
    parameters = build_definition(config, REFS)["States"][PREPROCESS]["Parameters"]
    assert [(i["InputName"], i["S3Input"]["LocalPath"]) for i in parameters["ProcessingInputs"]] == [
        ("data", "/opt/ml/processing/input/data"), ("code", "/opt/ml/processing/input/code"), ("entrypoint", "/opt/ml/processing/input/entrypoint"),
    ]
    assert parameters["ProcessingInputs"][0]["S3Input"]["S3Uri.$"] == "$.input"
    assert parameters["ProcessingInputs"][1]["S3Input"]["S3Uri"] == "s3://b/code/p/sourcedir.tar.gz"
    assert parameters["AppSpecification"]["ContainerEntrypoint"] == ["/bin/bash", "/opt/ml/processing/input/entrypoint/runproc.sh"]
    assert parameters["AppSpecification"]["ContainerArguments"] == ["--label-column", "churned"]
    assert parameters["Environment"] == {"MODE": "full"}
    outputs = parameters["ProcessingOutputConfig"]["Outputs"]
    assert [(o["OutputName"], o["S3Output"]["LocalPath"]) for o in outputs] == [
        (name, f"/opt/ml/processing/output/{name}") for name in ("train", "validation", "test")
    ]
    assert outputs[2]["S3Output"]["S3Uri.$"] == "States.Format('s3://b/runs/{}/test', $$.Execution.Name)"


def test_builtin_training_reads_train_and_validation(code):
    parameters = build_definition(config_from_mapping(own(code)), REFS)["States"][TRAIN]["Parameters"]
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"] for c in parameters["InputDataConfig"]}
    assert list(channels) == ["train", "validation"]
    assert channels["train"]["S3DataDistributionType"] == "ShardedByS3Key"
    assert channels["validation"]["S3DataDistributionType"] == "FullyReplicated"
    assert channels["validation"]["S3Uri.$"] == "States.Format('s3://b/runs/{}/validation/', $$.Execution.Name)"
    assert parameters["HyperParameters"] == {"objective": "binary:logistic", "num_round": "10"}
    assert "MetricDefinitions" not in parameters["AlgorithmSpecification"]


def test_script_mode_passes_the_code_as_the_sdk_does(code):
    config = config_from_mapping(own(code, training={
        "source_dir": str(code), "entry_point": "train.py", "hyperparameters": {"max_depth": 3, "eta": "0.3"},
        "metric_definitions": [{"name": "validation:auc", "regex": "validation-auc:([0-9.]+)"}],
    }))
    state = build_definition(config, REFS)["States"][TRAIN_SCRIPT]
    parameters = state["Parameters"]
    assert parameters["HyperParameters"] == {
        "max_depth": "3", "eta": '"0.3"',  # json.dumps of each value, as the SDK's framework estimators
        "sagemaker_program": '"train.py"',
        "sagemaker_submit_directory": '"/opt/ml/input/data/code/sourcedir.tar.gz"',
        "sagemaker_container_log_level": "20",
        "sagemaker_region": '"us-east-1"',
    }
    code_channel = parameters["InputDataConfig"][-1]
    assert code_channel["ChannelName"] == "code"
    assert code_channel["DataSource"]["S3DataSource"]["S3Uri"] == "s3://b/code/t/sourcedir.tar.gz"
    assert parameters["AlgorithmSpecification"]["MetricDefinitions"] == [{"Name": "validation:auc", "Regex": "validation-auc:([0-9.]+)"}]


def test_your_code_on_the_generated_data_reads_raw_csv(code):
    config = config_from_mapping(own(code, input=None))
    definition = build_definition(config, DefinitionRefs("b", "arn:aws:lambda:us-east-1:1:function:f", "r", "", processing_code="code/p/"))
    assert definition["StartAt"] == "Generate dataset"
    data = definition["States"][PREPROCESS]["Parameters"]["ProcessingInputs"][0]["S3Input"]
    assert data["S3Uri.$"] == "States.Format('s3://b/runs/{}/input/raw.csv', $$.Execution.Name)"


# --- IAM -----------------------------------------------------------------------------------------

ARNS = Arns("aws", "us-east-1", "123456789012", "arn:aws:s3:::b", "", "", "arn:aws:iam::123456789012:role/jobs", ["arn:aws:ecr:us-east-1:1:repository/r"])


def _by_sid(statements):
    return {s.sid: s for s in statements}


def test_the_jobs_read_only_under_your_prefix(code):
    config = config_from_mapping(own(code, input={"kms_key_arn": "arn:aws:kms:us-east-1:210987654321:key/abc"}))
    statements = _by_sid(sagemaker_statements(ARNS, DataLayout.of(config, "aws")))
    assert statements["ReadYourData"].actions == ["s3:GetObject"]
    assert statements["ReadYourData"].resources == ["arn:aws:s3:::team-data/churn/*"]
    assert statements["ListYourData"].resources == ["arn:aws:s3:::team-data"]
    assert statements["ListYourData"].conditions == [("StringLike", "s3:prefix", ["churn/*"])]
    assert statements["DecryptYourData"].actions == ["kms:Decrypt"]
    assert statements["DecryptYourData"].conditions == [("StringEquals", "kms:ViaService", ["s3.us-east-1.amazonaws.com"])]
    assert statements["ReadPipelineData"].resources == ["arn:aws:s3:::b/code/*", "arn:aws:s3:::b/runs/*/train/*", "arn:aws:s3:::b/runs/*/validation/*"]
    assert statements["WritePipelineOutputs"].resources == [f"arn:aws:s3:::b/runs/*/{n}/*" for n in ("train", "validation", "test", "models")]
    assert "runs/*/input/*" not in statements["ListPipelineData"].conditions[0][2]


@pytest.fixture(scope="module")
def own_stacks(tmp_path_factory):
    """An own-data stack in built-in and in script mode, synthesized by the real CLI."""
    from pipeline_tools.synthesis import synthesize

    root = tmp_path_factory.mktemp("own-stacks")
    code = root / "code"
    code.mkdir()
    (code / "preprocess.py").write_text("print(1)\n")
    (code / "train.py").write_text("print(1)\n")
    stacks = {}
    for mode, training in (("builtin", ""), ("script", '\nsource_dir = "code"\nentry_point = "train.py"')):
        (root / f"{mode}.toml").write_text(
            '[input]\ns3_uri = "s3://team-data/churn/"\nkms_key_arn = "arn:aws:kms:us-east-1:210987654321:key/abc"\n'
            '[processing]\nsource_dir = "code"\nentry_point = "preprocess.py"\noutputs = ["train", "validation", "test"]\n'
            f"[training]{training}\nhyperparameters = {{ num_round = \"5\" }}\n"
        )
        stacks[mode] = synthesize(root / f"{mode}.toml", "aws", root / mode / "cdktf.out")
    return stacks


@pytest.mark.parametrize("mode", ["builtin", "script"])
def test_verify_iam_is_clean_on_an_own_data_stack(own_stacks, mode):
    from pipeline_tools.iam import verify

    stack, findings = verify(stack_dir=own_stacks[mode])[:2]
    assert sorted(r.purpose for r in stack.roles) == ["sagemaker", "state_machine"]  # no Lambda, no Lambda role
    assert {"own_input", "input_kms"} <= set(stack.features) and "generated_dataset" not in stack.features
    assert findings == []


def test_verify_iam_finds_a_grant_beyond_your_prefix(own_stacks, tmp_path):
    import shutil

    from pipeline_tools.iam import verify

    shutil.copytree(own_stacks["builtin"], tmp_path / "stack")
    document = json.loads((tmp_path / "stack" / "cdk.tf.json").read_text())
    for body in document["data"]["aws_iam_policy_document"].values():
        for statement in body.get("statement", []):
            if statement.get("sid") == "ReadYourData":
                statement["resources"] = ["arn:${data.aws_partition.p.partition}:s3:::team-data/*"]
    (tmp_path / "stack" / "cdk.tf.json").write_text(json.dumps(document))
    findings = verify(stack_dir=tmp_path / "stack")[1]
    assert [(f.rule_id, f.statement) for f in findings] == [("PTI009", "ReadYourData")]


def test_the_state_machine_declares_its_data_in_tags(own_stacks):
    document = json.loads((own_stacks["script"] / "cdk.tf.json").read_text())
    (machine,) = document["resource"]["aws_sfn_state_machine"].values()
    assert machine["tags"] == {
        "sfn-ml-pipeline:outputs": "train validation test",
        "sfn-ml-pipeline:channels": "train validation",
        "sfn-ml-pipeline:input": "s3://team-data/churn/",
        "sfn-ml-pipeline:input-kms-key": "arn:aws:kms:us-east-1:210987654321:key/abc",
    }
    assert "aws_lambda_function" not in document["resource"]
    objects = sorted(o["key"].rsplit("/", 1)[-1] for o in document["resource"]["aws_s3_object"].values())
    assert objects == ["runproc.sh", "sourcedir.tar.gz", "sourcedir.tar.gz"]  # no transform.py


def test_package_prints_each_code_folder_where_the_stack_puts_it(own_stacks, tmp_path):
    """`package` prints the archive's hash and its content-addressed key; the synthesized stack uploads
    exactly that file (same hash) under that key."""
    config = own_stacks["script"].parents[3] / "script.toml"
    printed = run_cli("package", "--config", str(config), "--build-dir", str(tmp_path / "build"), cwd=config.parent)
    assert printed.returncode == 0, printed.stderr
    lines = [line for line in printed.stdout.splitlines() if "->" in line]
    assert len(lines) == 3  # processing: sourcedir.tar.gz + runproc.sh; training: sourcedir.tar.gz
    document = json.loads((own_stacks["script"] / "cdk.tf.json").read_text())
    uploaded = {o["key"]: o["source_hash"] for o in document["resource"]["aws_s3_object"].values()}
    for line in lines:
        digest, _, key = line.split()[0], None, line.split("-> ")[1].split()[0]
        assert uploaded[key] == digest, (key, uploaded)
    assert printed.stdout == run_cli("package", "--config", str(config), "--build-dir", str(tmp_path / "again"), cwd=config.parent).stdout.replace("/again/", "/build/")


def test_validate_finds_a_syntax_error_in_the_packaged_code(own_stacks, tmp_path):
    """The stack's archive itself is checked: here replaced after synth by one whose train.py is broken."""
    import io
    import shutil

    stack = tmp_path / "stack"
    shutil.copytree(own_stacks["script"], stack)
    document = json.loads((stack / "cdk.tf.json").read_text())
    training_archive = next(stack / o["source"] for o in document["resource"]["aws_s3_object"].values()
                            if o["key"].endswith("sourcedir.tar.gz") and "training" in o["source"])
    broken = io.BytesIO()
    with tarfile.open(fileobj=broken, mode="w:gz") as archive:
        data = b"def train(:\n    pass\n"
        info = tarfile.TarInfo("train.py")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    training_archive.write_bytes(broken.getvalue())
    from pipeline_tools.gates.validate import code_problems
    from pipeline_tools.stackfile import load_stack

    problems = code_problems(load_stack(stack), stack)
    assert len(problems) == 1 and "Train model (script mode): sourcedir.tar.gz/train.py:1: SyntaxError" in problems[0], problems
    assert code_problems(load_stack(own_stacks["script"]), own_stacks["script"]) == []
