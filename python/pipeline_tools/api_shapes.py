"""Service-integration ``Parameters`` checked against the service API's own request shapes, offline.

A Task state whose ``Resource`` is ``arn:<partition>:states:::sagemaker:<apiName>`` (optionally
``.sync`` or ``.waitForTaskToken``) sends its ``Parameters`` to that SageMaker API as the request
(https://docs.aws.amazon.com/step-functions/latest/dg/connect-sagemaker.html,
https://docs.aws.amazon.com/step-functions/latest/dg/connect-parameters.html). A key the API does
not know, a missing required key, a value of the wrong type, out of range or outside its enum fails
only when the execution reaches the state. AWS's TestState API
(https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html, guide:
https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html) checks states against
the API models in the cloud; its strictest mode is spelled out in
https://docs.aws.amazon.com/step-functions/latest/apireference/API_MockInput.html (``STRICT``: all
required fields present, all present fields conform to the API's schema). This module applies the
same rule to the request, offline, before anything is deployed.

The shapes are AWS's own: the service model shipped in botocore (the AWS SDK for Python), file
``botocore/data/sagemaker/2017-07-24/service-2.json(.gz)``, loaded with
``botocore.session.get_session().get_service_model("sagemaker")``. Checked per member: unknown and
missing required keys; type (structure, list, map, string, integer/long, float/double, boolean,
timestamp, blob); ``min``/``max`` (the value of a number, the length of a string, the item count of a
list or map); ``enum``; ``pattern``, as a full match (SageMaker rejects ``my_job`` as a job name
although ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`` matches its prefix); union structures (exactly one
member). The few Java-only patterns (``\\p{L}``...) that Python's ``re`` cannot compile are skipped.

Dynamic values are resolved to plausible values of the member's type:

* ``"Key.$"`` (JSONPath or intrinsic function) is checked as member ``Key``. A JSONPath into the
  state input fits any type; context-object paths and intrinsic functions have known result types
  (``$$.Execution.Name`` and ``States.Format(...)`` are strings, ``States.ArrayLength`` an integer...),
  so ``"InstanceCount.$": "States.Format(...)"`` is flagged. Strings whose content is known are
  checked fully, with ``$$.Execution.Name`` as a plausible execution name (``EXECUTION_NAME``):
  ``States.Format('s3://b/{}', $$.Execution.Name)`` becomes ``s3://b/exec-20260101-000000-abcd``.
* JSONata ``{% ... %}`` expressions (``Arguments``, QueryLanguage JSONata) fit any type.
* Terraform references (``${aws_iam_role.x.arn}`` in a synthesized stack, or what
  ``stackfile.with_placeholders`` makes of them) are strings of unknown content: fine for a string
  member (no pattern, length or enum check), wrong for any other type.

Other services can be added to ``SERVICES`` (the Resource's service segment -> botocore's service
name and the name used in messages); the walk and the checks are generic.
"""

from __future__ import annotations

import base64
import difflib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Iterator

from .stackfile import PLACEHOLDER_ARN, state_machine_definitions

# The Resource's service segment -> (botocore service name, the name used in findings).
SERVICES: dict[str, tuple[str, str]] = {
    "sagemaker": ("sagemaker", "SageMaker"),
    "s3": ("s3", "S3"),  # the quality gate's aws-sdk:s3:getObject
}

# arn:<partition>:states:::<service>:<apiName>[.sync|.sync:2|.waitForTaskToken]; the partition may be
# a literal, a Terraform reference or with_placeholders' "placeholder". aws-sdk:<service>:<api> takes
# the same request shapes.
_RESOURCE = re.compile(
    r"^arn:[^:]+:states:::(?:aws-sdk:)?(?P<service>[a-z0-9-]+):(?P<api>[A-Za-z][A-Za-z0-9]*)"
    r"(?:\.sync(?::2)?|\.waitForTaskToken)?$"
)
_TERRAFORM_REFERENCE = re.compile(r"\$\{[^}]*\}")
_PLACEHOLDER_WORD = re.compile(r"(?<![A-Za-z0-9_])placeholder(?![A-Za-z0-9_])")

EXECUTION_NAME = "exec-20260101-000000-abcd"
TIMESTAMP = "2026-01-01T00:00:00.000Z"

