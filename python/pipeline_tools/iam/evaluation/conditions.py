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
* ARN operators and the Resource element compare the colon-separated parts one by one, each with
  ``*``/``?`` wildcards, case-sensitively; "If the * wildcard is the last character of a resource
  ARN segment, it can expand to match beyond the colon boundaries" (so ``arn:aws:s3:*`` covers every
  S3 ARN), and "You can't use a wildcard in the service segment":
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
* Policy variables ``${key}``, ``${key, 'default'}``, ``${*}``, ``${?}``, ``${$}`` in Resource and in
  String/Arn condition values; a variable whose key is absent makes that value not match:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
"""

from __future__ import annotations

import base64
import ipaddress
import operator
import re
from datetime import datetime, timezone
from functools import lru_cache, partial
from typing import Any, Callable, Mapping

from .errors import PolicyError, UnsupportedConditionKey
from .keys import KeyRegistry

Context = Mapping[str, Any]  # lower-cased key -> str | list[str] | UNKNOWN


class _Unknown:
    """A key AWS puts in the request context whose value the caller of the engine does not know
    (e.g. ``aws:userid`` of a principal built without its unique ID): a condition on it is
    undecidable, like an undeclared key, never read as absent."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()

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
    if value is UNKNOWN:
        raise UnsupportedConditionKey(name, where=f"policy variable ${{{body}}}: its value is unknown for this request")
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
    body = pattern_body(pattern, context, wildcards=wildcards, registry=registry)
    if body is None:
        return None
    return re.compile("^" + body + "$", (re.IGNORECASE if ignore_case else 0) | re.DOTALL)


def pattern_body(
    pattern: str, context: Context, *, wildcards: bool, registry: KeyRegistry | None, star: str = ".*", one: str = "."
) -> str | None:
    """The regex body (no anchors) of a policy string; ``star``/``one`` are what ``*``/``?`` become."""
    parts: list[str] = []
    position = 0
    for match in _VARIABLE.finditer(pattern):
        parts.append(_glob_body(pattern[position : match.start()], wildcards, star, one))
        body = match.group(1).strip()
        if body in _SPECIAL:
            parts.append(re.escape(_SPECIAL[body]))
        else:
            value = _variable_value(body, context, registry)
            if value is None:
                return None
            parts.append(re.escape(value))
        position = match.end()
    parts.append(_glob_body(pattern[position:], wildcards, star, one))
    return "".join(parts)


def _glob_body(text: str, wildcards: bool, star: str = ".*", one: str = ".") -> str:
    if not wildcards:
        return re.escape(text)
    return "".join(star if ch == "*" else one if ch == "?" else re.escape(ch) for ch in text)


@lru_cache(maxsize=4096)
def _static_regex(pattern: str, wildcards: bool, ignore_case: bool) -> re.Pattern[str]:
    return re.compile("^" + _glob_body(pattern, wildcards) + "$", (re.IGNORECASE if ignore_case else 0) | re.DOTALL)


def glob_matches(pattern: str, value: str, *, ignore_case: bool) -> bool:
    return bool(_static_regex(pattern, True, ignore_case).match(value))


def arn_segments(text: str) -> list[str]:
    """An ARN's colon-separated parts, at most six (the sixth, the resource, keeps its colons);
    colons inside ``${...}`` policy variables do not split."""
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
    return parts


def _arn_pattern(pattern: str) -> list[str]:
    """A Resource (or Arn* condition value) checked as IAM accepts it: ``*`` or ``arn:`` with a
    service segment free of wildcards ("Resource vendor must be fully qualified and cannot contain
    regexes", IAM's MalformedPolicyDocument answer)."""
    segments = arn_segments(pattern)
    if segments[0] != "arn" or len(segments) < 3:
        raise PolicyError(f"{pattern!r} is neither * nor an ARN (arn:partition:service:region:account:resource)")
    if "*" in segments[2] or "?" in segments[2]:
        raise PolicyError(f"{pattern!r}: Resource vendor must be fully qualified and cannot contain regexes (a wildcard in the service segment)")
    return segments


def _segment_regex(segment: str, context: Context, registry: KeyRegistry | None, *, last: bool) -> str | None:
    """One pattern segment as a regex: within segments 1-5, ``*`` and ``?`` stay inside the
    segment (no colon), except a ``*`` that ends the segment, which "can expand to match beyond the
    colon boundaries"; in the resource segment (the sixth, or the last one given) they match anything."""
    if last:
        return pattern_body(segment, context, wildcards=True, registry=registry)
    ends_in_star = segment.endswith("*")  # (a literal ${*} ends in "}")
    body = pattern_body(segment[:-1] if ends_in_star else segment, context, wildcards=True, registry=registry, star="[^:]*", one="[^:]")
    if body is None:
        return None
    return body + (".*" if ends_in_star else "")


