"""check: the CI gate end to end (real synth, terraform, checkov), and its exit-code logic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_tools.gates.check import StageResult, exit_code, render

from .conftest import assert_clean_error

REPO = Path(__file__).resolve().parents[1]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline_tools.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600)


CONFIGS = {
    "default": "",
    # The China partition: integration and IAM ARNs from the partition, images from amazonaws.com.cn.
    "cn-north-1": 'region = "cn-north-1"\n',
    # The user's own key, given by ARN: no key of the stack's, everything encrypted with that one.
    "kms": 'kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"\n',
    # The optional Create model + Batch transform stage: its IAM set applies, its API shapes validate.
    "batch-transform": "[batch_transform]\nenabled = true\n",
    # Locked down (issue 25): access logging, the VPC, code signing, two training hosts, the stage: the
    # network grants verify, the job rules pass, checkov's three checks for these pass. With the quality
    # gate (issue 23): its Evaluate model job is held to the job rules, its IAM set verifies.
    "locked-down": (
        'access_log_bucket = "corp-s3-access-logs"\n'
        '[network]\nsubnet_ids = ["subnet-0123456789abcdef0"]\nsecurity_group_ids = ["sg-0123456789abcdef0"]\n'
        '[lambda]\ncode_signing_config_arn = "arn:aws:lambda:us-east-1:111122223333:code-signing-config:csc-0123456789abcdef0"\n'
        "[training]\ninstance_count = 2\n[batch_transform]\nenabled = true\n"
        '[quality_gate]\nenabled = true\nmetric = "logloss"\nthreshold = 0.3\napproval_status = "Approved"\n'
    ),
}


@pytest.mark.terraform
@pytest.mark.checkov
@pytest.mark.parametrize("config", list(CONFIGS))
def test_check_passes(config, tmp_path, plugin_dir, checkov):
    (tmp_path / "checkov-skips.toml").write_text((REPO / "checkov-skips.toml").read_text())
    (tmp_path / "pipeline.toml").write_text(CONFIGS[config])
    done = _cli("check", "--out", str(tmp_path / "cdktf.out"), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {cells[1]: cells[2] for cells in ([c.strip() for c in line.split("│")] for line in done.stdout.splitlines()) if len(cells) > 3}
    assert rows == {"synth": "ok", "validate": "ok", "verify-iam": "ok", "scan": "ok"}, done.stdout
    assert (tmp_path / "cdktf.out" / "stacks").is_dir()


def test_check_with_a_broken_config_is_exit_2_and_skips_the_rest(tmp_path):
    config = tmp_path / "pipeline.toml"
    config.write_text('name_prefix = "NOT valid"\n')
    done = _cli("check", "--config", str(config), "--out", str(tmp_path / "cdktf.out"), cwd=tmp_path)
    assert_clean_error(done, "check could not run: synth")
    synth_row = next(line for line in done.stdout.splitlines() if "synth" in line and "│" in line)
    assert "error" in synth_row and "name_prefix" in done.stdout
    assert not (tmp_path / "cdktf.out" / "stacks").exists()


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["ok", "ok", "ok", "ok"], 0),
        (["ok", "findings", "ok", "ok"], 1),
        (["ok", "ok", "ok", "findings"], 1),
        (["ok", "error", "findings", "ok"], 2),
        (["error", "skipped", "skipped", "skipped"], 2),
    ],
)
def test_exit_code_is_the_worst_stage(statuses, expected):
    stages = [StageResult(name, status) for name, status in zip(("synth", "validate", "verify-iam", "scan"), statuses)]
    assert exit_code(stages) == expected


def test_stage_table_lists_details():
    stages = [StageResult("synth", "ok", 1.0, "x"), StageResult("verify-iam", "findings", 0.1, "1 finding", ["PTI001 [high] lambda #0: s3:DeleteObject"])]
    text = render(stages)
    assert "verify-iam" in text and "findings" in text and "PTI001" in text
