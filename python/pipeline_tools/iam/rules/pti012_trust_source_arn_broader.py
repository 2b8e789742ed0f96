"""PTI012: a trust policy's ``aws:SourceArn`` admits more than the resources the documented minimum names.

E.g. ``arn:aws:sagemaker:REGION:ACCOUNT:*`` (any SageMaker resource) where only the pipeline's processing
and training jobs assume the role.
"""

from __future__ import annotations

from ..matching import resource_covers
from . import Context, Rule, make

RULE = Rule(
    id="PTI012",
    name="trust-source-arn-broader",
    severity="medium",
    inspects="aws:SourceArn values in Allow statements of trust policies",
    description="A service may assume the role only for the resources the minimum names (confused-deputy guidance).",
)


def check(context: Context):
    for role in context.stack.roles:
        minimum = context.role_minimum(role)
        patterns = minimum.source_arns(context.stack.features) if minimum is not None else ()
        if not patterns or role.trust is None:
            continue
        for statement in role.trust.statements:
            if not statement.allows:
                continue
            for condition in statement.conditions:
                if condition.variable.lower() != "aws:sourcearn":
                    continue
                for value in condition.values:
                    if not any(resource_covers(pattern, value) for pattern in patterns):
                        yield make(
                            RULE, role, statement,
                            f"aws:SourceArn admits {value}, broader than the documented {list(patterns)}; "
                            f"source: {minimum.trust_source}",
                            role.trust.source,
                        )