def arn_matches(pattern: str, arn: str, context: Context, registry: KeyRegistry | None = None) -> bool:
    """ARN comparison part by part (arn:partition:service:region:account:resource), with wildcards.

    A value that is not an ARN (e.g. the ``*`` resource of an action that supports no resource
    types) matches only the pattern ``*``. A pattern with fewer than six parts matches where its
    last ``*`` expands over the rest (``arn:aws:sagemaker:*``).
    """
    if pattern == "*":
        return True
    segments = _arn_pattern(pattern)
    if not arn.startswith("arn:"):
        return False
    bodies = []
    for i, segment in enumerate(segments):
        body = _segment_regex(segment, context, registry, last=i == len(segments) - 1)
        if body is None:
            return False
        bodies.append(body)
    return re.fullmatch(":".join(bodies), arn, re.DOTALL) is not None


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


def _numeric(compare: Callable[[float, float], bool], policy: str, actual: str, context: Context, registry: KeyRegistry) -> bool:
    try:
        have = float(actual)
    except ValueError:
        return False
    return compare(have, _number(policy, "numeric condition value"))


def parse_date(text: str) -> datetime:
    """ISO 8601 (with or without time/zone) or epoch seconds, as IAM's date operators accept."""
    text = str(text).strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return datetime.fromtimestamp(float(text), tz=timezone.utc)
    parsed = datetime.fromisoformat(text)  # Python >= 3.11 reads a trailing Z as UTC
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _date(compare: Callable[[datetime, datetime], bool], policy: str, actual: str, context: Context, registry: KeyRegistry) -> bool:
    try:
        wanted = parse_date(policy)
    except ValueError:
        raise PolicyError(f"date condition value {policy!r} is neither ISO 8601 nor epoch seconds") from None
    try:
        have = parse_date(actual)
    except ValueError:
        return False
    return compare(have, wanted)


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
    "NumericEquals": (partial(_numeric, operator.eq), False),
    "NumericNotEquals": (partial(_numeric, operator.eq), True),
    "NumericLessThan": (partial(_numeric, operator.lt), False),
    "NumericLessThanEquals": (partial(_numeric, operator.le), False),
    "NumericGreaterThan": (partial(_numeric, operator.gt), False),
    "NumericGreaterThanEquals": (partial(_numeric, operator.ge), False),
    "DateEquals": (partial(_date, operator.eq), False),
    "DateNotEquals": (partial(_date, operator.eq), True),
    "DateLessThan": (partial(_date, operator.lt), False),
    "DateLessThanEquals": (partial(_date, operator.le), False),
    "DateGreaterThan": (partial(_date, operator.gt), False),
    "DateGreaterThanEquals": (partial(_date, operator.ge), False),
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
    """Does a statement's whole ``Condition`` block hold for the request context?

    Every (operator, key) entry must hold (AND). An entry on a key the engine cannot evaluate (not
    declared, or UNKNOWN in this context) is undecided: the block is False if a decided entry is
    False (whatever the undecided one says), otherwise :class:`UnsupportedConditionKey` is raised
    for the first undecided entry (the block could go either way).
    """
    if not isinstance(block, Mapping):
        raise PolicyError(f"Condition must be an object, not {type(block).__name__}")
    undecided: UnsupportedConditionKey | None = None
    for raw_operator, entries in block.items():
        qualifier, base, if_exists = _parse_operator(raw_operator)
        if not isinstance(entries, Mapping):
            raise PolicyError(f"Condition operator {raw_operator!r} must map keys to values")
        for key, raw_values in entries.items():
            try:
                holds = _entry_holds(raw_operator, qualifier, base, if_exists, key, raw_values, context, registry)
            except UnsupportedConditionKey as error:
                undecided = undecided or error
                continue
            if not holds:
                return False
    if undecided is not None:
        raise undecided
    return True


def _entry_holds(
    raw_operator: str, qualifier: str | None, base: str, if_exists: bool, key: str, raw_values: Any, context: Context, registry: KeyRegistry
) -> bool:
    if not registry.supports(key):
        raise UnsupportedConditionKey(key, where=f"condition {raw_operator}")
    policy_values = as_strings(raw_values)
    actual = context.get(key.lower())
    if actual is UNKNOWN:
        raise UnsupportedConditionKey(key, where=f"condition {raw_operator}: its value is unknown for this request")
    present = actual is not None and actual != []
    if base == "Null":
        if len(policy_values) != 1 or policy_values[0].lower() not in ("true", "false"):
            raise PolicyError(f"Null condition on {key} takes true or false")
        return (not present) == (policy_values[0].lower() == "true")
    if qualifier == "ForAllValues":
        if not present:
            return True  # true for an absent or empty key
        values = actual if isinstance(actual, list) else [actual]
        return all(_one_value_matches(base, policy_values, v, context, registry) for v in values)
    if qualifier == "ForAnyValue":
        if not present:
            return if_exists
        values = actual if isinstance(actual, list) else [actual]
        return any(_one_value_matches(base, policy_values, v, context, registry) for v in values)
    if not present:
        return if_exists or OPERATORS[base][1]
    if isinstance(actual, list):
        raise PolicyError(f"{key} is multivalued in this request: use ForAnyValue:{raw_operator} or ForAllValues:{raw_operator}")
    return _one_value_matches(base, policy_values, actual, context, registry)
