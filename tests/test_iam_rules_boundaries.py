"""verify-iam's rules at their boundaries (issue 26): tests/test_iam_rules.py has one case per rule
that must be found and the good stack that must stay quiet; these take each rule just inside and
just outside what it accepts (PassRole on role/*, a trust condition that is not confused-deputy
protection, broader condition values, a partial CloudWatch Logs statement in a key policy, a trust
statement naming no principal...), with the words of each finding."""

from __future__ import annotations

import pytest

from pipeline_tools.iam.model import Condition, Key, Policy, Statement

from .test_iam_rules import GOOD_JOBS, LOGS_KEY, PASSED, SOURCE_ACCOUNT, JOB_ARN, findings, replace, stack, trust

ROLE_ARN = "{sagemaker_role_arn}"


@pytest.mark.parametrize(
    "resources, conditions, expected",
    [
        ((ROLE_ARN,), (PASSED,), []),
        (("arn:aws:iam::123456789012:role/*",), (PASSED,), ["iam:PassRole is granted on arn:aws:iam::123456789012:role/*"]),
        (("arn:aws:iam::123456789012:*",), (PASSED,), ["iam:PassRole is granted on arn:aws:iam::123456789012:*"]),
        (("*",), (), ["iam:PassRole is granted on * and has no iam:PassedToService condition"]),
        ((ROLE_ARN, "*"), (PASSED,), ["iam:PassRole is granted on *"]),
        (("arn:aws:iam::123456789012:role/jobs-*",), (PASSED,), []),  # a prefix names its roles: PTI009's to judge
        ((ROLE_ARN,), (Condition("StringEquals", "IAM:passedToService", ("sagemaker.amazonaws.com",)),), []),
        ((ROLE_ARN,), (Condition("StringEquals", "iam:AssociatedResourceArn", ("x",)),), ["iam:PassRole has no iam:PassedToService condition"]),
    ],
)
def test_pti005_passrole(resources, conditions, expected):
    subject = stack(replace(2, resources=resources, conditions=conditions))
    assert findings("PTI005", subject) == expected
    upper = stack(replace(2, actions=("IAM:PASSROLE",), resources=("*",), conditions=conditions))
    assert findings("PTI005", upper)[0].startswith("iam:PassRole is granted on *")


@pytest.mark.parametrize(
    "conditions, found",
    [
        ((SOURCE_ACCOUNT,), False),
        ((Condition("StringEquals", "AWS:SOURCEACCOUNT", ("{account}",)),), False),
        ((JOB_ARN,), True),  # the jobs minimum asks for aws:SourceAccount: aws:SourceArn alone is not it
        ((Condition("StringEquals", "sts:ExternalId", ("x",)),), True),  # a condition, but no confused-deputy protection
        ((Condition("StringEquals", "aws:PrincipalTag/team", ("ml",)),), True),
        ((), True),
    ],
)
def test_pti008_trust_needs_the_documented_source_key(conditions, found):
    result = findings("PTI008", stack(jobs_trust=trust("sagemaker.amazonaws.com", *conditions)))
    assert result == (["the trust policy has none of ['aws:SourceAccount']; source: doc"] if found else [])


def test_pti008_ignores_deny_statements_and_roles_whose_minimum_asks_for_no_key():
    deny = Statement(1, "No", "Deny", actions=("sts:AssumeRole",), principals=(("Service", "sagemaker.amazonaws.com"),))
    allow = trust("sagemaker.amazonaws.com", SOURCE_ACCOUNT).statements[0]
    assert findings("PTI008", stack(jobs_trust=Policy("aws_iam_role.r", "trust", (allow, deny)))) == []
    assert findings("PTI008", stack(fn_trust=trust("lambda.amazonaws.com"))) == []  # fn: trust_conditions_any empty


@pytest.mark.parametrize(
    "conditions, found",
    [
        ((Condition("StringLike", "s3:prefix", ("data/*",)),), False),
        ((Condition("stringlike", "S3:Prefix", ("data/*",)),), False),
        ((Condition("StringLike", "s3:prefix", ("data/*", "other/*")),), True),  # broader values
        ((Condition("StringLike", "s3:prefix", ("*",)),), True),
        ((Condition("StringEquals", "s3:prefix", ("data/*",)),), True),  # another operator
        ((Condition("StringLike", "s3:delimiter", ("data/*",)),), True),  # another key
        ((Condition("StringLike", "s3:prefix", ()),), True),  # no values
        ((Condition("StringLike", "s3:prefix", ("data/*",)), Condition("StringEquals", "s3:delimiter", ("/",))), False),  # more is fine
    ],
)
def test_pti010_conditions_must_be_as_narrow_as_documented(conditions, found):
    result = findings("PTI010", stack(replace(1, conditions=conditions)))
    assert result == (["s3:ListBucket lacks the condition StringLike s3:prefix in ['data/*']"] if found else [])


def test_pti010_leaves_passrole_to_pti005():
    assert findings("PTI010", stack(replace(2, conditions=()))) == []


def _key(*statements: Statement, groups=("aws_cloudwatch_log_group.g",)) -> Key:
    return Key("aws_kms_key.k", Policy("aws_kms_key.k", "aws_kms_key.k", statements), list(groups))


LOGS = LOGS_KEY.statements[0]


@pytest.mark.parametrize(
    "statement, found",
    [
        (LOGS, False),
        (Statement(**{**LOGS.__dict__, "actions": ("kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*", "kms:Describe*")}), True),  # no ReEncryptFrom
        (Statement(**{**LOGS.__dict__, "actions": ("kms:*",)}), False),
        (Statement(**{**LOGS.__dict__, "conditions": ()}), True),  # no encryption-context condition
        (Statement(**{**LOGS.__dict__, "conditions": (Condition("ArnLike", "kms:EncryptionContext:aws:s3:arn", ("x",)),)}), True),
        (Statement(**{**LOGS.__dict__, "principals": (("Service", "s3.amazonaws.com"),)}), True),
        (Statement(**{**LOGS.__dict__, "principals": (("AWS", "logs.amazonaws.com"),)}), True),
        (Statement(**{**LOGS.__dict__, "effect": "Deny"}), True),
    ],
)
def test_pti014_the_key_policy_must_let_cloudwatch_logs_use_the_key_for_its_groups(statement, found):
    result = findings("PTI014", stack(keys=[_key(statement, *LOGS_KEY.statements[1:])]))  # with the callers' and grants' statements
    assert len(result) == int(found), result
    if found:
        assert result[0].startswith("aws_kms_key.k encrypts aws_cloudwatch_log_group.g but its key policy has no statement letting logs.<region>.amazonaws.com")
        assert result[0].endswith("add the CloudWatch Logs statement of docs/kms-key-policy.md")


