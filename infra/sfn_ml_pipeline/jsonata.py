"""The pipeline's definition in JSONata: a JSONPath state machine turned into the same state machine
with ``"QueryLanguage": "JSONata"``, generically, so any state the definition gains keeps working in
both languages (``query_language = "JSONata"`` in the config).

Pure: ``to_jsonata(definition)`` reads the JSONPath document :func:`~.definition.build_definition`
builds and returns the JSONata one; nothing else changes (names, Resource ARNs, Retry, Next/End).
AWS's page on the conversion, "Transforming data with JSONata in Step Functions"
(https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html): "After selecting
JSONata, your workflow fields will be reduced from five JSONPath fields (InputPath, Parameters,
ResultSelector, ResultPath, and OutputPath) to only two fields: Arguments and Output. Also, you
will not use .$ on JSON object key names." So, per state:

* ``InputPath`` + ``Parameters`` -> ``Arguments`` (Task, Parallel), ``ItemSelector`` (Map) or the
  result (Pass): a ``"key.$": "<path or intrinsic>"`` entry becomes ``"key": "{% <expression> %}"``
  (``$`` -> ``$states.input``, ``$$`` -> ``$states.context``, ``$name`` stays a variable read);
* ``ResultSelector`` + ``ResultPath`` + ``OutputPath`` -> ``Output`` over ``$states.result``
  (``ResultPath: "$.x"`` merges the result into the input at ``x``, as JSONPath does);
* a catcher's ``ResultPath`` -> its ``Output`` over ``$states.errorOutput``;
* Choice rules (``Variable`` + comparison, ``And``/``Or``/``Not``) -> ``Condition``;
* Fail ``ErrorPath``/``CausePath`` -> ``Error``/``Cause``; Wait ``SecondsPath``/``TimestampPath``
  -> ``Seconds``/``Timestamp``; Map ``ItemsPath`` -> ``Items``, ``Iterator`` -> ``ItemProcessor``;
* intrinsic functions -> their JSONata forms: ``States.Format`` (``&``), ``States.StringToJson``
  (``$parse``), ``States.JsonToString`` (``$string``), ``States.Hash`` (``$hash``),
  ``States.Array`` (``[...]``), ``States.ArrayPartition`` (``$partition``), ``States.ArrayRange``
  (``$range``), ``States.ArrayGetItem`` (``a[i]``), ``States.ArrayLength`` (``$count``),
  ``States.ArrayContains`` (``in``), ``States.ArrayUnique`` (``$distinct``), ``States.MathAdd``
  (``+``), ``States.UUID`` (``$uuid``), ``States.Base64Encode``/``Decode``.

Anything it cannot translate faithfully (a JSONPath wildcard, filter or recursive descent, an
intrinsic not listed) raises :class:`TranslationError` naming the state and the field: the synth
fails rather than the execution.
"""

from __future__ import annotations

import json
import re
from typing import Any

INPUT, RESULT, ERROR_OUTPUT, CONTEXT = "$states.input", "$states.result", "$states.errorOutput", "$states.context"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PATH_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]")


class TranslationError(ValueError):
    """A JSONPath construct with no faithful JSONata translation here."""


def to_jsonata(definition: dict[str, Any]) -> dict[str, Any]:
    """The same state machine, in JSONata."""
    if definition.get("QueryLanguage", "JSONPath") != "JSONPath":
        raise TranslationError(f"the definition is already QueryLanguage {definition['QueryLanguage']}")
    return {"QueryLanguage": "JSONata", **_machine(definition)}


def _machine(machine: dict[str, Any]) -> dict[str, Any]:
    out = {key: value for key, value in machine.items() if key not in ("States", "QueryLanguage")}
    out["States"] = {name: _state(name, state) for name, state in machine["States"].items()}
    return out


# --- expressions ----------------------------------------------------------------------------------


def literal(value: Any) -> str:
    """A JSON value as a JSONata literal (strings in single quotes, as AWS recommends)."""
    if isinstance(value, str):
        # JSONata strings take JSON's escapes (no \'): a quote inside is \u0027.
        return "'" + json.dumps(value, ensure_ascii=False)[1:-1].replace("'", "\\u0027") + "'"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return json.dumps(value)


