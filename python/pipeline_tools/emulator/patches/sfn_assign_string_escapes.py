"""String literals in ``Assign`` mean their characters: ``"he said \\"hi\\""`` assigns ``he said "hi"``.

What moto 5.2.5 does: its preprocessor reads a string literal of ``Assign`` with
``_inner_string_of``, which strips the quotes but keeps the JSON escapes, so the variable holds
``he said \\"hi\\"`` (backslashes included), while the same literal in ``Parameters`` or ``Result``
is decoded (``from_string_literal``).

Step Functions' definitions are JSON (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html):
a string's escapes are its characters, in ``Assign`` as anywhere. The patch decodes Assign's
string literals (and, in a JSONPath state, its ``{% %}``-looking strings, which are literals
there) as JSON strings.
"""

from __future__ import annotations

import json
from typing import Any


def decode(text: str | None) -> str | None:
    if text is None or "\\" not in text:
        return text
    try:
        return json.loads(f'"{text}"')
    except ValueError:
        return text


def apply() -> None:
    from moto.stepfunctions.parser.asl.component.common.assign.assign_template_value_terminal import (
        AssignTemplateValueTerminalLit,
    )
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    for name in ("visitAssign_template_value_terminal_string_literal", "visitAssign_template_value_terminal_string_jsonata"):
        original = getattr(Preprocessor, name)

        def visit(self: Preprocessor, ctx: Any, original: Any = original) -> Any:
            component = original(self, ctx)
            if isinstance(component, AssignTemplateValueTerminalLit) and isinstance(component.value, str):
                return AssignTemplateValueTerminalLit(value=decode(component.value))
            return component

        setattr(Preprocessor, name, visit)
