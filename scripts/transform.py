"""Standardize the dataset's features (the "Standardization" SageMaker processing job).

Reads every ``*.csv`` file directly inside the input directory (not sub-directories: SageMaker
mounts this script itself under ``<input>/code/``), each a headerless ``label,x,y`` CSV, and
writes ``train-00000.csv``, ``train-00001.csv``, ... (a million rows each) to the output
directory: ``label`` untouched and first, ``x`` and ``y``
replaced by ``(col - col.mean()) / col.std()`` (pandas' ``std``, i.e. ddof=1), no header and no
index, which is the layout SageMaker's built-in XGBoost expects for ``text/csv``.

Why it is written the way it is:

* It runs unchanged in the ``sagemaker-scikit-learn`` container (pandas + numpy, Python 3.9+
  syntax), with the container's default paths; ``--input-dir`` / ``--output-dir`` or the
  ``PROCESSING_INPUT_DIR`` / ``PROCESSING_OUTPUT_DIR`` environment variables override them for
  local runs and tests.
* It streams: pass 1 reads the files in chunks and merges per-chunk mean and sum of squared
  deviations with Chan et al.'s parallel formula (numerically stable, unlike sum/sum-of-squares);
  pass 2 re-reads them and writes the standardized chunks. Memory stays at a few chunks whatever
  the input size.
* Floats are written with pandas' default shortest round-trip representation, so the output
  equals the in-memory pandas one-liner to ~1e-15, not just to a printed precision.
* The output is written to temp files in the output directory and renamed at the end, so a
  failed run leaves no half-written shard for the training job to pick up.
* Bad input (no CSV files, an empty file, a wrong field count, a non-numeric or non-finite value,
  fewer than two rows, a constant feature) ends with a one-line ``error: ...`` on stderr naming
  the file (and line where known) and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import glob
import math
import os
import re
import sys
import tempfile
from typing import Dict, Iterator, List, Optional

import numpy as np
import pandas as pd

DEFAULT_INPUT_DIR = "/opt/ml/processing/input"
DEFAULT_OUTPUT_DIR = "/opt/ml/processing/output/train"
OUTPUT_PATTERN = "train-{:05d}.csv"
COLUMNS = ["label", "x", "y"]
FEATURES = ["x", "y"]
#: Rows per chunk: three int64/float64 columns of 1M rows are ~24 MB, a few of them in flight.
DEFAULT_CHUNK_ROWS = 1_000_000
#: Rows per output file (~40 MB of CSV): one shard per million rows.
DEFAULT_ROWS_PER_FILE = 1_000_000

_PARSER_FIELDS_RE = re.compile(r"Expected (\d+) fields? in line (\d+), saw (\d+)")


class InputProblem(Exception):
    """Bad input: reported as one line on stderr with exit status 1."""


class Moments:
    """Running count, mean and sum of squared deviations (M2) of one column.

    Merging per-chunk moments with Chan et al.'s formula keeps the precision of a two-pass
    computation inside each chunk and avoids the cancellation of ``sum(x*x) - n*mean**2``.
    """

    def __init__(self) -> None:
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0

    def add(self, values: np.ndarray) -> None:
        nb = int(values.size)
        if nb == 0:
            return
        mean_b = float(values.mean())
        m2_b = float(np.square(values - mean_b).sum())
        if self.n == 0:
            self.n, self.mean, self.m2 = nb, mean_b, m2_b
            return
        n = self.n + nb
        delta = mean_b - self.mean
        self.mean += delta * nb / n
        self.m2 += m2_b + delta * delta * self.n * nb / n
        self.n = n

    @property
    def std(self) -> float:
        """Sample standard deviation (ddof=1), as pandas' ``Series.std``."""
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else float("nan")


def find_inputs(input_dir: str) -> List[str]:
    """The ``*.csv`` regular files directly in ``input_dir``, sorted for a stable row order."""
    if not os.path.isdir(input_dir):
        raise InputProblem(f"input directory {input_dir} does not exist (pass --input-dir)")
    files = sorted(
        path for path in glob.glob(os.path.join(input_dir, "*.csv")) if os.path.isfile(path)
    )
    if not files:
        raise InputProblem(
            f"no *.csv files in {input_dir} (the dataset must be directly in the input directory)"
        )
    return files


def _line_of(index_label: object) -> int:
    # No header and skip_blank_lines=False: the row index (which continues across chunks) is the
    # 0-based line number.
    return int(index_label) + 1  # type: ignore[arg-type]


