"""Generate the pipeline's synthetic dataset (the "Generate dataset" Lambda).

The dataset is the one AWS's sample "Preprocess data and train a machine learning model" writes:
CSV without header, columns ``label,x,y``; ``x`` and ``y`` are random integers in ``0..max_value``
(inclusive) and ``label = 1 if y >= slope * x + intercept else 0``.

Two entry points share one generator (:func:`iter_chunks`), so a given seed gives byte-identical
output whichever way the data is written:

* ``handler(event, context)``: the Lambda. ``event`` is
  ``{"bucket": str, "key": str, "options": {...}, "execution": str}`` where ``options`` is the
  execution input (Step Functions passes ``"options.$": "$"``); only ``rows``, ``seed``, ``slope``,
  ``intercept`` and ``max_value`` are read from it, other keys are ignored. ``execution`` (the
  execution's name, optional) names the run's SageMaker jobs: the result's ``job_name`` is
  :func:`sagemaker_name` of it.
* ``python generate_dataset.py --rows N [--seed S] --out FILE``: writes the same CSV to a file
  (benchmarks, local runs).

Why it is written the way it is:

* Standard library + boto3 only: that is what the Lambda Python runtime provides, so the function
  ships as this single file with no layer.
* The CSV is never held in memory as a whole: rows are generated in chunks and uploaded with an S3
  multipart upload (parts of at least 8 MiB), so 10,000,000 rows (~80 MB) fit a small Lambda.
  Any failure aborts the multipart upload, so no half-written object and no orphaned parts remain.
  Outputs smaller than one part are written with a single PutObject.
* The S3 client is a plain ``boto3.client("s3")`` so the ``AWS_ENDPOINT_URL`` / ``AWS_CA_BUNDLE``
  environment variables (honoured by boto3) point it at a local emulator without code changes.
* Speed: each row takes one ``random()`` call per coordinate and the chunk is built with a single
  ``join`` over a list comprehension (about 0.5 s per million rows on a laptop-class core).
  The random draws are interleaved per row (x then y), so the bytes do not depend on chunk size.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import random
import re
import secrets
import sys
import tempfile
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

#: The sample's values, used when neither the event's options nor the environment set a value.
DEFAULTS = {"rows": 5000, "slope": 3, "intercept": 5, "max_value": 100}
#: Environment variables holding the function's configured defaults (set by the construct).
ENV_VARS = {
    "rows": "DATASET_ROWS",
    "seed": "DATASET_SEED",
    "slope": "DATASET_SLOPE",
    "intercept": "DATASET_INTERCEPT",
    "max_value": "DATASET_MAX_VALUE",
}
MAX_ROWS = 100_000_000
MAX_MAX_VALUE = 2**31 - 1
MAX_SEED = 2**64 - 1
#: Rows generated per chunk: ~1 MB of CSV, small enough to keep memory flat, large enough to
#: amortise the per-chunk overhead.
CHUNK_ROWS = 100_000
#: S3 multipart part size. S3's minimum is 5 MiB (except for the last part); 8 MiB matches the
#: AWS CLI / boto3 transfer default and keeps a 10M-row dataset at ~10 parts.
DEFAULT_PART_SIZE = 8 * 1024 * 1024
CONTENT_TYPE = "text/csv"

# SageMaker job and model names: "Maximum length of 63. Pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
# (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTrainingJob.html#sagemaker-CreateTrainingJob-request-TrainingJobName),
# while Step Functions accepts execution names of up to 80 characters with `_`, `.` and more
# (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html#StepFunctions-StartExecution-request-name).
SAGEMAKER_NAME_RE = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_NOT_SAGEMAKER = re.compile(r"[^a-zA-Z0-9]+")

_INT_RE = re.compile(r"^[+-]?\d+$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class Params:
    """Resolved generation parameters (all validated)."""

    rows: int
    seed: int
    slope: float
    intercept: float
    max_value: int


# --------------------------------------------------------------------------------------------
# Parameter resolution and validation
# --------------------------------------------------------------------------------------------


def _parse_int(field: str, value: Any, source: str) -> int:
    """Accept a JSON integer or a decimal-integer string (env vars and hand-written execution
    input are strings); reject bools, floats and anything else with a message naming the field."""
    if isinstance(value, bool):
        raise ValueError(f"{field}: must be an integer, got {value!r} ({source})")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INT_RE.match(value.strip()):
        return int(value.strip())
    raise ValueError(f"{field}: must be an integer, got {value!r} ({source})")


def _parse_number(field: str, value: Any, source: str) -> float:
    """Accept a finite JSON number or numeric string; ints stay ints so the label rule is exact."""
    if isinstance(value, bool):
        raise ValueError(f"{field}: must be a number, got {value!r} ({source})")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if _INT_RE.match(text):
            return int(text)
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{field}: must be a number, got {value!r} ({source})") from None
    else:
        raise ValueError(f"{field}: must be a number, got {value!r} ({source})")
    if not math.isfinite(number):
        raise ValueError(f"{field}: must be a finite number, got {value!r} ({source})")
    return number


def resolve_params(
    options: Optional[Mapping[str, Any]] = None,
    environ: Optional[Mapping[str, str]] = None,
    options_source: str = "execution input",
) -> Params:
    """Merge options > environment > sample defaults and validate each value.

    Raises ``ValueError`` naming the field (and where the bad value came from) on bad input;
    Step Functions reports it as the task's error.
    """
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise ValueError(f"options: must be an object, got {type(options).__name__}")
    if environ is None:
        environ = os.environ

    def pick(field: str) -> tuple[Any, str]:
        value = options.get(field)
        if value is not None:
            return value, options_source
        env_value = environ.get(ENV_VARS[field], "")
        if env_value.strip() != "":
            return env_value, f"environment variable {ENV_VARS[field]}"
        return DEFAULTS.get(field), "default"

    value, source = pick("rows")
    rows = _parse_int("rows", value, source)
    if not 1 <= rows <= MAX_ROWS:
        raise ValueError(f"rows: must be between 1 and {MAX_ROWS:,}, got {rows} ({source})")

    value, source = pick("seed")
    if value is None:
        # No seed anywhere: draw one, and report it so the run can be reproduced.
        seed = secrets.randbits(63)
    else:
        seed = _parse_int("seed", value, source)
        if not 0 <= seed <= MAX_SEED:
            raise ValueError(f"seed: must be between 0 and 2**64-1, got {seed} ({source})")

    value, source = pick("max_value")
    max_value = _parse_int("max_value", value, source)
    if not 1 <= max_value <= MAX_MAX_VALUE:
        raise ValueError(
            f"max_value: must be between 1 and {MAX_MAX_VALUE}, got {max_value} ({source})"
        )

    value, source = pick("slope")
    slope = _parse_number("slope", value, source)
    value, source = pick("intercept")
    intercept = _parse_number("intercept", value, source)
    return Params(rows=rows, seed=seed, slope=slope, intercept=intercept, max_value=max_value)


def _validate_target(bucket: Any, key: Any) -> None:
    if not isinstance(bucket, str) or not bucket:
        raise ValueError(f"bucket: missing or not a string ({bucket!r})")
    if not _BUCKET_RE.match(bucket):
        raise ValueError(f"bucket: {bucket!r} is not a valid S3 bucket name")
    if not isinstance(key, str) or not key:
        raise ValueError(f"key: missing or not a string ({key!r})")
    if len(key.encode("utf-8")) > 1024:
        raise ValueError("key: longer than S3's 1024-byte limit")


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


def iter_chunks(params: Params, chunk_rows: int = CHUNK_ROWS) -> Iterator[tuple[bytes, int]]:
    """Yield ``(csv_bytes, positives)`` chunks covering ``params.rows`` rows.

    ``int(random() * (max_value + 1))`` is the same draw ``random.choices`` makes (bias below
    2**-53 * max_value, i.e. none that matters) and is several times faster than ``randint``.
    The draws are interleaved (x, y, x, y, ...), so the output is identical for any chunk size.
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows: must be >= 1, got {chunk_rows}")
    rng = random.Random(params.seed)
    rnd = rng.random
    span = params.max_value + 1
    slope, intercept = params.slope, params.intercept
    # Pre-rendered numbers: formatting ints is a large share of the cost; cap the table's size.
    strs = [str(i) for i in range(span)] if span <= 1_000_000 else None
    remaining = params.rows
    while remaining > 0:
        n = min(chunk_rows, remaining)
        remaining -= n
        draws = [int(rnd() * span) for _ in range(2 * n)]
        xs = draws[0::2]
        ys = draws[1::2]
        labels = [1 if y >= slope * x + intercept else 0 for x, y in zip(xs, ys)]
        if strs is not None:
            text = "".join([f"{lab},{strs[x]},{strs[y]}\n" for lab, x, y in zip(labels, xs, ys)])
        else:
            text = "".join([f"{lab},{x},{y}\n" for lab, x, y in zip(labels, xs, ys)])
        yield text.encode("ascii"), sum(labels)


