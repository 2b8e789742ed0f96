"""Condition operators, wildcard and ARN matching, policy variables.

Semantics, each from AWS's IAM User Guide:

* Operators: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
  String*, Numeric*, Date*, Bool, BinaryEquals, IpAddress/NotIpAddress, Arn*, ``...IfExists``,
  ``Null``. "If the key that you specify in a policy condition is not present in the request
  context, the values do not match and the condition is false. If the policy condition requires
  that the key is not matched, such as StringNotLike or ArnNotLike, and the right key is not
  present, the condition is true. This logic applies to all condition operators except
  ...IfExists and Null check."
* Several operators in one block, and several keys under one operator: all must hold (AND);
  several values for one key: any may match (OR), except that for the negated operators the
  key must match none of them:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
* ``ForAllValues`` / ``ForAnyValue`` over multivalued keys; ``ForAllValues`` is true when the key
  is absent or empty, ``ForAnyValue`` false:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
* ARN operators and the Resource element compare the six colon-separated parts one by one, each
  with ``*``/``?`` wildcards, case-sensitively:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
* Policy variables ``${key}``, ``${key, 'default'}``, ``${*}``, ``${?}``, ``${$}`` in Resource and in
  String/Arn condition values; a variable whose key is absent makes that value not match:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
"""

from __future__ import annotations

import base64
import ipaddress
import re
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Callable, Mapping

from .errors import PolicyError, UnsupportedConditionKey
from .keys import KeyRegistry

Context = Mapping[str, Any]  # lower-cased key -> str | list[str]

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_SPECIAL = {"*": "*", "?": "?", "$": "$"}


def as_strings(value: Any) -> list[str]:
    """Policy values are a string, a number, a boolean or a list of them; compare as strings."""
    values = value if isinstance(value, list) else [value]
    out = []
    for v in values:
        if isinstance(v, bool):
            out.append("true" if v else "false")
        elif isinstance(v, (str, int, float)):
            out.append(str(v))
        else:
            raise PolicyError(f"condition value {v!r} is not a string, number or boolean")
    return out


def _variable_value(body: str, context: Context, registry: KeyRegistry | None) -> str | None:
    if body in _SPECIAL:
        return None  # handled by the caller (a literal character)
    name, _, default = body.partition(",")
    name = name.strip()
    if registry is not None and not registry.supports(name):
        raise UnsupportedConditionKey(name, where=f"policy variable ${{{body}}}")
    value = context.get(name.lower())
    if isinstance(value, list):
        raise PolicyError(f"policy variable ${{{name}}} refers to a multivalued key")
    if value is None:
        default = default.strip()
        if default.startswith("'") and default.endswith("'") and len(default) >= 2:
            return default[1:-1]
        return None
    return str(value)


def pattern_regex(
    pattern: str, context: Context, *, wildcards: bool, ignore_case: bool = False, registry: KeyRegistry | None = None
) -> re.Pattern[str] | None:
    """A regex for a policy string: ``*``/``?`` as wildcards (if allowed), ``${...}`` substituted.

    None when a policy variable's key is absent (the value then matches nothing).
    """
    if "${" not in pattern:
        return _static_regex(pattern, wildcards, ignore_case)
    parts: list[str] = []
    position = 0
    for match in _VARIABLE.finditer(pattern):
        parts.append(_glob_body(pattern[position : match.start()], wildcards))
        body = match.group(1).strip()
        if body in _SPECIAL:
            parts.append(re.escape(_SPECIAL[body]))
        else:
            value = _variable_value(body, context, registry)
            if value is None:
                return None
            parts.append(re.escape(value))
        position = match.end()
    parts.append(_glob_body(pattern[position:], wildcards))
    return re.compile("^" + "".join(parts) + "$", (re.IGNORECASE if ignore_case else 0) | re.DOTALL)


def _glob_body(text: str, wildcards: bool) -> str:
    if not wildcards:
        return re.escape(text)
    return "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in text)


@lru_cache(maxsize=4096)
def _static_regex(pattern: str, wildcards: bool, ignore_case: bool) -> re.Pattern[str]:
    return re.compile("^" + _glob_body(pattern, wildcards) + "$", (re.IGNORECASE if ignore_case else 0) | re.DOTALL)


def glob_matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return bool(_static_regex(pattern, True, ignore_case).match(value))