def path(text: str, base: str, where: str) -> str:
    """A JSONPath reference path (``$.a.b[0]``, ``$$.Execution.Name``, ``$var.x``) as JSONata over ``base``."""
    if text.startswith("$$"):
        root, rest = CONTEXT, text[2:]
    elif text == "$" or text.startswith(("$.", "$[")):
        root, rest = base, text[1:]
    elif re.match(r"^\$[A-Za-z_]", text):  # a workflow variable: $name, $name.field
        name = re.match(r"^\$[A-Za-z_][A-Za-z0-9_]*", text).group(0)
        root, rest = name, text[len(name):]
    else:
        raise TranslationError(f"{where}: {text!r} is not a JSONPath reference path")
    steps, position = [], 0
    while position < len(rest):
        found = _PATH_STEP.match(rest, position)
        if found is None:
            raise TranslationError(f"{where}: {text!r} uses JSONPath the translation does not support (only .name, ['name'] and [index])")
        name, index, quoted = found.groups()
        if index is not None:
            steps.append(f"[{index}]")
        else:
            key = name if name is not None else re.sub(r"\\(.)", r"\1", quoted)
            steps.append("." + (key if _IDENTIFIER.match(key) else "`" + key.replace("`", "") + "`"))
        position = found.end()
    return root + "".join(steps)


def expression(text: str, base: str, where: str) -> str:
    """The JSONata form of a ``.$`` value: a path or an intrinsic function call."""
    text = text.strip()
    if text.startswith("States."):
        node, end = _parse_call(text, 0, where)
        if text[end:].strip():
            raise TranslationError(f"{where}: unexpected text after {text[:end]!r}")
        return _intrinsic(node, base, where)
    return path(text, base, where)


def _parse_call(text: str, i: int, where: str) -> tuple[tuple, int]:
    found = re.compile(r"States\.[A-Za-z0-9]+").match(text, i)
    if found is None or found.end() >= len(text) or text[found.end()] != "(":
        raise TranslationError(f"{where}: cannot read the intrinsic function in {text!r}")
    name, i, args = found.group(0), found.end() + 1, []
    while True:
        while i < len(text) and text[i] == " ":
            i += 1
        if text[i] == ")":
            return ("call", name, args), i + 1
        arg, i = _parse_argument(text, i, where)
        args.append(arg)
        while i < len(text) and text[i] == " ":
            i += 1
        if text[i] == ",":
            i += 1
        elif text[i] != ")":
            raise TranslationError(f"{where}: cannot read the arguments of {name} in {text!r}")


def _parse_argument(text: str, i: int, where: str) -> tuple[tuple, int]:
    if text.startswith("States.", i):
        return _parse_call(text, i, where)
    if text[i] == "'":
        j, chars = i + 1, []
        while text[j] != "'":
            if text[j] == "\\":
                j += 1
            chars.append(text[j])
            j += 1
        return ("literal", "".join(chars)), j + 1
    found = re.compile(r"-?\d+(?:\.\d+)?").match(text, i)
    if found:
        number = found.group(0)
        return ("literal", float(number) if "." in number else int(number)), found.end()
    for word, value in (("null", None), ("true", True), ("false", False)):
        if text.startswith(word, i):
            return ("literal", value), i + len(word)
    found = re.compile(r"\$[^,)]*").match(text, i)
    if found:
        return ("path", found.group(0).strip()), found.end()
    raise TranslationError(f"{where}: cannot read an argument at {text[i:]!r}")