def test_pti014_a_key_without_a_policy_or_without_log_groups():
    (missing,) = findings("PTI014", stack(keys=[Key("aws_kms_key.k", None, ["aws_cloudwatch_log_group.a", "aws_cloudwatch_log_group.b"])]))
    assert missing.startswith("aws_kms_key.k encrypts aws_cloudwatch_log_group.a, aws_cloudwatch_log_group.b but has no key policy of its own")
    assert findings("PTI014", stack(keys=[_key(groups=())])) == [] and findings("PTI014", stack(keys=[Key("aws_kms_key.k", None, [])])) == []


def test_pti007_trust_principals():
    no_principal = Policy("aws_iam_role.r", "trust", (
        trust("lambda.amazonaws.com").statements[0],
        Statement(1, "Anyone", "Allow", actions=("sts:AssumeRole",)),
    ))
    assert findings("PTI007", stack(fn_trust=no_principal)) == ["the trust policy lets in no named principal besides lambda.amazonaws.com"]
    extra = Policy("aws_iam_role.r", "trust", (Statement(0, None, "Allow", actions=("sts:AssumeRole",),
                                                         principals=(("Service", "lambda.amazonaws.com"), ("AWS", "arn:aws:iam::1:root"))),))
    assert findings("PTI007", stack(fn_trust=extra)) == ["the trust policy lets in ['AWS:arn:aws:iam::1:root'] besides lambda.amazonaws.com"]
    denied_other = Policy("aws_iam_role.r", "trust", (trust("lambda.amazonaws.com").statements[0],
                                                      Statement(1, None, "Deny", actions=("sts:AssumeRole",), principals=(("AWS", "*"),))))
    assert findings("PTI007", stack(fn_trust=denied_other)) == []
    assert findings("PTI007", stack(fn_trust=Policy("aws_iam_role.r", "trust", ()))) == [
        "the trust policy names no principal, none of ['lambda.amazonaws.com', 'sagemaker.amazonaws.com']"]
    subject = stack()
    subject.roles[1].trust = None
    assert findings("PTI007", subject) == ["the role has no readable trust policy"]


def test_pti003_wildcards_in_actions_and_trust():
    assert findings("PTI003", stack(replace(0, actions=("s3:GetObjec?",)))) == ["action 's3:GetObjec?' contains a wildcard"]
    deny = Statement(3, "Never", "Deny", actions=("s3:*",), resources=("*",))
    assert findings("PTI003", stack(GOOD_JOBS + [deny])) == []
    wild_trust = Policy("aws_iam_role.r", "trust", (Statement(0, None, "Allow", actions=("sts:*",), principals=(("Service", "lambda.amazonaws.com"),)),))
    assert findings("PTI003", stack(fn_trust=wild_trust)) == ["action 'sts:*' contains a wildcard"]


def test_pti004_star_only_where_the_action_has_no_resource_type():
    assert findings("PTI004", stack(GOOD_JOBS + [Statement(3, "Trace", "Allow", actions=("xray:PutTraceSegments",), resources=("*",))])) == []
    assert findings("PTI004", stack(replace(2, resources=("*",)))) == []  # PassRole is PTI005's
    assert findings("PTI004", stack(replace(0, resources=("arn:aws:s3:::b/*",)))) == []


def test_pti006_not_action_and_not_resource_only_in_allows():
    assert findings("PTI006", stack(replace(0, actions=(), not_actions=("iam:*",)))) == ["Allow with NotAction ['iam:*']"]
    deny = Statement(3, "Guard", "Deny", not_actions=("s3:*",), not_resources=("x",))
    assert findings("PTI006", stack(GOOD_JOBS + [deny])) == []


def test_pti009_resources_within_the_documented_patterns():
    assert findings("PTI009", stack(replace(0, resources=("{bucket_arn}/data/sub/*",)))) == []
    assert findings("PTI009", stack(replace(0, resources=("{bucket_arn}/dat*",)))) == [
        "s3:GetObject is granted on {bucket_arn}/dat*, broader than the documented ['{bucket_arn}/data/*']"]
    assert findings("PTI009", stack(replace(0, resources=("*",)))) == []  # "*" on a scopable action is PTI004's


def test_pti012_and_pti013_trust_conditions():
    inside = Condition("ArnLike", "aws:SourceArn", ("arn:{partition}:sagemaker:{region}:{account}:training-job/run-*",))
    assert findings("PTI012", stack(jobs_trust=trust("sagemaker.amazonaws.com", SOURCE_ACCOUNT, inside))) == []
    both = Condition("ArnLike", "aws:SourceArn", ("arn:{partition}:sagemaker:{region}:{account}:training-job/*", "arn:{partition}:sagemaker:{region}:{account}:model/*"))
    (broader,) = findings("PTI012", stack(jobs_trust=trust("sagemaker.amazonaws.com", SOURCE_ACCOUNT, both)))
    assert broader.startswith("aws:SourceArn admits arn:{partition}:sagemaker:{region}:{account}:model/*, broader than the documented")
    assert findings("PTI013", stack(fn_trust=trust("lambda.amazonaws.com", Condition("StringEqualsIfExists", "aws:SourceAccount", ("{account}",))))) == []
    assert findings("PTI013", stack(fn_trust=trust("lambda.amazonaws.com", Condition("StringEquals", "aws:SourceArn", ("x",))))) == []


