"""JSONata expressions and variable reads evaluate, as Step Functions evaluates them.

What moto 5.2.5 lacks: its interpreter (a port of LocalStack's) parses ``"QueryLanguage":
"JSONata"``, ``{% %}`` expressions, ``Arguments``/``Output``/``Assign``/``Condition`` and
``$name`` variable reads, but its JSONata evaluator is ``None``
(``moto/stepfunctions/parser/asl/jsonata/jsonata.py``: LocalStack runs the Java engine
dashjoin/jsonata-java in a JVM through JPype, which moto left out). Every JSONata expression, and
every read of a variable even in a JSONPath state machine, fails the execution with
``States.Runtime`` / ``TypeError('NoneType' object is not callable)``.

The patch evaluates them with jlens 0.25.0, a JSONata engine in Rust. Chosen by JSONata's own
test suite at v2.0.6, the version Step Functions runs (1,625 cases, tools/jsonata_conformance.py):
jlens 1,623 (the two misses are deep-recursion cases the reference engine also misses under the
same time limit), jsonata2py 0.1.3 1,625 (four releases old, runs generated Python code),
jsonata-python 0.7.1 1,603 (misses ``$sort`` with a comparator, ``$string(1e20)``, ...),
jsonata-rs 0.1.4 1,590, jsonatapy 2.2.13 1,517, zopyx-pyjsonata 0.3.7 1,274; jlens's compiled
expressions are thread-safe, as moto's threaded interpreter needs (details and upkeep:
docs/step-functions-conformance.md, "Choosing the JSONata engine"). Where LocalStack pastes every variable's value into the
expression's text as ``$name:=<json>;`` declarations (which breaks on a string holding a quote),
the values here are bound to the engine as they are:

* ``$states`` ("Step Functions defines a single reserved variable called $states": ``input``,
  ``result``, ``errorOutput``, ``context``; https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html)
  in JSONata states; the workflow variables (``Assign``) in both query languages;
* Step Functions' own functions (:mod:`.sfn_jsonata_functions`) in JSONata states.

Failures are ``States.QueryEvaluationError`` with the cause Step Functions gives (recorded on AWS
by LocalStack's snapshot tests, ``tests/aws/services/stepfunctions/v2``):
"The JSONata expression '<expr>' specified for the field '<field>' returned nothing (undefined).",
"... threw an error during evaluation. <code>: <message>", "... returned an unsupported result
type." (a function), prefixed by moto with "An error occurred while executing the state '<state>'
(entered at the event id #<n>)." The field is the path AWS names, e.g. ``Output/result``,
``Arguments/FunctionName``, ``Assign/result``.

And the variable-reference scanner gets LocalStack's later fix (localstack/localstack
``asl/jsonata/jsonata.py``, after moto's copy): a bare ``$`` (the context value in a predicate
such as ``[$ > 1]``) is not a variable reference, so it no longer fails the expression.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any, Callable

UNDEFINED = object()  # JSONata's "undefined": no value, unlike null

# Step Functions' fields whose JSONata expression failure names them (AWS's location), by the
# moto component that evaluates them.
FIELDS = {
    "Output": "Output",
    "ArgumentsJSONataTemplateValueObject": "Arguments",
    "ArgumentsStringJSONata": "Arguments",
    "AssignDecl": "Assign",
    "ConditionStringJSONata": "Condition",
    "ItemsJSONata": "Items",
    "ItemSelector": "ItemSelector",
    "TimeoutSecondsJSONata": "TimeoutSeconds",
    "HeartbeatSecondsJSONata": "HeartbeatSeconds",
    "SecondsJSONata": "Seconds",
    "Timestamp": "Timestamp",
    "MaxConcurrencyJSONata": "MaxConcurrency",
    "MaxItemsStringJSONata": "MaxItems",
    "ToleratedFailureCountStringJSONata": "ToleratedFailureCount",
    "ToleratedFailurePercentageStringJSONata": "ToleratedFailurePercentage",
    "Error": "Error",
    "Cause": "Cause",
}

# LocalStack's pattern (see the module docstring): regex and string literals are skipped, a
# reference needs at least one identifier character after its "$".
VARIABLE_REFERENCE = re.compile(
    r"(?:\/(?:\\.|[^\\/])*\/[a-zA-Z]*)"
    r"|"
    r"(?:\"(?:\\.|[^\"\\])*\"|\'(?:\\.|[^\'\\])*\')"
    r"|"
    r"(\$[A-Za-z0-9_$]+(?:\.[A-Za-z0-9_][A-Za-z0-9_$]*)*)"
)

# Host functions bound in JSONata states ($partition, $hash, ...): filled by sfn_jsonata_functions.
FUNCTIONS: dict[str, Callable[..., Any]] = {}


class JSONataFailure(Exception):
    """An expression that failed: ``kind`` is "undefined", "unsupported" or "error"."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(detail or kind)
        self.kind, self.detail = kind, detail


@functools.lru_cache(maxsize=4096)
def _compiled(expression: str) -> Any:
    import jlens

    return jlens.Expression(expression)  # thread-safe once compiled (jlens: Send + Sync)


def evaluate(expression: str, bindings: dict[str, Any]) -> Any:
    """``expression`` evaluated with no input document (Step Functions gives it none: "$" is
    undefined at the top level) and ``bindings`` (names without "$"): a JSON value, or
    :class:`JSONataFailure`."""
    import jlens

    try:
        text = _compiled(expression).evaluate_json(None, bindings)
    except jlens.JlensError as error:
        raise JSONataFailure("error", f"{error.code}: {error}") from None
    except JSONataFailure:
        raise
    except Exception as error:  # noqa: BLE001 - a Step Functions function refused its arguments
        raise JSONataFailure("error", str(error)) from None
    if text is not None:
        return json.loads(text)
    # Nothing came back: a function (no JSON form) or undefined. Ask which (only on this path).
    try:
        kind = _compiled(f"$type(({expression}\n))").evaluate_json(None, bindings)
    except Exception:  # noqa: BLE001 - undefined, then
        kind = None
    raise JSONataFailure("unsupported" if kind == '"function"' else "undefined")


