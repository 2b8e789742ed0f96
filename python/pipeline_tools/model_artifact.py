"""A training job's model (``model.tar.gz`` holding ``xgboost-model``), opened as a user would, in
whichever format the image wrote it.

The sagemaker-xgboost 1.7-1 image saves ``bst.save_model(os.path.join(model_dir, "xgboost-model"))``
with xgboost 1.7.4 (algorithm_mode/train.py and docker/1.7-1/base/Dockerfile.cpu at
aws/sagemaker-xgboost-container@f7a93a21e50e44b4077f0889a7f676cad8c226f3, branch 1.7-1): a name
without ``.json``/``.ubj`` is, before xgboost 2.1, XGBoost's binary format, which xgboost 3.1 and
later refuse to load ("The binary format has been deprecated in 1.6 and removed in 3.1"). Newer
images (and xgboost >= 2.1) write UBJSON; users may also bring JSON. So:

* JSON and UBJSON load with this project's xgboost;
* the binary format loads with the xgboost of the image that trained the model (its environment,
  ``emulator/images``), through ``emulator/jobs/model_probe.py`` in that interpreter.

Both targets alike: the AWS target's model is the real image's. A model that loads with neither
raises :class:`ModelUnreadable` (one line: the format, what was tried, why it failed); ``run``
puts it in summary.json, report.html and its output.
"""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

MODEL_NAME = "xgboost-model"
FORMATS = {
    "json": "JSON",
    "ubj": "UBJSON",
    "binary": "XGBoost binary (deprecated; xgboost < 2.1 writes it for a name without .json/.ubj)",
}
PROBE = Path(__file__).resolve().parent / "emulator" / "jobs" / "model_probe.py"
PROBE_TIMEOUT_SECONDS = 300


class ModelUnreadable(Exception):
    """The model could not be loaded; the message says which format, with what, and why."""


def read_model_file(archive: Path) -> bytes:
    try:
        with tarfile.open(archive) as tar:
            member = tar.extractfile(MODEL_NAME) if MODEL_NAME in tar.getnames() else None
            if member is None:
                raise ModelUnreadable(f"{archive.name} holds no {MODEL_NAME} (it holds: {', '.join(tar.getnames()) or 'nothing'})")
            return member.read()
    except (tarfile.TarError, OSError) as error:
        raise ModelUnreadable(f"{archive.name} is not a readable tar.gz: {error}") from None


def model_format(raw: bytes) -> str:
    """``json``, ``ubj`` (both objects: ``{`` then a quoted key, or a UBJSON type marker) or ``binary``."""
    if raw[:1] == b"{":
        return "json" if raw[1:].lstrip()[:1] == b'"' else "ubj"
    return "binary"


def open_model(archive: Path, image_uri: str | None) -> dict[str, Any]:
    """``{"format", "num_trees", "num_features", "loaded_with"}`` of the archive's model; raises
    :class:`ModelUnreadable`."""
    return _load(archive, image_uri, None)[0]


def predict(archive: Path, image_uri: str | None, features: Any) -> Any:
    """The model's predictions for ``features`` (a 2-D float array), with the xgboost that reads it."""
    return _load(archive, image_uri, features)[1]


def _load(archive: Path, image_uri: str | None, features: Any) -> tuple[dict[str, Any], Any]:
    raw = read_model_file(archive)
    fmt = model_format(raw)
    if fmt != "binary":
        import xgboost as xgb

        booster = xgb.Booster()
        try:
            booster.load_model(bytearray(raw))
        except xgb.core.XGBoostError as error:
            raise ModelUnreadable(f"{MODEL_NAME} ({FORMATS[fmt]}) does not load with xgboost {xgb.__version__}: {_first_line(error)}") from None
        predictions = None if features is None else booster.predict(xgb.DMatrix(features))
        facts = {"num_trees": booster.num_boosted_rounds(), "num_features": booster.num_features()}
        return {"format": fmt, **facts, "loaded_with": f"xgboost {xgb.__version__} (this project's)"}, predictions
    return _load_in_image(raw, image_uri, features)


def _load_in_image(raw: bytes, image_uri: str | None, features: Any) -> tuple[dict[str, Any], Any]:
    from .emulator import images

    try:
        image = images.resolve(image_uri or "")
        python = images.ensure(image)
    except (images.UnknownImage, images.ImageEnvironmentError) as error:
        raise ModelUnreadable(
            f"{MODEL_NAME} is in {FORMATS['binary']}, which this project's xgboost no longer reads, and the "
            f"xgboost of the image that trained it is not available: {error}"
        ) from None
    with tempfile.TemporaryDirectory(prefix="model-") as tmp:
        model = Path(tmp) / MODEL_NAME
        model.write_bytes(raw)
        args = [str(python), str(PROBE), str(model)]
        if features is not None:
            import numpy as np

            np.save(Path(tmp) / "features.npy", np.asarray(features, dtype=np.float32))
            args += [str(Path(tmp) / "features.npy"), str(Path(tmp) / "predictions.npy")]
        try:
            done = subprocess.run(args, capture_output=True, text=True, timeout=PROBE_TIMEOUT_SECONDS,
                                  env={"PATH": "/usr/bin:/bin", "HOME": tmp, "LANG": "C.UTF-8"}, cwd=tmp)
        except subprocess.TimeoutExpired:
            raise ModelUnreadable(f"loading {MODEL_NAME} with the xgboost of {image.label} took over {PROBE_TIMEOUT_SECONDS} s") from None
        if done.returncode != 0:
            raise ModelUnreadable(f"{MODEL_NAME} ({FORMATS['binary']}) does not load with the xgboost of {image.label}: "
                                  f"{_first_line((done.stderr.strip().splitlines() or [''])[-1]) or f'exit {done.returncode}'}")
        facts = json.loads(done.stdout.strip().splitlines()[-1])
        predictions = None
        if features is not None:
            import numpy as np

            predictions = np.load(Path(tmp) / "predictions.npy")
    loaded_with = f"xgboost {facts.pop('xgboost')} (the environment of {image.label})"
    return {"format": "binary", **facts, "loaded_with": loaded_with}, predictions


def _first_line(error: Any) -> str:
    """XGBoost's message on one line: without its ``[hh:mm:ss] file:line:`` prefix and stack trace."""
    text = str(error).split("Stack trace:")[0]
    text = re.sub(r"^\s*\[\d\d:\d\d:\d\d\] [^ ]+:\d+: ", "", text)
    return " ".join(text.split())[:300]