def split_arn(text: str) -> list[str] | None:
    """The six parts of an ARN (colons inside ``${...}`` policy variables do not split); None if not an ARN."""
    parts: list[str] = []
    start = depth = 0
    for i, ch in enumerate(text):
        if ch == "{" and text[i - 1 : i] == "$":
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
        elif ch == ":" and not depth and len(parts) < 5:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts if len(parts) == 6 and parts[0] == "arn" else None


def arn_matches(pattern: str, arn: str, context: Context, registry: KeyRegistry | None = None) -> bool:
    """ARN comparison part by part (arn:partition:service:region:account:resource), with wildcards.

    A value that is not an ARN (e.g. the ``*`` resource of an action that supports no resource
    types) matches only the pattern ``*``.
    """
    if pattern == "*":
        return True
    wanted = split_arn(pattern)
    if wanted is None:
        raise PolicyError(f"{pattern!r} is neither * nor an ARN (arn:partition:service:region:account:resource)")
    actual = split_arn(arn)
    if actual is None:
        return False
    for want, have in zip(wanted, actual):
        regex = pattern_regex(want, context, wildcards=True, registry=registry)
        if regex is None or not regex.match(have):
            return False
    return True


# ---- operators -------------------------------------------------------------------------------


def _string_equals(policy: str, actual: str, context: Context, registry: KeyRegistry) -> bool:
    regex = pattern_regex(policy, context, wildcards=False, registry=registry)
    return bool(regex and regex.match(actual))


def _string_equals_ignore_case(policy: str, actual: str, context: Context, registry: KeyRegistry) -> bool:
    regex = pattern_regex(policy, context, wildcards=False, ignore_case=True, registry=registry)
    return bool(regex and regex.match(actual))


def _string_like(policy: str, actual: str, context: Context, registry: KeyRegistry) -> bool:
    regex = pattern_regex(policy, context, wildcards=True, registry=registry)
    return bool(regex and regex.match(actual))


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise PolicyError(f"{what} {text!r} is not a number") from None


def _numeric(compare: Callable[[float, float], bool]) -> Callable[..., bool]:
    def match(policy: str, actual: str, context: Context, registry: KeyRegistry) -> bool:
        try:
            have = float(actual)
        except ValueError:
            return False
        return compare(have, _number(policy, "numeric condition value"))

    return match


def parse_date(text: str) -> datetime:
    """ISO 8601 (with or without time/zone) or epoch seconds, as IAM's date operators accept."""
    text = str(text).strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return datetime.fromtimestamp(float(text), tz=timezone.utc)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _date(compare: Callable[[datetime, datetime], bool]) -> Callable[..., bool]:
    def match(policy: str, actual: str, context: Context, registry: KeyRegistry) -> bool:
        try:
            wanted = parse_date(policy)
        except ValueError:
            raise PolicyError(f"date condition value {policy!r} is neither ISO 8601 nor epoch seconds") from None
        try:
            have = parse_date(actual)
        except ValueError:
            return False
        return compare(have, wanted)

    return match


def _bool(policy: str, actual: str, context: Context, registry: KeyRegistry) -> bool:
    if policy.lower() not in ("true", "false"):
        raise PolicyError(f"Bool condition value {policy!r} is neither true nor false")
    return str(actual).lower() == policy.lower()


def _binary(policy: str, actual: str, context: Context, registry: KeyRegistry) -> bool:
    try:
        return base64.b64decode(policy, validate=True) == base64.b64decode(actual)
    except ValueError:
        raise PolicyError(f"BinaryEquals value {policy!r} is not base64") from None


def _ip(policy: str, actual: str, context: Context, registry: KeyRegistry) -> bool:
    try:
        network = ipaddress.ip_network(policy, strict=False)
    except ValueError:
        raise PolicyError(f"IpAddress value {policy!r} is not an address or CIDR range") from None
    try:
        return ipaddress.ip_address(actual) in network
    except ValueError:
        return False


def _arn(policy: str, actual: str, context: Context, registry: KeyRegistry) -> bool:
    return arn_matches(policy, actual, context, registry)