def _intrinsic(node: tuple, base: str, where: str) -> str:
    kind = node[0]
    if kind == "literal":
        return literal(node[1])
    if kind == "path":
        return path(node[1], base, where)
    _, name, raw = node
    args = [_intrinsic(arg, base, where) for arg in raw]
    if name == "States.Format":
        if not raw or raw[0][0] != "literal" or not isinstance(raw[0][1], str):
            raise TranslationError(f"{where}: States.Format needs a literal template")
        pieces = raw[0][1].split("{}")
        if len(pieces) - 1 != len(args) - 1:
            raise TranslationError(f"{where}: States.Format's template has {len(pieces) - 1} '{{}}' for {len(args) - 1} argument(s)")
        parts = [literal(pieces[0])] if pieces[0] else []
        for value, piece in zip(args[1:], pieces[1:]):
            parts.append(value if value.startswith("'") else f"$string({value})")
            if piece:
                parts.append(literal(piece))
        return "(" + " & ".join(parts or ["''"]) + ")"
    simple = {
        "States.StringToJson": "$parse", "States.JsonToString": "$string", "States.Hash": "$hash",
        "States.ArrayPartition": "$partition", "States.ArrayRange": "$range", "States.ArrayLength": "$count",
        "States.ArrayUnique": "$distinct", "States.UUID": "$uuid", "States.Base64Encode": "$base64encode",
        "States.Base64Decode": "$base64decode",
    }
    if name in simple:
        return f"{simple[name]}({', '.join(args)})"
    if name == "States.Array":
        return "[" + ", ".join(args) + "]"
    if name == "States.ArrayGetItem" and len(args) == 2:
        return f"{args[0]}[{args[1]}]"
    if name == "States.ArrayContains" and len(args) == 2:
        return f"({args[1]} in {args[0]})"
    if name == "States.MathAdd" and len(args) == 2:
        return f"({args[0]} + {args[1]})"
    raise TranslationError(f"{where}: no JSONata translation for {name}")


def template(value: Any, base: str, where: str) -> Any:
    """A JSONPath payload template (``"k.$": path``) as a JSONata one (``"k": "{% expr %}"``)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key.endswith(".$"):
                out[key[:-2]] = "{% " + expression(item, base, f"{where}.{key}") + " %}"
            else:
                out[key] = template(item, base, f"{where}.{key}")
        return out
    if isinstance(value, list):
        return [template(item, base, f"{where}[{i}]") for i, item in enumerate(value)]
    _literal_string(value, where)
    return value


def template_expression(value: Any, base: str, where: str) -> str:
    """A payload template as one JSONata expression (an object constructor). A path that finds
    nothing fails the state, as in JSONPath ("could not be found"), where an object constructor
    would quietly leave the key out."""
    if isinstance(value, dict):
        entries = []
        for key, item in value.items():
            if key.endswith(".$"):
                read = expression(item, base, f"{where}.{key}")
                message = f"The JSONPath '{item}' specified for the field '{key}' could not be found"
                entries.append(f"{literal(key[:-2])}: ($v := {read}; $exists($v) ? $v : $error({literal(message)}))")
            else:
                entries.append(f"{literal(key)}: {template_expression(item, base, f'{where}.{key}')}")
        return "{" + ", ".join(entries) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(template_expression(item, base, f"{where}[{i}]") for i, item in enumerate(value)) + "]"
    _literal_string(value, where)
    return literal(value)


def _literal_string(value: Any, where: str) -> None:
    if isinstance(value, str) and value.startswith("{%") and value.endswith("%}"):
        raise TranslationError(f"{where}: the literal {value!r} would read as a JSONata expression")


def _put(target: str, result_path: str | None, value: str, where: str) -> str:
    """JSONPath's ResultPath: ``value`` placed into ``target`` at ``result_path``."""
    if result_path is None:
        return target
    if result_path == "$":
        return value
    steps = re.findall(r"\.([A-Za-z_][A-Za-z0-9_-]*)", result_path)
    if "".join(f".{s}" for s in steps) != result_path[1:]:
        raise TranslationError(f"{where}: ResultPath {result_path!r}: only $.name.name... is translated")

    def nest(at: str, names: list[str]) -> str:
        head, rest = names[0], names[1:]
        inner = value if not rest else nest(f"{at}.{head if _IDENTIFIER.match(head) else '`' + head + '`'}", rest)
        return f"$merge([{at}, {{{literal(head)}: {inner}}}])"

    return nest(target, steps)


def _output_path(value: str, output_path: str | None, where: str) -> str:
    if output_path is None or output_path == "$":
        return value
    return f"($output := {value}; {path(output_path, '$output', where)})"


def _jsonata(expression_text: str) -> str:
    return "{% " + expression_text + " %}"


# --- states ---------------------------------------------------------------------------------------

_JSONPATH_ONLY = ("InputPath", "Parameters", "ResultSelector", "ResultPath", "OutputPath", "ItemsPath", "Iterator",
                  "ErrorPath", "CausePath", "SecondsPath", "TimestampPath", "MaxConcurrencyPath", "TimeoutSecondsPath",
                  "HeartbeatSecondsPath", "Result")