def read_chunks(path: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Yield validated numeric chunks of one file; raise InputProblem naming file and line."""
    try:
        if os.path.getsize(path) == 0:
            raise InputProblem(f"{path}: file is empty (expected label,x,y rows)")
        reader = pd.read_csv(
            path,
            header=None,
            names=COLUMNS,
            chunksize=chunk_rows,
            skip_blank_lines=False,
        )
        seen = False
        for raw in reader:
            seen = True
            yield _to_numeric(path, raw)
        if not seen:
            raise InputProblem(f"{path}: file has no rows (expected label,x,y rows)")
    except InputProblem:
        raise
    except pd.errors.EmptyDataError:
        raise InputProblem(f"{path}: file has no rows (expected label,x,y rows)") from None
    except pd.errors.ParserError as exc:
        match = _PARSER_FIELDS_RE.search(str(exc))
        if match:
            expected, line, saw = match.groups()
            raise InputProblem(
                f"{path}: line {line}: expected {expected} fields (label,x,y), saw {saw}"
            ) from None
        raise InputProblem(f"{path}: not a valid CSV file: {_one_line(exc)}") from None
    except UnicodeDecodeError as exc:
        raise InputProblem(f"{path}: not a text CSV file ({exc.reason})") from None
    except OSError as exc:
        raise InputProblem(f"{path}: cannot read: {exc.strerror or exc}") from None


def _to_numeric(path: str, raw: pd.DataFrame) -> pd.DataFrame:
    """Check a chunk is all finite numbers, reporting the first bad field's line and column.

    The parser infers types (fast path: well-formed data arrives as int64/float64 columns). A
    column holding any non-numeric text arrives as text and is converted here with
    ``errors="coerce"`` only to find the offending field; a missing field arrives as NaN.
    """
    for column in COLUMNS:
        text = raw[column]
        if not pd.api.types.is_numeric_dtype(text.dtype):  # object, or pandas 3's str dtype
            values = pd.to_numeric(text, errors="coerce")
            raw[column] = values
        else:
            values = text
        if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(
            values.dtype
        ):
            raise InputProblem(f"{path}: column {column} is not numeric")
        bad = ~np.isfinite(values.to_numpy(dtype="float64"))
        if bool(bad.any()):
            where = raw.index[int(np.argmax(bad))]
            value = text.loc[where]
            if not isinstance(value, str) and pd.isna(value):
                problem = f"missing {column} value (expected 3 fields: label,x,y)"
            else:
                problem = f"{column} is not a finite number: {str(value)!r}"
            raise InputProblem(f"{path}: line {_line_of(where)}: {problem}")
    return raw


def compute_moments(files: List[str], chunk_rows: int) -> Dict[str, Moments]:
    """Pass 1: mean and ddof=1 std of each feature over all files."""
    moments = {column: Moments() for column in FEATURES}
    for path in files:
        for chunk in read_chunks(path, chunk_rows):
            for column in FEATURES:
                moments[column].add(chunk[column].to_numpy(dtype="float64"))
    where = ", ".join(files)
    count = moments[FEATURES[0]].n
    if count < 2:
        raise InputProblem(f"{where}: {count} row(s); standardizing needs at least 2 rows")
    for column in FEATURES:
        if not moments[column].std > 0:
            raise InputProblem(
                f"{where}: column {column} is constant (std 0), it cannot be standardized"
            )
    return moments


def shard_name(index: int) -> str:
    return OUTPUT_PATTERN.format(index)


def write_standardized(
    files: List[str],
    output_dir: str,
    moments: Dict[str, Moments],
    chunk_rows: int,
    rows_per_file: int = DEFAULT_ROWS_PER_FILE,
) -> List[str]:
    """Pass 2: write the standardized rows as ``train-00000.csv``, ``train-00001.csv``, ...

    Each shard holds at most ``rows_per_file`` rows. Shards are written to temp files in the output
    directory and renamed only once all of them are complete, so a failed run leaves none behind.
    Several moderate files instead of one huge one: XGBoost's ``ShardedByS3Key`` can spread them
    over instances, and no single S3 object has to be assembled in memory.
    """
    os.makedirs(output_dir, exist_ok=True)
    temps: List[str] = []
    out = None
    in_shard = 0

    def next_shard():
        fd, tmp = tempfile.mkstemp(prefix="." + shard_name(len(temps)) + ".", suffix=".tmp", dir=output_dir)
        temps.append(tmp)
        return os.fdopen(fd, "w", newline="")

    try:
        for path in files:
            for chunk in read_chunks(path, chunk_rows):
                for column in FEATURES:
                    m = moments[column]
                    chunk[column] = (chunk[column] - m.mean) / m.std
                chunk = chunk[COLUMNS]
                start = 0
                while start < len(chunk):
                    if out is None or in_shard == rows_per_file:
                        if out is not None:
                            out.close()
                        out, in_shard = next_shard(), 0
                    piece = chunk.iloc[start : start + rows_per_file - in_shard]
                    piece.to_csv(out, header=False, index=False)
                    in_shard += len(piece)
                    start += len(piece)
        if out is not None:
            out.close()
        targets = [os.path.join(output_dir, shard_name(i)) for i in range(len(temps))]
        for tmp, target in zip(temps, targets):
            os.replace(tmp, target)
    except BaseException:
        if out is not None:
            out.close()
        for tmp in temps:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        raise
    return targets


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--input-dir",
        default=os.environ.get("PROCESSING_INPUT_DIR") or DEFAULT_INPUT_DIR,
        help="directory whose top-level *.csv files are read (env PROCESSING_INPUT_DIR)",
    )
    parser.add_argument(
        "--output-dir",
        default=os.environ.get("PROCESSING_OUTPUT_DIR") or DEFAULT_OUTPUT_DIR,
        help="directory the train-NNNNN.csv files are written to (env PROCESSING_OUTPUT_DIR)",
    )
    parser.add_argument(
        "--rows-per-file",
        type=int,
        default=DEFAULT_ROWS_PER_FILE,
        help="rows per output file train-NNNNN.csv (one shard per this many rows)",
    )
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=DEFAULT_CHUNK_ROWS,
        help="rows read per chunk (memory/speed trade-off)",
    )
    args = parser.parse_args(argv)
    if args.chunk_rows < 1:
        parser.error("--chunk-rows must be >= 1")
    if args.rows_per_file < 1:
        parser.error("--rows-per-file must be >= 1")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        files = find_inputs(args.input_dir)
        moments = compute_moments(files, args.chunk_rows)
        targets = write_standardized(files, args.output_dir, moments, args.chunk_rows, args.rows_per_file)
    except InputProblem as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot write {args.output_dir}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    mx, my = moments["x"], moments["y"]
    print(
        f"standardized {mx.n} rows from {len(files)} file(s) into {len(targets)} file(s) in {args.output_dir}: "
        f"mean x={mx.mean:.6g} y={my.mean:.6g}, std x={mx.std:.6g} y={my.std:.6g}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
