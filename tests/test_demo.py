"""`pipeline-tools demo` (what `make demo` runs), end to end in a fresh project directory: its own
emulator, the real Terraform deploy, one run, the artifacts, and the emulator stopped afterwards."""

from __future__ import annotations

import json
import re

import pytest

from .conftest import run_cli
from .conftest_emulator import free_port

pytestmark = [pytest.mark.emulator, pytest.mark.terraform]


def test_demo_runs_the_pipeline_and_cleans_up(tmp_path, plugin_dir):
    result = run_cli("demo", "--rows", "3000", "--port", str(free_port()), cwd=tmp_path, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    steps = re.findall(r"^\[\s*[\d.]+ s\] (.+)$", result.stdout, re.MULTILINE)
    assert steps == ["local up", "synth --target local", "validate (statelint + terraform validate)",
                     "deploy --target local", "run --target local", "summary"]
    assert re.search(r"^SUCCEEDED in [\d.]+ s; train:rmse=", result.stdout, re.MULTILINE)

    (run_dir,) = (tmp_path / "artifacts").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "SUCCEEDED" and summary["dataset"]["rows"] == 3000
    assert {"model.tar.gz", "summary.json", "report.html", "timeline.png"} <= {p.name for p in run_dir.iterdir()}

    # Its emulator is gone afterwards (it was not running before).
    assert "local emulator stopped" in result.stdout
    assert run_cli("local", "status", cwd=tmp_path).returncode != 0