# Context-object paths with a known type (and, for a few, a plausible value).
_CONTEXT: dict[str, tuple[str, str | None]] = {
    "$$.Execution.Name": ("string", EXECUTION_NAME),
    "$$.Execution.Id": ("string", None),
    "$$.Execution.RoleArn": ("string", None),
    "$$.Execution.StartTime": ("string", TIMESTAMP),
    "$$.Execution.RedriveCount": ("integer", None),
    "$$.Execution.RedriveTime": ("string", TIMESTAMP),
    "$$.State.Name": ("string", None),
    "$$.State.EnteredTime": ("string", TIMESTAMP),
    "$$.State.RetryCount": ("integer", None),
    "$$.StateMachine.Id": ("string", None),
    "$$.StateMachine.Name": ("string", None),
    "$$.Task.Token": ("string", None),
    "$$.Map.Item.Index": ("integer", None),
}

# Intrinsic functions -> the JSON type they return ("any": depends on the data).
_INTRINSICS: dict[str, str] = {
    "States.Format": "string",
    "States.JsonToString": "string",
    "States.StringToJson": "any",
    "States.Array": "list",
    "States.ArrayPartition": "list",
    "States.ArrayContains": "boolean",
    "States.ArrayRange": "list",
    "States.ArrayGetItem": "any",
    "States.ArrayLength": "integer",
    "States.ArrayUnique": "list",
    "States.Base64Encode": "string",
    "States.Base64Decode": "string",
    "States.Hash": "string",
    "States.JsonMerge": "object",
    "States.MathRandom": "integer",
    "States.MathAdd": "integer",
    "States.StringSplit": "list",
    "States.UUID": "string",
}

# Shape type -> the JSON kinds a request may carry for it.
_ACCEPTS: dict[str, set[str]] = {
    "structure": {"object"},
    "map": {"object"},
    "list": {"list"},
    "string": {"string"},
    "blob": {"string"},
    "integer": {"integer"},
    "long": {"integer"},
    "float": {"integer", "number"},
    "double": {"integer", "number"},
    "boolean": {"boolean"},
    "timestamp": {"string", "integer", "number"},
}
_ARTICLE = {"object": "an object", "list": "a list", "string": "a string", "integer": "an integer",
            "number": "a number", "boolean": "a boolean", "null": "null"}
_EXPECTED = {"integer": "an integer", "long": "an integer", "float": "a number", "double": "a number",
             "boolean": "a boolean", "string": "a string", "blob": "a string (base64)",
             "timestamp": "a timestamp (ISO 8601 string or epoch seconds)", "list": "a list",
             "map": "an object (map)"}


@dataclass(frozen=True)
class Dynamic:
    """A value known only at run time: its JSON kind, and its text when that can be told in advance."""

    kind: str  # a key of _ARTICLE, or "any"
    source: str  # the expression, for messages
    sample: str | None = None


def _kind(value: Any) -> str:
    if isinstance(value, Dynamic):
        return value.kind
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "any"


def _is_placeholder(text: str) -> bool:
    """A Terraform reference, or what with_placeholders made of one: a string of unknown content."""
    return bool(_TERRAFORM_REFERENCE.search(text)) or PLACEHOLDER_ARN in text or bool(_PLACEHOLDER_WORD.search(text))


# ---------------------------------------------------------------------------------------------------
# Intrinsic functions and JSONPaths


class _Unparsed(Exception):
    pass


def _parse(text: str) -> tuple:
    """Parse a `.$` value: a JSONPath, or an intrinsic function call (nested calls allowed)."""
    node, end = _parse_argument(text, 0)
    if text[end:].strip():
        raise _Unparsed(text)
    return node


