"""Bucket policies see ``aws:SecureTransport`` (and are evaluated as AWS evaluates them).

What moto lacks: ``FakeBucket.get_permission`` evaluates a bucket policy with no request
context, and moto's condition support knows ``StringEquals`` only, ignoring any other
operator. The standard TLS-only statement::

    {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [...],
     "Condition": {"Bool": {"aws:SecureTransport": "false"}}}

is therefore applied unconditionally: every object request is denied, over HTTPS too.

The patch decides with the project's one policy evaluator,
:func:`pipeline_tools.iam.evaluation.evaluate`, for the account's administrator (the emulator's
credentials) with ``aws:SecureTransport`` from the real request's scheme (recorded by the
server's WSGI middleware): an explicit Deny -> DENIED, an Allow of the bucket policy -> PERMITTED,
else NEUTRAL. So HTTPS passes the TLS-only Deny and plain HTTP is still denied. A condition key
the evaluator cannot evaluate is an error, never ignored.

With IAM enforcement on (:mod:`.iam_enforce`), moto's bucket-level pre-check steps aside
(NEUTRAL): the enforcement evaluates the bucket policy for the real caller, identity policies
included, and answers a denial in S3's words.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..request_context import secure_transport


def condition_holds(condition: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    """True if every operator/key of an IAM ``Condition`` block holds for ``context``, which the
    caller declares complete (a key it lacks is absent). Delegates to the project's evaluator."""
    from ...iam.evaluation import DEFAULT_REGISTRY
    from ...iam.evaluation.conditions import condition_holds as evaluate_condition

    keys = tuple(key for entries in condition.values() for key in entries)
    registry = DEFAULT_REGISTRY.extended(tuple(k for k in keys if ":" in k))
    return evaluate_condition(condition, {k.lower(): v for k, v in context.items()}, registry)


def request_context() -> dict[str, str]:
    secure = secure_transport()
    return {} if secure is None else {"aws:SecureTransport": "true" if secure else "false"}


def apply() -> None:
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    from ...iam.evaluation import Kind, Principal, Request, evaluate
    from ..authz import enforce

    def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
        if self.policy is None or enforce.enabled():
            return PermissionResult.NEUTRAL
        text = self.policy.decode() if isinstance(self.policy, bytes) else self.policy
        policy = enforce._parsed(f"bucket policy of {self.name}", text)
        request = Request(Principal.root(self.account_id), action, resource, request_context())
        decision = evaluate(request, [], policy)
        if decision.kind is Kind.EXPLICIT_DENY:
            return PermissionResult.DENIED
        return PermissionResult.PERMITTED if decision.allowed else PermissionResult.NEUTRAL

    FakeBucket.get_permission = get_permission
