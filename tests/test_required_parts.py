"""A missing real part (the provider mirror, terraform, checkov) fails the suite and CI loudly;
tests skip only under the documented opt-out PIPELINE_TOOLS_ALLOW_SKIPS=1."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Needs terraform + the mirror + checkov; its fixtures run before anything heavy.
NEEDS_ALL = "tests/test_check.py::test_check_passes[default]"


def _env(**changes: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PIPELINE_TOOLS_ALLOW_SKIPS")}
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _pytest(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", NEEDS_ALL, "-q", "-p", "no:cacheprovider", "-p", "no:xdist"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def test_a_missing_provider_mirror_fails_the_tests_that_need_it_even_without_ci():
    failed = _pytest(_env(PIPELINE_TOOLS_PLUGIN_DIR=None))
    assert failed.returncode == 1, failed.stdout
    assert "1 error" in failed.stdout and "PIPELINE_TOOLS_PLUGIN_DIR is unset" in failed.stdout

    skipped = _pytest(_env(PIPELINE_TOOLS_PLUGIN_DIR=None, PIPELINE_TOOLS_ALLOW_SKIPS="1"))
    assert skipped.returncode == 0, skipped.stdout
    assert "1 skipped" in skipped.stdout


def test_a_missing_checkov_fails_the_tests_that_need_it(tmp_path):
    env = _env(PIPELINE_TOOLS_CHECKOV=str(tmp_path / "no-checkov"), PATH="/usr/bin:/bin")
    failed = _pytest(env)
    assert failed.returncode == 1, failed.stdout
    assert "1 error" in failed.stdout and "checkov not found" in failed.stdout


def test_ci_run_stops_early_without_a_mirror_or_a_registry(tmp_path):
    # A stand-in `make`: if .ci/run carried on, it would say so instead of running the whole suite.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_make = bin_dir / "make"
    fake_make.write_text("#!/bin/sh\necho \"make $* was called\"\n")
    fake_make.chmod(fake_make.stat().st_mode | stat.S_IEXEC)
    empty = tmp_path / "no-mirror-here"
    empty.mkdir()
    env = _env(
        PIPELINE_TOOLS_PLUGIN_DIR=None,
        PIPELINE_TOOLS_MIRROR_SEARCH_ROOT=str(empty),
        PIPELINE_TOOLS_REGISTRY_URL="http://127.0.0.1:9/",  # discard port: nothing answers
        PATH=f"{bin_dir}:{os.environ['PATH']}",
    )
    done = subprocess.run([str(ROOT / ".ci" / "run")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "was called" not in done.stdout
    assert done.stderr.startswith("error: no terraform provider mirror on this machine")
    assert "does not answer" in done.stderr and "terraform providers mirror" in done.stderr


def test_a_stray_pytest_args_cannot_replace_the_suites_arguments():
    env = _env(PYTEST_ARGS="-k nothing-at-all", PIPELINE_TOOLS_PLUGIN_DIR=os.environ.get("PIPELINE_TOOLS_PLUGIN_DIR", "/nonexistent"))
    for extra in ([], ["PYTEST_ARGS=-x"], ["PYTEST_EXTRA=-k emulator"]):
        done = subprocess.run(["make", "-n", "test", *extra], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        (line,) = [l for l in done.stdout.splitlines() if " -m pytest" in l]
        expected = '-m pytest -n 2 --dist loadfile -m "not tools"' + (" -k emulator" if extra == ["PYTEST_EXTRA=-k emulator"] else "")
        assert line.rstrip().endswith(expected), line


def test_the_mirror_search_skips_terraform_plugin_caches(tmp_path):
    """A plugin cache (the tests' TF_PLUGIN_CACHE_DIR, the CLI's .pipeline-tools/terraform-plugin-cache)
    has a mirror's layout; given as -plugin-dir while terraform caches into it, init fails
    ("cannot install existing provider directory ... to itself"), which a loaded run hit (issue 27)."""
    import subprocess

    for cache in ("a/pipeline-tools-plugin-cache-0-gw0", "b/project/.pipeline-tools/terraform-plugin-cache"):
        (tmp_path / cache / "registry.terraform.io" / "hashicorp").mkdir(parents=True)
    (tmp_path / "z" / "mirror" / "registry.terraform.io" / "hashicorp").mkdir(parents=True)
    found = subprocess.run(
        [str(ROOT / ".ci" / "find-provider-mirror")], capture_output=True, text=True, cwd=ROOT,
        env={**__import__("os").environ, "PIPELINE_TOOLS_MIRROR_SEARCH_ROOT": str(tmp_path)},
    )
    assert found.stdout.strip() == str(tmp_path / "z" / "mirror")
