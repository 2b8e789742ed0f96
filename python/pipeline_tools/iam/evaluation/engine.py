"""AWS's policy evaluation logic, within one account and across accounts.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
and https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html:

1. By default every request is denied (implicit deny).
2. An explicit ``Deny`` in any applicable policy (identity-based or resource-based) wins.
3. Otherwise an ``Allow`` in an identity-based policy (inline or attached) *or* in the
   resource-based policy allows the request: "If either the identity-based policy or the
   resource-based policy within the same account allows the request and the other doesn't, the
   request is still allowed."
4. A resource-based policy that names the *account* (``arn:aws:iam::ACCOUNT:root`` or the bare
   account ID) grants nothing by itself: it delegates to the account's identity-based policies
   (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-accounts).
5. Where the resource-based policy is *required* (a KMS key policy, a role's trust policy) an
   identity-based Allow counts only when that policy delegates to the account:
   "Unless the key policy explicitly allows it, you cannot use IAM policies to allow access to a
   KMS key. [...] (You can use an IAM policy to deny a permission to a KMS key without
   permission from a key policy.)" (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html);
   a role can be assumed only when its trust policy allows the caller
   (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html, "Trust policy").

6. A request for a resource of another account ("cross-account") needs both: "To allow
   cross-account access, you attach a resource-based policy to the resource that you want to
   share. You must also attach an identity-based policy to the identity that acts as the principal
   in the request" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).
   The resource policy may name the principal, or its account (which delegates to that account's
   identity policies, the same rule as 4); either way the identity-based Allow is required. An
   explicit Deny in either wins. The owner is :attr:`Request.resource_account`, else the ARN's
   account field; S3 ARNs carry none, so a caller that knows the bucket's owner must pass it
   (without it the request is taken as within the principal's account). Service principals
   (``states.amazonaws.com``) belong to no account: their requests follow the same-account rule.
7. A condition (or policy variable) the engine cannot evaluate (:mod:`.keys`) is undecided: the
   decision is worked out with the undecided statements applying and not applying; when both give
   the same answer (an unconditional Allow beside it, an explicit Deny that applies anyway, nothing
   that allows) that answer stands, with a note; only when the statement could change allowed into
   denied or back does :class:`UnsupportedConditionKey` stop the evaluation (fail closed, never a guess).

Not modelled (the emulated accounts have none of them): SCPs/RCPs, permissions boundaries, session
policies, VPC endpoint policies, grants, S3 ACLs and object ownership.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Iterable, Mapping

from .conditions import UNKNOWN, arn_matches, arn_segments, condition_holds, glob_matches
from .errors import PolicyError, UnsupportedConditionKey
from .keys import DEFAULT_REGISTRY, KeyRegistry

IDENTITY = "identity-based"
RESOURCE = "resource-based"
TRUST = "role trust"


# ---- principals ------------------------------------------------------------------------------


class PrincipalMatch(Enum):
    NONE = 0
    ACCOUNT = 1  # the statement names the principal's account: delegation to identity policies
    DIRECT = 2  # the statement names this principal (or "*")


@dataclass(frozen=True)
class Principal:
    """Who makes the request, as AWS identifies it.

    ``arn`` is what error messages and ``aws:PrincipalArn``-style checks see first: for a role
    session ``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``; ``role_arn`` is the role's IAM ARN
    (with its path), which a resource-based policy may name instead of the session.
    """

    arn: str
    account: str | None = None
    role_arn: str | None = None
    service: str | None = None
    user_id: str | None = None  # aws:userid (see full_context); None: unknown

    @classmethod
    def assumed_role(cls, role_arn: str, session: str, role_id: str | None = None) -> "Principal":
        """A role session; ``role_id`` is the role's unique ID (``AROA...``), which ``aws:userid``
        carries as ``ROLE-ID:SESSION``."""
        parts = role_arn.split(":", 5)
        if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
            raise ValueError(f"not a role ARN: {role_arn}")
        partition, account, name = parts[1], parts[4], parts[5].rsplit("/", 1)[-1]
        user_id = f"{role_id}:{session}" if role_id else None
        return cls(f"arn:{partition}:sts::{account}:assumed-role/{name}/{session}", account, role_arn, None, user_id)

    @classmethod
    def root(cls, account: str, partition: str = "aws") -> "Principal":
        return cls(f"arn:{partition}:iam::{account}:root", account, user_id=account)

    @classmethod
    def aws_service(cls, service: str) -> "Principal":
        return cls(service, None, None, service)

    @property
    def principal_type(self) -> str | None:
        """aws:PrincipalType (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principaltype).

        None for a service principal: services carry aws:PrincipalServiceName instead.
        """
        if self.service:
            return None
        if self.role_arn:
            return "AssumedRole"
        if self.arn.endswith(":root"):
            return "Account"
        return "User"

    def identifiers(self) -> set[str]:
        """The ARNs a statement may name to mean exactly this principal."""
        ids = {self.arn}
        if self.role_arn:
            ids.add(self.role_arn)
        return ids

    def match(self, element: Any) -> PrincipalMatch:
        """How a statement's Principal element covers this principal."""
        if element == "*":
            return PrincipalMatch.DIRECT
        if not isinstance(element, Mapping):
            raise PolicyError(f"Principal must be \"*\" or an object, not {element!r}")
        best = PrincipalMatch.NONE
        for kind, raw in element.items():
            values = raw if isinstance(raw, list) else [raw]
            for value in values:
                if not isinstance(value, str):
                    raise PolicyError(f"Principal {kind} value {value!r} is not a string")
                if kind == "AWS":
                    if value == "*":
                        return PrincipalMatch.DIRECT
                    if self.service:
                        continue
                    if value in self.identifiers():
                        return PrincipalMatch.DIRECT
                    if self.account and value in (self.account, f"arn:{self._partition()}:iam::{self.account}:root"):
                        # The root user itself is "directly" named by its own account.
                        best = PrincipalMatch.DIRECT if self.arn.endswith(":root") else PrincipalMatch.ACCOUNT
                elif kind == "Service":
                    if self.service and value == self.service:
                        return PrincipalMatch.DIRECT
                elif kind in ("Federated", "CanonicalUser"):
                    continue
                else:
                    raise PolicyError(f"unknown principal type {kind!r}")
        return best

    def _partition(self) -> str:
        parts = self.arn.split(":")
        return parts[1] if len(parts) > 1 and parts[0] == "arn" else "aws"


