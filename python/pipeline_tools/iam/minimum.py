"""The documented minimum set (``pipeline_tools/data/iam_minimum.toml``), loaded and checked once."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources

from .model import Condition


@dataclass(frozen=True)
class Entry:
    action: str
    resources: tuple[str, ...]
    conditions: tuple[Condition, ...]
    source: str  # URL
    why: str
    when: str | None
    unused_reason: str | None = None  # why a run may never use it (verify-iam --observed, PTI016)
    # Other documented forms of the grant, each a full set of conditions (see extended_by); a
    # statement granting the action must carry one of ``condition_sets`` (PTI010).
    alternatives: tuple[tuple[Condition, ...], ...] = ()

    @property
    def condition_sets(self) -> tuple[tuple[Condition, ...], ...]:
        return (self.conditions, *self.alternatives)

    def extended_by(self, other: "Entry") -> "Entry":
        """This entry with another entry for the same action folded in: resources are united; the
        values of conditions on the same keys are united (e.g. more S3 prefixes for a stage), while an
        entry whose conditions name other keys is another form of the grant (e.g. a key used through
        S3, and the same key used through CloudWatch Logs for one log group): an alternative set."""
        resources = self.resources + tuple(r for r in other.resources if r not in self.resources)
        variables = {(c.test, c.variable) for c in self.conditions}
        if other.conditions and variables and {(c.test, c.variable) for c in other.conditions} != variables:
            return replace(
                self, resources=resources, alternatives=self.alternatives + (other.conditions,), why=f"{self.why} {other.why}".strip()
            )
        conditions = list(self.conditions)
        for extra in other.conditions:
            index = next((i for i, c in enumerate(conditions) if (c.test, c.variable) == (extra.test, extra.variable)), None)
            if index is None:
                conditions.append(extra)
            else:
                known = conditions[index]
                conditions[index] = Condition(known.test, known.variable, known.values + tuple(v for v in extra.values if v not in known.values))
        return replace(self, resources=resources, conditions=tuple(conditions), why=f"{self.why} {other.why}".strip())


@dataclass(frozen=True)
class RoleMinimum:
    purpose: str
    title: str
    service: str
    trust_conditions_any: tuple[str, ...]
    trust_source: str
    entries: tuple[Entry, ...]
    trust_source_arns: tuple[str, ...] = ()  # patterns every aws:SourceArn value must fall inside
    trust_conditions_unsent: tuple[str, ...] = ()  # keys the service does not send: a condition on them is a finding
    trust_source_arns_when: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (feature, more patterns)

    def active(self, features: set[str]) -> list[Entry]:
        """Entries that apply to a stack with these features, one per action: an optional part's
        entry for an action the base set has already extends it (``Entry.extended_by``)."""
        merged: dict[str, Entry] = {}
        for entry in self.entries:
            if entry.when is not None and entry.when not in features:
                continue
            key = entry.action.lower()
            merged[key] = merged[key].extended_by(entry) if key in merged else entry
        return list(merged.values())

    def source_arns(self, features: set[str]) -> tuple[str, ...]:
        """The aws:SourceArn patterns of the trust policy for a stack with these features."""
        return self.trust_source_arns + tuple(p for feature, patterns in self.trust_source_arns_when if feature in features for p in patterns)


@cache
def load_minimum() -> dict[str, RoleMinimum]:
    """purpose -> RoleMinimum. A broken data file is a packaging bug, so it fails loudly here."""
    data = tomllib.loads(resources.files("pipeline_tools").joinpath("data/iam_minimum.toml").read_text())
    sources: dict[str, str] = data["sources"]
    roles = {}
    for purpose, body in data["roles"].items():
        entries = tuple(
            Entry(
                action=e["action"],
                resources=tuple(e["resources"]),
                conditions=tuple(Condition(c["test"], c["variable"], tuple(c["values"])) for c in e.get("conditions", [])),
                source=sources.get(e["source"], e["source"]),
                why=e.get("why", ""),
                when=e.get("when"),
                unused_reason=e.get("unused_reason"),
            )
            for e in body["actions"]
        )
        roles[purpose] = RoleMinimum(
            purpose=purpose,
            title=body["title"],
            service=body["service"],
            trust_conditions_any=tuple(body.get("trust_conditions_any", [])),
            trust_source=sources.get(body.get("trust_source", ""), body.get("trust_source", "")),
            entries=entries,
            trust_source_arns=tuple(body.get("trust_source_arns", [])),
            trust_conditions_unsent=tuple(body.get("trust_conditions_unsent", [])),
            trust_source_arns_when=tuple((f, tuple(p)) for f, p in body.get("trust_source_arns_when", {}).items()),
        )
    return roles


def service_to_purpose() -> dict[str, str]:
    return {role.service: purpose for purpose, role in load_minimum().items()}