def write_file(params: Params, path: str, chunk_rows: int = CHUNK_ROWS) -> int:
    """Write the dataset to ``path`` atomically (temp file + rename); return the positives."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".dataset-", suffix=".tmp", dir=directory)
    positives = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for data, pos in iter_chunks(params, chunk_rows):
                out.write(data)
                positives += pos
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return positives


def upload_to_s3(
    params: Params,
    bucket: str,
    key: str,
    client: Any,
    part_size: int = DEFAULT_PART_SIZE,
    chunk_rows: int = CHUNK_ROWS,
) -> int:
    """Stream the dataset to ``s3://bucket/key``; return the number of positive labels.

    Chunks are buffered and sent as parts of exactly ``part_size`` bytes (the last one smaller).
    The multipart upload is only started once a full part exists, so outputs below one part
    take a single PutObject. On any error the multipart upload is aborted before re-raising.
    """
    if part_size < 1:
        raise ValueError(f"part_size: must be >= 1, got {part_size}")
    buffer: list[bytes] = []
    pending = 0
    positives = 0
    upload_id: Optional[str] = None
    parts: list[dict[str, Any]] = []
    try:
        for data, pos in iter_chunks(params, chunk_rows):
            positives += pos
            buffer.append(data)
            pending += len(data)
            while pending >= part_size:
                if upload_id is None:
                    upload_id = client.create_multipart_upload(
                        Bucket=bucket, Key=key, ContentType=CONTENT_TYPE
                    )["UploadId"]
                joined = b"".join(buffer)
                body, rest = joined[:part_size], joined[part_size:]
                buffer, pending = [rest], len(rest)
                number = len(parts) + 1
                response = client.upload_part(
                    Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
                )
                parts.append({"PartNumber": number, "ETag": response["ETag"]})
        body = b"".join(buffer)
        if upload_id is None:
            client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=CONTENT_TYPE)
        else:
            if body:
                number = len(parts) + 1
                response = client.upload_part(
                    Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
                )
                parts.append({"PartNumber": number, "ETag": response["ETag"]})
            client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
    except BaseException:
        if upload_id is not None:
            try:
                client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            except Exception:  # the original error matters more; the bucket's lifecycle rule
                logger.exception("could not abort multipart upload %s", upload_id)  # cleans up
        raise
    return positives


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


_CLIENTS: dict[str, Any] = {}


def _s3_client() -> Any:
    """One S3 client per execution environment, reused by later (warm) invocations, as AWS
    advises for SDK clients ("initialize SDK clients outside of the function handler")."""
    if "s3" not in _CLIENTS:
        import boto3  # only the Lambda path needs it; the file path runs without boto3

        _CLIENTS["s3"] = boto3.client("s3")
    return _CLIENTS["s3"]


def sagemaker_name(execution: str) -> str:
    """The name of an execution's SageMaker jobs: the execution's own name when SageMaker accepts it
    (as in AWS's sample), else a valid one derived from it, deterministically (a retry of this state
    names the same jobs): its letters and digits, every other run of characters as one hyphen, cut to
    54 characters, then ``-`` and the first 8 hex digits of the name's SHA-256 (so two names that
    differ only in the characters replaced still name different jobs); 63 characters at most."""
    import hashlib

    if SAGEMAKER_NAME_RE.fullmatch(execution):
        return execution
    digest = hashlib.sha256(execution.encode("utf-8")).hexdigest()[:8]
    base = _NOT_SAGEMAKER.sub("-", execution).strip("-")[:54].strip("-")
    return f"{base}-{digest}" if base else f"run-{digest}"


def run(
    event: Mapping[str, Any],
    client: Any = None,
    part_size: int = DEFAULT_PART_SIZE,
    environ: Optional[Mapping[str, str]] = None,
) -> dict[str, Any]:
    """The handler's body with its dependencies injectable (tests pass a part size)."""
    if not isinstance(event, Mapping):
        raise ValueError(f"event: must be an object, got {type(event).__name__}")
    bucket, key = event.get("bucket"), event.get("key")
    _validate_target(bucket, key)
    params = resolve_params(event.get("options"), environ)
    if client is None:
        client = _s3_client()
    positives = upload_to_s3(params, bucket, key, client, part_size=part_size)
    result = {
        "s3_uri": f"s3://{bucket}/{key}",
        "bucket": bucket,
        "key": key,
        "rows": params.rows,
        "positives": positives,
        "seed": params.seed,
    }
    if event.get("execution") is not None:
        result["job_name"] = sagemaker_name(str(event["execution"]))
    logger.info("generated dataset %s", result)
    return result


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: generate the dataset and write it to ``s3://bucket/key``."""
    return run(event)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write the synthetic label,x,y dataset to a file (same generator as the Lambda)."
    )
    parser.add_argument("--rows", help="number of rows (default: $DATASET_ROWS or 5000)")
    parser.add_argument("--seed", help="RNG seed (default: $DATASET_SEED or random)")
    parser.add_argument("--slope", help="label threshold slope (default: $DATASET_SLOPE or 3)")
    parser.add_argument("--intercept", help="threshold intercept (default: $DATASET_INTERCEPT or 5)")
    parser.add_argument("--max-value", help="largest x/y value (default: $DATASET_MAX_VALUE or 100)")
    parser.add_argument("--out", required=True, help="output CSV file (written atomically)")
    args = parser.parse_args(argv)
    options = {
        "rows": args.rows,
        "seed": args.seed,
        "slope": args.slope,
        "intercept": args.intercept,
        "max_value": args.max_value,
    }
    try:
        params = resolve_params(options, options_source="command line")
        positives = write_file(params, args.out)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write {args.out}: {exc.strerror or exc} (check the path)", file=sys.stderr)
        return 2
    print(f"wrote {params.rows} rows ({positives} positive) to {args.out} (seed {params.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
