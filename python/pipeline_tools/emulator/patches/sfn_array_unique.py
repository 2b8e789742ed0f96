"""``States.ArrayUnique`` on arrays holding arrays or objects.

What moto 5.2.5 does: it removes duplicates with ``OrderedDict.fromkeys(array)``, so an array
holding an array or an object fails the execution with ``States.Runtime`` /
``TypeError(unhashable type: 'list')``, and, since Python counts ``True == 1``, ``[1, true]``
loses its ``true``.

AWS's page: "Use the States.ArrayUnique intrinsic function to remove duplicate values from an
array and returns an array containing only unique elements. This function takes an array, which
can be unsorted, as its sole argument." (https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html#asl-intrsc-func-arrays).
The patch compares JSON values (objects whatever their key order, ``true`` unlike ``1``) and keeps
each value's first occurrence, in order.
"""

from __future__ import annotations

import json
from typing import Any


def unique(array: list[Any]) -> list[Any]:
    seen: set[str] = set()
    kept = []
    for item in array:
        key = json.dumps(item, sort_keys=True, separators=(",", ":"))
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def apply() -> None:
    from moto.stepfunctions.parser.asl.component.intrinsic.function.statesfunction.array.array_unique import (
        ArrayUnique,
    )

    def _eval_body(self: ArrayUnique, env: Any) -> None:
        self.argument_list.eval(env=env)
        args = env.stack.pop()
        array = args.pop()
        if not isinstance(array, list):
            raise TypeError(f"Expected an array type, but got '{array}'.")
        env.stack.append(unique(array))

    ArrayUnique._eval_body = _eval_body