def _parse_argument(text: str, i: int) -> tuple[tuple, int]:
    while i < len(text) and text[i] == " ":
        i += 1
    if text.startswith("'", i):
        out, i = [], i + 1
        while i < len(text) and text[i] != "'":
            if text[i] == "\\" and i + 1 < len(text):
                out.append(text[i : i + 2] if text[i + 1] in "{}" else text[i + 1])
                i += 2
            else:
                out.append(text[i])
                i += 1
        if i >= len(text):
            raise _Unparsed(text)
        return ("str", "".join(out)), i + 1
    if text.startswith("$", i):
        start, depth = i, 0
        while i < len(text) and (depth or text[i] not in ",)"):
            if text[i] == "'":
                close = text.find("'", i + 1)
                i = close if close > 0 else len(text)
            depth += {"[": 1, "(": 1, "]": -1, ")": -1}.get(text[i] if i < len(text) else "", 0)
            i += 1
        return ("path", text[start:i].strip()), i
    call = re.compile(r"(States\.[A-Za-z0-9]+)\s*\(").match(text, i)
    if call:
        args, i = [], call.end()
        while True:
            while i < len(text) and text[i] == " ":
                i += 1
            if text.startswith(")", i):
                return ("call", call.group(1), args), i + 1
            argument, i = _parse_argument(text, i)
            args.append(argument)
            while i < len(text) and text[i] == " ":
                i += 1
            if text.startswith(",", i):
                i += 1
            elif not text.startswith(")", i):
                raise _Unparsed(text)
    literal = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null").match(text, i)
    if literal:
        return ("literal", json.loads(literal.group(0))), literal.end()
    raise _Unparsed(text)


def _evaluate(node: tuple) -> tuple[str, str | None]:
    """(kind, text when known) of a parsed argument."""
    if node[0] == "str":
        return "string", node[1]
    if node[0] == "literal":
        return _kind(node[1]), json.dumps(node[1])
    if node[0] == "path":
        return _CONTEXT.get(node[1], ("any", None))
    name, args = node[1], node[2]
    kind = _INTRINSICS.get(name, "any")
    if name == "States.Format" and args and args[0][0] == "str":
        template, values = args[0][1], [_evaluate(arg)[1] for arg in args[1:]]
        if None in values:
            return kind, None
        pieces = re.split(r"(\\[{}]|\{\})", template)
        out, index = [], 0
        for piece in pieces:
            if piece == "{}":
                if index >= len(values):
                    return kind, None
                out.append(values[index])
                index += 1
            else:
                out.append(piece[1] if piece in ("\\{", "\\}") else piece)
        return kind, "".join(out)
    return kind, None


def resolve(expression: Any, jsonata: bool = False) -> Any:
    """A `.$` value (or a JSONata string) as a Dynamic; anything unparseable fits any type (statelint
    reports the syntax)."""
    if not isinstance(expression, str):
        return Dynamic("any", json.dumps(expression))
    if jsonata:
        return Dynamic("any", expression)
    try:
        kind, sample = _evaluate(_parse(expression.strip()))
    except (_Unparsed, RecursionError):
        return Dynamic("any", expression)
    return Dynamic(kind, expression, sample)


def _is_jsonata(value: Any) -> bool:
    return isinstance(value, str) and value.strip().startswith("{%") and value.strip().endswith("%}")


# ---------------------------------------------------------------------------------------------------
# The shapes


@lru_cache(maxsize=None)
def service_model(service: str):
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


@lru_cache(maxsize=None)
def _pattern(pattern: str) -> re.Pattern | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None  # Java-only syntax (\p{L}, surrogate ranges): not checked


def operation_for(api_name: str) -> str:
    """createProcessingJob -> CreateProcessingJob."""
    return api_name[:1].upper() + api_name[1:]


