"""State names (and other strings) written with ``\\uXXXX`` escapes mean their characters.

What moto lacks: its ASL parser (an ANTLR grammar over the definition's text) keeps JSON
string escapes verbatim. A definition serialized with ASCII escapes (Python's ``json.dumps``
default) and a state named ``Standardization: x' = (x - x̄) / σ`` shows up in the execution
history as ``Standardization: x' = (x - x\\u0304) / \\u03c3``, and parameters carrying
non-ASCII text reach services escaped.

The patch hands the parser the same document re-serialized with the characters themselves
(``json.dumps(..., ensure_ascii=False)``); the stored definition (DescribeStateMachine) is
untouched. Text that is not JSON goes to the parser unchanged, for its own error reporting.
"""

from __future__ import annotations

import json
from typing import Any


def unescape(definition: str) -> str:
    if "\\u" not in definition:
        return definition
    try:
        return json.dumps(json.loads(definition), ensure_ascii=False)
    except ValueError:
        return definition


def apply() -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    original = AmazonStateLanguageParser.parse

    def parse(definition: str) -> Any:
        return original(unescape(definition))

    AmazonStateLanguageParser.parse = staticmethod(parse)