def test_pti001_and_pti002_actions():
    assert findings("PTI001", stack(replace(0, actions=("S3:GETOBJECT",)))) == []  # action names are case-insensitive
    assert findings("PTI001", stack(replace(0, actions=("s3:Get*",)))) == []  # a wildcard is PTI003's
    (uncovered,) = findings("PTI002", stack(replace(0, resources=("{bucket_arn}/other/*",))))
    assert uncovered == "s3:GetObject is not granted on {bucket_arn}/data/* (required: read data); source: doc"
    subject = stack()
    del subject.roles[1]
    assert findings("PTI002", subject) == ["no role trusts lambda.amazonaws.com: the function role is missing"]


# ---- what a finding carries, and the rules over what runs used (--observed) -------------------------

import importlib  # noqa: E402

from pipeline_tools.iam.rules import MODULES, Context, make, run_rules  # noqa: E402

from .test_iam_rules import CASES, GOOD_RUN, MINIMUM, decision  # noqa: E402


def _full(rule_id: str, subject):
    module = importlib.import_module(f"pipeline_tools.iam.rules.{next(m for m in MODULES if m.startswith(rule_id.lower()))}")
    return module, list(module.check(Context(subject, MINIMUM)))


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_each_finding_names_its_rule_role_statement_and_source(rule_id):
    module, (finding,) = _full(rule_id, CASES[rule_id][0])
    assert (finding.rule_id, finding.rule_name, finding.severity) == (module.RULE.id, module.RULE.name, module.RULE.severity)
    assert finding.role in ("jobs", "fn", "aws_kms_key.k"), finding
    labels = {"PTI001": "Extra", "PTI003": "Read", "PTI004": "Read", "PTI005": "Pass", "PTI006": "Read", "PTI008": "#0", "PTI009": "Read",
              "PTI010": "List", "PTI012": "#0", "PTI013": "#0", "PTI016": "Read", "PTI018": "Admin"}
    assert finding.statement == labels.get(rule_id, "-"), finding
    expected_source = {"PTI001": "aws_iam_role_policy.jobs", "PTI003": "aws_iam_role_policy.jobs", "PTI004": "aws_iam_role_policy.jobs",
                       "PTI005": "aws_iam_role_policy.jobs", "PTI006": "aws_iam_role_policy.jobs", "PTI007": "aws_iam_role.r", "PTI008": "aws_iam_role.r",
                       "PTI009": "aws_iam_role_policy.jobs", "PTI010": "aws_iam_role_policy.jobs", "PTI012": "aws_iam_role.r", "PTI013": "aws_iam_role.r",
                       "PTI014": "aws_kms_key.k"}
    if rule_id in expected_source:
        assert finding.source == expected_source[rule_id], finding


def test_statement_labels_in_findings():
    (pti006,) = _full("PTI006", stack(replace(0, not_resources=("x",))))[1]
    assert pti006.statement == "Read"
    (no_action,) = _full("PTI006", stack(replace(0, actions=(), not_actions=("iam:*",))))[1]
    assert (no_action.statement, no_action.source) == ("Read", "aws_iam_role_policy.jobs")
    anyone = Policy("aws_iam_role.r", "trust", (trust("lambda.amazonaws.com").statements[0], Statement(1, "Anyone", "Allow", actions=("sts:AssumeRole",))))
    (trust_none,) = _full("PTI007", stack(fn_trust=anyone))[1]
    assert trust_none.statement == "Anyone" and trust_none.source == "aws_iam_role.r"
    subject = stack()
    subject.roles[1].trust = None
    (unreadable,) = _full("PTI007", subject)[1]
    assert (unreadable.statement, unreadable.source, unreadable.role) == ("-", "aws_iam_role.fn", "fn")
    (none_named,) = _full("PTI007", stack(fn_trust=Policy("trust-src", "trust", ())))[1]
    assert none_named.source == "trust-src" and none_named.statement == "-"
    (unused,) = _full("PTI016", stack(observed=GOOD_RUN[1:]))[1]
    assert unused.statement == "Read" and unused.role == "jobs"


def test_make_and_run_rules():
    from pipeline_tools.iam.model import Role

    role = Role("aws_iam_role.x", None, purpose=None)
    finding = make(CASES and importlib.import_module("pipeline_tools.iam.rules.pti001_action_outside_minimum").RULE, role, "S1", "m")
    assert (finding.role, finding.statement, finding.message, finding.source) == ("aws_iam_role.x", "S1", "m", "")
    assert make(importlib.import_module("pipeline_tools.iam.rules.pti001_action_outside_minimum").RULE, "jobs", None, "m", "src").statement == "-"
    from pipeline_tools.iam.model import Stack

    found = run_rules(Stack("empty", []))  # the documented minimum's roles, all missing
    assert found and all(f.rule_id == "PTI002" and f.message.startswith("no role trusts ") for f in found)
    assert [f.role for f in found] == sorted(f.role for f in found)


def test_pti015_uses_that_the_minimum_does_not_list():
    base = GOOD_RUN + [decision("s3:GetObject", "arn:aws:s3:::bucket/secrets/key")]
    (found,) = findings("PTI015", stack(observed=base + [decision("s3:GetObject", "arn:aws:s3:::bucket/secrets/key")]))  # reported once
    assert found == "s3:GetObject on arn:aws:s3:::bucket/secrets/key was used (run run, sagemaker) but the documented minimum does not list it for this role"
    service = {**decision("sts:AssumeRole", "arn:aws:iam::111122223333:role/jobs"), "principal": "sagemaker.amazonaws.com"}
    assert findings("PTI015", stack(observed=GOOD_RUN + [service])) == []  # the service assuming the role: not a grant
    no_principal = {k: v for k, v in decision("s3:PutObject", "arn:aws:s3:::bucket/x").items() if k != "principal"}
    assert findings("PTI015", stack(observed=GOOD_RUN + [no_principal])) == []
    denied = decision("s3:PutObject", "arn:aws:s3:::bucket/x", "implicit deny")
    assert findings("PTI015", stack(observed=GOOD_RUN + [denied])) == []  # PTI017's
    other = {**decision("s3:PutObject", "arn:aws:s3:::bucket/x"), "purpose": "unknown"}
    assert findings("PTI015", stack(observed=GOOD_RUN + [other])) == []
    later = [decision("s3:PutObject", "arn:aws:s3:::bucket/a"), decision("s3:DeleteObject", "arn:aws:s3:::bucket/b")]
    assert len(findings("PTI015", stack(observed=GOOD_RUN + later))) == 2  # the first finding does not end the scan
    assert findings("PTI015", stack(observed=None)) == [] if stack(observed=None).observed is None else True