# ---- policies --------------------------------------------------------------------------------


def _as_list(value: Any, what: str) -> list[str]:
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        raise PolicyError(f"{what} must be a string or a list of strings")
    return values


@dataclass(frozen=True)
class _Statement:
    index: int
    sid: str | None
    allow: bool
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    principal: Any
    not_principal: Any
    condition: Mapping[str, Any] | None

    @property
    def label(self) -> str:
        return self.sid or f"#{self.index}"


def _parse_statement(index: int, raw: Any, policy_name: str) -> _Statement:
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{policy_name}: statement #{index} is not an object")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"{policy_name}: statement #{index} has Effect {effect!r} (Allow or Deny)")
    if ("Action" in raw) == ("NotAction" in raw):
        raise PolicyError(f"{policy_name}: statement #{index} needs exactly one of Action and NotAction")
    if "Resource" in raw and "NotResource" in raw:
        raise PolicyError(f"{policy_name}: statement #{index} has both Resource and NotResource")
    if "Principal" in raw and "NotPrincipal" in raw:
        raise PolicyError(f"{policy_name}: statement #{index} has both Principal and NotPrincipal")

    def strings(key: str) -> tuple[str, ...] | None:
        return tuple(_as_list(raw[key], f"{policy_name} #{index} {key}")) if key in raw else None

    return _Statement(
        index=index,
        sid=raw.get("Sid"),
        allow=effect == "Allow",
        actions=strings("Action"),
        not_actions=strings("NotAction"),
        resources=strings("Resource"),
        not_resources=strings("NotResource"),
        principal=raw.get("Principal"),
        not_principal=raw.get("NotPrincipal"),
        condition=raw.get("Condition"),
    )


@dataclass(frozen=True)
class Policy:
    """One policy document with the name decisions report (e.g. ``role/mlpipe-sfn inline sfn``)."""

    name: str
    document: Mapping[str, Any]
    statements: tuple[_Statement, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.document, str):
            object.__setattr__(self, "document", json.loads(self.document))
        if not isinstance(self.document, Mapping) or "Statement" not in self.document:
            raise PolicyError(f"{self.name}: a policy document needs a Statement")
        raw = self.document["Statement"]
        raw = raw if isinstance(raw, list) else [raw]
        object.__setattr__(self, "statements", tuple(_parse_statement(i, s, self.name) for i, s in enumerate(raw)))


