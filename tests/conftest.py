"""Shared fixtures: one synthesized default stack per session, the provider mirror, the CLI runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference"  # the team's reference folder, beside the checkout
# A verbatim copy of the sample's state machine, so the comparison runs wherever the tests run;
# tests/test_definition.py checks it still equals the reference when the reference is there.
SAMPLE_DEFINITION = ROOT / "tests" / "data" / "sample-state-machine.asl.json"


@pytest.fixture(scope="session")
def default_stack_dir(tmp_path_factory) -> Path:
    """The default config synthesized once (target aws) into a private directory."""
    from pipeline_tools.synthesis import synthesize

    out = tmp_path_factory.mktemp("synth") / "cdktf.out"
    return synthesize(None, "aws", out)


@pytest.fixture(scope="session")
def default_stack(default_stack_dir) -> dict:
    return json.loads((default_stack_dir / "cdk.tf.json").read_text())


@pytest.fixture(scope="session")
def plugin_dir() -> Path:
    value = os.environ.get("PIPELINE_TOOLS_PLUGIN_DIR")
    if not value:
        if os.environ.get("CI"):
            pytest.fail("PIPELINE_TOOLS_PLUGIN_DIR is unset in CI: .ci/run should have found the provider mirror")
        pytest.skip("PIPELINE_TOOLS_PLUGIN_DIR unset: no offline provider mirror for terraform init")
    return Path(value)


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run the real console entry point in a subprocess (exit codes and stderr as a user sees them)."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline_tools.cli", *args],
        cwd=cwd or ROOT,
        env={**os.environ, **(env or {})},
        text=True,
        capture_output=True,
        timeout=timeout,
    )


@pytest.fixture
def cli():
    return run_cli