def _state(name: str, state: dict[str, Any]) -> dict[str, Any]:
    if state.get("QueryLanguage", "JSONPath") != "JSONPath":
        raise TranslationError(f"state {name!r}: already QueryLanguage {state['QueryLanguage']}")
    where = f"state {name!r}"
    kind = state.get("Type")
    out = {key: value for key, value in state.items() if key not in _JSONPATH_ONLY and key not in ("Catch", "Choices", "Branches", "ItemProcessor", "ItemSelector", "QueryLanguage")}
    input_expr = INPUT if "InputPath" not in state else (path(state["InputPath"], INPUT, f"{where}.InputPath") if state["InputPath"] is not None else "{}")

    if kind in ("Task", "Parallel", "Map"):
        if "Parameters" in state and kind != "Map":
            out["Arguments"] = template(state["Parameters"], input_expr, f"{where}.Parameters") if isinstance(state["Parameters"], dict) else _jsonata(expression(state["Parameters"], input_expr, f"{where}.Parameters"))
        elif "InputPath" in state and kind != "Map":
            out["Arguments"] = _jsonata(input_expr)
        result = template_expression(state["ResultSelector"], RESULT, f"{where}.ResultSelector") if "ResultSelector" in state else RESULT
        output = _output_path(_put(INPUT, state.get("ResultPath", "$"), result, f"{where}.ResultPath"), state.get("OutputPath"), f"{where}.OutputPath")
        if output != RESULT:
            out["Output"] = _jsonata(output)
    elif kind == "Pass":
        if "Parameters" in state:
            result = template_expression(state["Parameters"], input_expr, f"{where}.Parameters")
        elif "Result" in state:
            result = literal(state["Result"])
        else:
            result = input_expr
        output = _output_path(_put(INPUT, state.get("ResultPath", "$"), result, f"{where}.ResultPath"), state.get("OutputPath"), f"{where}.OutputPath")
        if output != INPUT:
            out["Output"] = _jsonata(output)
    elif kind in ("Choice", "Wait", "Succeed"):
        output = _output_path(input_expr, state.get("OutputPath"), f"{where}.OutputPath")
        if output != INPUT:
            out["Output"] = _jsonata(output)
    elif kind == "Fail":
        if "ErrorPath" in state:
            out["Error"] = _jsonata(path(state["ErrorPath"], INPUT, f"{where}.ErrorPath"))
        if "CausePath" in state:
            out["Cause"] = _jsonata(path(state["CausePath"], INPUT, f"{where}.CausePath"))

    if "Assign" in state:
        # JSONPath's Assign reads the state's result (after ResultSelector) as "$"; JSONata's reads $states.
        assign_base = (template_expression(state["ResultSelector"], RESULT, where) if "ResultSelector" in state else RESULT) if kind in ("Task", "Parallel", "Map") else INPUT
        out["Assign"] = template(state["Assign"], f"({assign_base})" if assign_base.startswith("{") else assign_base, f"{where}.Assign")
    if kind == "Wait":
        if "SecondsPath" in state:
            out["Seconds"] = _jsonata(path(state["SecondsPath"], input_expr, f"{where}.SecondsPath"))
        if "TimestampPath" in state:
            out["Timestamp"] = _jsonata(path(state["TimestampPath"], input_expr, f"{where}.TimestampPath"))
    for field in ("TimeoutSecondsPath", "HeartbeatSecondsPath"):
        if field in state:
            out[field[: -len("Path")]] = _jsonata(path(state[field], input_expr, f"{where}.{field}"))
    if kind == "Map":
        if "ItemsPath" in state:
            out["Items"] = _jsonata(path(state["ItemsPath"], input_expr, f"{where}.ItemsPath"))
        elif "InputPath" in state:
            out["Items"] = _jsonata(input_expr)
        selector = state.get("ItemSelector", state.get("Parameters"))
        if selector is not None:
            out["ItemSelector"] = template(selector, input_expr, f"{where}.ItemSelector")
        if "MaxConcurrencyPath" in state:
            out["MaxConcurrency"] = _jsonata(path(state["MaxConcurrencyPath"], input_expr, f"{where}.MaxConcurrencyPath"))
        processor = state.get("ItemProcessor", state.get("Iterator"))
        if processor is not None:
            out["ItemProcessor"] = _machine(processor)
    if kind == "Parallel":
        out["Branches"] = [_machine(branch) for branch in state["Branches"]]
    if kind == "Choice":
        out["Choices"] = [_choice_rule(rule, input_expr, f"{where}.Choices[{i}]") for i, rule in enumerate(state["Choices"])]
    if "Catch" in state:
        out["Catch"] = [_catcher(catcher, f"{where}.Catch[{i}]") for i, catcher in enumerate(state["Catch"])]
    return out


