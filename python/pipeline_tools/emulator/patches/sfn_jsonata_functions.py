"""Step Functions' own JSONata functions: ``$partition``, ``$range``, ``$hash``, ``$random``,
``$uuid``, ``$parse``.

What moto 5.2.5 lacks: its port of LocalStack declares them as JSONata text pasted before the
expression (``moto/stepfunctions/parser/asl/component/intrinsic/jsonata.py``), where ``$hash`` and
``$uuid`` answer "Function $hash is currently not supported", ``$random`` keeps JSONata's own
(which takes no seed) and a seeded one is offered as ``$randomSeeded``, which AWS does not have
(AWS: "T1006: Attempted to invoke a non-function", recorded by LocalStack's snapshot tests).

AWS's page, "Transforming data with JSONata in Step Functions", section "JSONata functions
provided by Step Functions" (https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html),
gives each as the JSONata counterpart of an intrinsic function of JSONPath states, whose
behaviour https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
describes; the patch binds them, as Python functions, to every expression of a JSONata state
(:mod:`.sfn_jsonata`):

* ``$partition(array, size)``: "partition a large array", like ``States.ArrayPartition``: chunks
  of ``size`` items, the last one holding what is left; ``$partition([1,2,3,4], 2)`` is
  ``[[1,2],[3,4]]``.
* ``$range(start, end, step)``: like ``States.ArrayRange``: from ``start`` to ``end`` inclusive
  by ``step``, at most 1000 items (States.ArrayRange's limit); ``$range(0, 10, 2)`` is
  ``[0,2,4,6,8,10]``.
* ``$hash(value, algorithm)``: like ``States.Hash``: the hex digest of a string with ``MD5``,
  ``SHA-1``, ``SHA-256``, ``SHA-384`` or ``SHA-512``.
* ``$random([seed])``: like ``States.MathRandom``'s seed, a number in [0, 1); with a seed, the same
  number for the same seed (the sequence is Python's, not AWS's: AWS documents none).
* ``$uuid()``: like ``States.UUID``, "a version 4 universally unique identifier (v4 UUID)".
* ``$parse(text)``: "deserialize JSON strings" (JSONata's ``$eval`` is what AWS points away from).
"""

from __future__ import annotations

import hashlib
import json
import random as _random
import uuid as _uuid
from typing import Any

from . import sfn_jsonata

MAX_RANGE_ITEMS = 1000  # intrinsic-functions.html, States.ArrayRange
HASH_ALGORITHMS = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ValueError(f"The {what} argument must be an integer, but was: {json.dumps(value)}")
    return int(value)


def partition(array: Any = None, size: Any = None) -> list[Any]:
    if not isinstance(array, list):
        raise ValueError(f"The array argument of $partition must be an array, but was: {json.dumps(array)}")
    size = _integer(size, "chunk size")
    if size <= 0:
        raise ValueError(f"The chunk size argument of $partition must be greater than 0, but was: {size}")
    return [array[i : i + size] for i in range(0, len(array), size)]


def range_(start: Any = None, end: Any = None, step: Any = None) -> list[int]:
    start, end, step = _integer(start, "start"), _integer(end, "end"), _integer(step, "step")
    if step == 0:
        raise ValueError("The step argument of $range must not be 0")
    values = list(range(start, end + (1 if step > 0 else -1), step))
    if len(values) > MAX_RANGE_ITEMS:
        raise ValueError(f"Arrays cannot contain more than {MAX_RANGE_ITEMS} items, size: {len(values)}.")
    return values


def hash_(value: Any = None, algorithm: Any = None) -> str:
    if not isinstance(value, str):
        raise ValueError(f"The value argument of $hash must be a string, but was: {json.dumps(value)}")
    if algorithm not in HASH_ALGORITHMS:
        raise ValueError(f"The algorithm argument of $hash must be one of {', '.join(HASH_ALGORITHMS)}, but was: {json.dumps(algorithm)}")
    return hashlib.new(HASH_ALGORITHMS[algorithm], value.encode("utf-8")).hexdigest()


def random(seed: Any = None) -> float:
    if seed is None:
        return _random.random()
    return _random.Random(_integer(seed, "seed")).random()


def uuid() -> str:
    return str(_uuid.uuid4())


def parse(text: Any = None) -> Any:
    if not isinstance(text, str):
        raise ValueError(f"The argument of $parse must be a string, but was: {json.dumps(text)}")
    return json.loads(text)


FUNCTIONS = {"partition": partition, "range": range_, "hash": hash_, "random": random, "uuid": uuid, "parse": parse}


def apply() -> None:
    sfn_jsonata.FUNCTIONS.update(FUNCTIONS)
