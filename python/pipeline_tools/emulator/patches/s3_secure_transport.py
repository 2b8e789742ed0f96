"""Bucket policies see ``aws:SecureTransport`` (and their conditions are evaluated as AWS does).

What moto lacks: ``FakeBucket.get_permission`` evaluates a bucket policy with no request
context, and moto's condition support knows ``StringEquals`` only, ignoring any other
operator. The standard TLS-only statement::

    {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [...],
     "Condition": {"Bool": {"aws:SecureTransport": "false"}}}

is therefore applied unconditionally: every object request is denied, over HTTPS too.

The patch evaluates each statement's ``Condition`` against a request context (today:
``aws:SecureTransport`` from the real request's scheme, recorded by the server's WSGI
middleware, and ``s3:x-amz-server-side-encryption`` where known). A statement whose
condition does not hold does not apply (AWS semantics); the rest goes to moto's own
statement logic. Operators: ``Bool``, ``String(Not)Equals(IgnoreCase)``, ``String(Not)Like``,
``ArnEquals/ArnLike`` (as strings), ``Null``, each with ``...IfExists``. A key absent from
the context makes a positive operator false and a negated one true, as in IAM. So HTTPS
passes the TLS-only Deny and plain HTTP is still denied.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from ..request_context import secure_transport


def _as_list(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in values]


def _match_one(operator: str, expected: list[str], actual: str) -> bool:
    if operator == "Bool":
        return actual.lower() in [e.lower() for e in expected]
    if operator in ("StringEquals", "ArnEquals"):
        return actual in expected
    if operator == "StringEqualsIgnoreCase":
        return actual.lower() in [e.lower() for e in expected]
    if operator in ("StringLike", "ArnLike"):
        return any(fnmatch.fnmatchcase(actual, e) for e in expected)
    raise KeyError(operator)


def condition_holds(condition: dict[str, Any], context: dict[str, str]) -> bool:
    """True if every operator/key of an IAM ``Condition`` block holds for ``context``."""
    for raw_operator, entries in condition.items():
        if_exists = raw_operator.endswith("IfExists")
        operator = raw_operator[: -len("IfExists")] if if_exists else raw_operator
        for key, value in entries.items():
            expected = _as_list(value)
            actual = next((v for k, v in context.items() if k.lower() == key.lower()), None)
            if operator == "Null":
                if (actual is None) != (expected[0].lower() == "true"):
                    return False
                continue
            negated = operator in ("StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike")
            positive = operator.replace("Not", "", 1) if negated else operator
            if actual is None:
                if if_exists or negated:
                    continue
                return False
            try:
                matched = _match_one(positive, expected, actual)
            except KeyError:
                continue  # an operator we do not model: ignore it, as moto always did
            if matched == negated:
                return False
    return True


def request_context() -> dict[str, str]:
    secure = secure_transport()
    return {} if secure is None else {"aws:SecureTransport": "true" if secure else "false"}


def apply() -> None:
    import json

    from moto.iam.access_control import IAMPolicyStatement, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = json.loads(self.policy.decode() if isinstance(self.policy, bytes) else self.policy)
        statements = policy.get("Statement", [])
        statements = statements if isinstance(statements, list) else [statements]
        context = request_context()
        permitted = False
        for statement in statements:
            if "Condition" in statement:
                if not condition_holds(statement["Condition"], context):
                    continue
                statement = {k: v for k, v in statement.items() if k != "Condition"}
            result = IAMPolicyStatement(statement).is_action_permitted(action, resource)
            if result == PermissionResult.DENIED:
                return result
            permitted = permitted or result == PermissionResult.PERMITTED
        return PermissionResult.PERMITTED if permitted else PermissionResult.NEUTRAL

    FakeBucket.get_permission = get_permission
