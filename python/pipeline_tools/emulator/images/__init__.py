"""The SageMaker images the emulator knows, and an isolated Python environment per image.

A SageMaker job names its image (``.../sagemaker-scikit-learn:1.2-1-cpu-py3``,
``.../sagemaker-xgboost:1.7-1``); on SageMaker its code runs with the libraries that image ships.
Locally there is no container, so each known image gets a virtual environment holding the same
library versions (``images.toml`` beside this file: every pin with the container repository's path
and commit it was read from; where PyPI has no wheel of the exact version for this Python, the
nearest one that has, each difference in docs/images.md). The job's process runs that
environment's interpreter: it never sees this project's site-packages.

An environment is built once per set of pins, under ``<cache>/<image>-<key>/`` (``<cache>``:
``$PIPELINE_TOOLS_IMAGE_ENVS``, else ``$XDG_CACHE_HOME/pipeline-tools/images``, else
``~/.cache/pipeline-tools/images``), where ``<key>`` hashes the pins and this Python's version: a
changed pin is a new directory (rebuilt), the same pins reuse it. Builders take a lock per
environment and build in a temporary directory renamed into place when complete, so two
builders at once (two emulators, a test run and ``make setup``) build it once and nobody sees a
half-built one. ``make setup`` builds them ahead (``python -m pipeline_tools.emulator.images
build``); a job that finds none builds it first (one line in the job's runner.log and in the
emulator's log), before its runtime limit starts counting.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import tomllib
import venv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

TABLE = Path(__file__).with_name("images.toml")
# Bumped when the way an environment is laid out changes (not its pins): every key changes.
LAYOUT = 2  # 2: the endpoint hook for old botocore (endpoint_hook.py)
MARKER = "image.json"
_memo_lock = threading.Lock()
_ready: dict[Path, Path] = {}


class UnknownImage(Exception):
    """A job names an image the emulator has no environment for."""


class ImageEnvironmentError(Exception):
    """An image's environment could not be built (pip failed: offline, no wheel, disk full)."""


@dataclass(frozen=True)
class Image:
    name: str
    repository: str
    tags: tuple[str, ...]
    python: str
    source: str
    algorithm: bool
    pins: dict[str, dict] = field(hash=False)

    @property
    def label(self) -> str:
        return f"{self.repository}:{self.tags[0]}"

    @property
    def requirements(self) -> list[str]:
        """What pip installs: ``package==version`` for every pin not skipped, sorted."""
        return sorted(f"{package}=={pin['install']}" for package, pin in self.pins.items() if "skip" not in pin)

    def key(self) -> str:
        """The environment's identity: its requirements, this Python (major.minor, implementation)
        and the layout version. Anything else (comments, sources) does not force a rebuild."""
        identity = {"requirements": self.requirements, "python": sys.implementation.cache_tag, "layout": LAYOUT}
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]

    def directory(self) -> Path:
        return cache_root() / f"{self.name}-{self.key()}"

    def differences(self) -> list[str]:
        """One line per library whose installed version is not the image's (or not installed)."""
        lines = [f"Python {self.python} -> {sys.version_info.major}.{sys.version_info.minor} (the Python on this machine)"]
        for package, pin in self.pins.items():
            if "skip" in pin:
                lines.append(f"{package} {pin['image']}: not installed ({pin['skip']})")
            elif pin["install"] != pin["image"]:
                lines.append(f"{package} {pin['image']} -> {pin['install']} ({pin.get('why', '')})")
        return lines


@functools.lru_cache(maxsize=None)
def _load(table: str) -> tuple[Image, ...]:
    data = tomllib.loads(Path(table).read_text())
    return tuple(
        Image(
            name=name,
            repository=entry["repository"],
            tags=tuple(entry["tags"]),
            python=entry["python"],
            source=entry["source"],
            algorithm=bool(entry.get("algorithm", False)),
            pins={package: dict(pin) for package, pin in entry["pins"].items()},
        )
        for name, entry in data["images"].items()
    )


def known(table: Path | None = None) -> tuple[Image, ...]:
    return _load(str(table or TABLE))


def supported() -> str:
    return ", ".join(image.label for image in known())


