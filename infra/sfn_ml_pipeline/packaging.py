"""Reproducible packaging of the pipeline's scripts.

Same sources give a byte-identical zip (fixed timestamps, permissions, order and compression)
and therefore the same hash, so Terraform sees a change only when a script really changed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

# The scripts that get packaged live at the repository root, beside infra/.
SCRIPTS_DIR = Path(__file__).resolve().parents[2] / "scripts"
LAMBDA_SOURCE = "generate_dataset.py"
PROCESSING_SOURCE = "transform.py"
EVALUATION_SOURCE = "evaluate.py"  # [quality_gate]'s Evaluate model job (staged when the folder has it)

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest timestamp a zip can hold


@dataclass(frozen=True)
class Artifact:
    """A packaged file and its hashes."""

    path: Path
    sha256_hex: str
    sha256_base64: str  # what Lambda's source_code_hash expects

    @classmethod
    def of(cls, path: Path) -> "Artifact":
        digest = hashlib.sha256(path.read_bytes()).digest()
        return cls(path=path, sha256_hex=digest.hex(), sha256_base64=base64.b64encode(digest).decode())


def reproducible_zip(sources: list[Path], destination: Path) -> Artifact:
    """Zip ``sources`` (flat, by file name) into ``destination`` deterministically; atomic write."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
    try:
        with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w") as archive:
            for source in sorted(sources, key=lambda p: p.name):
                info = zipfile.ZipInfo(source.name, date_time=_ZIP_EPOCH)
                info.external_attr = 0o100644 << 16  # regular file, rw-r--r--
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # unix, whatever the build host
                archive.writestr(info, source.read_bytes(), compresslevel=9)
        os.replace(tmp_name, destination)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return Artifact.of(destination)


def missing_scripts(scripts_dir: Path = SCRIPTS_DIR) -> list[Path]:
    return [p for p in (scripts_dir / LAMBDA_SOURCE, scripts_dir / PROCESSING_SOURCE) if not p.is_file()]


def package_scripts(build_dir: Path, scripts_dir: Path = SCRIPTS_DIR) -> dict[str, Artifact]:
    """Build every artifact the stack ships: the Lambda zip, transform.py and evaluate.py (as they are)."""
    missing = missing_scripts(scripts_dir)
    if missing:
        raise FileNotFoundError(f"script not found: {missing[0]}")
    artifacts = {
        "generate_dataset.zip": reproducible_zip([scripts_dir / LAMBDA_SOURCE], build_dir / "generate_dataset.zip"),
        "transform.py": Artifact.of(scripts_dir / PROCESSING_SOURCE),
    }
    if (scripts_dir / EVALUATION_SOURCE).is_file():
        artifacts["evaluate.py"] = Artifact.of(scripts_dir / EVALUATION_SOURCE)
    return artifacts


