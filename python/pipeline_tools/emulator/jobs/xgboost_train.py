"""The built-in XGBoost algorithm, locally: ``PYTHON .../jobs/xgboost_train.py SPEC``.

Runs with the interpreter of the image's environment (``emulator/images``: sagemaker-xgboost
1.7-1 -> xgboost 1.7.4), by path: standard library, numpy, pandas and xgboost only, no
pipeline_tools. Written for both xgboost 1.7 (the image's) and 3.x where their APIs differ (the
tracker and the collective).

SPEC (JSON): ``channels`` (name -> local dir), ``hyperparameters`` (strings, as SageMaker
passes them), ``model_dir``, ``metrics_path``. Reads each channel's CSV files (label in the
first column, no header) with pandas in chunks (xgboost 3 deprecates its own CSV reader),
trains ``num_round`` rounds, evaluates on ``train`` (and ``validation`` if given), saves
``<model_dir>/xgboost-model`` as the container does (``bst.save_model(os.path.join(model_dir,
MODEL_NAME))``, algorithm_mode/train.py; with xgboost 1.7 a name without ``.json``/``.ubj`` is
XGBoost's binary format) and writes per-round metrics to ``metrics_path`` as
``{"rounds": [{"round": 0, "train:rmse": ...}, ...], "final": {"train:rmse": ...}}``.
Log lines mimic SageMaker's (``[0]#011train-rmse:0.41``). Bad input -> one line on stderr, exit 1.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Iterator

CHUNK_ROWS = 500_000
# SageMaker XGBoost hyperparameters that are not xgboost.train params.
NOT_BOOSTER_PARAMS = {"num_round", "early_stopping_rounds", "csv_weights", "save_model_on_termination", "_kfold", "_num_cv_round"}
INT_PARAMS = {"max_depth", "max_leaves", "max_bin", "num_class", "seed", "num_parallel_tree", "verbosity", "nthread", "max_cat_to_onehot"}


class InputProblem(Exception):
    pass


def booster_params(hyperparameters: dict[str, str]) -> tuple[dict[str, Any], int, int | None]:
    """SageMaker's string hyperparameters -> (xgboost params, num_round, early_stopping_rounds)."""
    if "num_round" not in hyperparameters:
        raise InputProblem("hyperparameter num_round is required")
    try:
        num_round = int(float(hyperparameters["num_round"]))
    except ValueError:
        raise InputProblem(f"num_round must be an integer, not {hyperparameters['num_round']!r}") from None
    early = hyperparameters.get("early_stopping_rounds")
    params: dict[str, Any] = {"verbosity": 1}
    for key, raw in hyperparameters.items():
        if key in NOT_BOOSTER_PARAMS:
            continue
        value: Any = str(raw)
        if key == "eval_metric":
            value = [metric.strip() for metric in value.split(",") if metric.strip()]
        elif key in INT_PARAMS:
            value = int(float(value))
        else:
            try:
                value = float(value)
            except ValueError:
                pass
        params[key] = value
    return params, num_round, int(float(early)) if early else None


