"""scan: the real checkov (from .venv-checkov) on the real synthesized stack, and its failure modes."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_tools.gates.scan import load_skips, run_checkov, scan_stack
from pipeline_tools.errors import UsageError

from .conftest import assert_clean_error

REPO = Path(__file__).resolve().parents[1]
SKIPS = REPO / "checkov-skips.toml"

# A missing checkov fails these tests (conftest.require), or skips them under PIPELINE_TOOLS_ALLOW_SKIPS=1.
needs_checkov = pytest.mark.usefixtures("checkov")


@pytest.fixture(scope="session")
def stack_dir(tmp_path_factory) -> Path:
    from pipeline_tools.synthesis import synthesize

    return synthesize(out_dir=tmp_path_factory.mktemp("synth") / "cdktf.out")


def test_skip_list_has_a_reason_for_every_check():
    skips = load_skips(SKIPS)
    assert skips, "the skip list is empty: then delete this test"
    assert all(check.startswith("CKV") and len(reason) > 30 for check, reason in skips.items())


def test_skip_entry_without_reason_is_refused(tmp_path):
    bad = tmp_path / "skips.toml"
    bad.write_text('[[skip]]\nid = "CKV_AWS_18"\n')
    with pytest.raises(UsageError, match="reason"):
        load_skips(bad)


def test_missing_checkov_is_a_one_line_environment_error(tmp_path, stack_dir):
    env = {**os.environ, "PIPELINE_TOOLS_CHECKOV": str(tmp_path / "no-checkov"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "pipeline_tools.cli", "scan", "--stack-dir", str(stack_dir)],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert_clean_error(done, "checkov not found", "is not an executable", "make setup")


@pytest.mark.checkov
@needs_checkov
def test_default_stack_has_zero_failed_checks(stack_dir):
    result = scan_stack(stack_dir, skips_file=SKIPS)
    assert result.failed == 0, result.failed_checks
    assert result.passed > 50


@pytest.mark.checkov
@needs_checkov
def test_without_the_skip_list_checkov_fails_exactly_the_skipped_checks(stack_dir):
    """Each skip is needed (no stale entries), and nothing else fails."""
    result = run_checkov(stack_dir / "cdk.tf.json", output_format="json", skips={})
    assert {check for check, _, _ in result.failed_checks} == set(load_skips(SKIPS))


@pytest.mark.checkov
@needs_checkov
def test_scan_finds_a_broken_bucket(stack_dir, tmp_path):
    doc = json.loads((stack_dir / "cdk.tf.json").read_text())
    broken = copy.deepcopy(doc)
    broken["resource"].pop("aws_s3_bucket_public_access_block")
    (tmp_path / "cdk.tf.json").write_text(json.dumps(broken))
    done = subprocess.run(
        [sys.executable, "-m", "pipeline_tools.cli", "scan", "--stack-dir", str(tmp_path), "--skips", str(SKIPS), "--format", "json"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 1, done.stderr
    failed = {c["check_id"] for c in json.loads(done.stdout)["results"]["failed_checks"]}
    assert "CKV2_AWS_6" in failed  # "Ensure that S3 bucket has a Public Access block"


@pytest.mark.checkov
@needs_checkov
def test_sarif_format_is_checkovs(stack_dir):
    result = scan_stack(stack_dir, output_format="sarif", skips_file=SKIPS)
    log = json.loads(result.report)
    assert log["version"] == "2.1.0" and log["runs"][0]["tool"]["driver"]["name"] == "Checkov"