def _show(value: Any, shape=None) -> str:
    if shape is not None and shape.metadata.get("sensitive"):
        return "(sensitive value)"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def _brief(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _got(value: Any, shape=None) -> str:
    if isinstance(value, Dynamic):
        return f"{_brief(value.source)}, which gives {_ARTICLE.get(value.kind, value.kind)}"
    kind = _kind(value)
    if kind in ("object", "list", "null"):
        return _ARTICLE[kind]
    if kind == "string" and _is_placeholder(value):
        return f"the Terraform reference {_show(value)} (a string)"
    return f"the {kind} {_show(value, shape)}"


def _expected(shape) -> str:
    if shape.type_name == "structure":
        return f"an object ({shape.name})"
    return _EXPECTED.get(shape.type_name, shape.type_name)


class _Checker:
    def __init__(self, label: str, jsonata: bool):
        self.label = label  # "(SageMaker CreateTrainingJob)"
        self.jsonata = jsonata
        self.problems: list[str] = []

    def report(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message} {self.label}")

    # -- dispatch ----------------------------------------------------------------------------------

    def check(self, value: Any, shape, path: str) -> None:
        if self.jsonata and _is_jsonata(value):
            return
        kind = _kind(value)
        if kind == "any":
            return
        if kind not in _ACCEPTS.get(shape.type_name, {kind}):
            if kind == "null":
                return  # an explicit null is an absent member; required members are checked by the parent
            self.report(path, f"expected {_expected(shape)}, got {_got(value, shape)}")
            return
        if isinstance(value, Dynamic):
            if shape.type_name == "string" and value.sample is not None:
                self.check_string(value.sample, shape, path, f"{_brief(value.source)} gives {_show(value.sample)}, which")
            return
        handler = getattr(self, f"check_{shape.type_name}", self.check_number)
        handler(value, shape, path)

    # -- containers --------------------------------------------------------------------------------

    def _entries(self, obj: dict, path: str) -> dict[str, tuple[str, Any]]:
        """Member name -> (key as written, value), `.$` keys resolved; both forms given is a problem."""
        entries: dict[str, tuple[str, Any]] = {}
        for key, value in obj.items():
            name, dynamic = (key[:-2], True) if key.endswith(".$") and not self.jsonata else (key, False)
            if name in entries:
                self.report(f"{path}.{name}", f'given twice, as "{name}" and "{name}.$"')
                continue
            entries[name] = (key, resolve(value, self.jsonata) if dynamic else value)
        return entries

    def check_structure(self, obj: dict, shape, path: str) -> None:
        members = shape.members
        entries = self._entries(obj, path)
        for name, (key, value) in entries.items():
            if name not in members:
                close = difflib.get_close_matches(name, list(members), n=1)
                hint = f'; did you mean "{close[0]}"?' if close else (f" ({', '.join(members)})" if len(members) <= 12 else "")
                self.report(f"{path}.{key}", f"unknown key, not a member of {shape.name}{hint}")
                continue
            self.check(value, members[name], f"{path}.{key}")
        for name in shape.required_members:
            if name not in entries:
                self.report(f"{path}.{name}", f"required key is missing ({shape.name} requires {', '.join(shape.required_members)})")
            elif _kind(entries[name][1]) == "null":
                self.report(f"{path}.{entries[name][0]}", "required key is null")
        if shape.metadata.get("union"):
            given = [name for name, (_, value) in entries.items() if name in members and _kind(value) != "null"]
            if len(given) != 1:
                self.report(path, f"exactly one of {', '.join(members)} must be given ({shape.name} is a union), got {len(given)}")

    def check_map(self, obj: dict, shape, path: str) -> None:
        self.count(len(obj), shape, path, "entries")
        for name, (key, value) in self._entries(obj, path).items():
            if not _is_placeholder(name):
                self.check_string(name, shape.key, f"{path}.{key}", f"key {_show(name)}")
            self.check(value, shape.value, f"{path}.{key}")

    def check_list(self, items: list, shape, path: str) -> None:
        self.count(len(items), shape, path, "items")
        for index, item in enumerate(items):
            self.check(item, shape.member, f"{path}[{index}]")

    def count(self, n: int, shape, path: str, what: str) -> None:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and n < low:
            self.report(path, f"{n} {what}, fewer than the minimum {low}")
        if high is not None and n > high:
            self.report(path, f"{n} {what}, more than the maximum {high}")

    # -- scalars -----------------------------------------------------------------------------------

    def check_string(self, text: str, shape, path: str, subject: str | None = None) -> None:
        if _is_placeholder(text):
            return
        subject = subject or _show(text, shape)
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and len(text) < low:
            self.report(path, f"{subject} is {len(text)} characters long, shorter than the minimum {low}")
            return
        if high is not None and len(text) > high:
            self.report(path, f"{subject} is {len(text)} characters long, longer than the maximum {high}")
            return  # the pattern usually bounds the length too: one finding is enough
        enum = shape.enum
        if enum and text not in enum:
            if len(enum) <= 10:
                self.report(path, f"{subject} is not one of {', '.join(enum)}")
            else:
                close = difflib.get_close_matches(text, enum, n=1)
                hint = f'; did you mean "{close[0]}"?' if close else ""
                self.report(path, f"{subject} is not a valid {shape.name} ({len(enum)} values){hint}")
            return
        pattern = shape.metadata.get("pattern")
        compiled = _pattern(pattern) if pattern else None
        if compiled is not None and not compiled.fullmatch(text):
            self.report(path, f"{subject} does not match the pattern {pattern}")

    def check_blob(self, text: str, shape, path: str) -> None:
        if _is_placeholder(text):
            return
        try:
            data = base64.b64decode(text, validate=True)
        except ValueError:
            self.report(path, f"{_show(text, shape)} is not base64")
            return
        self.count(len(data), shape, path, "bytes")

    def check_timestamp(self, value: Any, shape, path: str) -> None:
        if isinstance(value, str) and not _is_placeholder(value):
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                self.report(path, f"{_show(value)} is not an ISO 8601 timestamp")

    def check_number(self, value: Any, shape, path: str) -> None:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and value < low:
            self.report(path, f"{_show(value, shape)} is below the minimum {low}")
        if high is not None and value > high:
            self.report(path, f"{_show(value, shape)} is above the maximum {high}")


# ---------------------------------------------------------------------------------------------------
# Walking a definition


def iter_states(states: Any) -> Iterator[tuple[str, dict]]:
    """Every state, nested ones included (Parallel branches, Map ItemProcessor / Iterator)."""
    if not isinstance(states, dict):
        return
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        yield name, state
        branches = state.get("Branches")
        for branch in branches if isinstance(branches, list) else []:
            if isinstance(branch, dict):
                yield from iter_states(branch.get("States"))
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                yield from iter_states(state[key].get("States"))


def check_task(name: str, state: dict, query_language: str = "JSONPath") -> list[str]:
    """Problems of one Task state's request against its service API (empty when not a known service)."""
    resource = state.get("Resource")
    match = _RESOURCE.match(resource) if isinstance(resource, str) else None
    if not match or match.group("service") not in SERVICES:
        return []
    botocore_name, display = SERVICES[match.group("service")]
    model = service_model(botocore_name)
    operation = operation_for(match.group("api"))
    prefix = f'state "{name}": '
    if operation not in model.operation_names:
        close = difflib.get_close_matches(operation, model.operation_names, n=1)
        hint = f'; did you mean "{close[0][:1].lower() + close[0][1:]}"?' if close else ""
        return [f"{prefix}Resource: {display} has no API action {match.group('api')} "
                f"(no operation {operation} in botocore's {botocore_name} model){hint}"]
    jsonata = state.get("QueryLanguage", query_language) == "JSONata"
    field = "Arguments" if jsonata else "Parameters"
    if field not in state:
        return []  # the state input is the request: known only at run time
    checker = _Checker(f"({display} {operation})", jsonata)
    input_shape = model.operation_model(operation).input_shape
    if input_shape is not None:
        checker.check(state[field], input_shape, field)
    return [prefix + problem for problem in checker.problems]


def check_definition(definition: dict) -> list[str]:
    """Every request-shape problem in an ASL document, one line each: state "X": Parameters.Path: ..."""
    if not isinstance(definition, dict):
        return []
    query_language = definition.get("QueryLanguage", "JSONPath")
    problems: list[str] = []
    for name, state in iter_states(definition.get("States")):
        if state.get("Type") == "Task":
            problems.extend(check_task(name, state, query_language))
    return problems


def check_stack(stack: dict) -> list[str]:
    """check_definition for every state machine of a synthesized stack ("<resource>: <problem>").

    The definition is read with its Terraform references in place (strings of unknown content); a
    definition that is not JSON is left to statelint's check, which reports it.
    """
    from .stackfile import with_placeholders

    problems: list[str] = []
    for resource, text in state_machine_definitions(stack).items():
        if not isinstance(text, str):
            continue
        try:
            document = json.loads(text)
        except ValueError:
            try:
                document = json.loads(with_placeholders(text))
            except ValueError:
                continue
        problems.extend(f"{resource}: {problem}" for problem in check_definition(document))
    return problems