def channel_files(directory: str) -> list[Path]:
    files = sorted(p for p in Path(directory).rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise InputProblem(f"no files in channel directory {directory}")
    return files


def csv_chunks(files: list[Path]) -> Iterator[Any]:
    """(features, labels) float32 chunks of every file: label first, no header."""
    import numpy as np
    import pandas as pd

    for path in files:
        try:
            for chunk in pd.read_csv(path, header=None, chunksize=CHUNK_ROWS, dtype=np.float32):
                values = chunk.to_numpy(dtype=np.float32)
                if values.shape[1] < 2:
                    raise InputProblem(f"{path.name}: need a label and at least one feature per row")
                yield values[:, 1:], values[:, 0]
        except (ValueError, pd.errors.ParserError) as error:
            raise InputProblem(f"{path.name}: {str(error).splitlines()[0]}") from None


def load_matrix(directory: str, params: dict[str, Any], ref: Any = None) -> Any:
    """The channel as an XGBoost matrix, streamed: with the (default) ``hist`` tree method a
    QuantileDMatrix is built chunk by chunk from float32 arrays: no pandas frame of the whole
    channel and no concatenated copy (10M rows: ~0.3 GB instead of ~0.9 GB). Other tree methods
    need a DMatrix.
    ``ref``: the training matrix, whose bin boundaries a validation matrix must share."""
    import numpy as np
    import xgboost as xgb

    files = channel_files(directory)
    # xgboost 1.x (the 1.7-1 image): a DMatrix, as the container builds (data_utils.get_dmatrix),
    # so its default tree_method ("auto": exact or approx by size) trains as there.
    if _major(xgb) < 2 or params.get("tree_method", "hist") not in ("hist", "auto"):
        chunks = list(csv_chunks(files))
        if not chunks:
            raise InputProblem("the channel holds no rows")
        # One array filled chunk by chunk, each chunk released once copied (np.empty commits its
        # pages as they are written): ~1x the data before the DMatrix copies it, where
        # np.concatenate of the list held 2x, and the list lived on beside the DMatrix (3x).
        rows = sum(len(labels) for _, labels in chunks)
        features = np.empty((rows, chunks[0][0].shape[1]), dtype=np.float32)
        labels = np.empty(rows, dtype=np.float32)
        chunks.reverse()
        at = 0
        while chunks:
            x, y = chunks.pop()
            features[at : at + len(y)], labels[at : at + len(y)] = x, y
            at += len(y)
            del x, y
        return xgb.DMatrix(features, label=labels)

    class Chunks(xgb.DataIter):
        """Parses the CSV once; XGBoost iterates several times (sketch, then build), so later
        passes replay the parsed float32 chunks (12 bytes a row) instead of parsing text again."""

        def __init__(self) -> None:
            self._parsed: list[tuple[Any, Any]] = []
            self._source: Iterator[Any] | None = None
            self._position = 0
            self._complete = False
            super().__init__()

        def next(self, input_data: Any) -> bool:
            if self._complete:
                if self._position == len(self._parsed):
                    return False
                features, labels = self._parsed[self._position]
                self._position += 1
            else:
                if self._source is None:
                    self._source = csv_chunks(files)
                try:
                    features, labels = next(self._source)
                except StopIteration:
                    self._complete = True
                    return False
                self._parsed.append((features, labels))
            input_data(data=features, label=labels)
            return True

        def reset(self) -> None:
            self._position = 0

    return xgb.QuantileDMatrix(Chunks(), max_bin=int(params.get("max_bin", 256)), ref=ref)


def _major(module: Any) -> int:
    try:
        return int(str(module.__version__).split(".")[0])
    except ValueError:
        return 0


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    hosts, current = spec.get("hosts") or ["algo-1"], spec.get("current_host", "algo-1")
    if current not in hosts:
        # The container's words for a host whose channels got no data (distributed.rabit_run).
        print(f"Host {current} not being used for distributed training.", file=sys.stderr)
        return 0
    if len(hosts) == 1:
        return train(spec, is_master=True)
    return train_distributed(spec, hosts, current)


def train_distributed(spec: dict[str, Any], hosts: list[str], current: str) -> int:
    """N workers train one model through XGBoost's collective, as the SageMaker XGBoost container
    does (sagemaker_xgboost_container/distributed.py: a RabitTracker on the first host, every host
    joins with its rank; the 1.7-1 container through the deprecated ``xgboost.rabit``, here through
    ``xgboost.collective``, which 1.7 introduced for it): the first host (sorted) runs the tracker;
    every host joins with ``collective.CommunicatorContext`` and its index as task id, retrying
    while the tracker is not up yet; then builds its matrices from its own data and trains (the
    gradient statistics are all-reduced); the master saves the model.

    API by version: xgboost 1.7 ``RabitTracker(host_ip, n_workers, port, sortby)``, ``start(n_workers)``,
    ``join()``, workers' ``DMLC_TRACKER_URI``/``DMLC_TRACKER_PORT``/``DMLC_TASK_ID``; xgboost 3
    ``RabitTracker(n_workers, host_ip, port, sortby)``, ``start()``, ``wait_for()``/``free()``,
    workers' ``dmlc_tracker_uri``/``dmlc_tracker_port``/``dmlc_task_id``."""
    import time

    import xgboost
    from xgboost import collective
    from xgboost.tracker import RabitTracker

    legacy = _major(xgboost) < 2
    hosts = sorted(hosts)
    port, is_master = int(spec["tracker_port"]), current == hosts[0]
    tracker = None
    if is_master:
        if legacy:
            tracker = RabitTracker(host_ip="127.0.0.1", n_workers=len(hosts), port=port, sortby="task")
            tracker.start(len(hosts))
        else:
            tracker = RabitTracker(n_workers=len(hosts), host_ip="127.0.0.1", port=port, sortby="task")
            tracker.start()
        if spec.get("tracker_ready"):
            Path(spec["tracker_ready"]).touch()  # the workers wait for it: a connection refused costs them ~2 s
    elif spec.get("tracker_ready"):
        deadline = time.monotonic() + 60
        while not Path(spec["tracker_ready"]).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    if legacy:
        worker_args: dict[str, Any] = {"DMLC_TRACKER_URI": "127.0.0.1", "DMLC_TRACKER_PORT": port, "DMLC_TASK_ID": str(hosts.index(current))}
    else:
        worker_args = {"dmlc_tracker_uri": "127.0.0.1", "dmlc_tracker_port": port, "dmlc_task_id": str(hosts.index(current)), "dmlc_timeout": 300}
    context = None
    for attempt in range(100):
        try:
            context = collective.CommunicatorContext(**worker_args)
            context.__enter__()
            break
        except Exception:  # noqa: BLE001 - the tracker is not listening yet: retry, as the container does
            context = None
            if attempt == 99:
                raise
            time.sleep(0.1)
    print(f"{current}: joined the collective as rank {collective.get_rank()} of {collective.get_world_size()}", flush=True)
    try:
        return train(spec, is_master=is_master)
    finally:
        context.__exit__(None, None, None)
        if tracker is not None and legacy:
            tracker.join()
        elif tracker is not None:
            tracker.wait_for(timeout=60)
            tracker.free()


def train(spec: dict[str, Any], *, is_master: bool) -> int:
    import xgboost as xgb

    try:
        params, num_round, early = booster_params(spec["hyperparameters"])
        channels = spec["channels"]
        if "train" not in channels:
            raise InputProblem("the built-in XGBoost algorithm needs a 'train' channel")
        matrices = {"train": load_matrix(channels["train"], params)}
        if "validation" in channels:
            matrices["validation"] = load_matrix(channels["validation"], params, ref=matrices["train"])
    except InputProblem as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    evals = [(matrices[name], name) for name in ("train", "validation") if name in matrices]
    history: dict[str, dict[str, list[float]]] = {}
    try:
        booster = xgb.train(
            params,
            matrices["train"],
            num_boost_round=num_round,
            evals=evals,
            evals_result=history,
            early_stopping_rounds=early if "validation" in matrices else None,
            verbose_eval=False,
        )
    except xgb.core.XGBoostError as error:
        print(f"error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
    rounds = []
    for index in range(num_round):
        row: dict[str, Any] = {"round": index}
        for dataset, metrics in history.items():
            for metric, values in metrics.items():
                if index < len(values):
                    row[f"{dataset}:{metric}"] = float(values[index])
        if len(row) > 1:
            rounds.append(row)
            print(f"[{index}]#011" + "#011".join(f"{k.replace(':', '-')}:{v:.5f}" for k, v in row.items() if k != "round"))
    final = {k: v for k, v in (rounds[-1] if rounds else {}).items() if k != "round"}
    if not is_master:
        return 0  # the model and metrics are the master's to write (is_master in the container)
    model_path = Path(spec["model_dir"], "xgboost-model")
    model_path.parent.mkdir(parents=True, exist_ok=True)
    # As the container: `bst.save_model(os.path.join(model_dir, MODEL_NAME))` (algorithm_mode/train.py
    # at aws/sagemaker-xgboost-container@f7a93a2, branch 1.7-1). xgboost picks the format from the
    # name: none of .json/.ubj is, in xgboost 1.7, its (deprecated) binary format, which xgboost
    # 3.1+ no longer loads; in 2.1+ it is UBJSON. Written to a temporary name first, as the file
    # appears complete or not at all.
    partial = model_path.with_name(".xgboost-model.partial")
    booster.save_model(str(partial))
    os.replace(partial, model_path)
    metrics_path = Path(spec["metrics_path"])
    tmp = metrics_path.with_name(f".{metrics_path.name}.tmp")
    tmp.write_text(json.dumps({"rounds": rounds, "final": final}, indent=2))
    os.replace(tmp, metrics_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
