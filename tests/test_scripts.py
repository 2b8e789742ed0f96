"""Tests for the two packaged scripts: the dataset generator (Lambda) and transform.py.

The generator's S3 path runs against moto's in-process S3 (a real S3 implementation, including
multipart uploads and their minimum part size); transform.py runs as a subprocess, the way the
SageMaker processing job runs it, so exit codes and stderr are what a user would see.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "scripts" / "generate_dataset.py"
TRANSFORM = ROOT / "scripts" / "transform.py"
BUCKET = "pipeline-test-bucket"


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


gen = _load(GENERATOR, "generate_dataset_under_test")


def _dataset(params, chunk_rows=gen.CHUNK_ROWS) -> bytes:
    return b"".join(data for data, _ in gen.iter_chunks(params, chunk_rows))


def _rows(data: bytes) -> list[tuple[int, int, int]]:
    return [tuple(int(v) for v in line.split(",")) for line in data.decode().splitlines()]


def _params(**overrides):
    values = {"rows": 2000, "seed": 42, "slope": 3, "intercept": 5, "max_value": 100}
    values.update(overrides)
    return gen.Params(**values)


# ------------------------------------------------------------------------------------------
# Generator: content
# ------------------------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes_whatever_the_chunk_size():
    params = _params(rows=5003)
    reference = _dataset(params)
    assert _dataset(params) == reference
    assert _dataset(params, chunk_rows=7) == reference
    assert _dataset(params, chunk_rows=1000) == reference
    assert _dataset(_params(rows=5003, seed=43)) != reference


@pytest.mark.parametrize(
    "slope,intercept,max_value",
    [(3, 5, 100), (0.5, -3.5, 7), (30, 50, 100), (-1, 20, 1000)],
)
def test_label_rule_range_and_row_count(slope, intercept, max_value):
    params = _params(rows=3000, slope=slope, intercept=intercept, max_value=max_value)
    chunks = list(gen.iter_chunks(params, chunk_rows=1000))
    rows = _rows(b"".join(data for data, _ in chunks))
    assert len(rows) == 3000
    for label, x, y in rows:
        assert 0 <= x <= max_value and 0 <= y <= max_value
        assert label == (1 if y >= slope * x + intercept else 0), (label, x, y)
    assert sum(pos for _, pos in chunks) == sum(label for label, _, _ in rows)
    # Both ends of the range occur with a small range (inclusive bounds, no off-by-one).
    if max_value == 7:
        xs = {x for _, x, _ in rows}
        assert xs == set(range(8))


def test_defaults_are_the_samples():
    params = gen.resolve_params({}, environ={})
    assert (params.rows, params.slope, params.intercept, params.max_value) == (5000, 3, 5, 100)
    assert isinstance(params.seed, int) and params.seed >= 0
    # Without a seed anywhere each run draws its own (and reports it).
    assert gen.resolve_params({}, environ={"DATASET_SEED": ""}).seed != params.seed


def test_env_defaults_and_option_precedence():
    env = {
        "DATASET_ROWS": "123",
        "DATASET_SEED": "9",
        "DATASET_SLOPE": "0.25",
        "DATASET_INTERCEPT": "-2",
        "DATASET_MAX_VALUE": "50",
    }
    from_env = gen.resolve_params({"name": "ignored"}, environ=env)
    assert from_env == gen.Params(rows=123, seed=9, slope=0.25, intercept=-2, max_value=50)
    options = {"rows": 77, "seed": 1, "slope": 2, "intercept": "4", "max_value": 10, "x": [1]}
    assert gen.resolve_params(options, environ=env) == gen.Params(
        rows=77, seed=1, slope=2, intercept=4, max_value=10
    )
    # A null option falls back to the environment rather than failing.
    assert gen.resolve_params({"rows": None}, environ=env).rows == 123


@pytest.mark.parametrize(
    "options,field",
    [
        ({"rows": 0}, "rows"),
        ({"rows": 100_000_001}, "rows"),
        ({"rows": "many"}, "rows"),
        ({"rows": True}, "rows"),
        ({"rows": 1.5}, "rows"),
        ({"seed": -1}, "seed"),
        ({"seed": "abc"}, "seed"),
        ({"slope": "nan"}, "slope"),
        ({"slope": [3]}, "slope"),
        ({"intercept": float("inf")}, "intercept"),
        ({"max_value": 0}, "max_value"),
        ({"max_value": "1e3"}, "max_value"),
    ],
)
def test_invalid_options_raise_value_error_naming_the_field(options, field):
    with pytest.raises(ValueError, match=rf"^{field}:"):
        gen.resolve_params(options, environ={})


def test_invalid_env_value_names_field_and_variable():
    with pytest.raises(ValueError, match=r"^rows:.*DATASET_ROWS"):
        gen.resolve_params({}, environ={"DATASET_ROWS": "ten"})


@pytest.mark.parametrize(
    "event,field",
    [
        ({"key": "k.csv"}, "bucket"),
        ({"bucket": "", "key": "k.csv"}, "bucket"),
        ({"bucket": "Not_A_Bucket", "key": "k.csv"}, "bucket"),
        ({"bucket": BUCKET}, "key"),
        ({"bucket": BUCKET, "key": 5}, "key"),
        ({"bucket": BUCKET, "key": "k.csv", "options": ["rows"]}, "options"),
        ({"bucket": BUCKET, "key": "k.csv", "options": {"rows": -5}}, "rows"),
        ("not an object", "event"),
    ],
)
def test_handler_rejects_bad_events_before_touching_s3(event, field):
    with pytest.raises(ValueError, match=rf"^{field}:"):
        gen.run(event, client=object(), environ={})


def test_cli_writes_the_same_bytes(tmp_path):
    out = tmp_path / "raw.csv"
    proc = subprocess.run(
        [sys.executable, str(GENERATOR), "--rows", "4321", "--seed", "5", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "4321 rows" in proc.stdout
    assert out.read_bytes() == _dataset(_params(rows=4321, seed=5))
    assert [p.name for p in tmp_path.iterdir()] == ["raw.csv"]  # no temp file left


def test_cli_bad_value_is_one_line_error(tmp_path):
    out = tmp_path / "raw.csv"
    proc = subprocess.run(
        [sys.executable, str(GENERATOR), "--rows", "-3", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: rows:") and proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr
    assert not out.exists()


# ------------------------------------------------------------------------------------------
# Generator: handler against moto's S3
# ------------------------------------------------------------------------------------------


@pytest.fixture
def s3(monkeypatch):
    import moto  # a declared dependency (moto[server], pinned): missing, it fails, never skips
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    for name in gen.ENV_VARS.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setattr(gen, "_CLIENTS", {})  # each test is a new execution environment
    with moto.mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_handler_writes_object_and_returns_documented_dict(s3, monkeypatch):
    monkeypatch.setenv("DATASET_ROWS", "999")  # overridden by the execution input below
    monkeypatch.setenv("DATASET_SLOPE", "2")
    event = {
        "bucket": BUCKET,
        "key": "runs/exec-1/input/raw.csv",
        "options": {"rows": 2500, "seed": 11, "name": "exec-1"},
    }
    result = gen.handler(event, None)
    body = s3.get_object(Bucket=BUCKET, Key=event["key"])["Body"].read()
    expected = _dataset(_params(rows=2500, seed=11, slope=2))
    assert body == expected
    assert result == {
        "s3_uri": f"s3://{BUCKET}/runs/exec-1/input/raw.csv",
        "bucket": BUCKET,
        "key": "runs/exec-1/input/raw.csv",
        "rows": 2500,
        "positives": sum(label for label, _, _ in _rows(expected)),
        "seed": 11,
    }
    head = s3.head_object(Bucket=BUCKET, Key=event["key"])
    assert head["ContentType"] == "text/csv"
    assert "-" not in head["ETag"]  # small output: a single PutObject


@pytest.mark.parametrize(
    ("execution", "expected"),
    [
        ("run-20261204-120000-ab12", "run-20261204-120000-ab12"),  # valid for SageMaker: the execution's own name
        ("nightly_2026.01.05", None),
        ("a" * 64, None),  # Step Functions allows 80 characters, SageMaker 63
        ("___", None),
        ("-leading-and-trailing-", None),
        ("naïve.run", None),  # Step Functions names may hold non-ASCII letters
    ],
)
def test_the_jobs_name_is_the_execution_name_or_a_valid_one_derived_from_it(s3, execution, expected):
    """SageMaker names: "Maximum length of 63. Pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
    (API_CreateTrainingJob.html); Step Functions execution names: up to 80 characters, `_`, `.` and
    more (API_StartExecution.html). Deterministic (a retried state names the same jobs)."""
    import re

    result = gen.run({"bucket": BUCKET, "key": "runs/x/input/raw.csv", "options": {"rows": 10}, "execution": execution}, environ={})
    name = result["job_name"]
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name), name
    assert name == (expected or name) and (expected is not None or name != execution)
    assert gen.sagemaker_name(execution) == name  # the same again
    if expected is None:
        others = {gen.sagemaker_name(execution + suffix) for suffix in ("_", ".", "__")}
        assert name not in others and len(others) == 3  # names that differ only in replaced characters differ


def test_handler_multipart_upload(s3, monkeypatch):
    import moto.s3.models

    # Keep moto's "non-last part too small" check, scaled down so a small test exercises it.
    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", 16 * 1024)
    event = {"bucket": BUCKET, "key": "big.csv", "options": {"rows": 30000, "seed": 3}}
    result = gen.run(event, part_size=64 * 1024, environ={})
    body = s3.get_object(Bucket=BUCKET, Key="big.csv")["Body"].read()
    assert body == _dataset(_params(rows=30000, seed=3))
    assert result["rows"] == 30000 and len(_rows(body)) == 30000
    parts = int(s3.head_object(Bucket=BUCKET, Key="big.csv")["ETag"].strip('"').split("-")[1])
    assert parts == -(-len(body) // (64 * 1024))  # every part but the last is part_size
    assert parts >= 3
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


class _FailingClient:
    """The real (moto) client, except that the n-th UploadPart fails like a dropped connection."""

    def __init__(self, client, fail_on_part: int):
        self._client = client
        self._fail_on_part = fail_on_part

    def __getattr__(self, name):
        return getattr(self._client, name)

    def upload_part(self, **kwargs):
        if kwargs["PartNumber"] == self._fail_on_part:
            raise ConnectionError("simulated network failure")
        return self._client.upload_part(**kwargs)


def test_failed_multipart_upload_is_aborted(s3, monkeypatch):
    import moto.s3.models

    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", 16 * 1024)
    event = {"bucket": BUCKET, "key": "broken.csv", "options": {"rows": 30000, "seed": 3}}
    with pytest.raises(ConnectionError):
        gen.run(event, client=_FailingClient(s3, 2), part_size=64 * 1024, environ={})
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_missing_bucket_raises_and_leaves_nothing(s3):
    event = {"bucket": "no-such-bucket-here", "key": "k.csv", "options": {"rows": 10}}
    with pytest.raises(s3.exceptions.NoSuchBucket):
        gen.run(event, environ={})


# ------------------------------------------------------------------------------------------
# transform.py
# ------------------------------------------------------------------------------------------


def _transform(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env.pop("PROCESSING_INPUT_DIR", None)
    full_env.pop("PROCESSING_OUTPUT_DIR", None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, str(TRANSFORM), *args],
        capture_output=True,
        text=True,
        env=full_env,
        check=False,
    )


def _input_dir(tmp_path: Path, files: dict[str, bytes]) -> Path:
    """An input dir laid out as SageMaker mounts it: data files plus code/transform.py."""
    in_dir = tmp_path / "input"
    (in_dir / "code").mkdir(parents=True)
    shutil.copy(TRANSFORM, in_dir / "code" / "transform.py")
    # A CSV under code/ that would fail the run if it were read.
    (in_dir / "code" / "not-data.csv").write_text("this,is,not\nnumeric,data,at all\n")
    for name, data in files.items():
        (in_dir / name).write_bytes(data)
    return in_dir


def _reference(data: bytes) -> pd.DataFrame:
    """The sample's in-memory pandas one-liner (ddof=1)."""
    df = pd.read_csv(io.BytesIO(data), header=None, names=["label", "x", "y"])
    for column in ("x", "y"):
        df[column] = (df[column] - df[column].mean()) / df[column].std()
    return df


