"""The documented minimum set (``pipeline_tools/data/iam_minimum.toml``), loaded and checked once."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
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

    def active(self, features: set[str]) -> list[Entry]:
        """Entries that apply to a stack with these features."""
        return [e for e in self.entries if e.when is None or e.when in features]


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
        )
    return roles


def service_to_purpose() -> dict[str, str]:
    return {role.service: purpose for purpose, role in load_minimum().items()}
