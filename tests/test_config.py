"""PipelineConfig: defaults, validation, and one-line errors with exit code 2 before any synth."""

from __future__ import annotations

import pytest

from sfn_ml_pipeline.config import ConfigError, PipelineConfig, config_from_mapping, ecr_accounts, load_config

from .conftest import assert_clean_error


def test_defaults_are_the_samples_settings_with_current_images():
    config = PipelineConfig()
    assert config.processing.instance_type == config.training.instance_type == "ml.m5.xlarge"
    assert (config.processing.volume_size_gb, config.processing.max_runtime_seconds) == (10, 300)
    assert (config.training.volume_size_gb, config.training.max_runtime_seconds) == (30, 86_400)
    assert config.training.hyperparameters == {"objective": "reg:logistic", "eval_metric": "rmse", "num_round": "5", "tree_method": "hist"}
    assert config.dataset.rows == 5000
    assert config.processing_image == "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    assert config.training_image == "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def test_the_samples_region_maps_to_the_samples_ecr_account():
    assert ecr_accounts()["sa-east-1"] == "737474898029"  # as in the sample's sklearn image URI


def test_china_regions_use_the_china_domain():
    assert PipelineConfig(region="cn-north-1").training_image.endswith(".amazonaws.com.cn/sagemaker-xgboost:1.7-1")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name_prefx": "x"}, "name_prefx: unknown key"),
        ({"training": {"hyperparameter": {}}}, "training.hyperparameter: unknown key"),
        ({"name_prefix": "Bad_Prefix"}, "name_prefix: must start with a lowercase letter"),
        ({"region": "moon-1"}, "region: 'moon-1' is not an AWS region name"),
        ({"bucket_name": "UPPER"}, "bucket_name: 'UPPER' is not a valid S3 bucket name"),
        ({"log_retention_days": 8}, "log_retention_days: 8 is not a CloudWatch Logs retention period"),
        ({"kms_key_arn": "alias/foo"}, "kms_key_arn: must be a KMS key ARN"),
        ({"processing": {"instance_type": "m5.large"}}, "processing.instance_type: 'm5.large' is not a SageMaker instance type"),
        ({"training": {"hyperparameters": {"objective": "reg:logistic"}}}, "'num_round' is required"),
        ({"training": {"hyperparameters": {"num_round": "five"}}}, "num_round must be an integer"),
        ({"dataset": {"rows": 0}}, "dataset.rows: Input should be greater than or equal to 1"),
        ({"lambda": {"runtime": "python2.7"}}, "lambda.runtime:"),
        ({"region": "ap-east-2"}, "has no known SageMaker image account; set processing.image and training.image"),
        ({"provider_version": "latest please"}, "provider_version: 'latest please' is not a Terraform version constraint"),
    ],
)
def test_every_bad_value_is_one_line_naming_the_key(data, message):
    with pytest.raises(ConfigError) as caught:
        config_from_mapping(data, "pipeline.toml")
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith("pipeline.toml: ")
    assert message in text


def test_unknown_region_is_fine_with_explicit_images():
    config = config_from_mapping(
        {
            "region": "ap-east-2",
            "processing": {"image": "111122223333.dkr.ecr.ap-east-2.amazonaws.com/sklearn:1"},
            "training": {"image": "111122223333.dkr.ecr.ap-east-2.amazonaws.com/xgb:1"},
        }
    )
    assert config.training_image.endswith("/xgb:1")


