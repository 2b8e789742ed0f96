"""pipeline_tools.iam.evaluation against the table of cases from AWS's documentation
(tests/data/iam_evaluation_cases.toml), plus the request resolver of the emulator's authorization."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from pipeline_tools.iam import evaluation
from pipeline_tools.iam.evaluation import Kind, Policy, Principal, Request, evaluate

CASES = tomllib.loads((Path(__file__).parent / "data" / "iam_evaluation_cases.toml").read_text())["case"]


def _principal(spec: dict) -> Principal:
    if "role" in spec:
        return Principal.assumed_role(spec["role"], spec["session"])
    if "service" in spec:
        return Principal.aws_service(spec["service"])
    if "root" in spec:
        return Principal.root(spec["root"])
    if "user" in spec:
        return Principal(spec["user"], spec["user"].split(":")[4])
    raise AssertionError(f"unknown principal spec {spec}")


def _run(case: dict):
    request = Request(_principal(case["principal"]), case["action"], case["resource"], case.get("context", {}))
    identity = [Policy(p["name"], p["document"]) for p in case.get("identity", [])]
    resource = case.get("resource_policy")
    return evaluate(
        request,
        identity,
        Policy(resource["name"], resource["document"]) if resource else None,
        resource_policy_required=case.get("required", False),
        resource_policy_type=case.get("type", evaluation.RESOURCE),
    )


def test_every_case_names_its_source():
    assert len(CASES) >= 40
    for case in CASES:
        assert case["source"].startswith("https://docs.aws.amazon.com/"), case["name"]
        assert case["doc"].strip(), case["name"]
    assert len({c["name"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case):
    expect = case["expect"]
    if expect.startswith("error:"):
        with pytest.raises(getattr(evaluation, expect.split(":", 1)[1])):
            _run(case)
        return
    decision = _run(case)
    assert decision.kind is Kind(expect), (decision, decision.note)
    if "statement" in case:
        assert str(decision.statement) == case["statement"]
    if "message" in case:
        assert decision.message() == case["message"]
    assert (decision.message() == "") == decision.allowed


def test_unknown_key_error_names_key_policy_and_statement():
    case = next(c for c in CASES if c["name"].startswith("a service key that is not declared"))
    with pytest.raises(evaluation.UnsupportedConditionKey) as raised:
        _run(case)
    assert raised.value.key == "sagemaker:InstanceTypes"
    assert "sfn statement Typed" in str(raised.value)


def test_declaring_a_key_makes_it_evaluable():
    registry = evaluation.DEFAULT_REGISTRY.extended(("sagemaker:InstanceTypes",))
    policy = Policy(
        "sfn",
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sagemaker:CreateTrainingJob",
                    "Resource": "*",
                    "Condition": {"ForAllValues:StringEquals": {"sagemaker:InstanceTypes": ["ml.m5.xlarge"]}},
                }
            ]
        },
    )
    principal = Principal.assumed_role("arn:aws:iam::123456789012:role/sfn", "exec")
    ok = Request(principal, "sagemaker:CreateTrainingJob", "arn:aws:sagemaker:us-east-1:123456789012:training-job/a", {"sagemaker:InstanceTypes": ["ml.m5.xlarge"]})
    big = Request(principal, "sagemaker:CreateTrainingJob", "arn:aws:sagemaker:us-east-1:123456789012:training-job/a", {"sagemaker:InstanceTypes": ["ml.p4d.24xlarge"]})
    assert evaluate(ok, [policy], registry=registry).allowed
    assert evaluate(big, [policy], registry=registry).kind is Kind.IMPLICIT_DENY


def test_multivalued_key_without_set_operator_is_an_error():
    policy = Policy("p", {"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Condition": {"StringEquals": {"kms:EncryptionContextKeys": "a"}}}]})
    request = Request(Principal.assumed_role("arn:aws:iam::123456789012:role/r", "s"), "kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/k", {"kms:EncryptionContextKeys": ["a", "b"]})
    with pytest.raises(evaluation.PolicyError, match="ForAnyValue"):
        evaluate(request, [policy])


def test_principal_in_identity_policy_is_an_error():
    policy = Policy("p", {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]})
    request = Request(Principal.assumed_role("arn:aws:iam::123456789012:role/r", "s"), "s3:GetObject", "arn:aws:s3:::b/k")
    with pytest.raises(evaluation.PolicyError, match="identity-based policy has a Principal"):
        evaluate(request, [policy])


def test_session_arn_and_role_arn():
    principal = Principal.assumed_role("arn:aws:iam::123456789012:role/service-role/mlpipe-sfn", "abc")
    assert principal.arn == "arn:aws:sts::123456789012:assumed-role/mlpipe-sfn/abc"
    assert principal.account == "123456789012"
    # aws:PrincipalArn of a role session is the role's ARN (reference_policies_condition-keys.html#condition-keys-principalarn)
    assert Request(principal, "s3:GetObject", "*").full_context()["aws:principalarn"] == principal.role_arn


def test_decision_as_dict_records_the_statement():
    case = next(c for c in CASES if c["name"].startswith("aws:SecureTransport false"))
    record = _run(case).as_dict()
    assert record["decision"] == "explicit deny"
    assert record["statement"] == "bucket policy statement DenyInsecureTransport"
    assert record["policy_type"] == "resource-based"
    assert record["message"].endswith("with an explicit deny in a resource-based policy")