# name -> (positive matcher, negated?)
OPERATORS: dict[str, tuple[Callable[..., bool], bool]] = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringEqualsIgnoreCase": (_string_equals_ignore_case, False),
    "StringNotEqualsIgnoreCase": (_string_equals_ignore_case, True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "NumericEquals": (_numeric(lambda a, b: a == b), False),
    "NumericNotEquals": (_numeric(lambda a, b: a == b), True),
    "NumericLessThan": (_numeric(lambda a, b: a < b), False),
    "NumericLessThanEquals": (_numeric(lambda a, b: a <= b), False),
    "NumericGreaterThan": (_numeric(lambda a, b: a > b), False),
    "NumericGreaterThanEquals": (_numeric(lambda a, b: a >= b), False),
    "DateEquals": (_date(lambda a, b: a == b), False),
    "DateNotEquals": (_date(lambda a, b: a == b), True),
    "DateLessThan": (_date(lambda a, b: a < b), False),
    "DateLessThanEquals": (_date(lambda a, b: a <= b), False),
    "DateGreaterThan": (_date(lambda a, b: a > b), False),
    "DateGreaterThanEquals": (_date(lambda a, b: a >= b), False),
    "Bool": (_bool, False),
    "BinaryEquals": (_binary, False),
    "IpAddress": (_ip, False),
    "NotIpAddress": (_ip, True),
    "ArnEquals": (_arn, False),
    "ArnLike": (_arn, False),
    "ArnNotEquals": (_arn, True),
    "ArnNotLike": (_arn, True),
}


def _parse_operator(raw: str) -> tuple[str | None, str, bool]:
    """``ForAnyValue:StringLikeIfExists`` -> ("ForAnyValue", "StringLike", True)."""
    qualifier = None
    name = raw
    if ":" in raw:
        qualifier, name = raw.split(":", 1)
        if qualifier not in ("ForAllValues", "ForAnyValue"):
            raise PolicyError(f"unknown set operator {qualifier!r} in {raw!r}")
    if_exists = name.endswith("IfExists") and name != "IfExists"
    base = name[: -len("IfExists")] if if_exists else name
    if base != "Null" and base not in OPERATORS:
        raise PolicyError(f"unknown condition operator {raw!r}")
    if base == "Null" and (qualifier or if_exists):
        raise PolicyError(f"{raw!r}: Null takes no set operator and no IfExists")
    return qualifier, base, if_exists


def _one_value_matches(base: str, policy_values: list[str], actual: str, context: Context, registry: KeyRegistry) -> bool:
    """Does one context value satisfy the operator? OR over policy values; NOR for negated ones."""
    matcher, negated = OPERATORS[base]
    hit = any(matcher(p, str(actual), context, registry) for p in policy_values)
    return not hit if negated else hit


def condition_holds(block: Mapping[str, Any], context: Context, registry: KeyRegistry) -> bool:
    """Does a statement's whole ``Condition`` block hold for the request context?"""
    if not isinstance(block, Mapping):
        raise PolicyError(f"Condition must be an object, not {type(block).__name__}")
    for raw_operator, entries in block.items():
        qualifier, base, if_exists = _parse_operator(raw_operator)
        if not isinstance(entries, Mapping):
            raise PolicyError(f"Condition operator {raw_operator!r} must map keys to values")
        for key, raw_values in entries.items():
            if not registry.supports(key):
                raise UnsupportedConditionKey(key, where=f"condition {raw_operator}")
            policy_values = as_strings(raw_values)
            actual = context.get(key.lower())
            present = actual is not None and actual != []
            if base == "Null":
                if len(policy_values) != 1 or policy_values[0].lower() not in ("true", "false"):
                    raise PolicyError(f"Null condition on {key} takes true or false")
                if (not present) != (policy_values[0].lower() == "true"):
                    return False
                continue
            if qualifier == "ForAllValues":
                if not present:
                    continue  # true for an absent or empty key
                values = actual if isinstance(actual, list) else [actual]
                if not all(_one_value_matches(base, policy_values, v, context, registry) for v in values):
                    return False
                continue
            if qualifier == "ForAnyValue":
                if not present:
                    if if_exists:
                        continue
                    return False
                values = actual if isinstance(actual, list) else [actual]
                if not any(_one_value_matches(base, policy_values, v, context, registry) for v in values):
                    return False
                continue
            if not present:
                if if_exists or OPERATORS[base][1]:
                    continue
                return False
            if isinstance(actual, list):
                raise PolicyError(
                    f"{key} is multivalued in this request: use ForAnyValue:{raw_operator} or ForAllValues:{raw_operator}"
                )
            if not _one_value_matches(base, policy_values, actual, context, registry):
                return False
    return True