def variables_of(env: Any) -> dict[str, Any]:
    """The workflow variables ``env`` sees: its outer scopes' and its own (which win)."""
    store = env.variable_store
    return {**store._outer_scope, **store._inner_scope}


def states_of(env: Any) -> dict[str, Any]:
    """``$states`` for a JSONata state: what moto tracks of the state's input, result, error
    output and the context object."""
    return {key: value for key, value in env.states._states_data.items()}


# --- where in the state an expression sits (AWS names the field in the cause) -----------------

def _path(env: Any) -> list[str]:
    return env.__dict__.setdefault("_pipeline_tools_field_path", [])


def field_of(env: Any) -> str:
    parts = _path(env)
    return "/".join(parts) if parts else (env.next_field_name or "")


def _track(cls: type, name: Callable[[Any], str]) -> None:
    original = cls._eval_body
    if getattr(original, "_pipeline_tools_tracked", False):
        return

    def _eval_body(self: Any, env: Any) -> None:
        path = _path(env)
        path.append(name(self))
        try:
            original(self, env)
        finally:
            path.pop()

    _eval_body._pipeline_tools_tracked = True  # type: ignore[attr-defined]
    cls._eval_body = _eval_body


def _fail(env: Any, expression: str, failure: JSONataFailure) -> None:
    from moto.stepfunctions.parser.api import EvaluationFailedEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    field = field_of(env)
    said = {
        "undefined": "returned nothing (undefined).",
        "unsupported": "returned an unsupported result type.",
        "error": f"threw an error during evaluation. {failure.detail}",
    }[failure.kind]
    cause = f"The JSONata expression '{expression}' specified for the field '{field}' {said}"
    error_name = StatesErrorName(typ=StatesErrorNameType.StatesQueryEvaluationError)
    details = EvaluationFailedEventDetails(error=error_name.error_name, cause=cause, location=field)
    exception = FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=error_name,
            event_type=HistoryEventType.EvaluationFailed,
            event_details=EventDetails(evaluationFailedEventDetails=details),
        )
    )
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.EvaluationFailed,
        event_details=EventDetails(evaluationFailedEventDetails=exception.get_evaluation_failed_event_details()),
    )
    raise exception


def apply() -> None:
    from moto.stepfunctions.parser.asl.component.common.string import string_expression
    from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata

    moto_jsonata._PATTERN_VARIABLE_REFERENCE = VARIABLE_REFERENCE

    def jsonata_eval_body(self: Any, env: Any) -> None:
        bindings = {**FUNCTIONS, **variables_of(env), "states": states_of(env)}
        try:
            value = evaluate(self.expression, bindings)
        except JSONataFailure as failure:
            _fail(env, self.expression, failure)
        env.stack.append(value)

    def variable_sample_eval_body(self: Any, env: Any) -> None:
        # "$name" / "$name.field" in a JSONPath field (``"x.$": "$name"``), or in a JSONata state.
        from moto.stepfunctions.parser.asl.component.common.query_language import QueryLanguageMode

        bindings = variables_of(env)
        if self.query_language_mode == QueryLanguageMode.JSONata:
            bindings = {**FUNCTIONS, **bindings, "states": states_of(env)}
        try:
            value = evaluate(self.expression, bindings)
        except JSONataFailure as failure:
            _fail(env, self.expression, failure)
        env.stack.append(value)

    string_expression.StringJSONata._eval_body = jsonata_eval_body
    string_expression.StringVariableSample._eval_body = variable_sample_eval_body

    _track_fields()


def _track_fields() -> None:
    import importlib

    modules = (
        "moto.stepfunctions.parser.asl.component.common.outputdecl",
        "moto.stepfunctions.parser.asl.component.common.parargs",
        "moto.stepfunctions.parser.asl.component.common.assign.assign_decl",
        "moto.stepfunctions.parser.asl.component.state.choice.comparison.comparison",
        "moto.stepfunctions.parser.asl.component.state.exec.state_map.items.items",
        "moto.stepfunctions.parser.asl.component.state.exec.state_map.item_selector",
        "moto.stepfunctions.parser.asl.component.common.timeouts.timeout",
        "moto.stepfunctions.parser.asl.component.common.timeouts.heartbeat",
        "moto.stepfunctions.parser.asl.component.state.wait.wait_function.seconds",
        "moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp",
        "moto.stepfunctions.parser.asl.component.state.exec.state_map.max_concurrency",
        "moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.reader_config.max_items_decl",
        "moto.stepfunctions.parser.asl.component.state.exec.state_map.tolerated_failure",
        "moto.stepfunctions.parser.asl.component.state.fail.error_decl",
        "moto.stepfunctions.parser.asl.component.state.fail.cause_decl",
    )
    for name in modules:
        module = importlib.import_module(name)
        for class_name, field in FIELDS.items():
            cls = getattr(module, class_name, None)
            if isinstance(cls, type) and cls.__module__ == module.__name__:
                _track(cls, lambda self, field=field: field)
    from moto.stepfunctions.parser.asl.component.common.assign.assign_template_binding import AssignTemplateBinding
    from moto.stepfunctions.parser.asl.component.common.jsonata.jsonata_template_binding import JSONataTemplateBinding

    for cls in (JSONataTemplateBinding, AssignTemplateBinding):
        _track(cls, lambda self: self.identifier)