def resolve(uri: str) -> Image:
    """The known image an image URI names (``<registry>/<repository>:<tag>``; the registry, i.e. the
    region's ECR account, does not matter). Anything else: :class:`UnknownImage`, one line naming
    the image and what is supported."""
    last = (uri or "").rsplit("/", 1)[-1]
    repository, _, tag = last.partition(":")
    for image in known():
        if repository == image.repository and tag in image.tags:
            return image
    raise UnknownImage(f"the local emulator does not know the image {uri or '(none)'!r}; it runs {supported()} (docs/images.md)")


def cache_root() -> Path:
    explicit = os.environ.get("PIPELINE_TOOLS_IMAGE_ENVS")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pipeline-tools" / "images"


def python_of(directory: Path) -> Path:
    return directory / "bin" / "python"


def is_built(image: Image) -> bool:
    return (image.directory() / MARKER).is_file()



def _pip(command: list[str], staging: Path, kept: Path, what: str, hint: str = "") -> None:
    """Run pip into ``staging`` with its output in ``staging/build.log``; when it fails, keep that log
    as ``kept`` and raise one line: ``what``, pip's last ERROR line, where its output is, ``hint``."""
    build_log = staging / "build.log"
    with open(build_log, "wb") as out:
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, "PIP_REQUIRE_VIRTUALENV": "0"})
    if result.returncode != 0:
        errors = [line for line in build_log.read_text(errors="replace").splitlines() if line.startswith("ERROR")]
        shutil.copyfile(build_log, kept)
        raise ImageEnvironmentError(f"{what}: {errors[-1] if errors else f'pip exited {result.returncode}'} (pip's output: {kept}{hint})")

def ensure(image: Image, log: Callable[[str], None] | None = None) -> Path:
    """The interpreter of ``image``'s environment, built first if there is none for its pins.
    ``log`` gets one line before a build and one after it."""
    directory = image.directory()
    with _memo_lock:
        if directory in _ready and (directory / MARKER).is_file():
            return _ready[directory]
    if not (directory / MARKER).is_file():
        _build(image, directory, log or _stderr)
    _touch(directory)  # once per process (then memoized): in use, so not stale
    with _memo_lock:
        _ready[directory] = python_of(directory)
    return python_of(directory)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _build(image: Image, directory: Path, log: Callable[[str], None]) -> None:
    root = directory.parent
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{directory.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder per environment; the others wait, then reuse it
        try:
            if (directory / MARKER).is_file():
                return
            log(f"building the environment of image {image.label} once ({', '.join(image.requirements)}) in {directory} ...")
            started = time.monotonic()
            staging = root / f".{directory.name}.building-{os.getpid()}-{threading.get_ident()}"
            shutil.rmtree(staging, ignore_errors=True)
            try:
                # No pip inside (ensurepip costs ~4 s): this project's pip installs into it (--python).
                venv.EnvBuilder(with_pip=False, symlinks=True, clear=True).create(staging)
                _pip(
                    [sys.executable, "-m", "pip", "--python", str(python_of(staging)), "install",
                     "--only-binary=:all:", "--no-input", "--disable-pip-version-check", "--no-warn-script-location",
                     *image.requirements],
                    staging, root / f"{directory.name}.failed-build.log",
                    f"could not build the environment of image {image.label}",
                    "; PyPI must be reachable, or set PIPELINE_TOOLS_IMAGE_ENVS to a directory holding a built one",
                )
                _install_endpoint_hook(staging)
                seconds = time.monotonic() - started
                size = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file() and not p.is_symlink())
                (staging / MARKER).write_text(json.dumps({
                    "image": image.label, "name": image.name, "key": image.key(), "requirements": image.requirements,
                    "python": sys.version.split()[0], "source": image.source, "built_seconds": round(seconds, 1),
                    "size_bytes": size, "differences": image.differences(),
                }, indent=2))
                if directory.exists():  # unmarked, so incomplete: not made by a builder here (they rename complete ones)
                    shutil.rmtree(directory)
                os.rename(staging, directory)  # atomic: the environment appears complete or not at all
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            log(f"built the environment of image {image.label} in {seconds:.1f} s ({size / 1e6:.0f} MB): {directory}")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _install_endpoint_hook(environment: Path) -> None:
    """endpoint_hook.py into the environment's site-packages, imported at start by a .pth line."""
    site = next((environment / "lib").glob("python*/site-packages"))
    shutil.copyfile(Path(__file__).with_name("endpoint_hook.py"), site / "pipeline_tools_endpoint_hook.py")
    (site / "pipeline_tools_endpoint_hook.pth").write_text("import pipeline_tools_endpoint_hook\n")


