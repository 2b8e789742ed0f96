"""Each verify-iam rule on small hand-made inputs, as checkov's check tests do: one role, a tiny
documented minimum, one case that must be found and one that must not. (tests/test_verify_iam.py
keeps the full-stack mutants.)"""

from __future__ import annotations

import importlib

import pytest

from pipeline_tools.iam.minimum import Entry, RoleMinimum
from pipeline_tools.iam.model import Condition, Key, Policy, Role, Stack, Statement
from pipeline_tools.iam.rules import MODULES, Context

BUCKET = "{bucket_arn}"
PASSED = Condition("StringEquals", "iam:PassedToService", ("sagemaker.amazonaws.com",))
MINIMUM = {
    "jobs": RoleMinimum(
        purpose="jobs", title="jobs role", service="sagemaker.amazonaws.com",
        trust_conditions_any=("aws:SourceAccount",), trust_source="doc",
        trust_source_arns=("arn:{partition}:sagemaker:{region}:{account}:training-job/*",),
        entries=(
            Entry("s3:GetObject", (f"{BUCKET}/data/*",), (), "doc", "read data", None),
            Entry("s3:ListBucket", (BUCKET,), (Condition("StringLike", "s3:prefix", ("data/*",)),), "doc", "list data", None),
            Entry("iam:PassRole", ("{sagemaker_role_arn}",), (PASSED,), "doc", "pass", None),
        ),
    ),
    "fn": RoleMinimum(
        purpose="fn", title="function role", service="lambda.amazonaws.com", trust_conditions_any=(),
        trust_source="doc", trust_conditions_unsent=("aws:SourceAccount",), entries=(),
    ),
}
SOURCE_ACCOUNT = Condition("StringEquals", "aws:SourceAccount", ("{account}",))
JOB_ARN = Condition("ArnLike", "aws:SourceArn", ("arn:{partition}:sagemaker:{region}:{account}:training-job/*",))
GOOD_JOBS = [
    Statement(0, "Read", "Allow", actions=("s3:GetObject",), resources=(f"{BUCKET}/data/*",)),
    Statement(1, "List", "Allow", actions=("s3:ListBucket",), resources=(BUCKET,), conditions=(Condition("StringLike", "s3:prefix", ("data/*",)),)),
    Statement(2, "Pass", "Allow", actions=("iam:PassRole",), resources=("{sagemaker_role_arn}",), conditions=(PASSED,)),
]


def trust(service: str, *conditions: Condition) -> Policy:
    statement = Statement(0, None, "Allow", actions=("sts:AssumeRole",), principals=(("Service", service),), conditions=conditions)
    return Policy("aws_iam_role.r", "trust", (statement,))


def decision(action: str, resource: str, verdict: str = "allowed") -> dict:
    """One access.json decision as verify-iam --observed loads it."""
    return {"purpose": "jobs", "role": "arn:aws:iam::111122223333:role/jobs", "principal": "arn:aws:sts::111122223333:assumed-role/jobs/run",
            "action": action, "resource": resource, "decision": verdict, "execution": "run", "via": "sagemaker"}


GOOD_RUN = [
    decision("s3:GetObject", "arn:aws:s3:::bucket/data/raw.csv"),
    decision("s3:ListBucket", "arn:aws:s3:::bucket"),
    decision("iam:PassRole", "arn:aws:iam::111122223333:role/jobs"),
]


def stack(jobs: list[Statement] = GOOD_JOBS, jobs_trust: Policy | None = None, fn_trust: Policy | None = None, **extra) -> Stack:
    roles = [
        Role("aws_iam_role.jobs", jobs_trust or trust("sagemaker.amazonaws.com", SOURCE_ACCOUNT, JOB_ARN),
             [Policy("aws_iam_role_policy.jobs", "doc", tuple(jobs))], purpose="jobs"),
        Role("aws_iam_role.fn", fn_trust or trust("lambda.amazonaws.com"), [], purpose="fn"),
    ]
    for role in roles:
        role.unverifiable.extend(extra.get(f"{role.purpose}_unverifiable", []))
    return Stack("hand-made", roles, keys=extra.get("keys", []), observed=extra.get("observed", GOOD_RUN))