def test_pti016_grants_no_run_used():
    assert findings("PTI016", stack(observed=[dict(d, action=d["action"].upper()) for d in GOOD_RUN])) == []  # case-insensitive
    assert findings("PTI016", stack(observed=[{**d, "decision": "implicit deny"} for d in GOOD_RUN])) == [
        "s3:GetObject is granted but no given run used it, and the documented minimum gives no unused_reason for it",
        "s3:ListBucket is granted but no given run used it, and the documented minimum gives no unused_reason for it",
        "iam:PassRole is granted but no given run used it, and the documented minimum gives no unused_reason for it",
    ]
    twice = GOOD_JOBS + [Statement(3, "Again", "Allow", actions=("s3:GetObject",), resources=("{bucket_arn}/data/*",))]
    assert len(findings("PTI016", stack(twice, observed=GOOD_RUN[1:]))) == 1  # one finding per action
    without_purpose = [{k: v for k, v in d.items() if k != "purpose"} for d in GOOD_RUN]
    assert len(findings("PTI016", stack(observed=without_purpose))) == 3
    from pipeline_tools.iam.minimum import Entry, RoleMinimum

    reasoned = dict(MINIMUM)
    jobs = MINIMUM["jobs"]
    reasoned["jobs"] = RoleMinimum(**{**jobs.__dict__, "entries": (Entry("s3:GetObject", ("{bucket_arn}/data/*",), (), "doc", "read", None, "only on retry"),) + jobs.entries[1:]})
    assert list(importlib.import_module("pipeline_tools.iam.rules.pti016_granted_never_used").check(Context(stack(observed=GOOD_RUN[1:]), reasoned))) == []
    assert findings("PTI016", stack(replace(0, actions=("s3:GetObject", "s3:GetObjectVersion")), observed=GOOD_RUN)) == [
        "s3:GetObjectVersion is granted but no given run used it, and the documented minimum gives no unused_reason for it"]


def test_pti017_each_denial_once_with_its_words():
    denied = {**decision("s3:PutObject", "arn:aws:s3:::bucket/data/x", "implicit deny"), "message": "User: x is not authorized: "}
    found = findings("PTI017", stack(observed=GOOD_RUN + [denied, dict(denied)]))
    assert found == ["s3:PutObject on arn:aws:s3:::bucket/data/x was denied (implicit deny) in run run: User: x is not authorized"]
    (finding,) = _full("PTI017", stack(observed=[denied]))[1]
    assert finding.role == "jobs" and finding.statement == "-"
    role_only = {k: v for k, v in denied.items() if k not in ("purpose", "message")}
    (by_role,) = _full("PTI017", stack(observed=[role_only]))[1]
    assert by_role.role == "arn:aws:iam::111122223333:role/jobs" and by_role.message.endswith("in run run")
    anonymous = {k: v for k, v in role_only.items() if k != "role"}
    assert _full("PTI017", stack(observed=[anonymous]))[1][0].role == "-"
    two_roles = [denied, {**denied, "role": "arn:aws:iam::111122223333:role/other"}]
    assert len(findings("PTI017", stack(observed=two_roles))) == 2
    assert len(findings("PTI017", stack(observed=[denied, {**denied, "decision": "explicit deny"}]))) == 2


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_a_role_the_minimum_does_not_know_does_not_stop_the_rule(rule_id):
    """Roles are checked one after another: an unrelated role first (no purpose, its own trust and
    policies) must not end the scan before the role with the finding."""
    from pipeline_tools.iam.model import Role

    subject, expected = CASES[rule_id]
    stranger = Role("aws_iam_role.stranger", trust("ecs-tasks.amazonaws.com"), [], purpose=None)
    unknown = Role("aws_iam_role.unknown", None, [], purpose="unknown")
    if rule_id in ("PTI007",):
        subject.roles.insert(0, Role("aws_iam_role.ok", trust("lambda.amazonaws.com"), [], purpose="fn"))
    else:
        subject.roles.insert(0, stranger)
        subject.roles.insert(1, unknown)
    try:
        found = findings(rule_id, subject)
    finally:
        del subject.roles[0 : 1 if rule_id == "PTI007" else 2]
    assert any(expected in f for f in found), found


def test_entries_a_feature_switches_on():
    from pipeline_tools.iam.minimum import Entry, RoleMinimum
    from pipeline_tools.iam.model import Stack

    jobs = MINIMUM["jobs"]
    gated = dict(MINIMUM)
    gated["jobs"] = RoleMinimum(**{**jobs.__dict__, "entries": jobs.entries + (Entry("kms:Decrypt", ("{kms_key_arn}",), (), "doc", "decrypt", "kms"),)})
    key_grant = Statement(3, "Key", "Allow", actions=("kms:Decrypt",), resources=("{kms_key_arn}",))

    def run(rule_id, statements, features):
        module = importlib.import_module(f"pipeline_tools.iam.rules.{next(m for m in MODULES if m.startswith(rule_id.lower()))}")
        subject = stack(statements)
        subject.features = features
        return [f.message for f in module.check(Context(subject, gated))]

    assert run("PTI001", GOOD_JOBS + [key_grant], {"kms"}) == []
    assert run("PTI001", GOOD_JOBS + [key_grant], set()) == ["kms:Decrypt is granted but is not in the documented minimum for the jobs role"]
    assert run("PTI002", GOOD_JOBS, {"kms"}) == ["kms:Decrypt is required (decrypt) but not granted; source: doc"]
    assert run("PTI002", GOOD_JOBS, set()) == []
    assert run("PTI009", GOOD_JOBS + [Statement(3, "Key", "Allow", actions=("kms:Decrypt",), resources=("arn:aws:kms:*",))], {"kms"}) == [
        "kms:Decrypt is granted on arn:aws:kms:*, broader than the documented ['{kms_key_arn}']"]
    assert run("PTI016", GOOD_JOBS + [key_grant], {"kms"}) == [
        "kms:Decrypt is granted but no given run used it, and the documented minimum gives no unused_reason for it"]
    assert run("PTI010", GOOD_JOBS + [key_grant], {"kms"}) == []
    assert Stack("s", []).features == set()