# An environment for other pins is removed only once nothing has used it for this long: two
# checkouts of different versions on one machine (a branch, a worktree) each keep theirs.
STALE_AFTER_SECONDS = 7 * 24 * 3600


def _touch(directory: Path) -> None:
    """Record a use (the marker's mtime), which :func:`stale` reads."""
    try:
        os.utime(directory / MARKER)
    except OSError:
        pass


def stale(image: Image, now: float | None = None) -> list[Path]:
    """Environments of ``image`` built for other pins (an older images.toml): ``<name>-<other key>``,
    unused for :data:`STALE_AFTER_SECONDS` (their marker's mtime; one without a marker is a failed build)."""
    root = cache_root()
    if not root.is_dir():
        return []
    now = time.time() if now is None else now
    pattern = f"{image.name}-"

    def unused(path: Path) -> bool:
        try:
            return now - (path / MARKER).stat().st_mtime > STALE_AFTER_SECONDS
        except OSError:
            return True

    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(pattern)
                  and len(p.name) == len(image.directory().name) and p != image.directory() and unused(p))


def describe(directory: Path) -> dict:
    try:
        return json.loads((directory / MARKER).read_text())
    except (OSError, ValueError):
        return {}


# -- your requirements.txt, on top of an image -------------------------------------------------------
# SageMaker installs a code folder's requirements.txt into the job's container before your script
# runs (the training toolkit: sagemaker-training-toolkit entry_point.install -> modules.install_requirements;
# processing: the SDK's FrameworkProcessor runproc.sh, `python -m pip install -r requirements.txt`).
# Here an environment per (image environment, requirements) sits on top of the image's: its own
# site-packages (with pip, from ensurepip, offline) first, then the image's through a .pth file, so
# your pins win and everything else is the image's. Built once, like the image's (lock, temporary
# directory renamed into place), under <cache>/<image env>-req-<hash of the requirements>/.
REQUIREMENTS_MARKER = "requirements.json"


def requirements_directory(image: Image, requirements: str) -> Path:
    digest = hashlib.sha256(requirements.replace("\r\n", "\n").strip().encode()).hexdigest()[:12]
    return cache_root() / f"{image.directory().name}-req-{digest}"


def ensure_requirements(image: Image, requirements: str, log: Callable[[str], None] | None = None) -> Path:
    """The interpreter of an environment with ``requirements`` (a requirements.txt's text) installed on
    top of ``image``'s, built first when there is none. Raises :class:`ImageEnvironmentError`."""
    base = ensure(image, log)
    directory = requirements_directory(image, requirements)
    if (directory / REQUIREMENTS_MARKER).is_file():
        return python_of(directory)
    log = log or _stderr
    root = directory.parent
    with open(root / f"{directory.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if (directory / REQUIREMENTS_MARKER).is_file():
                return python_of(directory)
            log(f"installing requirements.txt on top of image {image.label} once, in {directory} ...")
            started = time.monotonic()
            staging = root / f".{directory.name}.building-{os.getpid()}-{threading.get_ident()}"
            shutil.rmtree(staging, ignore_errors=True)
            try:
                venv.EnvBuilder(with_pip=True, symlinks=True, clear=True).create(staging)
                site = next((staging / "lib").glob("python*/site-packages"))
                image_site = next((base.parent.parent / "lib").glob("python*/site-packages"))
                (site / "_sagemaker_image.pth").write_text(f"{image_site}\n")
                (staging / "requirements.txt").write_text(requirements)
                _pip(
                    [str(python_of(staging)), "-m", "pip", "install", "--no-input", "--disable-pip-version-check",
                     "--no-warn-script-location", "-r", str(staging / "requirements.txt")],
                    staging, root / f"{directory.name}.failed-build.log",
                    f"could not install requirements.txt on top of image {image.label}",
                )
                seconds = time.monotonic() - started
                (staging / REQUIREMENTS_MARKER).write_text(json.dumps({
                    "image": image.label, "image_environment": str(base.parent.parent), "requirements": requirements,
                    "built_seconds": round(seconds, 1),
                }, indent=2))
                if directory.exists():
                    shutil.rmtree(directory)
                os.rename(staging, directory)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            log(f"installed requirements.txt on top of image {image.label} in {seconds:.1f} s: {directory}")
            return python_of(directory)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