def findings(rule_id: str, subject: Stack) -> list[str]:
    module = importlib.import_module(f"pipeline_tools.iam.rules.{next(m for m in MODULES if m.startswith(rule_id.lower()))}")
    return [f.message for f in module.check(Context(subject, MINIMUM))]


def replace(index: int, **changes) -> list[Statement]:
    statements = list(GOOD_JOBS)
    statements[index] = Statement(**{**statements[index].__dict__, **changes})
    return statements


ROOT = (("AWS", "arn:{partition}:iam::{account}:root"),)
LOGS_KEY = Policy("aws_kms_key.k", "aws_kms_key.k", (
    Statement(0, "Logs", "Allow", actions=("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"),
              resources=("*",), principals=(("Service", "logs.{region}.{dns_suffix}"),),
              conditions=(Condition("ArnEquals", "kms:EncryptionContext:aws:logs:arn", ("arn:x",)),)),
    Statement(1, "Callers", "Allow", actions=("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"), resources=("*",), principals=ROOT,
              conditions=(Condition("StringEquals", "kms:ViaService", ("logs.{region}.{dns_suffix}",)),)),
    Statement(2, "Grants", "Allow", actions=("kms:CreateGrant",), resources=("*",), principals=ROOT,
              conditions=(Condition("Bool", "kms:GrantIsForAWSResource", ("true",)),)),
))


def key_with(*statements) -> list[Key]:
    return [Key("aws_kms_key.k", Policy("aws_kms_key.k", "aws_kms_key.k", statements), ["aws_cloudwatch_log_group.g"])]


CASES = {
    "PTI001": (stack(GOOD_JOBS + [Statement(3, "Extra", "Allow", actions=("s3:DeleteObject",), resources=(f"{BUCKET}/data/*",))]), "s3:DeleteObject"),
    "PTI002": (stack(GOOD_JOBS[:2]), "iam:PassRole is required"),
    "PTI003": (stack(replace(0, actions=("s3:Get*",))), "'s3:Get*' contains a wildcard"),
    "PTI004": (stack(replace(0, resources=("*",))), 's3:GetObject supports resource-level permissions but is granted on "*"'),
    "PTI005": (stack(replace(2, conditions=())), "iam:PassRole has no iam:PassedToService condition"),
    "PTI006": (stack(replace(0, not_resources=("x",))), "Allow with NotResource"),
    "PTI007": (stack(fn_trust=trust("ec2.amazonaws.com")), "ec2.amazonaws.com"),
    "PTI008": (stack(jobs_trust=trust("sagemaker.amazonaws.com")), "the trust policy has none of ['aws:SourceAccount']"),
    "PTI009": (stack(replace(0, resources=(f"{BUCKET}/*",))), "broader than the documented"),
    "PTI010": (stack(replace(1, conditions=())), "s3:ListBucket lacks the condition StringLike s3:prefix"),
    "PTI011": (stack(jobs_unverifiable=["aws_iam_role_policy_attachment.a: arn:aws:iam::aws:policy/AdministratorAccess"]), "AdministratorAccess"),
    "PTI012": (stack(jobs_trust=trust("sagemaker.amazonaws.com", SOURCE_ACCOUNT, Condition("ArnLike", "aws:SourceArn", ("arn:{partition}:sagemaker:{region}:{account}:*",)))), "broader than"),
    "PTI013": (stack(fn_trust=trust("lambda.amazonaws.com", SOURCE_ACCOUNT)), "requires aws:SourceAccount"),
    "PTI014": (stack(keys=key_with(*LOGS_KEY.statements[1:])), "no statement letting logs"),
    "PTI015": (stack(observed=GOOD_RUN + [decision("s3:GetObject", "arn:aws:s3:::bucket/secrets/key")]), "does not list it"),
    "PTI016": (stack(observed=GOOD_RUN[1:]), "s3:GetObject is granted but no given run used it"),
    "PTI017": (stack(observed=GOOD_RUN + [decision("s3:PutObject", "arn:aws:s3:::bucket/data/x", "implicit deny")]), "was denied"),
    "PTI018": (stack(keys=key_with(*LOGS_KEY.statements[:2], Statement(2, "Admin", "Allow", actions=("kms:Create*",), resources=("*",), principals=ROOT))),
               "call kms:CreateGrant without kms:GrantIsForAWSResource = true"),
}


