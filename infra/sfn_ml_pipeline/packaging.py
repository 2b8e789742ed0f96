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
    """Build every artifact the stack ships: the Lambda zip and transform.py (as is)."""
    missing = missing_scripts(scripts_dir)
    if missing:
        raise FileNotFoundError(f"script not found: {missing[0]}")
    return {
        "generate_dataset.zip": reproducible_zip([scripts_dir / LAMBDA_SOURCE], build_dir / "generate_dataset.zip"),
        "transform.py": Artifact.of(scripts_dir / PROCESSING_SOURCE),
    }
