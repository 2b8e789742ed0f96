"""A batch transform's ``DataProcessing`` for CSV records, as SageMaker documents it.

"Associate Prediction Results with Input Records"
(https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform-data-processing.html):

* ``InputFilter`` picks "the portion of the input to pass to the model", ``JoinSource`` "Input"
  joins "the raw input data with the transformed data", ``OutputFilter`` picks which part of the
  joined record goes to the output file; the default (``"$"``, ``"None"``, ``"$"``) outputs only
  the inferences.
* "For CSV data, each row is taken as a JSON array, so only index based JSONPaths can be applied,
  e.g. ``$[0]``, ``$[1:]``": an index or list of indexes (``$[1,3,5]``, "Negative index values are
  also supported. A -1 index refers to the last element"), or a slice, whose end is inclusive ("The
  colon (:) tells SageMaker to include all of the elements between two values, inclusive. For
  example, ``$[1:4]`` specifies the second through fifth columns"; an omitted start is the first
  element, an omitted end the last).
* "For CSV-formatted input files, the joined input data is followed by the transformed data": the
  whole input record (not the filtered one: "The transformer still outputs all of the input columns
  joined with the inferences"), then the inference's fields.
* CSV "should also follow RFC format" (RFC 4180), and cannot hold embedded newlines.

JSON and JSON Lines records (``SageMakerInput``/``SageMakerOutput``) are not emulated: such a job
fails in one line saying so.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

CSV = "text/csv"
_INDEXES = re.compile(r"^\$\[\s*-?\d+\s*(,\s*-?\d+\s*)*\]$")
_SLICE = re.compile(r"^\$\[\s*(-?\d+)?\s*:\s*(-?\d+)?\s*\]$")


class DataProcessingError(ValueError):
    """A DataProcessing setting the job cannot apply (one line, the job's FailureReason)."""


@dataclass(frozen=True)
class DataProcessing:
    input_filter: str = "$"
    join_source: str = "None"
    output_filter: str = "$"

    @classmethod
    def of(cls, request: dict | None) -> "DataProcessing":
        request = request or {}
        processing = cls(request.get("InputFilter") or "$", request.get("JoinSource") or "None", request.get("OutputFilter") or "$")
        if processing.join_source not in ("None", "Input"):
            raise DataProcessingError(f"ClientError: JoinSource {processing.join_source!r} is not one of None, Input")
        for name, expression in (("InputFilter", processing.input_filter), ("OutputFilter", processing.output_filter)):
            select(expression, ["x"], name)  # refuses an expression CSV records cannot take
        return processing

    @property
    def is_default(self) -> bool:
        return self == DataProcessing()


def select(expression: str, fields: list[str], name: str = "filter") -> list[str]:
    """The fields of one CSV record an index-based JSONPath names (see the module docstring)."""
    expression = expression.strip()
    if expression == "$":
        return list(fields)
    count = len(fields)
    if _INDEXES.match(expression):
        picked = []
        for text in expression[2:-1].split(","):
            index = int(text)
            position = index + count if index < 0 else index
            if not 0 <= position < count:
                raise DataProcessingError(f"ClientError: {name} {expression}: index {index} is outside a record of {count} field(s)")
            picked.append(fields[position])
        return picked
    match = _SLICE.match(expression)
    if match:
        start = int(match.group(1)) if match.group(1) is not None else 0
        end = int(match.group(2)) if match.group(2) is not None else count - 1
        start, end = (start + count if start < 0 else start), (end + count if end < 0 else end)
        return list(fields[max(start, 0) : end + 1])  # inclusive end, as SageMaker's page says
    raise DataProcessingError(
        f"ClientError: {name} {expression!r}: CSV records take index-based JSONPath only ($, $[0], $[1,3], $[1:], $[:-2])"
    )


def read_record(line: str) -> list[str]:
    """One CSV line (RFC 4180 quoting) -> its fields."""
    return next(csv.reader([line]), [])


def write_record(fields: list[str]) -> str:
    """Fields -> one CSV line (RFC 4180 quoting, no line break)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()


def filter_input(processing: DataProcessing, lines: list[str]) -> list[str]:
    """What the model receives for each input line."""
    if processing.input_filter.strip() == "$":
        return lines
    return [write_record(select(processing.input_filter, read_record(line), "InputFilter")) for line in lines]


def join_output(processing: DataProcessing, inputs: list[str], outputs: list[str]) -> list[str]:
    """Each output line: the inference, or with JoinSource "Input" the input record followed by the
    inference, then OutputFilter."""
    if len(inputs) != len(outputs):
        raise DataProcessingError(f"ClientError: {len(inputs)} input record(s) but {len(outputs)} inference(s): cannot join them")
    joined = []
    for record, inference in zip(inputs, outputs):
        fields = read_record(inference)
        if processing.join_source == "Input":
            fields = read_record(record) + fields
        joined.append(write_record(select(processing.output_filter, fields, "OutputFilter")))
    return joined
