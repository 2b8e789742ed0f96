"""Each definition is parsed with its own ``QueryLanguage`` scopes.

What moto 5.2.5 does: its ASL preprocessor keeps the stack of ``QueryLanguage`` scopes in a
*class* attribute (``Preprocessor._query_language_per_scope = []``), shared by every parse in the
server. A definition the parser rejects midway (e.g. a JSONPath state in a JSONata state machine)
leaves its scopes on the stack, and every definition parsed after it starts in the wrong language:
a plain JSONPath state machine is then refused at CreateStateMachine with ``Unsupported
declaration in QueryLanguage=JSONPath block: "ResultPath": ...``, until the server restarts.
Concurrent parses share the stack too.

The patch is LocalStack's later code (localstack/localstack,
``services/stepfunctions/asl/parse/preprocessor.py``): the stack belongs to the preprocessor
instance, and a state without ``QueryLanguage`` takes the state machine's (AWS: "QueryLanguage ...
Default is JSONPath. ... can be set at the top level or per state",
https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html); a JSONPath state
in a JSONata state machine is refused, as before.
"""

from __future__ import annotations

from typing import Any


def apply() -> None:
    from moto.stepfunctions.parser.asl.component.common.query_language import QueryLanguage, QueryLanguageMode
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    original_init = Preprocessor.__init__
    original_open = Preprocessor._open_query_language_scope

    def __init__(self: Preprocessor, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self._query_language_per_scope = []

    def _open_query_language_scope(self: Preprocessor, parse_tree: Any) -> None:
        scopes = self._query_language_per_scope
        if not scopes:
            return original_open(self, parse_tree)
        # Nested scope: decide against the state machine's language (LocalStack), not the enclosing scope's.
        top = scopes[0]
        saved = list(scopes)
        scopes[:] = [top]
        try:
            original_open(self, parse_tree)
            opened = scopes[-1]
        finally:
            scopes[:] = saved
        if not isinstance(opened, QueryLanguage):  # pragma: no cover - moto always appends one
            opened = QueryLanguage(query_language_mode=QueryLanguageMode.JSONPath)
        scopes.append(opened)

    Preprocessor.__init__ = __init__
    Preprocessor._open_query_language_scope = _open_query_language_scope