@pytest.mark.parametrize(
    ("callers", "finds"),
    [
        ((), True),  # only CloudWatch Logs' service principal: the old form
        ((Condition("StringEquals", "kms:ViaService", ("s3.{region}.{dns_suffix}", "lambda.{region}.{dns_suffix}")),), True),
        ((Condition("StringEquals", "kms:ViaService", ("s3.{region}.{dns_suffix}", "logs.{region}.{dns_suffix}")),), False),
        (None, False),  # an unconditioned statement for the account (the default key policy's): IAM policies decide
    ],
)
def test_pti014_wants_the_accounts_principals_let_through_cloudwatch_logs(callers, finds):
    statements = [LOGS_KEY.statements[0]]
    if callers is None or callers:
        statements.append(Statement(1, "Use", "Allow", actions=("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"), resources=("*",),
                                    principals=ROOT, conditions=callers or ()))
    found = findings("PTI014", stack(keys=key_with(*statements)))
    assert bool(found) == finds, found
    assert all("through CloudWatch Logs" in f for f in found)


def test_every_rule_has_a_hand_made_case():
    assert sorted(CASES) == sorted(m.split("_")[0].upper() for m in MODULES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_the_rule_finds_its_case(rule_id):
    subject, expected = CASES[rule_id]
    found = findings(rule_id, subject)
    assert len(found) == 1 and expected in found[0], found


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_the_rule_is_quiet_on_the_good_stack(rule_id):
    assert findings(rule_id, stack(keys=[Key("aws_kms_key.k", LOGS_KEY, ["aws_cloudwatch_log_group.g"])])) == []


def test_an_optional_part_extends_the_base_entry_for_the_same_action():
    base = Entry("s3:ListBucket", (BUCKET,), (Condition("StringLike", "s3:prefix", ("data/*",)),), "doc", "list data", None)
    extra = Entry("s3:ListBucket", (BUCKET,), (Condition("StringLike", "s3:prefix", ("more/*",)),), "doc", "and more", "stage")
    role = RoleMinimum(purpose="r", title="t", service="s", trust_conditions_any=(), trust_source="doc", entries=(base, extra),
                       trust_source_arns=("a/*",), trust_source_arns_when=(("stage", ("b/*",)),))
    assert role.active(set()) == [base] and role.source_arns(set()) == ("a/*",)
    (merged,) = role.active({"stage"})
    assert merged.resources == (BUCKET,) and merged.conditions == (Condition("StringLike", "s3:prefix", ("data/*", "more/*")),)
    assert role.source_arns({"stage"}) == ("a/*", "b/*")


def test_an_entry_with_other_condition_keys_is_another_form_of_the_grant():
    """A KMS key through S3, and through CloudWatch Logs for one group: two forms (Entry.condition_sets),
    not one merged form that no single statement could carry."""
    via_s3 = (Condition("StringEquals", "kms:ViaService", ("s3.{region}.{dns_suffix}",)),)
    via_logs = (Condition("StringEquals", "kms:ViaService", ("logs.{region}.{dns_suffix}",)),
                Condition("StringEquals", "kms:EncryptionContext:aws:logs:arn", ("{lambda_log_group_arn}",)))
    base = Entry("kms:Decrypt", ("{kms_key_arn}",), via_s3, "doc", "s3", "kms")
    logs = Entry("kms:Decrypt", ("{kms_key_arn}",), via_logs, "doc", "logs", "kms")
    role = RoleMinimum(purpose="r", title="t", service="s", trust_conditions_any=(), trust_source="doc", entries=(base, logs))
    (merged,) = role.active({"kms"})
    assert merged.condition_sets == (via_s3, via_logs)
