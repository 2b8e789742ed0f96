"""data/ecr_accounts.json is what the pinned SageMaker Python SDK publishes, and every region in it resolves.

The SDK wheel (pinned in tools/ecr_accounts.py) is fetched with pip once and cached under
~/.cache/sfn-ml-pipeline/sagemaker-sdk/ (or $XDG_CACHE_HOME). No index reachable is a failure, not a skip.
"""

from __future__ import annotations

import copy
import importlib.util
import zipfile
from pathlib import Path

import botocore.loaders
import botocore.regions
import pytest

from sfn_ml_pipeline import config as config_module
from sfn_ml_pipeline.config import ConfigError, PipelineConfig, config_from_mapping, ecr_accounts

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("ecr_accounts_generator", ROOT / "tools" / "ecr_accounts.py")
generator = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generator)

SKLEARN, XGBOOST = "sagemaker-scikit-learn", "sagemaker-xgboost"
# Real regions that neither image has at the pinned versions (checked against the SDK below).
REAL_REGIONS_WITHOUT_IMAGES = ("ap-southeast-7", "eu-isoe-west-1")


@pytest.fixture(scope="module")
def wheel() -> Path:
    try:
        return generator.fetch_wheel()
    except RuntimeError as error:
        problem = str(error)
    pytest.fail(f"the SageMaker SDK wheel the ECR table is derived from is not available: {problem}", pytrace=False)


@pytest.fixture(scope="module")
def sdk(wheel) -> dict:
    return generator.read_sdk(wheel)


def test_the_pinned_wheel_holds_both_image_tables(wheel):
    assert wheel.name == f"sagemaker-{generator.SDK_VERSION}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"sagemaker/image_uri_config/sklearn.json", "sagemaker/image_uri_config/xgboost.json"} <= names


def test_shipped_table_is_what_the_pinned_sdk_gives(sdk):
    shipped = generator.TABLE.read_text()
    assert shipped == generator.render(generator.derive(sdk)), (
        f"{generator.TABLE.relative_to(ROOT)} is stale: run .venv/bin/python tools/ecr_accounts.py"
    )
    assert f"SageMaker Python SDK {generator.SDK_VERSION}" in shipped


def test_the_generator_reads_the_versions_the_stack_uses():
    config = PipelineConfig()
    assert config.processing.image_tag == f"{generator.IMAGES[SKLEARN][1]}-cpu-py3"
    assert config.training.image_tag == generator.IMAGES[XGBOOST][1]


def _ecr_hostname(region: str) -> str | None:
    """What the SDK's image_uris.retrieve() puts after '<account>.dkr.': botocore's ecr endpoint."""
    resolver = botocore.regions.EndpointResolver(botocore.loaders.create_loader().load_data("endpoints"))
    endpoint = resolver.construct_endpoint("ecr", region)
    return endpoint and endpoint["hostname"]


@pytest.mark.parametrize("region", sorted(ecr_accounts()))
def test_every_region_in_the_table_yields_uris_on_its_partitions_domain(region, sdk):
    config = config_from_mapping({"region": region})
    domain = sdk["alternate_domains"].get(region, "amazonaws.com")
    account = ecr_accounts()[region]
    assert config.processing_image == f"{account}.dkr.ecr.{region}.{domain}/{SKLEARN}:1.2-1-cpu-py3"
    assert config.training_image == f"{account}.dkr.ecr.{region}.{domain}/{XGBOOST}:1.7-1"
    hostname = _ecr_hostname(region)
    if hostname is not None:  # the SDK's own formula, where this botocore knows the region
        assert config.training_image == f"{account}.dkr.{hostname}/{XGBOOST}:1.7-1"


def test_the_domain_rule_matches_every_alternate_domain_of_the_sdk(sdk, monkeypatch):
    # Also regions without the images (eu-isoe-west-1): the rule must hold for an added one.
    monkeypatch.setattr(config_module, "ecr_accounts", lambda: dict.fromkeys(sdk["alternate_domains"], "123456789012"))
    assert sdk["alternate_domains"]  # the SDK still lists them (cn-*, us-iso*, eu-isoe-*)
    for region, domain in sdk["alternate_domains"].items():
        assert config_module._image_uri(region, XGBOOST, "1.7-1") == f"123456789012.dkr.ecr.{region}.{domain}/{XGBOOST}:1.7-1"


def test_china_uri_is_on_the_china_domain():
    config = config_from_mapping({"region": "cn-north-1"})
    assert config.processing_image.endswith(f".amazonaws.com.cn/{SKLEARN}:1.2-1-cpu-py3")
    assert config.training_image == f"450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/{XGBOOST}:1.7-1"


@pytest.mark.parametrize("region", ["xx-east-9", *REAL_REGIONS_WITHOUT_IMAGES])
def test_a_region_without_the_images_is_a_clean_config_error(region, sdk):
    if region in REAL_REGIONS_WITHOUT_IMAGES:
        for repository in (SKLEARN, XGBOOST):
            assert region not in generator.registries(sdk, repository)
    assert region not in ecr_accounts()
    with pytest.raises(ConfigError) as caught:
        config_from_mapping({"region": region})
    message = str(caught.value)
    assert f"region {region!r} has no known SageMaker image account" in message and "\n" not in message


def _fake_sdk(sklearn: dict[str, str], xgboost: dict[str, str]) -> dict:
    def framework(repository, version, registries):
        entry = {"repository": repository, "registries": registries}
        return {scope: {"versions": {version: copy.deepcopy(entry)}} for scope in generator.SCOPES}

    return {
        "frameworks": {"sklearn": framework(SKLEARN, "1.2-1", sklearn), "xgboost": framework(XGBOOST, "1.7-1", xgboost)},
        "alternate_domains": {},
    }


def test_derive_keeps_only_regions_where_both_images_exist():
    table = generator.derive(_fake_sdk({"us-east-1": "1", "eu-west-1": "2"}, {"us-east-1": "1", "ap-east-2": "3"}))
    assert table["accounts"] == {"us-east-1": "1"}


def test_derive_refuses_accounts_that_differ_between_the_images():
    with pytest.raises(ValueError, match=r"accounts differ in \['us-east-1'\]"):
        generator.derive(_fake_sdk({"us-east-1": "1"}, {"us-east-1": "2"}))