# ---- which documented role a trust policy describes (minimum.purpose_of, on the real minimum) -------

SAGEMAKER = {"sagemaker.amazonaws.com"}
JOB_SOURCE = "arn:{partition}:sagemaker:{region}:{account}:training-job/run-1"
MODEL_SOURCE = "arn:{partition}:sagemaker:{region}:{account}:model/m"


@pytest.mark.parametrize(
    "services, source_arns, features, passed_as, expected",
    [
        ({"states.amazonaws.com"}, [], None, None, "state_machine"),
        ({"ec2.amazonaws.com"}, [], None, None, None),
        ({"ec2.amazonaws.com"}, [], set(), None, None),
        ({"lambda.amazonaws.com"}, [], set(), None, "lambda"),  # not a part of this stack, but the only role for the service
        (SAGEMAKER, [MODEL_SOURCE], set(), {"ExecutionRoleArn"}, "sagemaker"),  # no batch transform: the model's role is not a candidate
        (SAGEMAKER, [], {"batch_transform"}, {"ExecutionRoleArn"}, "sagemaker_model"),
        (SAGEMAKER, [MODEL_SOURCE], {"batch_transform"}, {"RoleArn"}, "sagemaker"),  # how it is passed wins over aws:SourceArn
        (SAGEMAKER, [MODEL_SOURCE], {"batch_transform"}, {"RoleArn", "ExecutionRoleArn"}, "sagemaker_model"),  # both: by aws:SourceArn
        (SAGEMAKER, [MODEL_SOURCE], None, None, "sagemaker_model"),
        (SAGEMAKER, [JOB_SOURCE], {"batch_transform"}, None, "sagemaker"),
        (SAGEMAKER, [JOB_SOURCE, MODEL_SOURCE], {"batch_transform"}, None, "sagemaker_model"),  # every value must be covered
        (SAGEMAKER, ["arn:aws:s3:::elsewhere"], {"batch_transform"}, None, "sagemaker"),  # covered by none: the first listed
        (SAGEMAKER, [], {"batch_transform"}, set(), "sagemaker"),
        ({"sagemaker.amazonaws.com", "states.amazonaws.com"}, [], set(), None, "state_machine"),
    ],
)
def test_purpose_of_a_trust_policy(services, source_arns, features, passed_as, expected):
    from pipeline_tools.iam.minimum import purpose_of

    assert purpose_of(services, source_arns, features, passed_as) == expected


def test_purpose_of_two_roles_for_one_service_neither_in_the_stack(monkeypatch):
    """Neither role applies to the stack's features: the first listed, whatever the parameter it is passed in."""
    from pipeline_tools.iam import minimum as module
    from pipeline_tools.iam.minimum import RoleMinimum

    def role(purpose, passed_as):
        return RoleMinimum(purpose=purpose, title=purpose, service="x.amazonaws.com", trust_conditions_any=(), trust_source="doc", entries=(),
                           when="never", passed_as=passed_as)

    monkeypatch.setattr(module, "load_minimum", lambda: {"first": role("first", "A"), "second": role("second", "B")})
    assert module.purpose_of({"x.amazonaws.com"}, [], set(), {"B"}) == "first"
    assert module.purpose_of({"x.amazonaws.com"}, [], {"never"}, {"B"}) == "second"


def test_service_to_purpose_and_every_source_arn_pattern():
    from pipeline_tools.iam.minimum import RoleMinimum, service_to_purpose

    assert service_to_purpose() == {"states.amazonaws.com": "state_machine", "sagemaker.amazonaws.com": "sagemaker", "lambda.amazonaws.com": "lambda"}
    role = RoleMinimum(purpose="r", title="t", service="s", trust_conditions_any=(), trust_source="doc", entries=(),
                       trust_source_arns=("a/*",), trust_source_arns_when=(("stage", ("b/*", "c/*")), ("other", ("d/*",))))
    assert role.all_source_arns() == ("a/*", "b/*", "c/*", "d/*")
    assert role.source_arns({"other"}) == ("a/*", "d/*")


# ---- the stack's layout in the documented patterns, and an entry's several forms (issue 26 survivors) -----

def test_a_layout_expands_each_placeholder_once_per_name():
    from pipeline_tools.iam.minimum import Layout

    layout = Layout(outputs=("train", "validation"), channels=("train", "test"), values=(("{input_prefix}", "raw"), ("{input_bucket_arn}", "arn:aws:s3:::in")))
    assert layout.expand("{bucket_arn}/{output}/*") == ["{bucket_arn}/train/*", "{bucket_arn}/validation/*"]
    assert layout.expand("{channel}/*") == ["train/*", "test/*"]
    assert layout.expand("{bucket_arn}/{channel}/{output}") == [
        "{bucket_arn}/train/train", "{bucket_arn}/test/train", "{bucket_arn}/train/validation", "{bucket_arn}/test/validation"]
    assert layout.expand("{input_bucket_arn}/{input_prefix}/*") == ["arn:aws:s3:::in/raw/*"]
    assert layout.expand("{bucket_arn}/model/*") == ["{bucket_arn}/model/*"]  # no placeholder of the layout: once, as it is
    assert Layout().expand("{bucket_arn}/{output}/{channel}") == ["{bucket_arn}/train/train"]