# -- your code folders (source_dir) ----------------------------------------------------------------
# A source folder ships as ``sourcedir.tar.gz``, the archive the SageMaker Python SDK makes of a
# ``source_dir`` (sagemaker/fw_utils.py tar_and_upload_dir) and the training containers unpack to
# /opt/ml/code (sagemaker-training-toolkit files.download_and_extract). Reproducible: the same files
# give the same bytes (sorted names, no timestamps, owners or build-host modes; gzip without its
# mtime), so the same hash, so an unchanged folder is never a Terraform change. Left out: caches,
# VCS and virtualenv folders, compiled Python, editor litter.
EXCLUDED_DIRS = frozenset({
    "__pycache__", ".git", ".hg", ".svn", ".ipynb_checkpoints", ".pytest_cache", ".mypy_cache",
    ".ruff_cache", ".tox", ".nox", ".venv", "venv", ".idea", ".vscode",
})
EXCLUDED_FILES = frozenset({".DS_Store", "Thumbs.db"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".swp")
ARCHIVE_NAME = "sourcedir.tar.gz"
LAUNCHER_NAME = "runproc.sh"
# The SageMaker images this module runs (sagemaker-scikit-learn 1.2-1, sagemaker-xgboost 1.7-1) ship
# Python 3.9 (their Dockerfiles: ARG PYTHON_VERSION=3.9), so code is checked against 3.9's grammar:
# a `match` statement that runs on this machine's Python would fail there.
IMAGE_PYTHON = (3, 9)


class SourceProblem(ValueError):
    """A code folder that cannot ship: one line naming the file (and line) and what is wrong."""


def source_files(source_dir: Path) -> list[Path]:
    """The files of a code folder that ship, sorted by their path inside it."""
    files = []
    for path in sorted(Path(source_dir).rglob("*")):
        relative = path.relative_to(source_dir)
        if EXCLUDED_DIRS.intersection(relative.parts[:-1]) or (path.is_dir() and path.name in EXCLUDED_DIRS):
            continue
        if path.is_file() and path.name not in EXCLUDED_FILES and not path.name.endswith(EXCLUDED_SUFFIXES):
            files.append(path)
    return sorted(files, key=lambda p: p.relative_to(source_dir).as_posix())


def check_sources(source_dir: Path, entry_point: str, files: list[Path] | None = None) -> None:
    """The entry point exists and every ``.py`` file parses as Python 3.9 (the images' Python).
    Raises :class:`SourceProblem` with ``<file>:<line>: SyntaxError: <message>``."""
    import ast

    source_dir = Path(source_dir)
    if not (source_dir / entry_point).is_file():
        raise SourceProblem(f"{source_dir / entry_point}: entry point not found")
    for path in files if files is not None else source_files(source_dir):
        if path.suffix != ".py":
            continue
        try:
            text = path.read_bytes()
            ast.parse(text, filename=str(path), feature_version=IMAGE_PYTHON)
        except SyntaxError as error:
            where = f"{path}:{error.lineno}" if error.lineno else str(path)
            raise SourceProblem(f"{where}: {type(error).__name__}: {error.msg} (as Python {IMAGE_PYTHON[0]}.{IMAGE_PYTHON[1]}, the SageMaker images' Python)") from None
        except ValueError as error:  # e.g. a null byte
            raise SourceProblem(f"{path}: not Python source: {error}") from None


def reproducible_tar(source_dir: Path, files: list[Path], destination: Path) -> Artifact:
    """``files`` (inside ``source_dir``) as a gzipped tar, byte for byte the same for the same files."""
    import gzip
    import io
    import tarfile

    destination.parent.mkdir(parents=True, exist_ok=True)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path in files:
            data = path.read_bytes()
            info = tarfile.TarInfo(path.relative_to(source_dir).as_posix())
            info.size, info.mtime, info.uid, info.gid, info.uname, info.gname = len(data), 0, 0, 0, "", ""
            info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
            archive.addfile(info, io.BytesIO(data))
    fd, tmp_name = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
    try:
        with os.fdopen(fd, "wb") as handle, gzip.GzipFile(filename="", mode="wb", fileobj=handle, mtime=0, compresslevel=9) as packed:
            packed.write(raw.getvalue())
        os.replace(tmp_name, destination)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return Artifact.of(destination)


def processing_launcher(entry_point: str) -> str:
    """The processing job's entrypoint script: what the SageMaker Python SDK's FrameworkProcessor
    generates (sagemaker/processing.py ``_generate_framework_script``: unpack sourcedir.tar.gz in the
    code input, ``pip install -r requirements.txt`` when the folder has one, run the script with the
    job's arguments), finding the code input beside its own input folder instead of by its absolute
    path, and stopping at the first failing step."""
    import shlex

    return (
        "#!/bin/bash\n"
        "# Generated by sfn-ml-pipeline (packaging.processing_launcher), after the SageMaker Python SDK's\n"
        "# FrameworkProcessor: unpack the code, install requirements.txt, run the entry point.\n"
        "set -e\n"
        'cd "$(dirname "$0")/../code"\n'
        f"tar -xzf {ARCHIVE_NAME}\n"
        "if [[ -f 'requirements.txt' ]]; then\n"
        "    python3 -m pip install -r requirements.txt\n"
        "fi\n"
        f'exec python3 {shlex.quote(entry_point)} "$@"\n'
    )


@dataclass(frozen=True)
class SourcePackage:
    """One code folder, packaged: ``archive`` (sourcedir.tar.gz) and, for processing, ``launcher``
    (runproc.sh), both uploaded under ``prefix`` (``code/<hash>/``, content-addressed)."""

    kind: str  # "processing" or "training"
    source_dir: Path
    entry_point: str
    files: tuple[str, ...]
    archive: Artifact
    launcher: Artifact | None

    @property
    def digest(self) -> str:
        parts = [self.archive.sha256_hex, self.launcher.sha256_hex if self.launcher else "", self.entry_point]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    @property
    def prefix(self) -> str:
        return f"code/{self.digest[:16]}/"


def package_source(kind: str, source_dir: Path, entry_point: str, build_dir: Path) -> SourcePackage:
    """Check and package a code folder into ``build_dir/<kind>/``. Raises :class:`SourceProblem`."""
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise SourceProblem(f"{source_dir}: code folder not found")
    files = source_files(source_dir)
    check_sources(source_dir, entry_point, files)
    out = Path(build_dir) / kind
    archive = reproducible_tar(source_dir, files, out / ARCHIVE_NAME)
    launcher = None
    if kind == "processing":
        script = out / LAUNCHER_NAME
        script.write_text(processing_launcher(entry_point), encoding="utf-8")
        launcher = Artifact.of(script)
    return SourcePackage(kind, source_dir, entry_point, tuple(p.relative_to(source_dir).as_posix() for p in files), archive, launcher)


def package_config_sources(config, build_dir: Path) -> dict[str, SourcePackage]:
    """The code folders a config names (``processing`` and/or ``training``), packaged."""
    packages = {}
    for kind, section in (("processing", config.processing), ("training", config.training)):
        if section.source_dir is not None:
            packages[kind] = package_source(kind, section.source_dir, section.entry_point, build_dir)
    return packages
