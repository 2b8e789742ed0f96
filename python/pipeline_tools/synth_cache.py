"""Skip synthesis when nothing that feeds it changed (issue 6: a cached synth in under 0.3 s).

Synthesis costs seconds, almost all of it jsii starting node and loading cdktn. Its output is a
pure function of: the config (file content, or the built-in defaults), the target, the emulator's
state file for the local target (endpoint, CA bundle), the construct's sources
(``infra/sfn_ml_pipeline/**``), the packaged scripts (``scripts/*``), the synthesis driver itself,
the versions of cdktn, cdktn-provider-aws, constructs, jsii and Python, the working directory (the
state backend path is relative to it) and the output directory. This module hashes exactly those
into a key stored as ``OUT/.synth-key`` next to a digest of the ``cdk.tf.json`` it describes; when
both still match, ``synthesize()`` returns the existing stack directory.

Everything here is plain file reading and ``importlib.metadata`` look-ups: importing this module,
computing the key and checking it never imports jsii, cdktn or the construct (that import alone
costs seconds). Set ``PIPELINE_TOOLS_NO_SYNTH_CACHE=1`` to always synthesize.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

KEY_FILE = ".synth-key"
FORMAT = 1
VERSIONED = ("cdktn", "cdktn-provider-aws", "constructs", "jsii")
DEFAULT_CONFIG_FILE = Path("pipeline.toml")  # as sfn_ml_pipeline.config (not imported: keep this light)
_SKIP_DIRS = {"__pycache__", ".pytest_cache"}


def _package_dir(name: str) -> Path | None:
    """Where an import package lives, without importing (executing) it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _hash_tree(digest: "hashlib._Hash", root: Path, label: str) -> None:
    """Feed every file under ``root`` (sorted relative paths and contents) into ``digest``."""
    if not root.exists():
        digest.update(f"{label}:missing\0".encode())
        return
    files = sorted(
        p for p in root.rglob("*")
        if p.is_file() and not _SKIP_DIRS.intersection(p.relative_to(root).parts) and p.suffix not in (".pyc", ".pyo")
    )
    for path in files:
        digest.update(f"{label}/{path.relative_to(root).as_posix()}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "absent"


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def compute_key(config_path: Path | None, target: str, out_dir: Path) -> str | None:
    """The cache key for one synth call, or None when it cannot be cached (the synth will then
    run and report the problem itself: a missing config file, an unknown target, no emulator)."""
    if os.environ.get("PIPELINE_TOOLS_NO_SYNTH_CACHE", "").strip().lower() in ("1", "true", "yes"):
        return None
    digest = hashlib.sha256(f"format {FORMAT}\0target {target}\0".encode())
    config_file = Path(config_path) if config_path is not None else (DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None)
    if config_file is None:
        digest.update(b"config:defaults\0")
    else:
        try:
            digest.update(b"config:" + config_file.read_bytes() + b"\0")
        except OSError:
            return None
    if target == "local":
        # Only what synthesis reads from the running emulator (synthesis.local_endpoint): the paths
        # of its shared AWS config file and CA bundle (or, without that file, its endpoint). Not its
        # pid, port or restore figures, which change at every `local up`: a restart reuses the stack.
        from .emulator.state import read_state

        try:
            state = read_state()
        except Exception:  # noqa: BLE001 - no running emulator: synthesize, which reports it
            return None
        where = f"config {state['aws_config']}" if state.get("aws_config") else f"endpoint {state.get('endpoint')}"
        digest.update(f"emulator:{where}\0{state.get('ca_bundle')}\0".encode())
    for label, folder in _code_folders(config_file):
        _hash_tree(digest, folder, label)  # your code is packaged into the stack: a changed script is a new synth
    infra = _package_dir("sfn_ml_pipeline")
    if infra is None:
        return None
    _hash_tree(digest, infra, "infra")
    _hash_tree(digest, infra.resolve().parents[1] / "scripts", "scripts")  # as sfn_ml_pipeline.packaging.SCRIPTS_DIR
    digest.update(hashlib.sha256(Path(__file__).with_name("synthesis.py").read_bytes()).digest())
    for distribution in VERSIONED:
        digest.update(f"{distribution}=={_version(distribution)}\0".encode())
    digest.update(f"python {sys.version}\0cwd {Path.cwd().resolve()}\0out {Path(out_dir).resolve()}\0".encode())
    return digest.hexdigest()


def _code_folders(config_file: Path | None) -> list[tuple[str, Path]]:
    """The ``source_dir`` folders a config names (relative to its folder), read with tomllib only."""
    if config_file is None:
        return []
    import tomllib

    try:
        data = tomllib.loads(Path(config_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    folders = []
    for section in ("processing", "training"):
        source = (data.get(section) or {}).get("source_dir") if isinstance(data.get(section), dict) else None
        if isinstance(source, str):
            folders.append((f"code:{section}", (Path(config_file).resolve().parent / Path(source).expanduser()).resolve()))
    return folders


@dataclass(frozen=True)
class SynthCache:
    """One synth call's cache entry: ``lookup()`` before synthesizing, ``store(dir)`` after."""

    key: str | None
    out_dir: Path

    @classmethod
    def for_call(cls, config_path: Path | None, target: str, out_dir: Path) -> "SynthCache":
        return cls(compute_key(config_path, target, out_dir), Path(out_dir))

    def lookup(self) -> Path | None:
        """The stack directory of a still-valid earlier synth into ``out_dir``, else None."""
        if self.key is None:
            return None
        try:
            entry = json.loads((self.out_dir / KEY_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != self.key or not isinstance(entry.get("stack"), str):
            return None
        stack_dir = self.out_dir / entry["stack"]
        if _file_digest(stack_dir / "cdk.tf.json") != entry.get("cdk_tf_json_sha256"):
            return None  # output deleted or edited by hand: synthesize again
        return stack_dir

    def store(self, staging_out: Path, stack_dir: Path) -> None:
        """Record the key in the (still staging) output dir, so key and output appear together."""
        if self.key is None:
            return
        relative = Path(stack_dir).relative_to(self.out_dir)
        digest = _file_digest(Path(staging_out) / relative / "cdk.tf.json")
        if digest is None:
            return
        entry = {"key": self.key, "stack": relative.as_posix(), "cdk_tf_json_sha256": digest}
        (Path(staging_out) / KEY_FILE).write_text(json.dumps(entry) + "\n", encoding="utf-8")
