"""The synth cache: an unchanged project reuses its output; any input change invalidates it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_tools import synth_cache, synthesis
from pipeline_tools.synth_cache import KEY_FILE, SynthCache, compute_key

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A private copy of the construct sources and scripts, with the cwd in a scratch directory."""
    infra = tmp_path / "repo" / "infra" / "sfn_ml_pipeline"
    shutil.copytree(ROOT / "infra" / "sfn_ml_pipeline", infra, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "scripts", tmp_path / "repo" / "scripts", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(synth_cache, "_package_dir", lambda name: infra)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("PIPELINE_TOOLS_NO_SYNTH_CACHE", raising=False)
    return tmp_path / "repo"


def test_key_is_stable_and_every_input_changes_it(project, monkeypatch):
    out = Path("cdktf.out")
    base = compute_key(None, "aws", out)
    assert base is not None and base == compute_key(None, "aws", out)
    seen = {base}

    def changed(key):
        assert key is not None and key not in seen
        seen.add(key)

    changed(compute_key(None, "aws", Path("other.out")))
    Path("pipeline.toml").write_text('region = "eu-west-1"\n')  # the default config file appears
    changed(compute_key(None, "aws", out))
    Path("pipeline.toml").write_text('region = "eu-west-2"\n')
    changed(compute_key(None, "aws", out))
    explicit = Path("custom.toml")
    explicit.write_text('region = "eu-west-2"\n')
    assert compute_key(explicit, "aws", out) == compute_key(None, "aws", out)  # same content, same key
    with (project / "scripts" / "transform.py").open("a") as stream:
        stream.write("\n# edited\n")
    changed(compute_key(None, "aws", out))
    (project / "infra" / "sfn_ml_pipeline" / "definition.py").write_text("# replaced\n")
    changed(compute_key(None, "aws", out))
    monkeypatch.setattr(synth_cache, "_version", lambda name: "9.9.9" if name == "cdktn" else "1.0")
    changed(compute_key(None, "aws", out))


def test_local_target_keys_on_the_emulator_endpoint_only(project, monkeypatch):
    """The key follows what synthesis reads from the running emulator (endpoint, CA bundle), not
    the pid or restore figures of one `local up`: a restart on the same port reuses the stack.
    (read_state's liveness check is the boundary faked here; test_durable restarts real ones.)"""
    from pipeline_tools.emulator import state as emulator_state

    assert compute_key(None, "local", Path("cdktf.out")) is None  # no emulator: synth reports it
    state = Path(".pipeline-tools") / "emulator.json"
    state.parent.mkdir()

    def running(**fields):
        state.write_text(json.dumps({"endpoint": "https://127.0.0.1:47145", "ca_bundle": "/x/ca.pem", "pid": 11, **fields}))

    monkeypatch.setattr(emulator_state, "read_state", lambda directory=None: json.loads(state.read_text()))
    running()
    first = compute_key(None, "local", Path("cdktf.out"))
    assert first is not None and first != compute_key(None, "aws", Path("cdktf.out"))
    running(pid=12, data_since=5.0, restored={"seconds": 0.4})  # the same emulator, restarted
    assert compute_key(None, "local", Path("cdktf.out")) == first
    running(endpoint="https://127.0.0.1:47146")
    assert compute_key(None, "local", Path("cdktf.out")) not in (None, first)
    running(ca_bundle="/y/ca.pem")
    assert compute_key(None, "local", Path("cdktf.out")) not in (None, first)
    # With the shared config file (the stack names the file, not the port), another port is the same stack.
    running(aws_config="/x/aws-config")
    with_config = compute_key(None, "local", Path("cdktf.out"))
    running(aws_config="/x/aws-config", endpoint="https://127.0.0.1:47146")
    assert compute_key(None, "local", Path("cdktf.out")) == with_config not in (None, first)


def test_missing_config_file_or_opt_out_disables_the_cache(project, monkeypatch):
    assert compute_key(Path("nope.toml"), "aws", Path("cdktf.out")) is None
    monkeypatch.setenv("PIPELINE_TOOLS_NO_SYNTH_CACHE", "1")
    assert compute_key(None, "aws", Path("cdktf.out")) is None


def test_unchanged_project_reuses_the_output_and_an_edited_output_does_not(default_stack_dir, monkeypatch):
    """In-process, so a cache miss would reach the (sabotaged) app builder and fail loudly."""
    out_dir = default_stack_dir.parents[1]
    monkeypatch.delenv("PIPELINE_TOOLS_NO_SYNTH_CACHE", raising=False)
    assert json.loads((out_dir / KEY_FILE).read_text())["stack"] == "stacks/ml-pipeline"

    def no_synth(*args, **kwargs):
        raise AssertionError("synthesized although nothing changed")

    monkeypatch.setattr(synthesis, "app_for", no_synth)
    assert synthesis.synthesize(None, "aws", out_dir) == default_stack_dir

    copy = out_dir.parent / "edited.out"
    shutil.copytree(out_dir, copy)
    entry = json.loads((copy / KEY_FILE).read_text())
    entry["key"] = compute_key(None, "aws", copy)
    (copy / KEY_FILE).write_text(json.dumps(entry))
    assert SynthCache.for_call(None, "aws", copy).lookup() == copy / "stacks" / "ml-pipeline"
    stack_file = copy / "stacks" / "ml-pipeline" / "cdk.tf.json"
    stack_file.write_text(stack_file.read_text().replace("ml.m5.xlarge", "ml.m5.large"))
    assert SynthCache.for_call(None, "aws", copy).lookup() is None


def test_the_cache_check_imports_neither_jsii_nor_cdktn(default_stack_dir):
    out_dir = default_stack_dir.parents[1]
    code = (
        "import sys; from pathlib import Path; from pipeline_tools.synth_cache import SynthCache; "
        f"hit = SynthCache.for_call(None, 'aws', Path({str(out_dir)!r})).lookup(); "
        "print(hit is not None, sorted(m for m in sys.modules if m.split('.')[0] in ('jsii', 'cdktn', 'cdktn_provider_aws', 'constructs')))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "True []", result.stderr
