"""``StringMatches`` as Step Functions matches: ``*`` is the only wildcard, ``\\*`` a literal star.

What moto 5.2.5 does: it matches with Python's ``fnmatch``, where ``?`` matches any character and
``[...]`` is a character class, and a backslash escapes nothing: ``"in/a\\*b/*"`` never matches
``in/a*b/x`` (the pattern wants a backslash), and ``"data?/*"`` matches ``data1/x``. The
pipeline's input Choice escapes its prefix this way (its prefixes hold no "*" or "?" today).

AWS's page: "String comparison against patterns with one or more wildcards ("*") can be performed
with the StringMatches comparison operator. The wildcard character is escaped by using the
standard \\\\ (Ex: "\\\\*"). No characters other than "*" have any special meaning during
matching." (https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html). The patch
matches so (a backslash before any character stands for that character).
"""

from __future__ import annotations

import re
from typing import Any


def pattern_regex(pattern: str) -> re.Pattern:
    parts, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if char == "*" else re.escape(char))
        i += 1
    return re.compile("".join(parts), re.DOTALL)


def matches(value: Any, pattern: Any) -> bool:
    return isinstance(value, str) and isinstance(pattern, str) and pattern_regex(pattern).fullmatch(value) is not None


def apply() -> None:
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.string_operators import (
        StringMatches,
    )

    StringMatches._compare = staticmethod(matches)
