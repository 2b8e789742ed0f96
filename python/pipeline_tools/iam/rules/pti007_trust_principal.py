"""PTI007: a trust policy that lets in anything other than the role's one expected service."""

from __future__ import annotations

from . import Context, Rule, make

RULE = Rule(
    id="PTI007",
    name="trust-principal-unexpected",
    severity="high",
    inspects="trust policies (assume_role_policy)",
    description="Each role is assumed by exactly one service: states, sagemaker or lambda.amazonaws.com.",
)


def check(context: Context):
    services = {m.service for m in context.minimum.values()}
    for role in context.stack.roles:
        if role.trust is None:
            yield make(RULE, role, None, "the role has no readable trust policy", role.address)
            continue
        known = sorted(role.services & services)
        if not known:
            names = sorted({f"{k}:{i}" for s in role.trust.statements for k, i in s.principals})
            yield make(RULE, role, None, f"the trust policy names {names or 'no principal'}, none of {sorted(services)}", role.trust.source)
            continue
        expected = ("Service", context.minimum[role.purpose].service)
        for statement in role.trust.statements:
            if not statement.allows:
                continue
            others = [f"{kind}:{ident}" for kind, ident in statement.principals if (kind, ident) != expected]
            if others or not statement.principals:
                yield make(
                    RULE, role, statement,
                    f"the trust policy lets in {others or 'no named principal'} besides {expected[1]}",
                    role.trust.source,
                )
