"""Synthesis: config -> ``OUT/stacks/ml-pipeline/cdk.tf.json``, written all-or-nothing.

The app is synthesized in-process (no `cdktf` CLI or node project needed; jsii still starts node).
Output goes to a temporary sibling directory first and replaces ``OUT`` only when complete, so a
failed synth never leaves a half-written stack behind.
"""

from __future__ import annotations

import os
from pathlib import Path

from sfn_ml_pipeline.config import ConfigError, PipelineConfig, load_config

from .errors import UsageError
from .files import replacing_directory

STATE_DIR = Path(".pipeline-tools") / "state"
DEFAULT_OUT = Path("cdktf.out")


def stack_dir_of(out_dir: Path = DEFAULT_OUT) -> Path:
    from sfn_ml_pipeline.targets import STACK_NAME

    return out_dir / "stacks" / STACK_NAME


def read_config(config_path: Path | None) -> PipelineConfig:
    try:
        return load_config(config_path)
    except ConfigError as error:
        raise UsageError(str(error)) from None


def check_code(config: PipelineConfig) -> None:
    """Your code folders: every entry point there and every ``.py`` parsing as the images' Python,
    before anything is synthesized or deployed (UsageError, exit 2: ``<file>:<line>: SyntaxError: ...``)."""
    from sfn_ml_pipeline.packaging import SourceProblem, check_sources

    for section in (config.processing, config.training):
        if section.source_dir is None:
            continue
        try:
            check_sources(section.source_dir, section.entry_point)
        except SourceProblem as problem:
            raise UsageError(str(problem), "fix the file; nothing was synthesized or deployed") from None


def local_endpoint():
    """The running emulator's endpoint (raises a one-line EnvironmentProblem when none runs)."""
    from sfn_ml_pipeline.targets import LocalEndpoint

    from .emulator.state import read_state  # checks the recorded process is alive, not just the file

    state = read_state()
    return LocalEndpoint(url=state["endpoint"], ca_bundle=state.get("ca_bundle"), config_file=state.get("aws_config"))


def app_for(config_path: Path | None, target: str, out_dir: Path | None = None, *, final_out: Path | None = None):
    """Build (not synthesize) the cdktf app for a config and target."""
    if target not in ("aws", "local"):
        raise UsageError(f"unknown target {target!r}", "use --target aws or --target local")
    config = read_config(config_path)  # before jsii starts: a bad config fails in milliseconds
    check_code(config)
    local = local_endpoint() if target == "local" else None
    from sfn_ml_pipeline.stack import build_app  # starts jsii: seconds

    # The npm CLIs (cdktf/cdktn synth --output DIR) pass their output directory as CDKTF_OUTDIR: the
    # backend path is relative to the stack directory there, so every tool lands on the same state file.
    cli_out = os.environ.get("CDKTF_OUTDIR")
    final_stack = stack_dir_of(final_out or out_dir or (Path(cli_out) if cli_out else DEFAULT_OUT)).resolve()
    state_file = (Path.cwd() / STATE_DIR / target / "terraform.tfstate").resolve()
    state_rel = os.path.relpath(state_file, final_stack)
    return build_app(config, out_dir=out_dir, local=local, state_file=state_rel)


def preload_construct(out_dir: Path = DEFAULT_OUT) -> None:
    """When ``out_dir`` holds no earlier synth (so the next one cannot come from the cache), start
    loading the construct library on a thread: jsii loading the aws provider bindings is ~4 s of
    node, which can overlap other work (the demo starts the emulator meanwhile). The synth's own
    import then finds it loaded, or waits for it; an error here is left for the synth to report."""
    from .synth_cache import KEY_FILE

    if (Path(out_dir) / KEY_FILE).exists():
        return

    def load() -> None:
        try:
            import sfn_ml_pipeline.stack  # noqa: F401 - imported for its side effect (jsii loads)
        except Exception:  # noqa: BLE001 - the synth imports it again and reports
            pass

    import threading

    threading.Thread(target=load, name="preload-construct", daemon=True).start()


def synthesize(config_path: Path | None = None, target: str = "aws", out_dir: Path = DEFAULT_OUT) -> Path:
    """Synthesize the stack into ``out_dir``; return the stack directory."""
    from .synth_cache import SynthCache  # jsii-free: an unchanged project returns here in milliseconds

    out_dir = Path(out_dir)
    cache = SynthCache.for_call(config_path, target, out_dir)
    cached = cache.lookup()
    if cached is not None:
        return cached
    with replacing_directory(out_dir) as staging:
        app = app_for(config_path, target, staging, final_out=out_dir)
        try:
            app.synth()
        except Exception as error:  # jsii surfaces construct errors as RuntimeError/JSIIError
            raise UsageError(f"synth failed: {str(error).splitlines()[0]}", "check the config values") from None
        cache.store(staging, stack_dir_of(out_dir))
    return stack_dir_of(out_dir)
