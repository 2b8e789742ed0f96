"""The IAM engine's narrow behaviours, pinned one by one (issue 26: each test here kills mutants the
case table let through; docs/mutation.md). The AWS facts are the table's
(tests/data/iam_evaluation_cases.toml, each with its page); these check the engine keeps them at
every boundary: which element is read, each operator's both sides, every error's words."""

from __future__ import annotations

import base64
from datetime import datetime, timezone

import pytest

from pipeline_tools.iam import evaluation
from pipeline_tools.iam.evaluation import (
    IDENTITY,
    RESOURCE,
    TRUST,
    Decision,
    Kind,
    Policy,
    PolicyError,
    Principal,
    Request,
    UnsupportedConditionKey,
    evaluate,
)
from pipeline_tools.iam.evaluation.conditions import UNKNOWN, arn_matches, arn_segments, as_strings, condition_holds, parse_date

ROLE = "arn:aws:iam::123456789012:role/app"
SESSION = Principal.assumed_role(ROLE, "s", "AROAEXAMPLE")
OBJECT = "arn:aws:s3:::b/k"
REG = evaluation.DEFAULT_REGISTRY


def identity(*statements: dict, name: str = "p") -> Policy:
    return Policy(name, {"Statement": list(statements)})


def allow(action: str = "s3:GetObject", resource: str = "*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def kind(policy: Policy, *, action: str = "s3:GetObject", resource: str = OBJECT, context: dict | None = None, principal: Principal = SESSION) -> Kind:
    return evaluate(Request(principal, action, resource, context or {}), [policy]).kind


def holds(block: dict, context: dict) -> bool:
    return condition_holds(block, {k.lower(): v for k, v in context.items()}, REG)


# ---- Action / Resource / Principal elements ------------------------------------------------------


def test_a_statement_covers_only_its_actions():
    assert kind(identity(allow("s3:PutObject"))) is Kind.IMPLICIT_DENY
    assert kind(identity(allow(["s3:PutObject", "s3:GetObject"]))) is Kind.ALLOWED
    assert kind(identity({"Effect": "Allow", "NotAction": ["s3:Get*"], "Resource": "*"})) is Kind.IMPLICIT_DENY
    assert kind(identity({"Effect": "Deny", "NotAction": "s3:Put*", "Resource": "*"}, allow("s3:*"))) is Kind.EXPLICIT_DENY


def test_resource_lists_and_not_resource():
    assert kind(identity(allow(resource=["arn:aws:s3:::other/*", "arn:aws:s3:::b/*"]))) is Kind.ALLOWED
    assert kind(identity(allow(resource=["arn:aws:s3:::other/*"]))) is Kind.IMPLICIT_DENY
    assert kind(identity({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": ["arn:aws:s3:::other/*"]})) is Kind.ALLOWED


def test_statement_shapes_that_are_policy_errors():
    cases = [
        ("x", "is not an object"),
        ({"Effect": "Permit", "Action": "s3:*", "Resource": "*"}, "has Effect 'Permit' (Allow or Deny)"),
        ({"Effect": "Allow", "Resource": "*"}, "needs exactly one of Action and NotAction"),
        ({"Effect": "Allow", "Action": "s3:*", "NotAction": "s3:Get*", "Resource": "*"}, "needs exactly one of Action and NotAction"),
        ({"Effect": "Allow", "Action": "s3:*", "Resource": "*", "NotResource": "*"}, "has both Resource and NotResource"),
        ({"Effect": "Allow", "Action": "s3:*", "Principal": "*", "NotPrincipal": {"AWS": "1"}}, "has both Principal and NotPrincipal"),
        ({"Effect": "Allow", "Action": ["s3:*", 3], "Resource": "*"}, "p #0 Action must be a string or a list of strings"),
    ]
    for statement, words in cases:
        with pytest.raises(PolicyError) as raised:
            Policy("p", {"Statement": [statement]})
        assert words in str(raised.value), (statement, str(raised.value))
        assert str(raised.value).startswith("p"), str(raised.value)
    with pytest.raises(PolicyError, match="a policy document needs a Statement"):
        Policy("p", {"Version": "2012-10-17"})
    with pytest.raises(PolicyError, match="needs a Statement"):
        Policy("p", ["not", "a", "mapping"])
    assert Policy("p", '{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}').statements[0].actions == ("s3:*",)
    with pytest.raises(PolicyError, match="p: statement #0 has neither Resource nor NotResource"):
        evaluate(Request(SESSION, "s3:GetObject", OBJECT), [identity({"Effect": "Allow", "Action": "s3:*"})])
    with pytest.raises(PolicyError, match="bucket policy: statement Open of a resource-based policy has no Principal"):
        evaluate(Request(SESSION, "s3:GetObject", OBJECT), [], Policy("bucket policy", {"Statement": [{"Sid": "Open", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    with pytest.raises(PolicyError, match=r"p statement #0: 'b/\*' is neither \* nor an ARN"):
        kind(identity(allow(resource="b/*")))


def _resource_policy(principal_element, effect: str = "Allow", key: str = "Principal") -> Policy:
    return Policy("bucket policy", {"Statement": [{"Sid": "S", "Effect": effect, key: principal_element, "Action": "s3:GetObject", "Resource": "*"}]})


@pytest.mark.parametrize(
    "element, expected",
    [
        ({"AWS": ROLE}, Kind.ALLOWED),
        ({"AWS": [ROLE]}, Kind.ALLOWED),
        ({"AWS": "arn:aws:sts::123456789012:assumed-role/app/s"}, Kind.ALLOWED),
        ({"AWS": "arn:aws:iam::123456789012:role/other"}, Kind.IMPLICIT_DENY),
        ({"AWS": "*"}, Kind.ALLOWED),
        ("*", Kind.ALLOWED),
        ({"Service": "s3.amazonaws.com"}, Kind.IMPLICIT_DENY),
        ({"Federated": "cognito-identity.amazonaws.com", "AWS": ROLE}, Kind.ALLOWED),
        ({"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be", "AWS": ROLE}, Kind.ALLOWED),
        ({"AWS": "123456789012"}, Kind.IMPLICIT_DENY),  # delegation, and no identity-based allow
    ],
)
def test_principal_element(element, expected):
    assert evaluate(Request(SESSION, "s3:GetObject", OBJECT), [], _resource_policy(element)).kind is expected


def test_principal_element_errors_and_not_principal():
    with pytest.raises(PolicyError, match="unknown principal type 'Anyone'"):
        evaluate(Request(SESSION, "s3:GetObject", OBJECT), [], _resource_policy({"Anyone": "x"}))
    with pytest.raises(PolicyError, match="Principal AWS value 3 is not a string"):
        evaluate(Request(SESSION, "s3:GetObject", OBJECT), [], _resource_policy({"AWS": [3]}))
    with pytest.raises(PolicyError, match=r"Principal must be \"\*\" or an object, not 'someone'"):
        evaluate(Request(SESSION, "s3:GetObject", OBJECT), [], _resource_policy("someone"))
    # NotPrincipal: everyone but the listed principals.
    other = Principal.assumed_role("arn:aws:iam::123456789012:role/other", "s")
    deny_all_but_app = _resource_policy({"AWS": ROLE}, effect="Deny", key="NotPrincipal")
    assert evaluate(Request(other, "s3:GetObject", OBJECT), [identity(allow())], deny_all_but_app).kind is Kind.EXPLICIT_DENY
    assert evaluate(Request(SESSION, "s3:GetObject", OBJECT), [identity(allow())], deny_all_but_app).kind is Kind.ALLOWED
    # A Federated or CanonicalUser entry names no IAM principal; the statement's other entries still count.
    assert evaluate(Request(SESSION, "s3:GetObject", OBJECT), [], _resource_policy({"Federated": "x", "CanonicalUser": "y"})).kind is Kind.IMPLICIT_DENY
    assert evaluate(Request(SESSION, "s3:GetObject", OBJECT), [], _resource_policy({"CanonicalUser": "y", "AWS": ROLE})).kind is Kind.ALLOWED


def test_the_root_user_is_named_by_its_account_in_any_partition():
    root = Principal.root("123456789012", "aws-cn")
    assert root.arn == "arn:aws-cn:iam::123456789012:root" and root.account == "123456789012"
    for element in ({"AWS": "123456789012"}, {"AWS": "arn:aws-cn:iam::123456789012:root"}):
        assert evaluate(Request(root, "s3:GetObject", "arn:aws-cn:s3:::b/k"), [], _resource_policy(element)).kind is Kind.ALLOWED
    # The commercial partition's root ARN does not name the China partition's account root.
    assert evaluate(Request(root, "s3:GetObject", "arn:aws-cn:s3:::b/k"), [], _resource_policy({"AWS": "arn:aws:iam::123456789012:root"})).kind is Kind.IMPLICIT_DENY
    assert Principal.root("123456789012").arn == "arn:aws:iam::123456789012:root"


def test_assumed_role_sessions():
    session = Principal.assumed_role("arn:aws:iam::123456789012:role/a/b/c", "s", "AROAX")
    assert (session.arn, session.account, session.role_arn, session.user_id) == (
        "arn:aws:sts::123456789012:assumed-role/c/s", "123456789012", "arn:aws:iam::123456789012:role/a/b/c", "AROAX:s")
    assert Principal.assumed_role("arn:aws:iam::1:role/r", "s").user_id is None
    for bad in ("arn:aws:iam::1:user/r", "arn:aws:s3:::role/r", "arn:aws:iam::1", "role/r"):
        with pytest.raises(ValueError, match=f"not a role ARN: {bad}"):
            Principal.assumed_role(bad, "s")
    assert Principal.assumed_role("arn:aws:iam::1:role/with:colon", "s").arn == "arn:aws:sts::1:assumed-role/with:colon/s"


# ---- the request context ---------------------------------------------------------------------------


def test_the_context_aws_adds():
    now = datetime(2026, 11, 28, 12, 0, 5, tzinfo=timezone.utc)
    role = Request(SESSION, "s3:GetObject", OBJECT, {"aws:SecureTransport": True, "s3:max-keys": 10, "kms:EncryptionContextKeys": ("a", "b")}, "210987654321").full_context(now)
    assert role == {
        "aws:principalarn": ROLE,
        "aws:principaltype": "AssumedRole",
        "aws:principalisawsservice": "false",
        "aws:principalaccount": "123456789012",
        "aws:userid": "AROAEXAMPLE:s",
        "aws:resourceaccount": "210987654321",
        "aws:currenttime": "2026-11-28T12:00:05Z",
        "aws:epochtime": str(int(now.timestamp())),
        "aws:securetransport": "true",
        "s3:max-keys": "10",
        "kms:encryptioncontextkeys": ["a", "b"],
    }
    assert Request(SESSION, "s3:GetObject", OBJECT, {"aws:SecureTransport": False}).full_context(now)["aws:securetransport"] == "false"
    user = Request(Principal("arn:aws:iam::123456789012:user/ops/JohnDoe", "123456789012", user_id="AIDAX"), "s3:GetObject", OBJECT).full_context(now)
    assert (user["aws:principaltype"], user["aws:username"], user["aws:userid"]) == ("User", "JohnDoe", "AIDAX")
    assert user["aws:resourceaccount"] is UNKNOWN  # an S3 ARN names no owner
    root = Request(Principal.root("123456789012"), "iam:ListRoles", "arn:aws:iam::123456789012:role/x").full_context(now)
    assert (root["aws:principaltype"], root["aws:userid"], root["aws:resourceaccount"]) == ("Account", "123456789012", "123456789012")
    assert "aws:username" not in root and "aws:username" not in Request(SESSION, "s3:GetObject", OBJECT).full_context(now)
    service = Request(Principal.aws_service("states.amazonaws.com"), "sts:AssumeRole", ROLE).full_context(now)
    assert service["aws:principalservicename"] == "states.amazonaws.com" and service["aws:principalisawsservice"] == "true"
    assert not {"aws:principalarn", "aws:principaltype", "aws:userid", "aws:principalaccount"} & set(service)
    assert Principal.aws_service("states.amazonaws.com").principal_type is None
    assert Request(Principal("arn:aws:iam::1:user/u"), "s3:GetObject", OBJECT).full_context(now)["aws:userid"] is UNKNOWN


def test_the_resource_owner():
    assert Request(SESSION, "s3:GetObject", OBJECT).owner is None
    assert Request(SESSION, "s3:GetObject", OBJECT, {}, "210987654321").owner == "210987654321"
    assert Request(SESSION, "kms:Decrypt", "arn:aws:kms:us-east-1:210987654321:key/k").owner == "210987654321"
    assert Request(SESSION, "kms:Decrypt", "arn:aws:kms:us-east-1:210987654321:key/k", {}, "111122223333").owner == "111122223333"
    assert Request(SESSION, "cloudwatch:PutMetricData", "*").owner is None
    assert not Request(SESSION, "s3:GetObject", OBJECT).cross_account
    assert Request(SESSION, "s3:GetObject", OBJECT, {}, "210987654321").cross_account
    assert not Request(SESSION, "s3:GetObject", OBJECT, {}, "123456789012").cross_account
    assert not Request(Principal.aws_service("logs.amazonaws.com"), "kms:Decrypt", "arn:aws:kms:us-east-1:210987654321:key/k").cross_account


def test_now_is_the_evaluation_time():
    policy = identity(allow(Condition={"DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}}))
    request = Request(SESSION, "s3:GetObject", OBJECT)
    assert evaluate(request, [policy], now=datetime(2026, 12, 31, 23, 59, 59, tzinfo=timezone.utc)).allowed
    assert not evaluate(request, [policy], now=datetime(2027, 1, 1, tzinfo=timezone.utc)).allowed


# ---- operators ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "operator, policy_value, actual, expected",
    [
        ("NumericEquals", "10", "10", True), ("NumericEquals", "10", "11", False), ("NumericNotEquals", "10", "10", False),
        ("NumericLessThan", "10", "9", True), ("NumericLessThan", "10", "10", False),
        ("NumericLessThanEquals", "10", "10", True), ("NumericLessThanEquals", "10", "11", False),
        ("NumericGreaterThan", "10", "11", True), ("NumericGreaterThan", "10", "10", False),
        ("NumericGreaterThanEquals", "10", "10", True), ("NumericGreaterThanEquals", "10", "9", False),
        ("NumericEquals", "10", "ten", False), ("NumericNotEquals", "10", "ten", True),
        ("DateEquals", "2026-11-28T12:00:00Z", "2026-11-28T12:00:00Z", True),
        ("DateEquals", "1795867200", "2026-11-28T12:00:00Z", True),  # epoch seconds
        ("DateEquals", "2026-11-28T12:00:00", "2026-11-28T12:00:00Z", True),  # no zone: UTC
        ("DateNotEquals", "2026-11-28T12:00:00Z", "2026-11-28T12:00:01Z", True),
        ("DateLessThan", "2026-11-28T12:00:00Z", "2026-11-28T11:59:59Z", True), ("DateLessThan", "2026-11-28T12:00:00Z", "2026-11-28T12:00:00Z", False),
        ("DateLessThanEquals", "2026-11-28T12:00:00Z", "2026-11-28T12:00:00Z", True), ("DateLessThanEquals", "2026-11-28T12:00:00Z", "2026-11-28T12:00:01Z", False),
        ("DateGreaterThan", "2026-11-28T12:00:00Z", "2026-11-28T12:00:01Z", True), ("DateGreaterThan", "2026-11-28T12:00:00Z", "2026-11-28T12:00:00Z", False),
        ("DateGreaterThanEquals", "2026-11-28T12:00:00Z", "2026-11-28T12:00:00Z", True), ("DateGreaterThanEquals", "2026-11-28T12:00:00Z", "2026-11-28T11:00:00Z", False),
        ("DateEquals", "2026-11-28T12:00:00Z", "not a date", False), ("DateNotEquals", "2026-11-28T12:00:00Z", "not a date", True),
        ("Bool", "true", "true", True), ("Bool", "True", "true", True), ("Bool", "false", "true", False), ("Bool", "false", "FALSE", True),
        ("BinaryEquals", base64.b64encode(b"abc").decode(), base64.b64encode(b"abc").decode(), True),
        ("BinaryEquals", base64.b64encode(b"abc").decode(), base64.b64encode(b"abd").decode(), False),
        ("IpAddress", "10.0.0.1/8", "10.200.0.1", True),  # host bits set: still the /8 network
        ("IpAddress", "10.0.0.0/8", "11.0.0.1", False), ("IpAddress", "10.0.0.0/8", "not-an-ip", False),
        ("NotIpAddress", "10.0.0.0/8", "11.0.0.1", True), ("NotIpAddress", "10.0.0.0/8", "10.0.0.2", False),
        ("IpAddress", "2001:db8::/32", "2001:db8::1", True),
        ("StringEquals", "a*", "ab", False), ("StringEquals", "ab", "ab", True), ("StringEquals", "AB", "ab", False),
        ("StringNotEquals", "ab", "ab", False), ("StringNotEquals", "ab", "ac", True),
        ("StringEqualsIgnoreCase", "AB", "ab", True), ("StringEqualsIgnoreCase", "a*", "ab", False), ("StringNotEqualsIgnoreCase", "AB", "ab", False),
        ("StringLike", "a*", "ab", True), ("StringLike", "a?", "abc", False), ("StringLike", "A*", "ab", False), ("StringNotLike", "a*", "ab", False),
        ("ArnLike", "arn:aws:s3:::b/*", "arn:aws:s3:::b/k", True), ("ArnEquals", "arn:aws:s3:::b/k", "arn:aws:s3:::b/k", True),
        ("ArnNotLike", "arn:aws:s3:::b/*", "arn:aws:s3:::c/k", True), ("ArnNotEquals", "arn:aws:s3:::b/k", "arn:aws:s3:::b/k", False),
        ("ArnLike", "arn:aws:s3:::b/*", "b/k", False),
    ],
)
def test_operator(operator, policy_value, actual, expected):
    assert holds({operator: {"aws:SourceArn": policy_value}}, {"aws:SourceArn": actual}) is expected


def test_numbers_and_booleans_as_policy_values():
    assert as_strings([True, False, 10, 1.5, "x"]) == ["true", "false", "10", "1.5", "x"]
    assert holds({"NumericEquals": {"s3:max-keys": 10}}, {"s3:max-keys": "10"})
    assert holds({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "true"})
    assert not holds({"Bool": {"aws:SecureTransport": False}}, {"aws:SecureTransport": "true"})
    with pytest.raises(PolicyError, match=r"condition value \{'a': 1\} is not a string, number or boolean"):
        holds({"StringEquals": {"aws:SourceArn": {"a": 1}}}, {"aws:SourceArn": "x"})


@pytest.mark.parametrize(
    "block, words",
    [
        ({"NumericEquals": {"s3:max-keys": "ten"}}, "numeric condition value 'ten' is not a number"),
        ({"DateEquals": {"aws:CurrentTime": "soon"}}, "date condition value 'soon' is neither ISO 8601 nor epoch seconds"),
        ({"Bool": {"aws:SecureTransport": "yes"}}, "Bool condition value 'yes' is neither true nor false"),
        ({"BinaryEquals": {"s3:max-keys": "@@"}}, "BinaryEquals value '@@' is not base64"),
        ({"IpAddress": {"aws:SourceIp": "10.0.0.300"}}, "IpAddress value '10.0.0.300' is not an address or CIDR range"),
        ({"Null": {"aws:SourceArn": "maybe"}}, "Null condition on aws:SourceArn takes true or false"),
        ({"Null": {"aws:SourceArn": ["true", "false"]}}, "Null condition on aws:SourceArn takes true or false"),
        ({"ForSomeValues:StringEquals": {"aws:SourceArn": "x"}}, "unknown set operator 'ForSomeValues' in 'ForSomeValues:StringEquals'"),
        ({"StringSortOf": {"aws:SourceArn": "x"}}, "unknown condition operator 'StringSortOf'"),
        ({"IfExists": {"aws:SourceArn": "x"}}, "unknown condition operator 'IfExists'"),
        ({"ForAnyValue:StringEquals:Extra": {"aws:SourceArn": "x"}}, "unknown condition operator 'ForAnyValue:StringEquals:Extra'"),
        ({"NullIfExists": {"aws:SourceArn": "true"}}, "'NullIfExists': Null takes no set operator and no IfExists"),
        ({"ForAllValues:Null": {"aws:SourceArn": "true"}}, "'ForAllValues:Null': Null takes no set operator and no IfExists"),
        ({"StringEquals": "aws:SourceArn"}, "Condition operator 'StringEquals' must map keys to values"),
        ({"StringEquals": {"s3:max-keys": "${aws:SourceArn}"}}, "policy variable ${aws:SourceArn} refers to a multivalued key"),
        ({"StringEquals": {"aws:SourceArn": "x"}}, "aws:SourceArn is multivalued in this request: use ForAnyValue:StringEquals or ForAllValues:StringEquals"),
    ],
)
def test_condition_errors_say_what_is_wrong(block, words):
    with pytest.raises(PolicyError) as raised:
        holds(block, {"aws:SourceArn": ["a", "b"], "s3:max-keys": "1", "aws:CurrentTime": "2026-01-01T00:00:00Z", "aws:SecureTransport": "true", "aws:SourceIp": "10.0.0.1"})
    assert str(raised.value) == words


def test_condition_block_shape_and_located_errors():
    with pytest.raises(PolicyError, match="^Condition must be an object, not list$"):
        holds([], {})
    policy = identity(allow(Condition={"StringEquals": "x"}), name="guard")
    with pytest.raises(PolicyError, match=r"^guard statement #0: Condition operator 'StringEquals' must map keys to values$"):
        kind(policy)


def test_set_operators_and_if_exists():
    present = {"kms:EncryptionContextKeys": ["a", "b"]}
    assert holds({"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["a", "b", "c"]}}, present)
    assert not holds({"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["a"]}}, present)
    assert holds({"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["a"]}}, {})
    assert holds({"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["a"]}}, {"kms:EncryptionContextKeys": []})
    assert holds({"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["a"]}}, {"kms:EncryptionContextKeys": "a"})  # one value
    assert not holds({"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["a"]}}, {"kms:EncryptionContextKeys": "ab"})
    assert holds({"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "b"}}, present)
    assert not holds({"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "c"}}, present)
    assert holds({"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "b"}}, {"kms:EncryptionContextKeys": "b"})
    assert not holds({"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "b"}}, {})
    assert holds({"ForAnyValue:StringEqualsIfExists": {"kms:EncryptionContextKeys": "b"}}, {})
    assert not holds({"ForAnyValue:StringLikeIfExists": {"kms:EncryptionContextKeys": "z*"}}, present)
    assert holds({"StringEqualsIfExists": {"s3:prefix": "a"}}, {})
    assert not holds({"StringEqualsIfExists": {"s3:prefix": "a"}}, {"s3:prefix": "b"})
    assert holds({"StringNotEquals": {"s3:prefix": "a"}}, {})
    assert not holds({"StringEquals": {"s3:prefix": "a"}}, {})
    assert holds({"Null": {"s3:prefix": "false"}}, {"s3:prefix": "a"}) and not holds({"Null": {"s3:prefix": "false"}}, {})
    assert holds({"Null": {"s3:prefix": "TRUE"}}, {}) and holds({"Null": {"s3:prefix": "true"}}, {"s3:prefix": []})
    # ForAllValues with a negated operator: every value must match none of the policy's.
    assert holds({"ForAllValues:StringNotEquals": {"kms:EncryptionContextKeys": ["c"]}}, present)
    assert not holds({"ForAllValues:StringNotEquals": {"kms:EncryptionContextKeys": ["b"]}}, present)


def test_dates_parse_as_iam_reads_them():
    assert parse_date("1764331200") == datetime(2025, 11, 28, 12, 0, tzinfo=timezone.utc)
    assert parse_date(" 1764331200.5 ").microsecond == 500000
    assert parse_date("2026-11-28") == datetime(2026, 11, 28, tzinfo=timezone.utc)
    assert parse_date("2026-11-28T12:00:00+02:00") == datetime(2026, 11, 28, 10, tzinfo=timezone.utc)
    assert parse_date("2026-11-28T12:00:00Z").tzinfo is not None


# ---- policy variables ----------------------------------------------------------------------------------


def test_policy_variables_in_every_string_and_arn_operator():
    ctx = {"aws:username": "JohnDoe", "aws:principalaccount": "123456789012", "s3:prefix": "home/JohnDoe/x", "aws:sourcearn": "arn:aws:iam::123456789012:user/JohnDoe"}
    assert holds({"StringEquals": {"aws:username": "${aws:username}"}}, ctx)
    assert holds({"StringEqualsIgnoreCase": {"aws:username": "${aws:username}"}}, {**ctx, "aws:username": "JOHNDOE"})
    assert holds({"StringLike": {"s3:prefix": "home/${aws:username}/*"}}, ctx)
    assert not holds({"StringLike": {"s3:prefix": "home/${aws:username}/*"}}, {**ctx, "s3:prefix": "home/Jane/x"})
    assert holds({"ArnLike": {"aws:SourceArn": "arn:aws:iam::${aws:PrincipalAccount}:user/${aws:username}"}}, ctx)
    assert holds({"ForAnyValue:StringLike": {"s3:prefix": "home/${aws:username}/*"}}, ctx)
    assert holds({"ForAllValues:StringEquals": {"aws:username": ["${aws:username}"]}}, ctx)
    assert holds({"StringEquals": {"s3:prefix": "${*}${?}${$}"}}, {"s3:prefix": "*?$"})
    assert holds({"StringLike": {"s3:prefix": "a${*}*"}}, {"s3:prefix": "a*bc"}) and not holds({"StringLike": {"s3:prefix": "a${*}*"}}, {"s3:prefix": "abc"})
    # A default for an absent key; a quoted default only.
    assert holds({"StringEquals": {"s3:prefix": "${aws:username, 'nobody'}"}}, {"s3:prefix": "nobody"})
    assert holds({"StringEquals": {"s3:prefix": "x${aws:username,''}y"}}, {"s3:prefix": "xy"})
    assert not holds({"StringEquals": {"s3:prefix": "${aws:username, nobody}"}}, {"s3:prefix": "nobody"})
    assert not holds({"StringEquals": {"s3:prefix": "${aws:username, 'nobody}"}}, {"s3:prefix": "'nobody"})
    assert not holds({"StringEquals": {"s3:prefix": "${aws:username}"}}, {"s3:prefix": "x"})
    # In a Resource, with a colon inside the variable in an earlier segment.
    assert arn_segments("arn:aws:iam::${aws:PrincipalAccount}:user/${aws:username}") == ["arn", "aws", "iam", "", "${aws:PrincipalAccount}", "user/${aws:username}"]
    assert arn_segments("arn:aws:s3:::b/${a:{b}:c}:d") == ["arn", "aws", "s3", "", "", "b/${a:{b}:c}:d"]
    assert arn_segments("a{b:c") == ["a{b", "c"]
    assert arn_segments("arn:aws:s3:::a:b:c") == ["arn", "aws", "s3", "", "", "a:b:c"]
    assert arn_matches("arn:aws:iam::${aws:PrincipalAccount}:user/*", "arn:aws:iam::123456789012:user/x", ctx)
    assert not arn_matches("arn:aws:iam::${aws:PrincipalAccount}:user/*", "arn:aws:iam::999999999999:user/x", ctx)


def test_policy_variables_on_keys_the_engine_cannot_read():
    with pytest.raises(UnsupportedConditionKey) as raised:
        holds({"StringEquals": {"s3:prefix": "${aws:PrincipalTag/team}"}}, {"s3:prefix": "x"})
    assert raised.value.key == "aws:PrincipalTag/team" and raised.value.where == "policy variable ${aws:PrincipalTag/team}"
    for operator in ("StringLike", "StringEqualsIgnoreCase", "ArnLike"):
        with pytest.raises(UnsupportedConditionKey):
            holds({operator: {"aws:SourceArn": "arn:aws:s3:::${aws:PrincipalTag/team}"}}, {"aws:SourceArn": "arn:aws:s3:::x"})
    with pytest.raises(UnsupportedConditionKey) as raised:
        holds({"StringEquals": {"s3:prefix": "${aws:userid}"}}, {"s3:prefix": "x", "aws:userid": UNKNOWN})
    assert raised.value.key == "aws:userid" and "its value is unknown for this request" in raised.value.where
    with pytest.raises(UnsupportedConditionKey) as raised:
        holds({"StringEquals": {"aws:userid": "x"}}, {"aws:userid": UNKNOWN})
    assert raised.value.key == "aws:userid" and raised.value.where == "condition StringEquals: its value is unknown for this request"
    with pytest.raises(UnsupportedConditionKey) as raised:
        holds({"StringEquals": {"sagemaker:InstanceTypes": "x"}}, {})
    assert raised.value.where == "condition StringEquals"
    with pytest.raises(UnsupportedConditionKey):
        arn_matches("arn:aws:s3:::b/${aws:PrincipalTag/team}/*", "arn:aws:s3:::b/t/k", {}, REG)
    with pytest.raises(UnsupportedConditionKey):
        arn_matches("arn:aws:s3:${aws:PrincipalTag/team}:::b", "arn:aws:s3:x:::b", {}, REG)
    assert repr(UNKNOWN) == "UNKNOWN"


# ---- ARN matching ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern, arn, expected",
    [
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/a:b/c", True),  # the resource segment keeps its colons
        ("arn:aws:logs:*:*:log-group:/aws/x:*", "arn:aws:logs:us-east-1:1:log-group:/aws/x:log-stream:s", True),
        ("arn:aws:sagemaker:*", "arn:aws:sagemaker:us-east-1:1:training-job/x", True),
        ("arn:aws:sagemaker:us-*", "arn:aws:sagemaker:us-east-1:1:training-job/x", True),
        ("arn:aws:sagemaker:eu-*", "arn:aws:sagemaker:us-east-1:1:training-job/x", False),
        ("arn:aws:sagemaker:us-?ast-1:1:training-job/x", "arn:aws:sagemaker:us-east-1:1:training-job/x", True),
        ("arn:aws:sagemaker:us-east-?:1:training-job/x", "arn:aws:sagemaker:us-east-1:1:training-job/x", True),
        ("arn:aws:sagemaker:us-east-?:training-job/x", "arn:aws:sagemaker:us-east-1:1:training-job/x", False),  # ? is one character, never a colon
        ("arn:aws:sagemaker:u*1:1:training-job/x", "arn:aws:sagemaker:us-east-1:1:training-job/x", True),
        ("arn:aws:sagemaker:u*:training-job/x", "arn:aws:sagemaker:us-east-1:1:training-job/x", True),
        ("arn:aws:sagemaker:*:1:training-job/*", "arn:aws:sagemaker:us-east-1:2:training-job/x", False),
        ("arn:aws:sagemaker:us-east-1:1:training-job/x", "arn:aws:sagemaker:us-east-1:1:training-job/X", False),
        ("arn:aws:sagemaker:us-east-1:1:training-job/x", "arn:aws:sagemaker:us-east-1:1:training-job/x\n", False),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/line\nbreak", True),
        ("arn:aws:iam::*:root", "arn:aws:iam::123456789012:root", True),
        ("arn:aws:s3:::b.c", "arn:aws:s3:::bxc", False),  # a dot is a dot
        ("arn:aws:s3", "arn:aws:s3:::b", False),
        ("*", "not-an-arn", True),
        ("arn:aws:s3:*", "*", False),
    ],
)
def test_arn_matching(pattern, arn, expected):
    assert arn_matches(pattern, arn, {}, REG) is expected


def test_arn_patterns_iam_refuses():
    for pattern in ("arn:aws:s*:::b", "arn:aws:?3:::b", "arn:aws", "aws:s3:::b", "arn"):
        with pytest.raises(PolicyError) as raised:
            arn_matches(pattern, "arn:aws:s3:::b", {}, REG)
        assert pattern in str(raised.value)
    with pytest.raises(PolicyError, match="Resource vendor must be fully qualified and cannot contain regexes"):
        arn_matches("arn:aws:s*:::b", "arn:aws:s3:::b", {}, REG)
    with pytest.raises(PolicyError, match=r"is neither \* nor an ARN \(arn:partition:service:region:account:resource\)"):
        arn_matches("arn:aws", "arn:aws:s3:::b", {}, REG)
    assert arn_matches("arn:aws:s3:::${aws:username}/*", "arn:aws:s3:::u/k", {"aws:username": "u"})  # no registry: no key check
    assert not arn_matches("arn:aws:s3:::${aws:username}/*", "arn:aws:s3:::u/k", {})


# ---- undecided statements ---------------------------------------------------------------------------------

UNDECIDED = {"StringEquals": {"aws:ResourceTag/secret": "yes"}}


def _decide(*statements: dict, resource_policy: Policy | None = None, required: bool = False, owner: str | None = None, principal: Principal = SESSION):
    return evaluate(Request(principal, "s3:GetObject", OBJECT, {}, owner), [identity(*statements, name="p")], resource_policy, resource_policy_required=required)


def test_an_undecided_statement_that_cannot_change_the_decision_leaves_a_note():
    decided = _decide(allow(), allow(Sid="Tagged", Condition=UNDECIDED))
    assert decided.kind is Kind.ALLOWED and str(decided.statement) == "p statement #0"
    assert decided.note == "undecided condition key(s) aws:ResourceTag/secret cannot change this decision"
    denied = _decide({"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": UNDECIDED})
    assert denied.kind is Kind.IMPLICIT_DENY and denied.policy_type == IDENTITY and "cannot change" in denied.note
    # A note the decision had already comes first.
    kms = evaluate(
        Request(SESSION, "kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/k"),
        [identity(allow("kms:Decrypt"), allow("kms:Decrypt", Condition=UNDECIDED))],
        Policy("key policy", {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "kms:*", "Resource": "*"}]}),
        resource_policy_required=True,
    )
    assert kms.allowed and kms.note == "delegated by key policy statement #0; undecided condition key(s) aws:ResourceTag/secret cannot change this decision"


def test_an_undecided_statement_that_could_change_the_decision_is_an_error_naming_it():
    with pytest.raises(UnsupportedConditionKey) as raised:
        _decide(allow(), {"Sid": "Secret", "Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": UNDECIDED})
    assert (raised.value.key, raised.value.policy, raised.value.statement) == ("aws:ResourceTag/secret", "p", "Secret")
    assert "in p statement Secret" in str(raised.value) and "(condition StringEquals)" in str(raised.value)
    with pytest.raises(UnsupportedConditionKey):
        _decide(allow(Condition=UNDECIDED))
    # In a resource-based policy: an Allow naming the principal, one delegating, a Deny.
    for statement in (
        {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "s3:*", "Resource": "*", "Condition": UNDECIDED},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": UNDECIDED},
    ):
        policy = Policy("bucket policy", {"Statement": [statement]})
        with pytest.raises(UnsupportedConditionKey) as raised:
            _decide(*([allow()] if statement["Effect"] == "Deny" else []), resource_policy=policy)
        assert raised.value.policy == "bucket policy"
    delegating = Policy("key policy", {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "s3:*", "Resource": "*", "Condition": UNDECIDED}]})
    with pytest.raises(UnsupportedConditionKey):
        _decide(allow(), resource_policy=delegating, required=True)
    # Across accounts an undecided grant in the owner's policy decides too.
    with pytest.raises(UnsupportedConditionKey):
        _decide(allow(), resource_policy=Policy("bucket policy", {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "s3:*", "Resource": "*", "Condition": UNDECIDED}]}), owner="210987654321")


def test_undecided_statements_do_not_hide_the_next_ones():
    # After an undecided Allow, a later decided Deny still wins; an undecided Resource pattern
    # does not stop a later one from matching.
    decided = _decide(allow(Condition=UNDECIDED), {"Sid": "No", "Effect": "Deny", "Action": "s3:*", "Resource": "*"})
    assert decided.kind is Kind.EXPLICIT_DENY and str(decided.statement) == "p statement No"
    bucket = Policy("bucket policy", {"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "s3:*", "Resource": "*", "Condition": UNDECIDED},
        {"Sid": "Open", "Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "s3:GetObject", "Resource": "*"}]})
    allowed = _decide(resource_policy=bucket)
    assert allowed.allowed and str(allowed.statement) == "bucket policy statement Open"
    with pytest.raises(UnsupportedConditionKey) as raised:
        _decide(allow(resource=["arn:aws:s3:::${aws:PrincipalTag/a}/*", "arn:aws:s3:::${aws:PrincipalTag/b}/*"]))
    assert raised.value.key == "aws:PrincipalTag/a"
    assert _decide(allow(resource=["arn:aws:s3:::${aws:PrincipalTag/a}/*", OBJECT])).allowed
    assert _decide({"Effect": "Allow", "Action": "s3:*", "NotResource": ["arn:aws:s3:::${aws:PrincipalTag/a}/*", OBJECT]}).kind is Kind.IMPLICIT_DENY
    with pytest.raises(UnsupportedConditionKey):
        _decide({"Effect": "Allow", "Action": "s3:*", "NotResource": ["arn:aws:s3:::${aws:PrincipalTag/a}/*"]})


# ---- decisions and their words ---------------------------------------------------------------------------


def test_decision_records():
    allowed = evaluate(Request(SESSION, "s3:GetObject", OBJECT), [identity(allow(Sid="Read"))])
    assert allowed.as_dict() == {
        "principal": "arn:aws:sts::123456789012:assumed-role/app/s", "action": "s3:GetObject", "resource": OBJECT,
        "decision": "allowed", "statement": "p statement Read", "policy_type": IDENTITY, "message": None, "note": None,
    }
    denied = evaluate(Request(SESSION, "s3:GetObject", OBJECT), [])
    assert denied.as_dict()["policy_type"] == IDENTITY and denied.as_dict()["statement"] is None
    cross = evaluate(Request(SESSION, "s3:GetObject", OBJECT, {}, "210987654321"), [identity(allow(Sid="Read"))])
    record = cross.as_dict()
    assert record["decision"] == "implicit deny" and record["policy_type"] == RESOURCE
    assert record["note"] == "account 210987654321 owns the resource and no resource-based policy allows account 123456789012; p statement Read alone does not reach another account"
    assert Decision(allowed.request, Kind.ALLOWED).as_dict()["policy_type"] is None


def test_denial_messages_in_aws_words():
    request = Request(SESSION, "sts:AssumeRole", ROLE)
    trust = Policy("trust", {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"}]})
    assert evaluate(request, [identity(allow("sts:AssumeRole"))], trust, resource_policy_required=True, resource_policy_type=TRUST).message() == (
        "User: arn:aws:sts::123456789012:assumed-role/app/s is not authorized to perform: sts:AssumeRole on resource: "
        f"{ROLE} with an explicit deny in the role trust policy")
    star = evaluate(Request(SESSION, "xray:PutTraceSegments", "*"), [identity({"Effect": "Deny", "Action": "xray:*", "Resource": "*"})])
    assert star.message() == ("User: arn:aws:sts::123456789012:assumed-role/app/s is not authorized to perform: xray:PutTraceSegments "
                              "with an explicit deny in an identity-based policy")
    assert Decision(star.request, Kind.EXPLICIT_DENY, None, RESOURCE).message().endswith("with an explicit deny in a resource-based policy")
    assert Decision(star.request, Kind.ALLOWED).message() == ""


def test_cross_account_notes_say_which_policy_is_missing():
    bucket = Policy("bucket policy", {"Statement": [{"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "s3:GetObject", "Resource": "*"}]})
    no_identity = evaluate(Request(SESSION, "s3:GetObject", OBJECT, {}, "210987654321"), [], bucket)
    assert no_identity.policy_type == IDENTITY and no_identity.note == "across accounts an identity-based policy must allow it too (bucket policy statement Partner does)"
    nothing = evaluate(Request(SESSION, "s3:GetObject", OBJECT, {}, "210987654321"), [])
    assert nothing.note == "across accounts an identity-based policy must allow it"
    other = Policy("bucket policy", {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "s3:GetObject", "Resource": "*"}]})
    refused = evaluate(Request(SESSION, "s3:GetObject", OBJECT, {}, "210987654321"), [identity(allow())], other)
    assert refused.note.startswith("account 210987654321 owns the resource and no statement of bucket policy allows account 123456789012")
    both = evaluate(Request(SESSION, "s3:GetObject", OBJECT, {}, "210987654321"), [identity(allow(Sid="Mine"))], bucket)
    assert both.allowed and str(both.statement) == "p statement Mine" and both.note == "cross-account: also allowed by bucket policy statement Partner"


def test_required_resource_policy_notes():
    request = Request(SESSION, "kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/k")
    none = evaluate(request, [identity(allow("kms:Decrypt", Sid="Use"))], None, resource_policy_required=True)
    assert none.kind is Kind.IMPLICIT_DENY and none.note == "no resource-based policy; p statement Use has no effect without that"
    key = Policy("key policy", {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/admin"}, "Action": "kms:*", "Resource": "*"}]})
    refused = evaluate(request, [], key, resource_policy_required=True)
    assert refused.note == "no statement of key policy allows it or delegates to the account" and refused.policy_type == RESOURCE
    delegating = Policy("key policy", {"Statement": [{"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "kms:*", "Resource": "*"}]})
    assert evaluate(request, [], delegating, resource_policy_required=True).note == "key policy statement Root delegates to identity-based policies"


def test_the_first_allowing_statement_is_reported():
    decided = evaluate(Request(SESSION, "s3:GetObject", OBJECT), [identity(allow(Sid="One"), allow(Sid="Two")), identity(allow(Sid="Three"), name="q")])
    assert str(decided.statement) == "p statement One"
    bucket = Policy("bucket policy", {"Statement": [
        {"Sid": "A", "Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "s3:*", "Resource": "*"},
        {"Sid": "B", "Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "s3:*", "Resource": "*"}]})
    assert str(evaluate(Request(SESSION, "s3:GetObject", OBJECT), [], bucket).statement) == "bucket policy statement A"
    delegations = Policy("key policy", {"Statement": [
        {"Sid": "A", "Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "B", "Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "kms:*", "Resource": "*"}]})
    request = Request(SESSION, "kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/k")
    assert evaluate(request, [identity(allow("kms:*"))], delegations, resource_policy_required=True).note == "delegated by key policy statement A"


def test_the_key_registry():
    registry = evaluation.KeyRegistry().extended(("svc:One",), ("svc:Family:",))
    assert registry.supports("SVC:one") and registry.supports("svc:family:anything") and registry.supports("aws:SourceArn")
    assert not registry.supports("svc:two") and not registry.supports("other:one")
    more = registry.extended(("svc:Two",))
    assert more.supports("svc:one") and more.supports("svc:two") and more.supports("svc:family:x")
    assert not registry.supports("svc:two")  # extended returns a new registry


def test_unsupported_key_error_words():
    error = UnsupportedConditionKey("k:x")
    assert str(error) == ("condition key k:x cannot be evaluated: it is not a global key and not declared for its service in "
                          "pipeline_tools.iam.evaluation.keys; declare it (and make the request resolver fill it) or drop the condition")
    located = UnsupportedConditionKey("k:x", where="condition StringEquals").located("p", "S")
    assert (located.key, located.where, located.policy, located.statement) == ("k:x", "condition StringEquals", "p", "S")
    assert str(located).startswith("condition key k:x (condition StringEquals) in p statement S cannot be evaluated")


# ---- mutants the first round let through (docs/mutation.md) ------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_pattern_cache():
    """The static pattern cache outlives a test: cleared, so each test compiles what it matches."""
    from pipeline_tools.iam.evaluation import conditions

    conditions._static_regex.cache_clear()
    yield
    conditions._static_regex.cache_clear()


def test_wildcards_around_policy_variables():
    ctx = {"aws:username": "JohnDoe"}
    assert holds({"StringLike": {"s3:prefix": "*/${aws:username}"}}, {**ctx, "s3:prefix": "home/JohnDoe"})
    assert holds({"StringLike": {"s3:prefix": "?/${aws:username}"}}, {**ctx, "s3:prefix": "x/JohnDoe"})
    assert holds({"StringEquals": {"s3:prefix": "a*${aws:username}"}}, {**ctx, "s3:prefix": "a*JohnDoe"})
    assert not holds({"StringEquals": {"s3:prefix": "a*${aws:username}"}}, {**ctx, "s3:prefix": "abJohnDoe"})
    assert holds({"StringLike": {"s3:prefix": "a*${aws:username}"}}, {**ctx, "s3:prefix": "a\nbJohnDoe"})  # * spans newlines
    assert holds({"StringEqualsIgnoreCase": {"s3:prefix": "HOME/${aws:username}"}}, {**ctx, "s3:prefix": "home/johndoe"})
    assert not holds({"StringEquals": {"s3:prefix": "HOME/${aws:username}"}}, {**ctx, "s3:prefix": "home/JohnDoe"})
    assert holds({"StringLike": {"s3:prefix": "a*"}}, {"s3:prefix": "a\nb"}) and not holds({"StringLike": {"s3:prefix": "a?"}}, {"s3:prefix": "abc"})
    # In ARN segments before the resource, a ? or * next to a variable stays within the segment.
    region = {"aws:username": "us-east-1"}
    assert not arn_matches("arn:aws:sagemaker:${aws:username}?1:training-job/x", "arn:aws:sagemaker:us-east-1:1:training-job/x", region, REG)
    assert not arn_matches("arn:aws:sagemaker:us-east-1?${aws:account}:training-job/x", "arn:aws:sagemaker:us-east-1:1:training-job/x", {"aws:account": "1"})
    assert arn_matches("arn:aws:iam::${*}:role/x", "arn:aws:iam::*:role/x", {}) and not arn_matches("arn:aws:iam::${*}:role/x", "arn:aws:iam::123:role/x", {})
    # Defaults: only a quoted one, without its quotes.
    assert not holds({"StringEquals": {"s3:prefix": "${aws:username, xnobodyx}"}}, {"s3:prefix": "nobody"})
    assert not holds({"StringEquals": {"s3:prefix": "${aws:username, 'nobody}"}}, {"s3:prefix": "nobod"})
    assert not holds({"StringEquals": {"s3:prefix": "${aws:username, nobody'}"}}, {"s3:prefix": "obody"})


@pytest.mark.parametrize(
    "pattern, arn, expected",
    [
        ("arn:aws:sagemaker:u*1:training-job/x", "arn:aws:sagemaker:us-east-1:1:training-job/x", False),  # * inside a segment: no colon
        ("arn:aws:sagemaker:us-east-1?1:training-job/x", "arn:aws:sagemaker:us-east-1:1:training-job/x", False),  # ? inside a segment: no colon
        ("arn:aws:sagemaker:us-*", "arn:aws:sagemaker:usa-east-1:1:training-job/x", False),  # the segment's text before its * must match
        ("arn:aws:sagemaker:us-*", "arn:aws:sagemaker:uk-west-1:1:training-job/x", False),
        ("arn:aws:s3:::b/*/x", "arn:aws:s3:::b/a:b/x", True),  # the resource segment: * spans colons
        ("arn:aws:s3:::b/?/x", "arn:aws:s3:::b/:/x", True),
        ("arn:aws:logs:us-east-1:1:log-group:*:log-stream:s", "arn:aws:logs:us-east-1:1:log-group:/a:b:log-stream:s", True),
    ],
)
def test_segment_boundaries(pattern, arn, expected):
    assert arn_matches(pattern, arn, {}, REG) is expected


def test_nested_variables_keep_their_colons():
    assert arn_segments("a:${x${y}:z}:b") == ["a", "${x${y}:z}", "b"]


def test_undecided_keys_in_set_operators_and_located_resources():
    for operator in ("ForAnyValue:StringLike", "ForAllValues:StringLike"):
        with pytest.raises(UnsupportedConditionKey):
            holds({operator: {"kms:EncryptionContextKeys": "${aws:PrincipalTag/team}"}}, {"kms:EncryptionContextKeys": ["a"]})
    with pytest.raises(UnsupportedConditionKey) as raised:
        _decide(allow(resource="arn:aws:s3:::${aws:PrincipalTag/a}/*"))
    assert (raised.value.policy, raised.value.statement) == ("p", "#0")
    two = _decide(allow(), allow(Condition=UNDECIDED), allow(Condition={"StringEquals": {"aws:PrincipalTag/x": "y"}}))
    assert two.note == "undecided condition key(s) aws:PrincipalTag/x, aws:ResourceTag/secret cannot change this decision"


def test_binary_values_must_be_valid_base64():
    with pytest.raises(PolicyError, match="BinaryEquals value 'QUJD!' is not base64"):
        holds({"BinaryEquals": {"s3:prefix": "QUJD!"}}, {"s3:prefix": "QUJD"})


@pytest.mark.parametrize(
    "arn, element, expected",
    [
        ("not-an-arn", "arn:aws:iam::123456789012:root", Kind.IMPLICIT_DENY),  # the account, delegating; no identity allow
        ("x:y", "arn:aws:iam::123456789012:root", Kind.IMPLICIT_DENY),
        ("arn:aws-cn", "arn:aws-cn:iam::123456789012:root", Kind.IMPLICIT_DENY),
        ("not-an-arn", "arn:aws-cn:iam::123456789012:root", None),
        ("arn", "arn:aws:iam::123456789012:root", Kind.IMPLICIT_DENY),
    ],
)
def test_the_account_root_arn_in_the_principals_partition(arn, element, expected):
    principal = Principal(arn, "123456789012")
    how = principal.match({"AWS": element})
    assert (how.name == "ACCOUNT") is (expected is not None)


def test_second_round_survivors():
    # Allowed decisions carry their request.
    request = Request(SESSION, "s3:GetObject", OBJECT)
    assert evaluate(request, [identity(allow())]).request is request
    bucket = Policy("bucket policy", {"Statement": [{"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "s3:*", "Resource": "*"}]})
    assert evaluate(request, [], bucket).request is request
    cross = Request(SESSION, "s3:GetObject", OBJECT, {}, "210987654321")
    assert evaluate(cross, [identity(allow())], bucket).request is cross
    kms = Request(SESSION, "kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/k")
    delegating = Policy("key policy", {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "kms:*", "Resource": "*"}]})
    assert evaluate(kms, [identity(allow("kms:Decrypt"))], delegating, resource_policy_required=True).request is kms
    # A key of three parts belongs to the service before its first colon.
    registry = evaluation.KeyRegistry().extended(("svc:Part:Key",))
    assert registry.supports("svc:part:key") and not registry.supports("other:part:key")
    # A static pattern's ? is one character; a * ending a segment before the resource keeps the segment's text.
    assert holds({"StringLike": {"s3:prefix": "a?"}}, {"s3:prefix": "ab"})
    assert not arn_matches("arn:aws:sagemaker:us-*:training-job/x", "arn:aws:sagemaker:usa-east-1:1:training-job/x", {}, REG)
    assert arn_matches("arn:aws:sagemaker:us-*:training-job/x", "arn:aws:sagemaker:us-east-1:1:training-job/x", {}, REG)


def test_the_current_time_is_utc_whatever_the_local_zone(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        context = Request(SESSION, "s3:GetObject", OBJECT).full_context()
        moment = datetime.strptime(context["aws:currenttime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        assert abs((moment - datetime.now(timezone.utc)).total_seconds()) < 60
    finally:
        monkeypatch.undo()
        time.tzset()