def _read_output(out_dir: Path) -> pd.DataFrame:
    """All shards of an output directory, in order, as one frame."""
    shards = sorted(out_dir.glob("train-*.csv"))
    assert shards, f"no train-NNNNN.csv in {out_dir}"
    return pd.concat(
        [pd.read_csv(path, header=None, names=["label", "x", "y"]) for path in shards], ignore_index=True
    )


def test_transform_matches_pandas_reference(tmp_path):
    data = _dataset(_params(rows=5000, seed=8))
    in_dir = _input_dir(tmp_path, {"raw.csv": data})
    out_dir = tmp_path / "out" / "train"
    proc = _transform("--input-dir", str(in_dir), "--output-dir", str(out_dir))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("standardized 5000 rows from 1 file(s)")
    assert sorted(p.name for p in out_dir.iterdir()) == ["train-00000.csv"]  # no temp file left
    text = (out_dir / "train-00000.csv").read_text()
    first = text.splitlines()[0].split(",")
    assert first[0] in {"0", "1"} and len(first) == 3  # no header, no index, label first
    got = _read_output(out_dir)
    want = _reference(data)
    assert len(got) == 5000
    assert got["label"].tolist() == want["label"].tolist()
    np.testing.assert_allclose(got[["x", "y"]], want[["x", "y"]], rtol=0, atol=1e-9)
    # The standardized features really are standardized.
    assert abs(got["x"].mean()) < 1e-9 and abs(got["y"].std() - 1) < 1e-9


