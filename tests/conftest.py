"""Shared fixtures: one synthesized default stack per session, the provider mirror, the CLI runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# One provider plugin cache per test worker, shared by every working directory the tests create
# (terraform links the 700 MB provider from it instead of copying it into each one).
os.environ.setdefault(
    "TF_PLUGIN_CACHE_DIR",
    os.path.join(__import__("tempfile").gettempdir(), f"pipeline-tools-plugin-cache-{os.getuid()}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"),
)

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


# The suite needs its real parts (the AWS provider mirror, a terraform, checkov). A missing one is
# a failure, never a quiet skip, unless this opt-out is set (README "Tests and CI").
ALLOW_SKIPS = "PIPELINE_TOOLS_ALLOW_SKIPS"


def require(missing: str) -> None:
    """A required real part is missing: fail the test, or skip it under the documented opt-out."""
    if os.environ.get(ALLOW_SKIPS) == "1":
        pytest.skip(f"{missing} ({ALLOW_SKIPS}=1)")
    pytest.fail(f"{missing}; the suite needs it (set {ALLOW_SKIPS}=1 to skip these tests instead)", pytrace=False)


@pytest.fixture(scope="session")
def terraform_binary() -> str:
    """The terraform the CLI would use (PATH, PIPELINE_TOOLS_TERRAFORM or the embedded one)."""
    from pipeline_tools.errors import EnvironmentProblem
    from pipeline_tools.terraform import find_terraform

    try:
        return find_terraform()
    except EnvironmentProblem as problem:
        require(f"no terraform: {problem}")


@pytest.fixture(scope="session")
def plugin_dir(terraform_binary) -> Path:
    value = os.environ.get("PIPELINE_TOOLS_PLUGIN_DIR")
    if not value:
        require("PIPELINE_TOOLS_PLUGIN_DIR is unset: no offline provider mirror for terraform init "
                "(`make test` and .ci/run find the machine's mirror; or set it to the folder holding registry.terraform.io/)")
    if not (Path(value) / "registry.terraform.io").is_dir():
        require(f"PIPELINE_TOOLS_PLUGIN_DIR={value} holds no registry.terraform.io/ folder")
    return Path(value)


@pytest.fixture(scope="session")
def checkov() -> str:
    """checkov from its own environment (`make setup` creates .venv-checkov)."""
    from pipeline_tools.gates.scan import find_checkov
    from pipeline_tools.errors import EnvironmentProblem

    try:
        return find_checkov()
    except EnvironmentProblem as problem:
        require(f"{problem}")


def assert_clean_error(result: subprocess.CompletedProcess, *expected: str, code: int = 2) -> str:
    """The CLI failed as designed: exit ``code``, exactly one stderr line ``error: ...`` holding every
    ``expected`` fragment, and neither the last-resort handler's "unexpected" nor a traceback.
    Returns the line."""
    output = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == code, output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr, output
    for fragment in expected:
        assert fragment in lines[0], (fragment, output)
    return lines[0]


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
