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
* ``--held-out-fraction F`` (the pipeline's batch transform stage) keeps a share of the rows out
  of training: a row is held out by a fixed hash of its position, so the split does not depend on
  chunk sizes. The mean and standard deviation come from the training rows only, and the held-out
  rows are standardized with them (never their own, which would leak them into the model), then
  written under ``--holdout-dir`` as ``features/holdout-NNNNN.csv`` (``x,y``: what a batch
  transform predicts from) and ``labels/holdout-NNNNN.csv`` (``label``), line for line.
* On several instances (``ProcessingResources.ClusterConfig.InstanceCount`` N > 1, read from
  SageMaker's ``/opt/ml/config/resourceconfig.json``): the sample's input is ``FullyReplicated``, so
  every host receives the whole dataset and computes the same mean and standard deviation; host
  k of N then writes only the rows whose position p has ``p % N == k`` (the held-out split is by
  position too, unchanged), into files named after it (``train-algo-2-00000.csv``), so the hosts
  share the work and their outputs, uploaded to the same S3 prefix, never overwrite each other.
* Bad input (no CSV files, an empty file, a wrong field count, a non-numeric or non-finite value,
  fewer than two rows, a constant feature) ends with a one-line ``error: ...`` on stderr naming
  the file (and line where known) and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import glob
import json
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
DEFAULT_HOLDOUT_DIR = "/opt/ml/processing/output/holdout"
DEFAULT_RESOURCE_CONFIG = "/opt/ml/config/resourceconfig.json"
OUTPUT_PATTERN = "train-{:05d}.csv"
HOLDOUT_PATTERN = "holdout-{:05d}.csv"
#: Knuth's multiplicative hash constant: the row at 1-based position p is held out when
#: (p * K mod 2**32) / 2**32 < fraction.
_HASH = np.uint64(2654435761)
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


def held_out(start: int, count: int, fraction: float) -> np.ndarray:
    """Which of the rows ``start .. start+count-1`` (positions over all input files) are held out."""
    if fraction <= 0:
        return np.zeros(count, dtype=bool)
    positions = np.arange(start + 1, start + count + 1, dtype=np.uint64)
    return (positions * _HASH) % np.uint64(2**32) < np.uint64(int(fraction * 2**32))


def iter_split(files: List[str], chunk_rows: int, fraction: float) -> Iterator[tuple]:
    """(chunk, held-out mask) for every chunk of every file, in order."""
    start = 0
    for path in files:
        for chunk in read_chunks(path, chunk_rows):
            yield chunk, held_out(start, len(chunk), fraction)
            start += len(chunk)


def compute_moments(files: List[str], chunk_rows: int, fraction: float = 0.0) -> Dict[str, Moments]:
    """Pass 1: mean and ddof=1 std of each feature over all files' training rows."""
    moments = {column: Moments() for column in FEATURES}
    kept_out = 0
    for chunk, mask in iter_split(files, chunk_rows, fraction):
        kept_out += int(mask.sum())
        for column in FEATURES:
            moments[column].add(chunk[column].to_numpy(dtype="float64")[~mask])
    where = ", ".join(files)
    count = moments[FEATURES[0]].n
    if count < 2:
        rows = "training row(s)" if fraction > 0 else "row(s)"
        raise InputProblem(f"{where}: {count} {rows}; standardizing needs at least 2 rows")
    if fraction > 0 and kept_out == 0:
        raise InputProblem(f"{where}: {count} row(s) leave none held out at --held-out-fraction {fraction}; generate more rows")
    for column in FEATURES:
        if not moments[column].std > 0:
            raise InputProblem(
                f"{where}: column {column} is constant (std 0), it cannot be standardized"
            )
    return moments


class ShardWriter:
    """Rows into ``pattern``-named CSV shards of at most ``rows_per_file`` rows, written to temp files
    in ``directory`` and renamed only by ``commit``, so a failed run leaves none behind."""

    def __init__(self, directory: str, pattern: str, rows_per_file: int) -> None:
        self.directory, self.pattern, self.rows_per_file = directory, pattern, rows_per_file
        self.temps: List[str] = []
        self.out = None
        self.in_shard = 0
        os.makedirs(directory, exist_ok=True)

    def write(self, frame: pd.DataFrame) -> None:
        start = 0
        while start < len(frame):
            if self.out is None or self.in_shard == self.rows_per_file:
                self._next()
            piece = frame.iloc[start : start + self.rows_per_file - self.in_shard]
            piece.to_csv(self.out, header=False, index=False)
            self.in_shard += len(piece)
            start += len(piece)

    def _next(self) -> None:
        if self.out is not None:
            self.out.close()
        fd, tmp = tempfile.mkstemp(prefix="." + self.pattern.format(len(self.temps)) + ".", suffix=".tmp", dir=self.directory)
        self.temps.append(tmp)
        self.out, self.in_shard = os.fdopen(fd, "w", newline=""), 0

    def close(self) -> None:
        if self.out is not None:
            self.out.close()
            self.out = None

    def commit(self) -> List[str]:
        self.close()
        targets = [os.path.join(self.directory, self.pattern.format(i)) for i in range(len(self.temps))]
        for tmp, target in zip(self.temps, targets):
            os.replace(tmp, target)
        return targets

    def abort(self) -> None:
        self.close()
        for tmp in self.temps:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass


def write_standardized(
    files: List[str],
    output_dir: str,
    moments: Dict[str, Moments],
    chunk_rows: int,
    rows_per_file: int = DEFAULT_ROWS_PER_FILE,
    held_out_fraction: float = 0.0,
    holdout_dir: Optional[str] = None,
    host: Optional[str] = None,
    share: tuple = (0, 1),
) -> List[str]:
    """Pass 2: write the standardized training rows as ``train-00000.csv``, ``train-00001.csv``, ...
    (and, with a held-out fraction, the held-out rows' features and labels under ``holdout_dir``).

    Each shard holds at most ``rows_per_file`` rows; nothing is renamed into place before every
    shard is complete. Several moderate files instead of one huge one: XGBoost's ``ShardedByS3Key``
    can spread them over instances, and no single S3 object has to be assembled in memory.
    """
    index, hosts = share
    named = (lambda pattern: pattern.replace("-{", f"-{host}-{{")) if hosts > 1 else (lambda pattern: pattern)
    writers = [ShardWriter(output_dir, named(OUTPUT_PATTERN), rows_per_file)]
    if held_out_fraction > 0:
        assert holdout_dir is not None
        writers.append(ShardWriter(os.path.join(holdout_dir, "features"), named(HOLDOUT_PATTERN), rows_per_file))
        writers.append(ShardWriter(os.path.join(holdout_dir, "labels"), named(HOLDOUT_PATTERN), rows_per_file))
    start = 0
    try:
        for chunk, mask in iter_split(files, chunk_rows, held_out_fraction):
            if hosts > 1:  # this host's rows only: position % hosts == index
                mine = np.arange(start, start + len(chunk)) % hosts == index
                start += len(chunk)
                chunk, mask = chunk.loc[mine], mask[mine]
            for column in FEATURES:
                m = moments[column]
                chunk[column] = (chunk[column] - m.mean) / m.std
            writers[0].write(chunk.loc[~mask, COLUMNS])
            if len(writers) > 1:
                writers[1].write(chunk.loc[mask, FEATURES])
                writers[2].write(chunk.loc[mask, ["label"]])
        targets = writers[0].commit()
        for writer in writers[1:]:
            writer.commit()
    except BaseException:
        for writer in writers:
            writer.abort()
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
        "--held-out-fraction",
        type=float,
        default=0.0,
        help="share of the rows kept out of training (0: none), written under --holdout-dir",
    )
    parser.add_argument(
        "--holdout-dir",
        default=os.environ.get("PROCESSING_HOLDOUT_DIR") or DEFAULT_HOLDOUT_DIR,
        help="directory for features/ and labels/ of the held-out rows (env PROCESSING_HOLDOUT_DIR)",
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
    parser.add_argument(
        "--resource-config",
        default=os.environ.get("PROCESSING_RESOURCE_CONFIG") or DEFAULT_RESOURCE_CONFIG,
        help="SageMaker's resourceconfig.json (current_host, hosts); absent: one host (env PROCESSING_RESOURCE_CONFIG)",
    )
    args = parser.parse_args(argv)
    if args.chunk_rows < 1:
        parser.error("--chunk-rows must be >= 1")
    if args.rows_per_file < 1:
        parser.error("--rows-per-file must be >= 1")
    if not 0 <= args.held_out_fraction < 1:
        parser.error("--held-out-fraction must be in [0, 1)")
    return args


def this_host(path: str) -> tuple:
    """(host name, (index, count)) from SageMaker's resourceconfig.json; one host when it is absent."""
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except FileNotFoundError:
        return None, (0, 1)
    except (OSError, ValueError) as exc:
        raise InputProblem(f"{path}: unreadable resource config: {_one_line(exc)}") from None
    hosts = sorted(config.get("hosts") or [])
    current = config.get("current_host")
    if current not in hosts:
        raise InputProblem(f"{path}: current_host {current!r} is not among hosts {hosts}")
    return current, (hosts.index(current), len(hosts))


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        host, share = this_host(args.resource_config)
        files = find_inputs(args.input_dir)
        moments = compute_moments(files, args.chunk_rows, args.held_out_fraction)
        targets = write_standardized(
            files, args.output_dir, moments, args.chunk_rows, args.rows_per_file, args.held_out_fraction, args.holdout_dir,
            host, share,
        )
    except InputProblem as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot write {args.output_dir}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    mx, my = moments["x"], moments["y"]
    held = f" ({args.held_out_fraction:g} of the rows held out in {args.holdout_dir})" if args.held_out_fraction else ""
    print(
        f"standardized {mx.n} rows from {len(files)} file(s) into {len(targets)} file(s) in {args.output_dir}{held}: "
        f"mean x={mx.mean:.6g} y={my.mean:.6g}, std x={mx.std:.6g} y={my.std:.6g}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
