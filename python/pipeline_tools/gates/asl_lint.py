"""Lint an Amazon States Language definition: statelint, completed for JSONata and variables.

statelint 3.1.0 (the AWS-published linter, the newest on PyPI) knows ``QueryLanguage``, JSONata
states' fields (``Arguments``, ``Output``, ``Condition``; a JSONPath field such as ``Parameters``
in a JSONata state is refused) and ``Assign`` in JSONata states, but

* refuses ``Assign`` in JSONPath states, which AWS accepts: "The following state types support
  Assign to declare and assign values to variables: Pass, Task, Map, Parallel, Choice, Wait"
  (https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html), in JSONPath
  states as in JSONata ones (the page's JSONPath examples: ``"name.$": "$customerName"``);
* refuses a JSONata expression where a number goes (``"Seconds": "{% $states.input.pause %}"``,
  ``MaxConcurrency``, ``TimeoutSeconds``...), which JSONata states take (AWS's own Step Functions
  reference for agents, aws/agent-toolkit-for-aws ``references/transforming-data.md``: "Not all
  fields accept JSONata — `Type` and `Resource` must be constant strings", its example
  ``"TimeoutSeconds": "{% $timeout %}"``);
* refuses a variable read in a JSONPath state's payload template (``"name.$": "$customerName"``,
  the page's own example: "not a JSONPath or intrinsic function expression");
* does not read the expressions inside ``{% %}``: a syntax error passes and fails the execution.

:func:`lint` keeps statelint's problems but those, and parses every JSONata expression of every
JSONata state with the emulator's engine (jlens, JSONata 2.x's grammar), one problem per broken
expression naming the state and the field. Undefined variable references are not problems: AWS
creates such a state machine and fails the execution ("The JSONata expression '$doesNotExist' ...
returned nothing (undefined)", recorded on AWS).
"""

from __future__ import annotations

import re
from typing import Any, Iterator

ASSIGN_STATES = {"Pass", "Task", "Map", "Parallel", "Choice", "Wait"}  # workflow-variables.html
_ASSIGN_REFUSED = re.compile(r'^Field "Assign" not allowed in (State Machine\..*)$')
_EXPRESSION_REFUSED = re.compile(r'^(State Machine\..*) is "\{%.*%\}" but should be .*$', re.DOTALL)
_PATH_REFUSED = re.compile(r'^Field "(.+)" of \w+ at "(State Machine\..*)" is not a JSONPath or intrinsic function expression$')
# A workflow variable read, as JSONPath fields take it: $name, $name.field, $name[0] (workflow-variables.html).
_VARIABLE_READ = re.compile(r"^\$[A-Za-z_][A-Za-z0-9_]*(?:[.\[].*)?$", re.DOTALL)
_EXPRESSION = re.compile(r"^\{%(.*)%\}$", re.DOTALL)
# Fields of a JSONata state that are names or ARNs, never expressions.
_NOT_EXPRESSIONS = {"Type", "Comment", "Next", "Default", "StartAt", "QueryLanguage", "Resource", "End", "ErrorEquals"}


def lint(document: dict[str, Any]) -> list[str]:
    """Problems in a state machine definition (a parsed JSON object), statelint's wording."""
    from statelint.linter import Linter

    allowed_assign = set(_assign_paths(document))
    variable_reads = set(_variable_reads(document))
    expressions = {f"{path}.{field}" for path, field, _ in _expressions(document)}
    problems = [
        problem for problem in Linter.validate(document)
        if not ((found := _ASSIGN_REFUSED.match(problem)) and found.group(1) in allowed_assign)
        and not ((found := _EXPRESSION_REFUSED.match(problem)) and found.group(1) in expressions)
        and not ((found := _PATH_REFUSED.match(problem)) and (found.group(2), found.group(1)) in variable_reads)
    ]
    return problems + list(_expression_problems(document))


def _variable_reads(document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(state path, "key.$") of every payload-template entry of a JSONPath state that reads a variable."""
    for _, path, state, language in _states(document, "State Machine", document.get("QueryLanguage", "JSONPath")):
        if language == "JSONPath":
            for key, value in _dollar_entries(state):
                if isinstance(value, str) and _VARIABLE_READ.match(value):
                    yield path, key


def _dollar_entries(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("ItemProcessor", "Iterator", "Branches"):
                continue
            if key.endswith(".$"):
                yield key, item
            yield from _dollar_entries(item)
    elif isinstance(value, list):
        for item in value:
            yield from _dollar_entries(item)


def _states(document: dict[str, Any], path: str, language: str) -> Iterator[tuple[str, str, dict[str, Any], str]]:
    """(name, path, state, query language) for every state, nested ones included."""
    states = document.get("States")
    if not isinstance(states, dict):
        return
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        here = f"{path}.States.{name}"
        state_language = state.get("QueryLanguage", language)
        yield name, here, state, state_language
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                yield from _states(state[key], f"{here}.{key}", state_language)
        for index, branch in enumerate(state.get("Branches") or []):
            if isinstance(branch, dict):
                yield from _states(branch, f"{here}.Branches[{index}]", state_language)


def _assign_paths(document: dict[str, Any]) -> Iterator[str]:
    """statelint's paths of every place AWS takes an Assign: the six state types, Choice rules, catchers."""
    for _, path, state, _ in _states(document, "State Machine", document.get("QueryLanguage", "JSONPath")):
        if state.get("Type") in ASSIGN_STATES:
            yield path
        for index, _rule in enumerate(state.get("Choices") or []):
            yield f"{path}.Choices[{index}]"
        for index, _catcher in enumerate(state.get("Catch") or []):
            yield f"{path}.Catch[{index}]"


def _expressions(document: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(state path, field path, {% %} string) of every JSONata expression of every JSONata state."""
    for _, path, state, language in _states(document, "State Machine", document.get("QueryLanguage", "JSONPath")):
        if language == "JSONata":
            for field, text in _strings(state, ""):
                if _EXPRESSION.match(text):
                    yield path, field, text


def _expression_problems(document: dict[str, Any]) -> Iterator[str]:
    import jlens

    for path, field, text in _expressions(document):
        try:
            jlens.Expression(_EXPRESSION.match(text).group(1).strip())
        except jlens.JlensError as error:
            yield f"JSONata expression {text!r} in {path}.{field} does not parse: {error.code}: {error}"


def _strings(value: Any, field: str) -> Iterator[tuple[str, str]]:
    """(field path, string) for the strings of a state that may hold JSONata, nested states left out."""
    if isinstance(value, str):
        yield field, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{field}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not field and (key in _NOT_EXPRESSIONS or key in ("ItemProcessor", "Iterator", "Branches")):
                continue
            yield from _strings(item, f"{field}.{key}" if field else key)