def test_active_entries_follow_the_stacks_layout_and_features():
    from pipeline_tools.iam.minimum import Entry, Features, Layout, RoleMinimum

    layout = Layout(outputs=("train", "validation"), channels=("test",), values=(("{input_prefix}", "raw"),))
    gated = Entry("s3:ListBucket", ("{bucket_arn}",), (), "doc", "list", "own_input")  # first, and not a part of this stack
    put = Entry("s3:PutObject", ("{bucket_arn}/{output}/*",), (Condition("StringLike", "s3:prefix", ("{channel}/*",)),), "doc", "write", None,
                alternatives=((Condition("StringEquals", "s3:x", ("{output}",)),),))
    read = Entry("s3:GetObject", ("{bucket_arn}/{input_prefix}/*",), (), "doc", "read", None)
    role = RoleMinimum(purpose="r", title="t", service="s", trust_conditions_any=(), trust_source="doc", entries=(gated, put, read))
    assert role.active(Features({"kms"}, layout)) == [
        Entry("s3:PutObject", ("{bucket_arn}/train/*", "{bucket_arn}/validation/*"), (Condition("StringLike", "s3:prefix", ("test/*",)),), "doc", "write", None,
              alternatives=((Condition("StringEquals", "s3:x", ("train", "validation")),),)),
        Entry("s3:GetObject", ("{bucket_arn}/raw/*",), (), "doc", "read", None),
    ]
    assert [e.action for e in role.active(Features({"own_input"}))] == ["s3:ListBucket", "s3:PutObject", "s3:GetObject"]
    assert role.active({"own_input"})[1].resources == ("{bucket_arn}/train/*",)  # a plain set: the default layout
    assert role.applies(set()) and not RoleMinimum(**{**role.__dict__, "when": "batch_transform"}).applies(set())
    assert RoleMinimum(**{**role.__dict__, "when": "batch_transform"}).applies({"batch_transform"})
    both = Entry("kms:Decrypt", ("{kms_key_arn}",), (), "doc", "gate", ("quality_gate", "kms"))  # when = [..]: every feature must hold
    gate = RoleMinimum(**{**role.__dict__, "entries": (both,)})
    assert gate.active({"quality_gate", "kms"}) == [both] and gate.active({"quality_gate"}) == [] and gate.active({"kms"}) == []


def test_extending_an_entry_unites_resources_conditions_and_reasons():
    from pipeline_tools.iam.minimum import Entry

    prefix = Condition("StringLike", "s3:prefix", ("data/*",))
    base = Entry("s3:ListBucket", ("{bucket_arn}",), (), "doc", "list", None)
    more = Entry("s3:ListBucket", ("{bucket_arn}", "{other_arn}"), (prefix,), "doc", "and more", "stage")
    merged = base.extended_by(more)
    assert (merged.resources, merged.conditions, merged.why, merged.alternatives) == (("{bucket_arn}", "{other_arn}"), (prefix,), "list and more", ())
    via_s3 = (Condition("StringEquals", "kms:ViaService", ("s3.{region}.{dns_suffix}",)),)
    via_logs = (Condition("StringEquals", "kms:ViaService", ("logs.{region}.{dns_suffix}",)), Condition("ArnEquals", "kms:EncryptionContext:aws:logs:arn", ("{g}",)))
    s3 = Entry("kms:Decrypt", ("{kms_key_arn}",), via_s3, "doc", "s3", None)
    logs = Entry("kms:Decrypt", ("{kms_key_arn}", "{log_key_arn}"), via_logs, "doc", "logs", None)
    other = s3.extended_by(logs)
    assert (other.resources, other.conditions, other.alternatives, other.why) == (("{kms_key_arn}", "{log_key_arn}"), via_s3, (via_logs,), "s3 logs")


VIA_S3 = Condition("StringEquals", "kms:ViaService", ("s3.{region}.{dns_suffix}",))
VIA_LOGS = Condition("StringEquals", "kms:ViaService", ("logs.{region}.{dns_suffix}",))
LOG_CONTEXT = Condition("ArnEquals", "kms:EncryptionContext:aws:logs:arn", ("{log_group_arn}",))


def _more_minimum(**jobs_changes):
    """The hand-made minimum with a KMS key documented in two forms (through S3; through CloudWatch Logs
    for one log group), an entry with two resources and one that a feature (kms) switches on."""
    from pipeline_tools.iam.minimum import Entry, RoleMinimum

    jobs = MINIMUM["jobs"]
    entries = jobs.entries + (
        Entry("kms:Decrypt", ("{kms_key_arn}",), (VIA_S3,), "doc", "s3 and logs", None, alternatives=((VIA_LOGS, LOG_CONTEXT),)),
        Entry("s3:PutObject", ("{bucket_arn}/out/*", "{bucket_arn}/model/*"), (), "doc", "write", None),
        Entry("kms:GenerateDataKey", ("{kms_key_arn}",), (), "doc", "encrypt", "kms"),
    )
    return {**MINIMUM, "jobs": RoleMinimum(**{**jobs.__dict__, "entries": entries, **jobs_changes})}


def _more(rule_id, statements=(), features=frozenset(), minimum=None, **extra):
    subject = stack(list(GOOD_JOBS) + list(statements), **extra)
    subject.features = set(features)
    module = importlib.import_module(f"pipeline_tools.iam.rules.{next(m for m in MODULES if m.startswith(rule_id.lower()))}")
    return list(module.check(Context(subject, minimum or _more_minimum())))


KEY_S3 = Statement(3, "KeyS3", "Allow", actions=("kms:Decrypt",), resources=("{kms_key_arn}",), conditions=(VIA_S3,))
KEY_LOGS = Statement(4, "KeyLogs", "Allow", actions=("kms:Decrypt",), resources=("{kms_key_arn}",), conditions=(VIA_LOGS, LOG_CONTEXT))
KEY_ANY = Statement(5, "KeyAny", "Allow", actions=("kms:Decrypt",), resources=("{kms_key_arn}",))
PUT = Statement(6, "Put", "Allow", actions=("s3:PutObject",), resources=("{bucket_arn}/out/*", "{bucket_arn}/model/*"))


def test_pti002_each_documented_form_of_a_grant_must_be_granted():
    assert _more("PTI002", [KEY_S3, KEY_LOGS, PUT]) == []
    (logs_missing,) = _more("PTI002", [KEY_S3, PUT])
    assert (logs_missing.role, logs_missing.statement, logs_missing.rule_id) == ("jobs", "-", "PTI002")
    assert logs_missing.message == ("kms:Decrypt is not granted with StringEquals kms:ViaService in ['logs.{region}.{dns_suffix}']; "
                                    "ArnEquals kms:EncryptionContext:aws:logs:arn in ['{log_group_arn}'] (required: s3 and logs); source: doc")
    assert [f.message for f in _more("PTI002", [KEY_LOGS, PUT])] == [
        "kms:Decrypt is not granted with StringEquals kms:ViaService in ['s3.{region}.{dns_suffix}'] (required: s3 and logs); source: doc"]
    assert _more("PTI002", [KEY_S3, KEY_ANY, PUT]) == []  # a grant in no documented form: PTI010's finding, not a second one


