"""What the evaluation engine raises instead of guessing."""

from __future__ import annotations


class EvaluationError(Exception):
    """A policy or request the engine cannot decide on; never read as allow or deny."""


class PolicyError(EvaluationError):
    """A malformed policy (unknown operator, bad value, a Principal in an identity policy...)."""


class UnsupportedConditionKey(EvaluationError):
    """A condition key that is neither global nor declared as evaluable for its service.

    Reading it as absent could allow what AWS denies (or the reverse), so evaluation stops.
    """

    def __init__(self, key: str, *, where: str = "", policy: str = "", statement: str = "") -> None:
        self.key = key
        self.where = where
        self.policy = policy
        self.statement = statement
        super().__init__(self._text())

    def located(self, policy: str, statement: str) -> "UnsupportedConditionKey":
        return UnsupportedConditionKey(self.key, where=self.where, policy=policy, statement=statement)

    def _text(self) -> str:
        place = f" in {self.policy} statement {self.statement}" if self.policy else ""
        via = f" ({self.where})" if self.where else ""
        return (
            f"condition key {self.key}{via}{place} cannot be evaluated: it is not a global key and not "
            "declared for its service in pipeline_tools.iam.evaluation.keys; declare it (and make the "
            "request resolver fill it) or drop the condition"
        )