def _catcher(catcher: dict[str, Any], where: str) -> dict[str, Any]:
    out = {key: value for key, value in catcher.items() if key != "ResultPath"}
    output = _put(INPUT, catcher.get("ResultPath", "$"), ERROR_OUTPUT, f"{where}.ResultPath")
    if output != INPUT:
        out["Output"] = _jsonata(output)
    if "Assign" in catcher:
        out["Assign"] = template(catcher["Assign"], ERROR_OUTPUT, f"{where}.Assign")
    return out


_COMPARISONS = {"Equals": "=", "LessThan": "<", "GreaterThan": ">", "LessThanEquals": "<=", "GreaterThanEquals": ">="}


def _choice_rule(rule: dict[str, Any], base: str, where: str) -> dict[str, Any]:
    out = {key: value for key, value in rule.items() if key in ("Next", "Comment")}
    out["Condition"] = _jsonata(_condition(rule, base, where))
    if "Assign" in rule:
        out["Assign"] = template(rule["Assign"], base, f"{where}.Assign")
    if "Output" in rule:
        raise TranslationError(f"{where}: Output in a JSONPath choice rule")
    return out


def _wildcard_regex(pattern: str) -> str:
    """StringMatches' pattern as a JSONata regex: "*" any characters, "\\*" and "\\\\" the characters
    themselves (https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html)."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            char, i = pattern[i + 1], i + 1
            out.append("\\" + char if char in r"\^$.|?*+()[]{}/" else char)
        elif char == "*":
            out.append(".*")
        else:
            out.append("\\" + char if char in r"\^$.|?*+()[]{}/" else char)
        i += 1
    return "/^" + "".join(out) + "$/"


def _condition(rule: dict[str, Any], base: str, where: str) -> str:
    if "And" in rule:
        return "(" + " and ".join(_condition(r, base, where) for r in rule["And"]) + ")"
    if "Or" in rule:
        return "(" + " or ".join(_condition(r, base, where) for r in rule["Or"]) + ")"
    if "Not" in rule:
        return f"$not({_condition(rule['Not'], base, where)})"
    variable = path(rule["Variable"], base, f"{where}.Variable")
    for key, operand in rule.items():
        if key in ("Variable", "Next", "Comment", "Assign"):
            continue
        against = path(operand, base, f"{where}.{key}") if key.endswith("Path") else None
        name = key[:-4] if key.endswith("Path") else key
        if name == "IsPresent":
            return f"$exists({variable})" if operand else f"$not($exists({variable}))"
        if name == "IsNull":
            return f"({variable} = null)" if operand else f"({variable} != null)"
        if name == "StringMatches":
            return f"($type({variable}) = 'string' ? $contains({variable}, {_wildcard_regex(operand)}) : false)"
        kinds = {"IsNumeric": "number", "IsString": "string", "IsBoolean": "boolean"}
        if name in kinds:
            return f"($type({variable}) {'=' if operand else '!='} '{kinds[name]}')"
        for prefix in ("String", "Numeric", "Boolean", "Timestamp"):
            if name.startswith(prefix) and name[len(prefix):] in _COMPARISONS:
                op = _COMPARISONS[name[len(prefix):]]
                right = against if against is not None else literal(operand)
                if prefix == "Timestamp":
                    return f"($toMillis({variable}) {op} $toMillis({right}))"
                return f"({variable} {op} {right})"
        raise TranslationError(f"{where}: no JSONata translation for the comparison {key}")
    raise TranslationError(f"{where}: a choice rule without a comparison")
