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
