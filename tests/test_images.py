"""The emulator's image table and its per-image environments (python/pipeline_tools/emulator/images):
which image URIs are known, the environment's identity (its pins), built once and reused, rebuilt
when a pin changes, one build for two builders at once. The environments of the real images are
exercised by the emulator tests (tests/test_emulator_pipeline.py); here a tiny environment (one
small wheel from PyPI) stands for them."""

from __future__ import annotations

import dataclasses
import time
import json
import re
import subprocess
import threading
from pathlib import Path

import pytest

from pipeline_tools.emulator import images

ROOT = Path(__file__).resolve().parents[1]
SIX = images.Image(name="tiny", repository="tiny", tags=("1",), python="3.11", source="test", algorithm=False,
                   pins={"six": {"image": "1.16.0", "install": "1.16.0", "from": "test"}})


@pytest.mark.parametrize("uri, name", [
    ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3", "sagemaker-scikit-learn-1-2-1"),
    ("450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-scikit-learn:1.2-1", "sagemaker-scikit-learn-1-2-1"),
    ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", "sagemaker-xgboost-1-7-1"),
])
def test_known_images_resolve_whatever_the_region(uri, name):
    assert images.resolve(uri).name == name


@pytest.mark.parametrize("uri", ["683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1", "local", "", "me/my-own:latest"])
def test_an_unknown_image_is_one_line_naming_it_and_what_is_supported(uri):
    with pytest.raises(images.UnknownImage) as raised:
        images.resolve(uri)
    message = str(raised.value)
    assert "\n" not in message
    assert repr(uri or "(none)") in message
    assert "sagemaker-scikit-learn:1.2-1" in message and "sagemaker-xgboost:1.7-1" in message


def test_every_pin_names_its_source_and_every_difference_is_in_the_docs():
    docs = (ROOT / "docs" / "images.md").read_text()
    for image in images.known():
        assert re.search(r"/tree/[0-9a-f]{40} \(branch ", image.source), image.source  # repository + commit
        assert image.source.split(" ")[0] in docs
        for package, pin in image.pins.items():
            assert pin["from"] and pin["image"] and pin["install"], (image.name, package)
            if pin["install"] != pin["image"] or "skip" in pin:
                assert pin.get("why") or pin.get("skip"), (image.name, package)
                # docs/images.md lists it: "| package | image version | installed |" in the image's table
                assert re.search(rf"\| {re.escape(package)} \| {re.escape(pin['image'])} \| ", docs), (image.name, package)


def test_the_key_is_the_pins_and_this_python_not_the_comments():
    changed_comment = dataclasses.replace(SIX, source="elsewhere", pins={"six": {**SIX.pins["six"], "from": "other"}})
    assert changed_comment.key() == SIX.key()
    changed_pin = dataclasses.replace(SIX, pins={"six": {"image": "1.15.0", "install": "1.15.0", "from": "test"}})
    assert changed_pin.key() != SIX.key()
    skipped = dataclasses.replace(SIX, pins={**SIX.pins, "numpy": {"image": "1", "install": "1", "from": "t", "skip": "unused"}})
    assert skipped.requirements == ["six==1.16.0"] and skipped.key() == SIX.key()


def test_an_environment_is_built_once_reused_and_rebuilt_when_a_pin_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_TOOLS_IMAGE_ENVS", str(tmp_path))
    lines: list[str] = []
    # two builders at once: one builds, the other waits for it and reuses it
    threads = [threading.Thread(target=images.ensure, args=(SIX,), kwargs={"log": lines.append}) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(line.startswith("building the environment of image tiny:1") for line in lines) == 1, lines
    python = images.ensure(SIX, log=lines.append)
    assert python == SIX.directory() / "bin" / "python"
    marker = json.loads((SIX.directory() / "image.json").read_text())
    assert marker["requirements"] == ["six==1.16.0"] and marker["built_seconds"] > 0 and marker["size_bytes"] > 0
    # isolated: the pins, and none of this project's packages
    probe = "import six, importlib.util as u; print(six.__version__, u.find_spec('pipeline_tools') is None, u.find_spec('click') is None)"
    assert subprocess.run([str(python), "-c", probe], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}).stdout.split() == ["1.16.0", "True", "True"]
    # reused: a new process (no memo) finds it and does not build
    before = len(lines)
    images._ready.clear()
    assert images.ensure(SIX, log=lines.append) == python
    assert len(lines) == before
    # a changed pin is another environment, built beside it
    older = dataclasses.replace(SIX, pins={"six": {"image": "1.15.0", "install": "1.15.0", "from": "test"}})
    other = images.ensure(older, log=lines.append)
    assert other != python and subprocess.run([str(other), "-c", "import six; print(six.__version__)"], capture_output=True, text=True).stdout.strip() == "1.15.0"
    assert not [p for p in tmp_path.iterdir() if ".building-" in p.name]
    # `build` (make setup) removes an image's environments for other pins once unused for a week (a
    # second checkout on the machine may use them): just used, neither is stale; a week on, each is the other's
    assert images.stale(SIX) == [] and images.stale(older) == []
    later = time.time() + images.STALE_AFTER_SECONDS + 60
    assert images.stale(SIX, now=later) == [older.directory()] and images.stale(older, now=later) == [SIX.directory()]
    just_inside = time.time() + images.STALE_AFTER_SECONDS - 60
    assert images.stale(SIX, now=just_inside) == []


def test_a_build_that_fails_is_one_line_and_leaves_nothing_half_built(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_TOOLS_IMAGE_ENVS", str(tmp_path))
    missing = dataclasses.replace(SIX, name="missing", pins={"six": {"image": "0.0.0.0.1", "install": "0.0.0.0.1", "from": "test"}})
    with pytest.raises(images.ImageEnvironmentError) as raised:
        images.ensure(missing, log=lambda line: None)
    assert "\n" not in str(raised.value) and "tiny:1" in str(raised.value)
    assert not missing.directory().exists()
    assert not [p for p in tmp_path.iterdir() if ".building-" in p.name]


def test_requirements_that_cannot_install_are_one_line_keeping_pips_output(tmp_path, monkeypatch):
    """A requirements.txt pip cannot satisfy: one line with pip's last ERROR line and where its whole output
    was kept, and no half-built environment (the image's own one stays)."""
    monkeypatch.setenv("PIPELINE_TOOLS_IMAGE_ENVS", str(tmp_path))
    with pytest.raises(images.ImageEnvironmentError) as raised:
        images.ensure_requirements(SIX, "six==0.0.0.0.1\n", log=lambda line: None)
    message = str(raised.value)
    directory = images.requirements_directory(SIX, "six==0.0.0.0.1\n")
    kept = directory.parent / f"{directory.name}.failed-build.log"
    assert "\n" not in message and message.startswith("could not install requirements.txt on top of image tiny:1: ERROR: ")
    assert message.endswith(f"(pip's output: {kept})") and "six==0.0.0.0.1" in kept.read_text()
    assert not directory.exists() and not [p for p in tmp_path.iterdir() if ".building-" in p.name]
    assert images.is_built(SIX)