def test_transform_chunked_equals_unchunked_across_files(tmp_path):
    part_a = _dataset(_params(rows=1234, seed=1, max_value=1000))
    part_b = _dataset(_params(rows=777, seed=2, max_value=1000))
    in_dir = _input_dir(tmp_path, {"a.csv": part_a, "b.csv": part_b, "notes.txt": b"skip me"})
    outputs = {}
    for chunk in ("100000", "50", "7"):
        out_dir = tmp_path / f"out-{chunk}"
        proc = _transform(
            "--input-dir", str(in_dir), "--output-dir", str(out_dir), "--chunk-rows", chunk
        )
        assert proc.returncode == 0, proc.stderr
        outputs[chunk] = _read_output(out_dir)
    want = _reference(part_a + part_b)
    for got in outputs.values():
        assert len(got) == 1234 + 777
        assert got["label"].tolist() == want["label"].tolist()
        np.testing.assert_allclose(got[["x", "y"]], want[["x", "y"]], rtol=0, atol=1e-9)
    np.testing.assert_allclose(outputs["7"][["x", "y"]], outputs["100000"][["x", "y"]], atol=1e-12)


def test_transform_paths_from_environment(tmp_path):
    data = _dataset(_params(rows=100, seed=4))
    in_dir = _input_dir(tmp_path, {"raw.csv": data})
    out_dir = tmp_path / "env-out"
    proc = _transform(
        env={"PROCESSING_INPUT_DIR": str(in_dir), "PROCESSING_OUTPUT_DIR": str(out_dir)}
    )
    assert proc.returncode == 0, proc.stderr
    assert len(_read_output(out_dir)) == 100


