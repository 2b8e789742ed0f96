"""Regenerate ``infra/sfn_ml_pipeline/data/ecr_accounts.json`` from the SageMaker Python SDK.

The SDK's image URI tables (``sagemaker/image_uri_config/<framework>.json``) are the maintained
source of the account that serves each SageMaker image in each region. This reads them from the
pinned SDK wheel on PyPI (never installed: it is a zip) and keeps the regions where BOTH images the
stack uses exist at the stack's versions.

    .venv/bin/python tools/ecr_accounts.py            # rewrite the table
    .venv/bin/python tools/ecr_accounts.py --check    # exit 1 if the shipped table differs

tests/test_ecr_accounts.py checks the shipped table equals what this derives.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

# The one pin. The 2.x line: in 3.x the tables moved to the sagemaker-core package.
SDK_VERSION = "2.257.7"
SDK_WHEEL = f"sagemaker-{SDK_VERSION}-py3-none-any.whl"
SDK_WHEEL_SHA256 = "afa20b13ede5cfa8eac5de2dd51036047d90152224e8309d07f54ee5aefd0a99"
SDK_REPO = "https://github.com/aws/sagemaker-python-sdk"  # 2.x sources: branch master-v2, under src/

# Image repository -> (SDK framework, version) as the stack uses them (config.py image_tag defaults:
# "1.2-1-cpu-py3" is version 1.2-1 + processor cpu + py3; "1.7-1" has no processor/py suffix).
IMAGES = {
    "sagemaker-scikit-learn": ("sklearn", "1.2-1"),
    "sagemaker-xgboost": ("xgboost", "1.7-1"),
}
SCOPES = ("training", "inference")  # the SageMaker jobs use the training scope; inference must agree
DEFAULT_DOMAIN = "amazonaws.com"

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "infra" / "sfn_ml_pipeline" / "data" / "ecr_accounts.json"


def default_cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "sfn-ml-pipeline" / "sagemaker-sdk"


def fetch_wheel(cache_dir: Path | None = None) -> Path:
    """The pinned SDK wheel, downloaded with pip once into ``cache_dir``; raises RuntimeError if it cannot be had."""
    cache_dir = Path(cache_dir or default_cache_dir())
    wheel = cache_dir / SDK_WHEEL
    if not wheel.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache_dir) as scratch:
            command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                       "--retries", "2", "--timeout", "60", "-d", scratch, f"sagemaker=={SDK_VERSION}"]
            result = subprocess.run(command, capture_output=True, text=True)
            downloaded = Path(scratch) / SDK_WHEEL
            if result.returncode != 0 or not downloaded.is_file():
                tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-5:])
                raise RuntimeError(f"could not download {SDK_WHEEL} with `{' '.join(command)}` "
                                   f"(is the package index reachable?):\n{tail}")
            os.replace(downloaded, wheel)  # atomic: a concurrent reader never sees half a wheel
    return verified(wheel)


def verified(wheel: Path) -> Path:
    """``wheel``, once its sha256 is the pinned one (so the table's stated source is the one read)."""
    digest = hashlib.sha256(Path(wheel).read_bytes()).hexdigest()
    if digest != SDK_WHEEL_SHA256:
        raise RuntimeError(f"{wheel} has sha256 {digest}, not {SDK_WHEEL_SHA256} ({SDK_WHEEL}): delete it and retry")
    return Path(wheel)


def read_sdk(wheel: Path) -> dict:
    """From the wheel: each framework's image URI config, and utils.ALTERNATE_DOMAINS (region -> DNS suffix)."""
    with zipfile.ZipFile(wheel) as archive:
        frameworks = {
            framework: json.loads(archive.read(f"sagemaker/image_uri_config/{framework}.json"))
            for framework, _ in IMAGES.values()
        }
        utils = ast.parse(archive.read("sagemaker/utils.py"))
    domains = next(
        ast.literal_eval(node.value)
        for node in utils.body
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "ALTERNATE_DOMAINS" for t in node.targets)
    )
    return {"frameworks": frameworks, "alternate_domains": domains}


def registries(sdk: dict, repository: str) -> dict[str, str]:
    """Region -> account of one image at the stack's version, checked to be the same in every scope."""
    framework, version = IMAGES[repository]
    found = []
    for scope in SCOPES:
        entry = sdk["frameworks"][framework][scope]["versions"][version]
        if entry["repository"] != repository:
            raise ValueError(f"{framework}.json {scope} {version}: repository {entry['repository']!r}, not {repository!r}")
        found.append(entry["registries"])
    if any(other != found[0] for other in found[1:]):
        raise ValueError(f"{framework}.json {version}: registries differ between scopes {SCOPES}")
    return found[0]


def derive(sdk: dict) -> dict:
    """The table: regions where every image exists, with their (common) account, and its sources."""
    per_image = {repository: registries(sdk, repository) for repository in IMAGES}
    regions = sorted(set.intersection(*(set(table) for table in per_image.values())))
    differing = [r for r in regions if len({table[r] for table in per_image.values()}) > 1]
    if differing:
        raise ValueError(f"the images' accounts differ in {differing}: the table needs a per-image shape")
    first = next(iter(per_image.values()))
    accounts = {region: first[region] for region in regions}
    alternate = {region: domain for region, domain in sorted(sdk["alternate_domains"].items()) if region in accounts}
    files = " and ".join(
        f"sagemaker/image_uri_config/{framework}.json ({repository} {version})"
        for repository, (framework, version) in IMAGES.items()
    )
    return {
        "_source": [
            "Generated by tools/ecr_accounts.py; do not edit by hand (tests/test_ecr_accounts.py checks it).",
            f"SageMaker Python SDK {SDK_VERSION}: the PyPI wheel {SDK_WHEEL} (sha256 {SDK_WHEEL_SHA256}), "
            f"files {files}, key <scope>.versions.<version>.registries; the same files are "
            f"src/sagemaker/image_uri_config/*.json in {SDK_REPO} (2.x line, branch master-v2).",
            f"Regions: those in both images' registries (scopes {' and '.join(SCOPES)} agree); "
            "the two images have the same account in each of them.",
            "Image URI: <account>.dkr.ecr.<region>.<domain>/<repository>:<tag>, as sagemaker/image_uris.py retrieve() "
            "builds it (ECR_URI_TEMPLATE '{registry}.dkr.{hostname}/{repository}', hostname = botocore's ecr endpoint "
            f"for the region). Domain {DEFAULT_DOMAIN} except, per sagemaker/utils.py ALTERNATE_DOMAINS: "
            + ", ".join(f"{region} {domain}" for region, domain in alternate.items())
            + " (config.py _image_uri: cn-* amazonaws.com.cn, us-iso-* c2s.ic.gov, us-isob-* sc2s.sgov.gov, "
            "us-isof-* csp.hci.ic.gov, eu-isoe-* cloud.adc-e.uk).",
        ],
        "accounts": accounts,
    }


def render(table: dict) -> str:
    return json.dumps(table, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help=f"a local {SDK_WHEEL} (default: download it with pip, cached)")
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if the shipped table differs")
    args = parser.parse_args(argv)
    text = render(derive(read_sdk(verified(args.wheel) if args.wheel else fetch_wheel())))
    if args.check:
        same = TABLE.read_text() == text
        print(f"{TABLE.relative_to(ROOT)}: {'up to date' if same else 'differs from SDK ' + SDK_VERSION}")
        return 0 if same else 1
    TABLE.write_text(text)
    print(f"wrote {TABLE.relative_to(ROOT)} from SageMaker Python SDK {SDK_VERSION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