def test_load_from_toml(tmp_path):
    path = tmp_path / "pipeline.toml"
    path.write_text('name_prefix = "churn"\n[training.hyperparameters]\nnum_round = 10\nobjective = "binary:logistic"\n')
    config = load_config(path)
    assert config.name_prefix == "churn"
    assert config.training.hyperparameters == {"num_round": 10, "objective": "binary:logistic"}


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("name_prefix = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)


def test_cli_reports_config_errors_in_one_line_with_exit_2_and_writes_nothing(cli, tmp_path):
    config = tmp_path / "pipeline.toml"
    config.write_text('[training]\ninstance_typ = "ml.m5.large"\n')
    out = tmp_path / "out"
    result = cli("synth", "--config", str(config), "--out", str(out))
    line = assert_clean_error(result)
    assert line == f"error: {config}: training.instance_typ: unknown key (check the spelling; see `pipeline-tools synth --help` and README 'Configuration')"
    assert not out.exists()


def test_config_from_environment_variable(cli, tmp_path):
    config = tmp_path / "pipeline.toml"
    config.write_text('region = "nowhere"\n')
    result = cli("synth", "--out", str(tmp_path / "out"), env={"PIPELINE_TOOLS_CONFIG": str(config)})
    assert_clean_error(result, f"{config}: region: 'nowhere' is not an AWS region name")


# ---- narrow faults (issue 26, docs/mutation.md): exact words, both sides of every boundary ----------


def _error(data: dict, **kwargs) -> str:
    with pytest.raises(ConfigError) as caught:
        config_from_mapping(data, **kwargs)
    return str(caught.value)


def test_the_source_is_config_unless_named():
    assert _error({"region": "moon-1"}) == "config: region: 'moon-1' is not an AWS region name (e.g. 'eu-west-1')"


def test_more_problems_are_counted_after_the_first():
    one = _error({"name_prefix": "A"}, source="p.toml")
    assert one == "p.toml: name_prefix: must start with a lowercase letter and hold only a-z, 0-9 and '-', at most 20 chars"
    assert _error({"name_prefix": "A", "region": "x"}, source="p.toml") == one + " (and 1 more problem)"
    assert _error({"name_prefix": "A", "region": "x", "log_retention_days": 2}, source="p.toml") == one + " (and 2 more problems)"


def test_an_unknown_key_names_the_fix_in_process():
    assert _error({"training": {"instance_typ": "ml.m5.large"}}, source="p.toml") == (
        "p.toml: training.instance_typ: unknown key (check the spelling; see `pipeline-tools synth --help` and README 'Configuration')"
    )


def test_a_rule_across_sections_names_its_keys_itself():
    assert _error({"input": {"s3_uri": "s3://abc/x"}}) == (
        "config: [input] needs your processing code: set processing.source_dir and processing.entry_point "
        "(the sample's transform.py reads only the generated label,x,y table)"
    )


@pytest.mark.parametrize(
    ("region", "partition"),
    [("eu-west-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"), ("us-iso-east-1", "aws-iso"),
     ("us-isob-east-1", "aws-iso-b"), ("us-isof-south-1", "aws-iso-f"), ("eu-isoe-west-1", "aws-iso-e")],
)
def test_the_partition_is_read_from_the_region_prefix(region, partition):
    from sfn_ml_pipeline.config import partition_of

    assert partition_of(region) == partition


def _code(tmp_path, name="code", files=("train.py",)):
    folder = tmp_path / name
    folder.mkdir()
    for file in files:
        (folder / file).write_text("print('hi')\n")
    return folder


def test_a_code_folder_is_relative_to_the_config_files_folder(tmp_path, monkeypatch):
    folder = _code(tmp_path)
    config = config_from_mapping({"training": {"source_dir": "code", "entry_point": "train.py"}}, base_dir=tmp_path)
    assert config.training.source_dir == folder.resolve() and config.training.entry_point == "train.py"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # without a base_dir: the working directory
    missing = (elsewhere / "code").resolve()
    assert _error({"training": {"source_dir": "code", "entry_point": "train.py"}}) == (
        f"config: training.source_dir: folder {missing} not found (a path relative to the config file's folder)"
    )
    monkeypatch.chdir(tmp_path)
    assert config_from_mapping({"training": {"source_dir": "code", "entry_point": "train.py"}}).training.source_dir == folder.resolve()


def test_a_code_folder_in_a_config_file_is_relative_to_that_file(tmp_path, monkeypatch):
    (tmp_path / "project").mkdir()
    _code(tmp_path / "project")
    path = tmp_path / "project" / "pipeline.toml"
    path.write_text('[training]\nsource_dir = "code"\nentry_point = "train.py"\nnetwork_isolation = false\n')
    monkeypatch.chdir(tmp_path)
    assert load_config(path).training.source_dir == (tmp_path / "project" / "code").resolve()
    path.write_text('region = "moon-1"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}: region: 'moon-1' is not an AWS region name (e.g. 'eu-west-1')"


def test_pipeline_toml_in_the_working_directory_is_the_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_config() == PipelineConfig()
    (tmp_path / "pipeline.toml").write_text('name_prefix = "churn"\n')
    assert load_config().name_prefix == "churn"


def test_an_unreadable_config_file_says_why(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)  # a folder
    assert str(caught.value) == f"{tmp_path}: cannot read config file: Is a directory"


@pytest.mark.parametrize("entry_point", ["train.py", "sub/train.py", "a..b.py"])
def test_an_entry_point_inside_the_folder_is_accepted(tmp_path, entry_point):
    folder = _code(tmp_path, files=())
    (folder / entry_point).parent.mkdir(parents=True, exist_ok=True)
    (folder / entry_point).write_text("")
    config = config_from_mapping({"training": {"source_dir": "code", "entry_point": entry_point}}, base_dir=tmp_path)
    assert config.training.entry_point == entry_point


@pytest.mark.parametrize("entry_point", ["/abs/train.py", "../train.py", "sub/../../train.py", "train.txt", "train.PY"])
def test_an_entry_point_outside_the_folder_or_not_python_is_refused(tmp_path, entry_point):
    _code(tmp_path)
    assert _error({"training": {"source_dir": "code", "entry_point": entry_point}}, base_dir=tmp_path) == (
        f"config: training.entry_point: {entry_point!r} must be a .py file inside source_dir, given relative to it (e.g. 'train.py')"
    )


def test_source_dir_and_entry_point_come_together_and_the_script_must_be_there(tmp_path):
    folder = _code(tmp_path)
    both = "set both source_dir and entry_point (your code folder and the script in it that runs)"
    assert _error({"training": {"source_dir": "code"}}, base_dir=tmp_path) == f"config: training: {both}"
    assert _error({"processing": {"entry_point": "train.py"}}, base_dir=tmp_path) == f"config: processing: {both}"
    assert _error({"training": {"source_dir": "code", "entry_point": "other.py"}}, base_dir=tmp_path) == (
        f"config: training: entry point 'other.py' not found in {folder.resolve()}"
    )


def test_requirements_need_a_network_so_an_isolated_job_refuses_them(tmp_path):
    folder = _code(tmp_path, files=("train.py", "requirements.txt"))
    data = {"training": {"source_dir": "code", "entry_point": "train.py"}}
    assert _error(data, base_dir=tmp_path) == (
        f"config: training: {folder.resolve() / 'requirements.txt'}: the training job runs network-isolated, so pip cannot reach a "
        f"package index there: vendor the packages into the folder (`pip install -r requirements.txt --target {folder.resolve()}`, "
        "then remove requirements.txt) or set training.network_isolation = false"
    )
    assert config_from_mapping({"training": {**data["training"], "network_isolation": False}}, base_dir=tmp_path).training.script_mode
    (folder / "requirements.txt").unlink()
    assert config_from_mapping(data, base_dir=tmp_path).training.network_isolation is True


SUBNET = "subnet-0123456789abcdef0"
GROUP = "sg-01234567"


@pytest.mark.parametrize(
    ("network", "message"),
    [
        ({"subnet_ids": [], "security_group_ids": [GROUP]}, "network.subnet_ids: subnet_ids needs at least one ID"),
        ({"subnet_ids": [f"subnet-{i:08x}" for i in range(17)], "security_group_ids": [GROUP]},
         "network.subnet_ids: at most 16 subnet_ids (the Lambda and SageMaker VpcConfig limit), got 17"),
        ({"subnet_ids": [SUBNET], "security_group_ids": [f"sg-{i:08x}" for i in range(6)]},
         "network.security_group_ids: at most 5 security_group_ids (the Lambda and SageMaker VpcConfig limit), got 6"),
        ({"subnet_ids": ["subnet-xyz"], "security_group_ids": [GROUP]},
         "network.subnet_ids: 'subnet-xyz': subnet_ids must be subnet IDs (subnet- and 8 or 17 hex digits)"),
        ({"subnet_ids": [SUBNET, SUBNET], "security_group_ids": [GROUP]}, "network.subnet_ids: subnet_ids lists an ID twice"),
    ],
)
def test_network_ids_are_counted_checked_and_unique(network, message):
    assert _error({"network": network}) == f"config: {message}"


def test_network_ids_at_their_limits_and_tokens_are_accepted():
    config = config_from_mapping({"network": {"subnet_ids": [f"subnet-{i:08x}" for i in range(16)],
                                              "security_group_ids": [f"sg-{i:08x}" for i in range(4)] + ["${TfToken[TOKEN.7]}"]}})
    assert len(config.network.subnet_ids) == 16 and config.network.security_group_ids[-1] == "${TfToken[TOKEN.7]}"


def test_in_region_resolves_the_images_for_the_providers_region_and_keeps_the_rest():
    config = config_from_mapping({"lambda": {"memory_mb": 1024}, "tags": {"team": "ml"}})
    assert config.in_region("us-east-1") is config
    moved = config.in_region("eu-west-1")
    assert moved.region == "eu-west-1" and moved.generate_lambda.memory_mb == 1024 and moved.tags == {"team": "ml"}
    assert moved.training_image == "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    with pytest.raises(ConfigError) as caught:
        config.in_region("ap-east-2")
    assert str(caught.value) == (
        "provider region ap-east-2: region 'ap-east-2' has no known SageMaker image account; set processing.image and training.image"
    )


# Issue 26's audit: each of these was accepted once (one bad sample per key was caught by its first
# character). Each boundary from both sides. S3's rules: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
# ("between 3 ... and 63 characters", "only lowercase letters, numbers, periods, and hyphens", "must not
# contain two adjacent periods", "must not start with the prefix xn--").
@pytest.mark.parametrize(
    ("data", "accepted"),
    [
        ({"bucket_name": "a.b"}, True), ({"bucket_name": "a..b"}, False),
        ({"bucket_name": "a" * 63}, True), ({"bucket_name": "a" * 64}, False),
        ({"bucket_name": "abc"}, True), ({"bucket_name": "aBc"}, False), ({"bucket_name": "ab"}, False),
        ({"bucket_name": "xn-a"}, True), ({"bucket_name": "xn--a"}, False),
        ({"region": "us-east-1"}, True), ({"region": "us-east-12"}, False), ({"region": "us-gov-west-1"}, True),
        ({"training": {"hyperparameters": {"num_round": "1"}}}, True), ({"training": {"hyperparameters": {"num_round": "0"}}}, False),
        ({"region": "ap-east-2", "processing": {"image": "123456789012.dkr.ecr.ap-east-2.amazonaws.com/p:1"},
          "training": {"image": "123456789012.dkr.ecr.ap-east-2.amazonaws.com/t:1"}}, True),
        ({"region": "ap-east-2", "training": {"image": "123456789012.dkr.ecr.ap-east-2.amazonaws.com/t:1"}}, False),  # the processing image too
    ],
)
def test_the_audits_accepted_values_are_refused_just_past_each_boundary(data, accepted):
    if accepted:
        config_from_mapping(data, "pipeline.toml")
    else:
        with pytest.raises(ConfigError):
            config_from_mapping(data, "pipeline.toml")