def test_transform_shards_the_output_whatever_the_chunking(tmp_path):
    data = _dataset(_params(rows=2500, seed=5))
    in_dir = _input_dir(tmp_path, {"raw.csv": data})
    want = _reference(data)
    for chunk in ("1000", "300", "7"):
        out_dir = tmp_path / f"shards-{chunk}"
        proc = _transform(
            "--input-dir", str(in_dir), "--output-dir", str(out_dir), "--rows-per-file", "1000", "--chunk-rows", chunk
        )
        assert proc.returncode == 0, proc.stderr
        names = sorted(p.name for p in out_dir.iterdir())
        assert names == ["train-00000.csv", "train-00001.csv", "train-00002.csv"]
        sizes = [len((out_dir / name).read_text().splitlines()) for name in names]
        assert sizes == [1000, 1000, 500]
        got = _read_output(out_dir)
        assert got["label"].tolist() == want["label"].tolist()
        np.testing.assert_allclose(got[["x", "y"]], want[["x", "y"]], rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    "files,expected",
    [
        ({}, "no *.csv files in"),
        ({"raw.csv": b""}, "raw.csv: file is empty"),
        ({"raw.csv": b"1,2,3\n0,5,6,7\n"}, "raw.csv: line 2: expected 3 fields (label,x,y), saw 4"),
        ({"raw.csv": b"1,2,3\n0,5\n"}, "raw.csv: line 2: missing y value"),
        ({"raw.csv": b"1,2,3\n0,4,8\n1,abc,3\n"}, "raw.csv: line 3: x is not a finite number: 'abc'"),
        ({"raw.csv": b"label,x,y\n1,2,3\n"}, "raw.csv: line 1: label is not a finite number"),
        ({"raw.csv": b"1,2,3\n0,4,inf\n"}, "raw.csv: line 2: y is not a finite number: 'inf'"),
        ({"raw.csv": b"1,2,3\n0,2,4\n1,2,9\n"}, "column x is constant (std 0)"),
        ({"raw.csv": b"1,2,3\n"}, "1 row(s); standardizing needs at least 2 rows"),
        ({"a.csv": b"1,2,3\n0,4,5\n", "b.csv": b"1,2,3\n\n"}, "b.csv: line 2: missing label value"),
    ],
)
def test_transform_malformed_input_is_one_line_error(tmp_path, files, expected):
    in_dir = _input_dir(tmp_path, files)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = _transform("--input-dir", str(in_dir), "--output-dir", str(out_dir))
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: "), proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert expected in proc.stderr, proc.stderr
    if files:
        assert str(in_dir) in proc.stderr  # names the file
    assert list(out_dir.iterdir()) == []  # nothing half-written


