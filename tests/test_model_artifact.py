"""`run` opens a training job's model.tar.gz in whichever format its image wrote (pipeline_tools/model_artifact.py):
JSON and UBJSON with this project's xgboost, the sagemaker-xgboost 1.7-1 image's binary format with that
image's xgboost (its environment, emulator/images); a model that loads with neither is reported, one line,
never swallowed. Real xgboost on both sides: the binary model is written by xgboost 1.7.4 in the image's
environment (built by `make setup`; built here if missing)."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import pytest

from pipeline_tools.emulator import images
from pipeline_tools.execution import _model_facts
from pipeline_tools.model_artifact import ModelUnreadable, model_format, open_model, predict
from pipeline_tools.report import render_html

XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
TRAIN = """
import sys, numpy as np, xgboost as xgb
rng = np.random.default_rng(0)
x = rng.random((400, 2)); y = (x[:, 1] > x[:, 0]).astype(float)
xgb.train({"objective": "reg:logistic"}, xgb.DMatrix(x, label=y), 5).save_model(sys.argv[1])
"""


def _archive(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _data() -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(1).random((500, 2))
    return x, (x[:, 1] > x[:, 0]).astype(float)


@pytest.fixture(scope="module")
def binary_model(tmp_path_factory) -> Path:
    """xgboost-model as the 1.7-1 container writes it: save_model to a name without an extension, xgboost 1.7.4."""
    python = images.ensure(images.resolve(XGBOOST_IMAGE))
    directory = tmp_path_factory.mktemp("binary")
    subprocess.run([str(python), "-c", TRAIN, str(directory / "xgboost-model")], check=True, env={"PATH": "/usr/bin:/bin"})
    raw = (directory / "xgboost-model").read_bytes()
    return _archive(directory / "model.tar.gz", {"xgboost-model": raw})


def _this_xgboost_model(tmp_path: Path, suffix: str) -> Path:
    import xgboost as xgb

    rng = np.random.default_rng(0)
    x = rng.random((400, 2))
    booster = xgb.train({"objective": "reg:logistic"}, xgb.DMatrix(x, label=(x[:, 1] > x[:, 0]).astype(float)), 5)
    booster.save_model(tmp_path / f"model{suffix}")
    return _archive(tmp_path / f"model{suffix}.tar.gz", {"xgboost-model": (tmp_path / f"model{suffix}").read_bytes()})


def _beats_a_constant(predictions: np.ndarray, labels: np.ndarray) -> None:
    rmse = float(np.sqrt(np.mean((predictions - labels) ** 2)))
    assert rmse < 0.6 * float(np.std(labels)), (rmse, float(np.std(labels)))


def test_the_1_7_1_images_binary_model_opens_with_the_images_xgboost(binary_model):
    with tarfile.open(binary_model) as tar:
        raw = tar.extractfile("xgboost-model").read()
    assert model_format(raw) == "binary" and raw[:4] == b"binf"
    import xgboost as xgb

    with pytest.raises(xgb.core.XGBoostError):  # why: this project's xgboost (3.1+) refuses it
        xgb.Booster().load_model(bytearray(raw))
    facts = open_model(binary_model, XGBOOST_IMAGE)
    assert facts == {"format": "binary", "num_trees": 5, "num_features": 2, "loaded_with": "xgboost 1.7.4 (the environment of sagemaker-xgboost:1.7-1)"}
    x, y = _data()
    _beats_a_constant(predict(binary_model, XGBOOST_IMAGE, x), y)


@pytest.mark.parametrize("suffix, fmt", [(".json", "json"), (".ubj", "ubj")])
def test_json_and_ubjson_models_open_with_this_projects_xgboost(tmp_path, suffix, fmt):
    archive = _this_xgboost_model(tmp_path, suffix)
    facts = open_model(archive, None)  # no image needed
    assert facts["format"] == fmt and facts["num_trees"] == 5 and facts["loaded_with"].endswith("(this project's)")
    x, y = _data()
    _beats_a_constant(predict(archive, None, x), y)


def test_a_model_that_does_not_load_is_reported_in_one_line(tmp_path, binary_model):
    cases = {
        "corrupt": (_archive(tmp_path / "corrupt.tar.gz", {"xgboost-model": b"\x00garbage" * 10}), XGBOOST_IMAGE, "does not load with the xgboost of sagemaker-xgboost:1.7-1"),
        "no model": (_archive(tmp_path / "empty.tar.gz", {"model.bin": b"x"}), XGBOOST_IMAGE, "holds no xgboost-model (it holds: model.bin)"),
        "unknown image": (binary_model, "me/my-xgboost:2", "the local emulator does not know the image 'me/my-xgboost:2'"),
        "bad json": (_archive(tmp_path / "json.tar.gz", {"xgboost-model": b'{"learner": 1'}), None, "(JSON) does not load with xgboost"),
    }
    for name, (archive, image, expected) in cases.items():
        with pytest.raises(ModelUnreadable) as raised:
            open_model(archive, image)
        assert expected in str(raised.value) and "\n" not in str(raised.value), (name, str(raised.value))
        facts = _model_facts(archive, image)  # what `run` records: the error, never swallowed
        assert facts == {"error": f"the model does not load: {raised.value}"}, name


def test_the_report_shows_the_models_format_or_why_it_does_not_load():
    base = {"execution": "x", "status": "SUCCEEDED", "states": [], "training": {"model_s3_uri": "s3://b/m"}}
    html = render_html({**base, "model": {"path": "m", "format": "binary", "loaded_with": "xgboost 1.7.4 (the environment of sagemaker-xgboost:1.7-1)"}})
    assert "binary" in html and "xgboost 1.7.4" in html
    html = render_html({**base, "model": {"path": "m", "error": "the model does not load: boom"}})
    assert "could not load" in html and "the model does not load: boom" in html