def test_pti002_every_missing_or_uncovered_entry():
    assert [f.message for f in _more("PTI002", [KEY_S3, KEY_LOGS, Statement(6, "Put", "Allow", actions=("s3:PutObject",), resources=("{bucket_arn}/tmp/*",))])] == [
        "s3:PutObject is not granted on {bucket_arn}/out/*, {bucket_arn}/model/* (required: write); source: doc"]
    assert findings("PTI002", stack(GOOD_JOBS[1:2])) == [
        "s3:GetObject is required (read data) but not granted; source: doc", "iam:PassRole is required (pass) but not granted; source: doc"]
    assert [f.message for f in _more("PTI002", [KEY_S3, KEY_LOGS, PUT], features={"kms"})] == [
        "kms:GenerateDataKey is required (encrypt) but not granted; source: doc"]


def test_pti010_names_what_the_nearest_form_lacks():
    assert [f.message for f in _more("PTI010", [KEY_ANY, PUT])] == [
        "kms:Decrypt lacks the condition StringEquals kms:ViaService in ['s3.{region}.{dns_suffix}']"]
    assert _more("PTI010", [KEY_S3, KEY_LOGS, PUT]) == []
    first_passrole = [GOOD_JOBS[2], GOOD_JOBS[0], replace(1, conditions=())[1]]  # PassRole (PTI005's) before the finding
    assert findings("PTI010", stack(first_passrole)) == ["s3:ListBucket lacks the condition StringLike s3:prefix in ['data/*']"]


def test_pti012_patterns_a_feature_adds_and_a_role_without_trust():
    processing = Condition("ArnLike", "aws:SourceArn", ("arn:{partition}:sagemaker:{region}:{account}:processing-job/run-1",))
    minimum = _more_minimum(trust_source_arns_when=(("kms", ("arn:{partition}:sagemaker:{region}:{account}:processing-job/*",)),))
    jobs_trust = trust("sagemaker.amazonaws.com", SOURCE_ACCOUNT, processing)
    assert _more("PTI012", features={"kms"}, minimum=minimum, jobs_trust=jobs_trust) == []
    (broader,) = _more("PTI012", features=set(), minimum=minimum, jobs_trust=jobs_trust)
    assert broader.message.startswith("aws:SourceArn admits arn:{partition}:sagemaker:{region}:{account}:processing-job/run-1, broader than")
    subject = stack()
    subject.roles[0].trust = None
    assert findings("PTI012", subject) == [] and findings("PTI013", stack()) == []
    subject.roles[1].trust = None
    assert findings("PTI013", subject) == []


def test_pti015_a_use_documented_by_a_feature():
    decrypt = decision("kms:GenerateDataKey", "arn:aws:kms:us-east-1:111122223333:key/1")
    assert _more("PTI015", features={"kms"}, observed=GOOD_RUN + [decrypt]) == []
    assert len(_more("PTI015", features=set(), observed=GOOD_RUN + [decrypt])) == 1


# ---- one statement, role, key or decision that a rule passes over must not end its scan -------------

DENY_FIRST = Statement(0, "Never", "Deny", actions=("sts:AssumeRole",), principals=(("AWS", "*"),))


def _trust_of(*statements) -> Policy:
    return Policy("aws_iam_role.r", "trust", statements)


def test_rules_read_on_after_a_deny_statement():
    allow_nothing_else = Statement(1, "Guard", "Deny", actions=("s3:*",), resources=("*",))
    assert findings("PTI006", stack([allow_nothing_else] + replace(0, not_resources=("x",)))) == ["Allow with NotResource ['x']"]
    extra = Statement(1, None, "Allow", actions=("sts:AssumeRole",), principals=(("Service", "lambda.amazonaws.com"), ("AWS", "arn:aws:iam::1:root")))
    assert findings("PTI007", stack(fn_trust=_trust_of(DENY_FIRST, extra))) == ["the trust policy lets in ['AWS:arn:aws:iam::1:root'] besides lambda.amazonaws.com"]
    broad = Statement(1, None, "Allow", actions=("sts:AssumeRole",), principals=(("Service", "sagemaker.amazonaws.com"),),
                      conditions=(SOURCE_ACCOUNT, Condition("ArnLike", "aws:SourceArn", ("arn:{partition}:sagemaker:{region}:{account}:*",))))
    assert len(findings("PTI012", stack(jobs_trust=_trust_of(DENY_FIRST, broad)))) == 1
    unsent = Statement(1, None, "Allow", actions=("sts:AssumeRole",), principals=(("Service", "lambda.amazonaws.com"),), conditions=(SOURCE_ACCOUNT,))
    assert len(findings("PTI013", stack(fn_trust=_trust_of(DENY_FIRST, unsent)))) == 1


def test_rules_read_on_after_a_role_they_pass_over():
    subject = stack(fn_trust=trust("ec2.amazonaws.com"))
    subject.roles[0].trust = None
    assert findings("PTI007", subject) == [
        "the role has no readable trust policy",
        "the trust policy names ['Service:ec2.amazonaws.com'], none of ['lambda.amazonaws.com', 'sagemaker.amazonaws.com']"]
    extra = Policy("aws_iam_role.r", "trust", (Statement(0, None, "Allow", actions=("sts:AssumeRole",),
                                                         principals=(("Service", "lambda.amazonaws.com"), ("AWS", "arn:aws:iam::1:root"))),))
    assert len(findings("PTI007", stack(jobs_trust=trust("ec2.amazonaws.com"), fn_trust=extra))) == 2
    reversed_roles = stack(jobs_trust=trust("sagemaker.amazonaws.com"))
    reversed_roles.roles.reverse()  # the function's role (no source key documented) first
    assert findings("PTI008", reversed_roles) == ["the trust policy has none of ['aws:SourceAccount']; source: doc"]