# ---- requests and decisions ------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One authorization question: may ``principal`` perform ``action`` on ``resource``?

    ``context`` holds the request's condition keys (case-insensitive names; a value is a string,
    or a list of strings for a multivalued key). Keys describing the principal and the time are
    added as AWS always adds them, unless given.
    """

    principal: Principal
    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)
    resource_account: str | None = None  # the owner, where the ARN does not say (S3)

    @property
    def owner(self) -> str | None:
        """The account that owns the resource: ``resource_account``, else the ARN's account field."""
        if self.resource_account:
            return self.resource_account
        parts = arn_segments(self.resource)
        return parts[4] if len(parts) == 6 and parts[0] == "arn" and parts[4] else None

    @property
    def cross_account(self) -> bool:
        account = self.principal.account
        return bool(account and not self.principal.service and self.owner and self.owner != account)

    def full_context(self, now: datetime | None = None) -> dict[str, Any]:
        ctx: dict[str, Any] = {}
        p = self.principal
        if p.service:
            ctx["aws:principalservicename"] = p.service
            ctx["aws:principalisawsservice"] = "true"
        else:
            ctx["aws:principalarn"] = p.role_arn or p.arn
            ctx["aws:principaltype"] = p.principal_type or ""
            ctx["aws:principalisawsservice"] = "false"
            if p.account:
                ctx["aws:principalaccount"] = p.account
            if p.principal_type == "User":
                ctx["aws:username"] = p.arn.rsplit("/", 1)[-1]
            # aws:userid: "account ID" for the root user, the unique ID for an IAM user,
            # "role-id:caller-specified-role-name" for an assumed role
            # (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#principaltable).
            ctx["aws:userid"] = p.user_id or UNKNOWN
        # aws:ResourceAccount: "the resource owner's AWS account ID"
        # (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceaccount).
        ctx["aws:resourceaccount"] = self.owner or UNKNOWN
        moment = now or datetime.now(timezone.utc)
        ctx["aws:currenttime"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        ctx["aws:epochtime"] = str(int(moment.timestamp()))
        for key, value in self.context.items():
            ctx[key.lower()] = [str(v) for v in value] if isinstance(value, (list, tuple)) else _scalar(value)
        return ctx


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class StatementRef:
    policy: str
    statement: str  # Sid, or "#index"
    policy_type: str

    def __str__(self) -> str:
        return f"{self.policy} statement {self.statement}"


class Kind(str, Enum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


@dataclass(frozen=True)
class Decision:
    """The outcome, the statement that decided it, and AWS's words for a denial."""

    request: Request
    kind: Kind
    statement: StatementRef | None = None  # what allowed, or explicitly denied
    policy_type: str = IDENTITY  # the policy type a denial message names
    note: str = ""

    @property
    def allowed(self) -> bool:
        return self.kind is Kind.ALLOWED

    @property
    def denied(self) -> bool:
        return not self.allowed

    def message(self) -> str:
        """The denial as AWS words it.

        "Most access denied error messages appear in the format User user is not authorized to
        perform action on resource because context [...] When a policy explicitly denies access
        [...] AWS includes the phrase with an explicit deny in a type policy [...] When the policy
        implicitly denies access, then AWS includes the phrase because no type policy allows the
        action action": https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
        (examples there: "... with an explicit deny in an identity-based policy", "... with an
        explicit deny in a resource-based policy", "... with an explicit deny in the role trust
        policy", "... because no identity-based policy allows the codecommit:ListRepositories action").
        """
        if self.allowed:
            return ""
        r = self.request
        text = f"User: {r.principal.arn} is not authorized to perform: {r.action}"
        if r.resource and r.resource != "*":
            text += f" on resource: {r.resource}"
        if self.kind is Kind.EXPLICIT_DENY:
            if self.policy_type == TRUST:
                return f"{text} with an explicit deny in the role trust policy"
            article = "an" if self.policy_type[0] in "aeiou" else "a"
            return f"{text} with an explicit deny in {article} {self.policy_type} policy"
        return f"{text} because no {self.policy_type} policy allows the {r.action} action"

    def as_dict(self) -> dict[str, Any]:
        return {
            "principal": self.request.principal.arn,
            "action": self.request.action,
            "resource": self.request.resource,
            "decision": self.kind.value,
            "statement": str(self.statement) if self.statement else None,
            "policy_type": self.statement.policy_type if self.statement else (None if self.allowed else self.policy_type),
            "message": self.message() or None,
            "note": self.note or None,
        }


# ---- matching --------------------------------------------------------------------------------


def action_matches(pattern: str, action: str) -> bool:
    """Action names are case-insensitive, with ``*``/``?`` wildcards
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html)."""
    return pattern == "*" or glob_matches(pattern, action, ignore_case=True)


def _resource_covered(st: _Statement, request: Request, context: Mapping[str, Any], registry: KeyRegistry) -> bool:
    """Does the statement's Resource/NotResource cover the request's resource? A pattern whose
    policy variable cannot be evaluated is undecided: raised only when no other pattern decides."""
    patterns = st.resources if st.resources is not None else st.not_resources or ()
    undecided: UnsupportedConditionKey | None = None
    hit = False
    for pattern in patterns:
        try:
            if arn_matches(pattern, request.resource, context, registry):
                hit = True
                break
        except UnsupportedConditionKey as error:
            undecided = undecided or error
    if not hit and undecided is not None:
        raise undecided
    return hit if st.resources is not None else not hit


def _statement_applies(
    st: _Statement,
    request: Request,
    context: Mapping[str, Any],
    registry: KeyRegistry,
    policy: Policy,
    resource_based: bool,
) -> tuple[PrincipalMatch, UnsupportedConditionKey | None]:
    """(NONE if the statement does not apply, else how it matched the principal: DIRECT for identity
    policies; the undecided key when the statement applies only if that key's condition holds)."""
    if st.actions is not None:
        if not any(action_matches(a, request.action) for a in st.actions):
            return PrincipalMatch.NONE, None
    elif any(action_matches(a, request.action) for a in st.not_actions or ()):
        return PrincipalMatch.NONE, None

    if resource_based:
        if st.principal is not None:
            how = request.principal.match(st.principal)
        elif st.not_principal is not None:
            how = PrincipalMatch.NONE if request.principal.match(st.not_principal) is not PrincipalMatch.NONE else PrincipalMatch.DIRECT
        else:
            raise PolicyError(f"{policy.name}: statement {st.label} of a resource-based policy has no Principal")
        if how is PrincipalMatch.NONE:
            return how, None
    else:
        if st.principal is not None or st.not_principal is not None:
            raise PolicyError(f"{policy.name}: statement {st.label} of an identity-based policy has a Principal")
        how = PrincipalMatch.DIRECT

    undecided: UnsupportedConditionKey | None = None
    if st.resources is not None or st.not_resources is not None:
        try:
            if not _resource_covered(st, request, context, registry):
                return PrincipalMatch.NONE, None
        except UnsupportedConditionKey as error:
            undecided = error.located(policy.name, st.label)
        except PolicyError as error:
            raise PolicyError(f"{policy.name} statement {st.label}: {error}") from None
    elif not resource_based:
        raise PolicyError(f"{policy.name}: statement {st.label} has neither Resource nor NotResource")

    if st.condition:
        try:
            if not condition_holds(st.condition, context, registry):
                return PrincipalMatch.NONE, None
        except UnsupportedConditionKey as error:
            undecided = undecided or error.located(policy.name, st.label)
        except PolicyError as error:
            raise PolicyError(f"{policy.name} statement {st.label}: {error}") from None
    return how, undecided


@dataclass
class _Found:
    """The statements that apply, by what they do; ``maybe_*``: those that apply only if an
    undecided condition holds."""

    identity_allow: StatementRef | None = None
    resource_allow: StatementRef | None = None
    delegation: StatementRef | None = None
    maybe_identity_allow: StatementRef | None = None
    maybe_resource_allow: StatementRef | None = None
    maybe_delegation: StatementRef | None = None
    maybe_deny: StatementRef | None = None
    undecided: list[UnsupportedConditionKey] = field(default_factory=list)


def evaluate(
    request: Request,
    identity_policies: Iterable[Policy] = (),
    resource_policy: Policy | None = None,
    *,
    resource_policy_required: bool = False,
    resource_policy_type: str = RESOURCE,
    registry: KeyRegistry = DEFAULT_REGISTRY,
    now: datetime | None = None,
) -> Decision:
    """Decide one request.

    ``resource_policy_required``: True for a KMS key policy and for a role trust policy (the
    ``sts:AssumeRole`` question, with ``resource_policy_type=TRUST``): identity-based Allows then
    count only where that policy delegates to the account. Across accounts both the identity-based
    and the resource-based policy must allow, whatever this flag says.
    """
    context = request.full_context(now)
    found = _Found()

    for policy in identity_policies:
        for st in policy.statements:
            how, undecided = _statement_applies(st, request, context, registry, policy, resource_based=False)
            if how is PrincipalMatch.NONE:
                continue
            ref = StatementRef(policy.name, st.label, IDENTITY)
            if undecided is not None:
                found.undecided.append(undecided)
                if st.allow:
                    found.maybe_identity_allow = found.maybe_identity_allow or ref
                else:
                    found.maybe_deny = found.maybe_deny or ref
                continue
            if not st.allow:
                return Decision(request, Kind.EXPLICIT_DENY, ref, IDENTITY)
            found.identity_allow = found.identity_allow or ref

    if resource_policy is not None:
        for st in resource_policy.statements:
            how, undecided = _statement_applies(st, request, context, registry, resource_policy, resource_based=True)
            if how is PrincipalMatch.NONE:
                continue
            ref = StatementRef(resource_policy.name, st.label, resource_policy_type)
            if undecided is not None:
                found.undecided.append(undecided)
                if not st.allow:
                    found.maybe_deny = found.maybe_deny or ref
                elif how is PrincipalMatch.DIRECT:
                    found.maybe_resource_allow = found.maybe_resource_allow or ref
                else:
                    found.maybe_delegation = found.maybe_delegation or ref
                continue
            if not st.allow:
                # A Deny naming the account applies to every principal in it.
                return Decision(request, Kind.EXPLICIT_DENY, ref, resource_policy_type)
            if how is PrincipalMatch.DIRECT:
                found.resource_allow = found.resource_allow or ref
            else:
                found.delegation = found.delegation or ref

    decide = _Decider(request, resource_policy, resource_policy_required, resource_policy_type)
    certain = decide(found.identity_allow, found.resource_allow, found.delegation)
    if not found.undecided:
        return certain
    # The undecided statements at their most permissive: their Allows apply, their Denies do not.
    hopeful = decide(
        found.identity_allow or found.maybe_identity_allow,
        found.resource_allow or found.maybe_resource_allow,
        found.delegation or found.maybe_delegation,
    )
    # Allowed at best; denied at worst (an undecided Deny applying, or nothing decided allowing).
    if hopeful.allowed and (found.maybe_deny is not None or not certain.allowed):
        raise found.undecided[0]
    keys = ", ".join(sorted({e.key for e in found.undecided}))
    note = f"{certain.note + '; ' if certain.note else ''}undecided condition key(s) {keys} cannot change this decision"
    return Decision(request, certain.kind, certain.statement, certain.policy_type, note)


@dataclass(frozen=True)
class _Decider:
    request: Request
    resource_policy: Policy | None
    required: bool
    policy_type: str

    def __call__(self, identity_allow: StatementRef | None, resource_allow: StatementRef | None, delegation: StatementRef | None) -> Decision:
        request, resource_policy = self.request, self.resource_policy
        if request.cross_account:
            # Both must allow: the principal's identity-based policy in its account, then the
            # resource-based policy in the owner's account (naming the principal or its account).
            grant = resource_allow or delegation
            if identity_allow is None:
                note = "across accounts an identity-based policy must allow it" + (f" too ({grant} does)" if grant else "")
                return Decision(request, Kind.IMPLICIT_DENY, None, IDENTITY, note)
            if grant is None:
                where = f"no statement of {resource_policy.name} allows" if resource_policy else "no resource-based policy allows"
                note = f"account {request.owner} owns the resource and {where} account {request.principal.account}; {identity_allow} alone does not reach another account"
                return Decision(request, Kind.IMPLICIT_DENY, None, self.policy_type, note)
            return Decision(request, Kind.ALLOWED, identity_allow, note=f"cross-account: also allowed by {grant}")
        if resource_allow:
            return Decision(request, Kind.ALLOWED, resource_allow)
        if self.required:
            if delegation is None:
                note = f"no statement of {resource_policy.name} allows it or delegates to the account" if resource_policy else "no resource-based policy"
                if identity_allow:
                    note += f"; {identity_allow} has no effect without that"
                return Decision(request, Kind.IMPLICIT_DENY, None, self.policy_type, note)
            if identity_allow:
                return Decision(request, Kind.ALLOWED, identity_allow, note=f"delegated by {delegation}")
            return Decision(request, Kind.IMPLICIT_DENY, None, IDENTITY, f"{delegation} delegates to identity-based policies")
        if identity_allow:
            return Decision(request, Kind.ALLOWED, identity_allow)
        return Decision(request, Kind.IMPLICIT_DENY, None, IDENTITY)