def test_transform_error_in_second_pass_leaves_no_output(tmp_path):
    """A file that changes between the passes fails pass 2: every temp shard must be removed,
    including the ones already complete."""
    data = _dataset(_params(rows=50, seed=4))
    in_dir = _input_dir(tmp_path, {"raw.csv": data})
    out_dir = tmp_path / "out"
    transform = _load(TRANSFORM, "transform_under_test")
    files = transform.find_inputs(str(in_dir))
    moments = transform.compute_moments(files, 10)
    (in_dir / "raw.csv").write_bytes(data + b"1,2\n")
    with pytest.raises(transform.InputProblem, match="line 51: missing y value"):
        transform.write_standardized(files, str(out_dir), moments, 10, rows_per_file=20)
    assert list(out_dir.iterdir()) == []


def test_scripts_parse_with_their_runtimes_python_versions():
    # transform.py runs in the SageMaker scikit-learn image (Python 3.9 at the oldest).
    ast.parse(TRANSFORM.read_text(), feature_version=(3, 9))
    ast.parse(GENERATOR.read_text(), feature_version=(3, 11))


# -- held-out split (the batch transform stage) -------------------------------------------------


def _split(tmp_path: Path, data: bytes, fraction: str, *extra: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    in_dir = _input_dir(tmp_path, {"raw.csv": data})
    out, holdout = tmp_path / "train", tmp_path / "holdout"
    proc = _transform("--input-dir", str(in_dir), "--output-dir", str(out), "--held-out-fraction", fraction,
                      "--holdout-dir", str(holdout), *extra)
    assert proc.returncode == 0, proc.stderr
    read = lambda d: pd.concat([pd.read_csv(p, header=None) for p in sorted(d.glob("*.csv"))], ignore_index=True)  # noqa: E731
    return read(out), read(holdout / "features"), read(holdout / "labels")


def test_held_out_rows_are_standardized_with_the_training_rows_statistics(tmp_path):
    data = _dataset(_params(rows=4000, seed=11))
    raw = pd.read_csv(io.BytesIO(data), header=None, names=["label", "x", "y"])
    train, features, labels = _split(tmp_path, data, "0.25")
    assert len(train) + len(features) == 4000 and len(features) == len(labels)
    assert 0.2 < len(features) / 4000 < 0.3
    assert list(features.columns) == [0, 1]  # x, y only: what the batch transform predicts from
    # The same positions, whichever way: the held-out labels are the raw labels of the held-out rows.
    mask = np.zeros(4000, dtype=bool)
    positions = np.arange(1, 4001, dtype=np.uint64)
    mask[(positions * np.uint64(2654435761)) % np.uint64(2**32) < np.uint64(int(0.25 * 2**32))] = True
    assert labels[0].tolist() == raw.label[mask].tolist()
    kept = raw[~mask]
    for column, index in (("x", 1), ("y", 2)):
        mean, std = kept[column].mean(), kept[column].std()
        np.testing.assert_allclose(train[index], (kept[column] - mean) / std, rtol=1e-12)
        np.testing.assert_allclose(features[index - 1], (raw[column][mask] - mean) / std, rtol=1e-12)
    assert abs(features[0].mean()) < 0.2  # standardized with the training statistics, not exactly 0


def test_the_split_does_not_depend_on_chunk_size(tmp_path):
    data = _dataset(_params(rows=500, seed=2))
    small = _split(tmp_path / "a", data, "0.3", "--chunk-rows", "7", "--rows-per-file", "40")
    large = _split(tmp_path / "b", data, "0.3")
    for a, b in zip(small, large):
        pd.testing.assert_frame_equal(a, b)


def test_too_few_rows_to_hold_any_out_is_a_clear_error(tmp_path):
    in_dir = _input_dir(tmp_path, {"raw.csv": b"0,1,2\n1,3,5\n0,2,9\n"})
    proc = _transform("--input-dir", str(in_dir), "--output-dir", str(tmp_path / "out"), "--held-out-fraction", "0.01",
                      "--holdout-dir", str(tmp_path / "holdout"))
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ") and "leave none held out" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
