"""`pipeline-tools demo` (what `make demo` runs), end to end in a fresh project directory: its own
emulator, the real Terraform deploy, one run, the artifacts, and the emulator stopped afterwards."""

from __future__ import annotations

import json
import re

import pytest

from .conftest import run_cli

pytestmark = [pytest.mark.emulator, pytest.mark.terraform]


def test_demo_runs_the_pipeline_and_cleans_up(tmp_path, plugin_dir):
    result = run_cli("demo", "--rows", "3000", "--port", "0", cwd=tmp_path, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    steps = re.findall(r"^\[\s*[\d.]+ s\] (.+)$", result.stdout, re.MULTILINE)
    # From nothing, the run starts once every resource but the bucket's lifecycle configuration
    # exists, while the provider still waits on that one (>= 55 s); the deploy then ends.
    assert steps == ["local up", "synth --target local", "validate (statelint + SageMaker API shapes)", "deploy --target local",
                     "run --target local (the deploy finishes the bucket's lifecycle rules meanwhile)", "summary"]
    assert result.stdout.index("started run-") < result.stdout.index("state machine: arn:aws:states:")
    # A first deploy is one `terraform apply` (it validates and plans first), the plan shown before it applies.
    assert re.search(r"^Plan: \d+ to add, 0 to change, 0 to destroy\.\napplying to local \.\.\.$", result.stdout, re.MULTILINE)
    assert re.search(r"^SUCCEEDED in [\d.]+ s; train:rmse=", result.stdout, re.MULTILINE)

    (run_dir,) = (tmp_path / "artifacts").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "SUCCEEDED" and summary["dataset"]["rows"] == 3000
    assert {"model.tar.gz", "summary.json", "report.html", "timeline.png"} <= {p.name for p in run_dir.iterdir()}

    # Its emulator is gone afterwards (it was not running before).
    assert "local emulator stopped" in result.stdout
    assert run_cli("local", "status", cwd=tmp_path).returncode != 0


def test_demo_keep_leaves_the_emulator_running_with_a_clean_drift(tmp_path, plugin_dir):
    """--keep: the emulator outlives the demo, and the recorded state lets drift start clean."""
    result = run_cli("demo", "--rows", "500", "--port", "0", "--keep", cwd=tmp_path, timeout=900)
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "local emulator stopped" not in result.stdout
        status = run_cli("local", "status", cwd=tmp_path)
        assert status.returncode == 0 and status.stdout.strip().startswith("https://127.0.0.1:"), status.stderr
        drift = run_cli("drift", "--target", "local", cwd=tmp_path, timeout=600)
        assert drift.returncode == 0, drift.stdout + drift.stderr
        assert "No drift" in drift.stdout
    finally:
        run_cli("local", "down", cwd=tmp_path)