def test_rules_read_on_after_a_statement_or_action_they_pass_over():
    star = Statement(3, "Star", "Allow", actions=("iam:PassRole", "s3:GetObject"), resources=("*",))
    assert findings("PTI004", stack(GOOD_JOBS + [star])) == ['s3:GetObject supports resource-level permissions but is granted on "*"']
    assert findings("PTI009", stack(replace(0, resources=("*", "{bucket_arn}/*")))) == [
        "s3:GetObject is granted on {bucket_arn}/*, broader than the documented ['{bucket_arn}/data/*']"]
    assert findings("PTI001", stack(replace(0, actions=("s3:GetObjec?",)))) == []  # a wildcard (?) is PTI003's, not an unknown action


def test_rules_read_on_after_a_decision_they_pass_over():
    undocumented = decision("s3:GetObject", "arn:aws:s3:::bucket/secrets/key")
    denied = decision("s3:PutObject", "arn:aws:s3:::bucket/x", "implicit deny")
    service = {**decision("sts:AssumeRole", "arn:aws:iam::111122223333:role/jobs"), "principal": "sagemaker.amazonaws.com"}
    assert len(findings("PTI015", stack(observed=[denied, undocumented]))) == 1
    assert len(findings("PTI015", stack(observed=[service, undocumented]))) == 1
    other = decision("s3:DeleteObject", "arn:aws:s3:::bucket/b")
    assert len(findings("PTI015", stack(observed=[undocumented, dict(undocumented), other]))) == 2
    assert len(findings("PTI017", stack(observed=[denied, dict(denied), {**denied, "action": "s3:DeleteObject"}]))) == 2
    from pipeline_tools.iam.minimum import Entry, RoleMinimum

    jobs = MINIMUM["jobs"]
    reasoned = {**MINIMUM, "jobs": RoleMinimum(**{**jobs.__dict__, "entries": (Entry("s3:GetObject", ("{bucket_arn}/data/*",), (), "doc", "read", None, "only on retry"),) + jobs.entries[1:]})}
    module = importlib.import_module("pipeline_tools.iam.rules.pti016_granted_never_used")
    assert [f.message for f in module.check(Context(stack(observed=GOOD_RUN[2:]), reasoned))] == [
        "s3:ListBucket is granted but no given run used it, and the documented minimum gives no unused_reason for it"]
    assert [f.message for f in module.check(Context(stack(replace(0, actions=("s3:GetObject", "s3:GetObjectVersion")), observed=GOOD_RUN[1:]), reasoned))] == [
        "s3:GetObjectVersion is granted but no given run used it, and the documented minimum gives no unused_reason for it"]  # after one with a reason


def test_the_words_and_sources_of_findings_with_several_names():
    assert findings("PTI005", stack(replace(2, resources=("*", "arn:aws:iam::1:role/*")))) == ["iam:PassRole is granted on *, arn:aws:iam::1:role/*"]
    wild_trust = Policy("aws_iam_role.r", "trust", (Statement(0, None, "Allow", not_actions=("iam:*",), principals=(("Service", "lambda.amazonaws.com"),)),))
    assert findings("PTI006", stack(fn_trust=wild_trust)) == ["Allow with NotAction ['iam:*']"]
    (unreadable,) = _full("PTI011", stack(jobs_unverifiable=["aws_iam_role_policy_attachment.a: arn:aws:iam::aws:policy/AdministratorAccess"]))[1]
    assert unreadable.source == "aws_iam_role_policy_attachment.a"
    message = "User: arn:aws:sts::1:assumed-role/jobs/run is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::bucket/data/X"
    (denied,) = findings("PTI017", stack(observed=[{**decision("s3:PutObject", "arn:aws:s3:::bucket/data/X", "implicit deny"), "message": message}]))
    assert denied.endswith(f"in run run: {message}")


def test_pti014_and_pti018_read_every_key_and_name_their_sources():
    logs_and_callers = LOGS_KEY.statements[:2]
    quiet = Key("aws_kms_key.quiet", None, [])  # encrypts no log group: not PTI014's
    (missing,) = _full("PTI014", stack(keys=[quiet, Key("aws_kms_key.k", None, ["aws_cloudwatch_log_group.g"])]))[1]
    assert (missing.role, missing.statement, missing.source) == ("aws_kms_key.k", "-", "aws_kms_key.k")
    partial = Key("aws_kms_key.p", Policy("policy-src", "doc", LOGS_KEY.statements[2:]), ["aws_cloudwatch_log_group.g"])
    found = _full("PTI014", stack(keys=[Key("aws_kms_key.k", None, ["aws_cloudwatch_log_group.g"]), partial]))[1]
    assert [(f.role, f.source) for f in found] == [("aws_kms_key.k", "aws_kms_key.k"), ("aws_kms_key.p", "policy-src"), ("aws_kms_key.p", "policy-src")]
    admin = Statement(2, "Admin", "Allow", actions=("kms:Create*",), resources=("*",), principals=(("AWS", "arn:aws:iam::1:root"), ("AWS", "arn:aws:iam::1:role/a")),
                      conditions=(Condition("Bool", "aws:SecureTransport", ("true",)),))  # a Bool condition, but not on grants
    granting = Key("aws_kms_key.g", Policy("policy-src", "doc", (*logs_and_callers, admin)), [])
    (grant,) = _full("PTI018", stack(keys=[quiet, granting]))[1]
    assert grant.source == "policy-src" and grant.statement == "Admin"
    assert grant.message.startswith("aws_kms_key.g lets arn:aws:iam::1:root, arn:aws:iam::1:role/a call kms:CreateGrant without kms:GrantIsForAWSResource = true: ")
    service_grants = Statement(2, "Svc", "Allow", actions=("kms:CreateGrant",), resources=("*",), principals=(("Service", "logs.{region}.{dns_suffix}"),))
    denied_grants = Statement(3, "No", "Deny", actions=("kms:CreateGrant",), resources=("*",), principals=(("AWS", "arn:aws:iam::1:root"),))
    assert findings("PTI018", stack(keys=[Key("aws_kms_key.s", Policy("p", "d", (service_grants, denied_grants)), [])])) == []
