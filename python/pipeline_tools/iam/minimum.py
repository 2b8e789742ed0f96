"""The documented minimum set (``pipeline_tools/data/iam_minimum.toml``), loaded and checked once."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources

from .model import Condition


@dataclass(frozen=True)
class Layout:
    """Where a stack's jobs read and write, as the stack declares it (``loader``: its state machine's
    processing outputs and training channels, its ``sfn-ml-pipeline:input*`` tags): the documented
    minimum's ``{output}`` and ``{channel}`` patterns stand for each of these names, and
    ``{input_bucket_arn}``, ``{input_prefix}``, ``{input_kms_key_arn}`` for your data's location."""

    outputs: tuple[str, ...] = ("train",)
    channels: tuple[str, ...] = ("train",)
    values: tuple[tuple[str, str], ...] = ()  # (placeholder, value)

    def expand(self, pattern: str) -> list[str]:
        for placeholder, value in self.values:
            pattern = pattern.replace(placeholder, value)
        patterns = [pattern]
        for placeholder, names in (("{output}", self.outputs), ("{channel}", self.channels)):
            patterns = [p.replace(placeholder, name) for p in patterns for name in names] if any(placeholder in p for p in patterns) else patterns
        return patterns


class Features(frozenset):
    """The optional parts of the documented minimum a stack has (``kms``, ``batch_transform``,
    ``generated_dataset``, ``own_input``, ...), with its :class:`Layout`."""

    layout: Layout

    def __new__(cls, names=(), layout: Layout | None = None):
        features = super().__new__(cls, names)
        features.layout = layout or Layout()
        return features


def _layout_of(features) -> Layout:
    return getattr(features, "layout", None) or Layout()


@dataclass(frozen=True)
class Entry:
    action: str
    resources: tuple[str, ...]
    conditions: tuple[Condition, ...]
    source: str  # URL
    why: str
    when: str | tuple[str, ...] | None  # a feature, or several that must all hold (when = ["quality_gate", "kms"])
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
    when: str | None = None  # a role only some stacks have (the Lambda's: generated_dataset; the model's: batch_transform)
    passed_as: str | None = None  # the parameter the state machine passes the role in (RoleArn, ExecutionRoleArn)

    def all_source_arns(self) -> tuple[str, ...]:
        """Every aws:SourceArn pattern the role's trust may name, whatever the features."""
        return self.trust_source_arns + tuple(p for _, patterns in self.trust_source_arns_when for p in patterns)

    def active(self, features: set[str]) -> list[Entry]:
        """Entries that apply to a stack with these features, one per action: an optional part's
        entry for an action the base set has already extends it (``Entry.extended_by``). Patterns
        naming the stack's layout (``{output}``, ``{channel}``, ``{input_*}``) are expanded."""
        merged: dict[str, Entry] = {}
        for entry in self.entries:
            if not _applies(entry.when, features):
                continue
            key = entry.action.lower()
            merged[key] = merged[key].extended_by(entry) if key in merged else entry
        layout = _layout_of(features)
        return [_expanded(entry, layout) for entry in merged.values()]

    def applies(self, features: set[str]) -> bool:
        """Whether a stack with these features must have this role."""
        return self.when is None or self.when in features

    def source_arns(self, features: set[str]) -> tuple[str, ...]:
        """The aws:SourceArn patterns of the trust policy for a stack with these features."""
        return self.trust_source_arns + tuple(p for feature, patterns in self.trust_source_arns_when if feature in features for p in patterns)


def _applies(when: str | tuple[str, ...] | None, features: set[str]) -> bool:
    """An entry's ``when``: none, a feature the stack has, or several it has all of."""
    if when is None:
        return True
    return all(name in features for name in ((when,) if isinstance(when, str) else when))


def _expanded(entry: Entry, layout: Layout) -> Entry:
    def unique(items):
        return tuple(dict.fromkeys(items))

    def expanded(conditions):
        return tuple(Condition(c.test, c.variable, unique(v for value in c.values for v in layout.expand(value))) for c in conditions)

    resources = unique(p for pattern in entry.resources for p in layout.expand(pattern))
    return replace(entry, resources=resources, conditions=expanded(entry.conditions), alternatives=tuple(expanded(a) for a in entry.alternatives))


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
                when=tuple(e["when"]) if isinstance(e.get("when"), list) else e.get("when"),
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
            when=body.get("when"),
            passed_as=body.get("passed_as"),
        )
    return roles


def service_to_purpose() -> dict[str, str]:
    """service principal -> the first role listed for it (see :func:`purpose_of` where two share one)."""
    out: dict[str, str] = {}
    for purpose, role in load_minimum().items():
        out.setdefault(role.service, purpose)
    return out


def purpose_of(services: set[str], source_arns: list[str], features: set[str] | None = None, passed_as: set[str] | None = None) -> str | None:
    """The documented role a trust policy describes: by the service it names and, where two roles
    that apply to the stack (``features``) name one service, the one the state machine passes it as
    (``passed_as``: the parameters its definition gives the role in, e.g. ExecutionRoleArn), else the
    first listed whose aws:SourceArn patterns cover every aws:SourceArn value of the trust, else the
    first listed."""
    from .matching import resource_covers

    candidates = [purpose for purpose, role in load_minimum().items() if role.service in services]
    if features is not None:
        candidates = [p for p in candidates if load_minimum()[p].applies(features)] or candidates[:1]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    by_use = [p for p in candidates if load_minimum()[p].passed_as in (passed_as or set())]
    if len(by_use) == 1:
        return by_use[0]
    if source_arns:
        for purpose in candidates:
            patterns = load_minimum()[purpose].all_source_arns()
            if patterns and all(any(resource_covers(p, value) for p in patterns) for value in source_arns):
                return purpose
    return candidates[0]
