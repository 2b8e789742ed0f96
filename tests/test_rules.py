"""One source per input rule: the config and the exported module's variable validations judge the
same good and bad samples the same way (Python's re here, Terraform's RE2 through `terraform console`)."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from sfn_ml_pipeline.config import ConfigError, config_from_mapping
from sfn_ml_pipeline.rules import ECR_IMAGE, KMS_KEY_ARN, ML_INSTANCE, NAME_PREFIX, hcl_string

KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"

# rule -> (config path that uses it, good samples, bad samples)
SAMPLES = {
    NAME_PREFIX: (("name_prefix",), ["mlpipe", "a", "churn-2", "a" * 20], ["", "Mlpipe", "1abc", "ml_pipe", "a" * 21, "ml pipe", "mlpipe\n"]),
    KMS_KEY_ARN: (("kms_key_arn",), [KEY, KEY.replace("arn:aws:", "arn:aws-cn:").replace("us-east-1", "cn-north-1")],
                  ["alias/foo", KEY.replace("111122223333", "1111"), KEY.replace(":key/", ":alias/"), KEY + " "]),
    ECR_IMAGE: (("training", "image"), [IMAGE, IMAGE.replace(":1.7-1", ""), IMAGE.replace("amazonaws.com", "amazonaws.com.cn"),
                                        "123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov/sagemaker-xgboost:1.7-1",
                                        IMAGE.replace(":1.7-1", "@sha256:" + "a" * 64)],
                ["docker.io/library/xgboost:1", IMAGE.replace("683313688378", "6833"), IMAGE.replace("amazonaws.com", "example.com"),
                 "683313688378.dkr.ecr.us-east-1.amazonaws.com/", IMAGE + ":extra"]),
    ML_INSTANCE: (("processing", "instance_type"), ["ml.m5.xlarge", "ml.g5.12xlarge"], ["m5.xlarge", "ml.m5", "ML.m5.xlarge", "ml.m5.xlarge "]),
}


def _config(path: tuple[str, ...], value: str) -> dict:
    return {path[0]: value} if len(path) == 1 else {path[0]: {path[1]: value}}


@pytest.mark.parametrize("rule", list(SAMPLES), ids=lambda r: r.name)
def test_python_and_the_config_judge_the_samples(rule):
    path, good, bad = SAMPLES[rule]
    for value in good:
        assert rule.match(value), value
        config_from_mapping(_config(path, value))
    for value in bad:
        assert not rule.match(value), value
        with pytest.raises(ConfigError, match=re.escape(rule.message)):
            config_from_mapping(_config(path, value))


@pytest.mark.terraform
def test_terraform_judges_the_same_samples_the_same_way(tmp_path, terraform_binary):
    cases = [(rule, value, True) for rule, (_, good, _) in SAMPLES.items() for value in good]
    cases += [(rule, value, False) for rule, (_, _, bad) in SAMPLES.items() for value in bad]
    expression = "jsonencode([" + ", ".join(rule.terraform_condition(f'"{hcl_string(value)}"') for rule, value, _ in cases) + "])"
    done = subprocess.run([terraform_binary, "console"], input=expression + "\n", cwd=tmp_path, text=True, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    verdicts = json.loads(json.loads(done.stdout.strip().splitlines()[-1]))
    assert [(rule.name, value, verdict) for (rule, value, _), verdict in zip(cases, verdicts)] == [
        (rule.name, value, expected) for rule, value, expected in cases
    ]


def test_the_exported_module_validates_with_the_same_rules():
    from sfn_ml_pipeline.config import PipelineConfig

    from pipeline_tools.module_export import variables

    specs = variables(PipelineConfig())
    for rule, variable in ((NAME_PREFIX, "name_prefix"), (KMS_KEY_ARN, "kms_key_arn"), (ECR_IMAGE, "training_image"),
                           (ML_INSTANCE, "processing_instance_type")):
        (validation,) = specs[variable]["validation"]
        assert rule.terraform_condition(f"var.{variable}") in validation["condition"]
        assert validation["error_message"] == f"{variable} {rule.message}."


def test_hcl_string_escapes_backslashes_quotes_newlines_and_template_openers():
    assert hcl_string('a\\b"c\nd${e}%{f}') == 'a\\\\b\\"c\\nd$${e}%%{f}'
    assert hcl_string("plain $x %y {z}") == "plain $x %y {z}"
