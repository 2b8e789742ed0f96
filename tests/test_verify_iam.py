"""verify-iam against the real synthesized stack: clean by default, and each rule broken on purpose.

The stack is synthesized once per session (~4 s); each rule test copies its cdk.tf.json, breaks
exactly one thing and expects exactly that rule's finding.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from pipeline_tools.iam import verify
from pipeline_tools.iam.loader import load_plan
from pipeline_tools.iam.report import render_json, render_junit, render_sarif, render_text
from pipeline_tools.iam.rules import run_rules

from .conftest import assert_clean_error

# The OASIS SARIF 2.1.0 (rtm.5, the final 2.1.0 schema) JSON schema, copied unchanged from the npm package
# @microsoft/jest-sarif 1.0.0-beta.0 (MIT), file lib/schemas/sarif-2.1.0-rtm.5.json. Draft-04.
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-2.1.0.json"
ACCOUNT = "123456789012"
REGION = "us-east-1"


@pytest.fixture(scope="session")
def stack_dir(tmp_path_factory) -> Path:
    from pipeline_tools.synthesis import synthesize

    return synthesize(out_dir=tmp_path_factory.mktemp("synth") / "cdktf.out")


@pytest.fixture(scope="session")
def stack(stack_dir) -> dict:
    return json.loads((stack_dir / "cdk.tf.json").read_text())


# --- helpers to find the construct's parts by purpose (never by logical id) ---------------------------

SERVICES = {"state_machine": "states.amazonaws.com", "sagemaker": "sagemaker.amazonaws.com", "lambda": "lambda.amazonaws.com"}


def _doc_name(reference: str) -> str:
    return re.match(r"^\$\{data\.aws_iam_policy_document\.([^.}]+)\.json\}$", reference).group(1)


def role_name(doc: dict, purpose: str) -> str:
    documents = doc["data"]["aws_iam_policy_document"]
    for name, body in doc["resource"]["aws_iam_role"].items():
        trust = documents[_doc_name(body["assume_role_policy"])]
        if any(SERVICES[purpose] in p["identifiers"] for s in trust["statement"] for p in s.get("principals", [])):
            return name
    raise AssertionError(f"no {purpose} role")


def trust_statement(doc: dict, purpose: str) -> dict:
    body = doc["resource"]["aws_iam_role"][role_name(doc, purpose)]
    return doc["data"]["aws_iam_policy_document"][_doc_name(body["assume_role_policy"])]["statement"][0]


def policy_statements(doc: dict, purpose: str) -> list[dict]:
    role = role_name(doc, purpose)
    for body in doc["resource"]["aws_iam_role_policy"].values():
        if body["role"] == f"${{aws_iam_role.{role}.id}}":
            return doc["data"]["aws_iam_policy_document"][_doc_name(body["policy"])]["statement"]
    raise AssertionError(f"no policy for {purpose}")


def statement(doc: dict, purpose: str, sid: str) -> dict:
    return next(s for s in policy_statements(doc, purpose) if s.get("sid") == sid)


def bucket_arn(doc: dict) -> str:
    return f"${{aws_s3_bucket.{next(iter(doc['resource']['aws_s3_bucket']))}.arn}}"


def findings_after(stack: dict, tmp_path: Path, mutate) -> list:
    doc = copy.deepcopy(stack)
    mutate(doc)
    (tmp_path / "cdk.tf.json").write_text(json.dumps(doc))
    return verify(stack_dir=tmp_path)[1]


def rule_ids(findings) -> list[str]:
    return [f.rule_id for f in findings]


# --- the default stack -----------------------------------------------------------------------------


def test_default_stack_is_clean(stack_dir):
    loaded, findings = verify(stack_dir=stack_dir)
    assert findings == []
    assert sorted(r.purpose for r in loaded.roles) == ["lambda", "sagemaker", "state_machine"]
    assert {"sfn_logging", "sfn_tracing", "lambda_tracing"} <= loaded.features


def test_resources_are_normalized_to_placeholders(stack_dir):
    loaded, _ = verify(stack_dir=stack_dir)
    by_purpose = {r.purpose: r for r in loaded.roles}
    granted = {res for _, s in by_purpose["state_machine"].statements() for res in s.resources}
    assert "{sagemaker_role_arn}" in granted
    assert "arn:{partition}:sagemaker:{region}:{account}:training-job/*" in granted
    assert not any("${" in res for res in granted)


def test_text_report_puts_granted_next_to_documented(stack_dir):
    loaded, findings = verify(stack_dir=stack_dir)
    text = render_text(loaded, findings)
    assert "granted vs documented minimum" in text
    assert "iam:PassRole" in text and "{sagemaker_role_arn}" in text
    assert "no findings" in text


# --- one test per rule: break exactly that rule -------------------------------------------------------


def test_pti001_action_outside_minimum(stack, tmp_path):
    findings = findings_after(stack, tmp_path, lambda d: statement(d, "lambda", "WriteDataset")["actions"].append("s3:DeleteObject"))
    assert rule_ids(findings) == ["PTI001"]
    assert "s3:DeleteObject" in findings[0].message and findings[0].role == "lambda"


def test_pti002_required_action_missing(stack, tmp_path):
    def drop_pass_role(doc):
        statements = policy_statements(doc, "state_machine")
        statements[:] = [s for s in statements if "iam:PassRole" not in s["actions"]]

    findings = findings_after(stack, tmp_path, drop_pass_role)
    assert rule_ids(findings) == ["PTI002"]
    assert "iam:PassRole" in findings[0].message and findings[0].role == "state_machine"


def test_pti002_missing_role(stack, tmp_path):
    def drop_lambda_role(doc):
        name = role_name(doc, "lambda")
        del doc["resource"]["aws_iam_role"][name]

    findings = findings_after(stack, tmp_path, drop_lambda_role)
    assert rule_ids(findings) == ["PTI002"]
    assert "lambda.amazonaws.com" in findings[0].message


def test_pti003_wildcard_action(stack, tmp_path):
    def wildcard(doc):
        s = statement(doc, "sagemaker", "PullJobImages")
        s["actions"] = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGet*", "ecr:GetDownloadUrlForLayer"]

    findings = findings_after(stack, tmp_path, wildcard)
    assert rule_ids(findings) == ["PTI003"]
    assert "ecr:BatchGet*" in findings[0].message


def test_pti004_star_on_scopable_action(stack, tmp_path):
    findings = findings_after(stack, tmp_path, lambda d: statement(d, "sagemaker", "ReadPipelineData").update(resources=["*"]))
    assert rule_ids(findings) == ["PTI004"]
    assert "s3:GetObject" in findings[0].message and findings[0].statement == "ReadPipelineData"


def test_pti004_decides_from_policy_sentry():
    from pipeline_tools.iam.rules.pti004_star_resource_scopable import supports_resource_level

    assert supports_resource_level("s3:GetObject") is True
    assert supports_resource_level("xray:PutTraceSegments") is False
    assert supports_resource_level("ecr:GetAuthorizationToken") is False
    assert supports_resource_level("nosuchservice:Foo") is None


def test_pti005_passrole_without_passed_to_service(stack, tmp_path):
    findings = findings_after(stack, tmp_path, lambda d: statement(d, "state_machine", "PassSageMakerRole").pop("condition"))
    assert rule_ids(findings) == ["PTI005"]
    assert "iam:PassedToService" in findings[0].message


def test_pti005_passrole_on_star(stack, tmp_path):
    findings = findings_after(stack, tmp_path, lambda d: statement(d, "state_machine", "PassSageMakerRole").update(resources=["*"]))
    assert rule_ids(findings) == ["PTI005"]
    assert "granted on *" in findings[0].message


def test_pti006_allow_with_not_action(stack, tmp_path):
    def not_action(doc):
        policy_statements(doc, "lambda").append({"sid": "Everything", "effect": "Allow", "not_actions": ["iam:*"], "resources": ["*"]})

    findings = findings_after(stack, tmp_path, not_action)
    assert rule_ids(findings) == ["PTI006"]
    assert findings[0].statement == "Everything"


def test_pti007_trust_principal_unexpected(stack, tmp_path):
    findings = findings_after(
        stack, tmp_path, lambda d: trust_statement(d, "lambda")["principals"][0]["identifiers"].append("ec2.amazonaws.com")
    )
    assert rule_ids(findings) == ["PTI007"]
    assert "ec2.amazonaws.com" in findings[0].message


def test_pti008_trust_without_source_condition(stack, tmp_path):
    findings = findings_after(stack, tmp_path, lambda d: trust_statement(d, "sagemaker").pop("condition"))
    assert rule_ids(findings) == ["PTI008"]
    assert findings[0].role == "sagemaker"


def test_pti009_resource_broader_than_minimum(stack, tmp_path):
    findings = findings_after(
        stack, tmp_path, lambda d: statement(d, "sagemaker", "ReadPipelineData").update(resources=[f"{bucket_arn(d)}/*"])
    )
    assert rule_ids(findings) == ["PTI009"]
    assert "{bucket_arn}/*" in findings[0].message


def test_pti010_required_condition_missing(stack, tmp_path):
    findings = findings_after(stack, tmp_path, lambda d: statement(d, "sagemaker", "PublishJobMetrics").pop("condition"))
    assert rule_ids(findings) == ["PTI010"]
    assert "cloudwatch:namespace" in findings[0].message


def test_pti011_unverifiable_managed_policy(stack, tmp_path):
    def attach_admin(doc):
        doc["resource"]["aws_iam_role_policy_attachment"] = {
            "admin": {"role": f"${{aws_iam_role.{role_name(doc, 'sagemaker')}.name}}", "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"}
        }

    findings = findings_after(stack, tmp_path, attach_admin)
    assert rule_ids(findings) == ["PTI011"]
    assert "AdministratorAccess" in findings[0].message


# --- the broad forms the stack carried before it was made ready for a real account: each is flagged ----


def test_old_form_invoke_with_version_and_alias_qualifier(stack, tmp_path):
    def qualified(doc):
        grant = statement(doc, "state_machine", "InvokeGenerateDataset")
        grant["resources"] = grant["resources"] + [grant["resources"][0] + ":*"]

    findings = findings_after(stack, tmp_path, qualified)
    assert rule_ids(findings) == ["PTI009"]
    assert "{lambda_arn}:*" in findings[0].message


def test_old_form_sagemaker_trust_on_any_sagemaker_resource(stack, tmp_path):
    def any_resource(doc):
        (source_arn,) = [c for c in trust_statement(doc, "sagemaker")["condition"] if c["variable"] == "aws:SourceArn"]
        source_arn["values"] = [source_arn["values"][0].rsplit(":", 1)[0] + ":*"]

    findings = findings_after(stack, tmp_path, any_resource)
    assert rule_ids(findings) == ["PTI012"]
    assert "arn:{partition}:sagemaker:{region}:{account}:*" in findings[0].message and findings[0].role == "sagemaker"


def test_old_form_lambda_trust_with_source_account(stack, tmp_path):
    def source_account(doc):
        account = f"${{data.aws_caller_identity.{next(iter(doc['data']['aws_caller_identity']))}.account_id}}"
        trust_statement(doc, "lambda")["condition"] = [{"test": "StringEquals", "variable": "aws:SourceAccount", "values": [account]}]

    findings = findings_after(stack, tmp_path, source_account)
    assert rule_ids(findings) == ["PTI013"]
    assert "aws:SourceAccount" in findings[0].message and findings[0].role == "lambda"


def test_old_form_list_bucket_without_prefix(stack, tmp_path):
    findings = findings_after(stack, tmp_path, lambda d: statement(d, "sagemaker", "ListPipelineData").pop("condition"))
    assert rule_ids(findings) == ["PTI010"]
    assert "s3:prefix" in findings[0].message


def test_old_form_kms_grant_without_via_service(stack, tmp_path):
    findings = findings_after(stack, tmp_path, lambda d: statement(d, "lambda", "UseDataKey").pop("condition"))
    assert rule_ids(findings) == ["PTI010", "PTI010"]  # kms:Decrypt and kms:GenerateDataKey
    assert all("kms:ViaService" in f.message for f in findings)


def test_old_form_key_without_the_cloudwatch_logs_statement(stack, tmp_path):
    def drop_logs(doc):
        (key,) = doc["resource"]["aws_kms_key"].values()
        policy = json.loads(key["policy"])
        policy["Statement"] = [s for s in policy["Statement"] if not s["Sid"].startswith("CloudWatchLogs")]
        key["policy"] = json.dumps(policy)

    findings = findings_after(stack, tmp_path, drop_logs)
    assert rule_ids(findings) == ["PTI014"]
    assert "docs/kms-key-policy.md" in findings[0].message and "aws_cloudwatch_log_group." in findings[0].message


def _key_policy_edit(edit):
    def mutate(doc):
        (key,) = doc["resource"]["aws_kms_key"].values()
        policy = json.loads(key["policy"])
        edit(policy)
        key["policy"] = json.dumps(policy)

    return mutate


def test_old_form_key_usable_through_s3_and_lambda_only(stack, tmp_path):
    """Issue 21: CloudWatch Logs calls KMS with its caller's permissions; a key policy that lets the
    account's principals use the key only through S3 and Lambda refuses the deployer and the writers."""
    def drop_callers(policy):
        policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != "UseThroughCloudWatchLogsForThePipelineLogGroups"]

    findings = findings_after(stack, tmp_path, _key_policy_edit(drop_callers))
    assert rule_ids(findings) == ["PTI014"]
    assert "through CloudWatch Logs" in findings[0].message and "kms:Encrypt" in findings[0].message


def test_old_form_create_grant_among_the_administrators_actions(stack, tmp_path):
    """Issue 21: kms:CreateGrant with no condition lets any principal allowed CreateGrant by IAM grant
    itself the key around the S3/Lambda/Logs-only statements."""
    def unconditioned(policy):
        statements = {s["Sid"]: s for s in policy["Statement"]}
        statements["KeyAdministration"]["Action"] = sorted(statements["KeyAdministration"]["Action"] + ["kms:CreateGrant"])
        policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != "GrantsForAwsResourcesOnly"]

    findings = findings_after(stack, tmp_path, _key_policy_edit(unconditioned))
    assert rule_ids(findings) == ["PTI018"]
    assert "KeyAdministration" == findings[0].statement


def test_old_form_lambda_role_without_the_key_through_logs(stack, tmp_path):
    """The function's log group is encrypted: the Lambda role writes it through CloudWatch Logs, which
    uses the role's KMS permissions. A role with the key through S3 only is missing that form."""
    def drop(doc):
        lambda_policy = next(d for d in doc["data"]["aws_iam_policy_document"].values()
                             if any(s.get("sid") == "UseLogKey" for s in d["statement"]))
        lambda_policy["statement"] = [s for s in lambda_policy["statement"] if s.get("sid") != "UseLogKey"]

    findings = findings_after(stack, tmp_path, drop)
    assert rule_ids(findings) == ["PTI002", "PTI002"]  # kms:Decrypt and kms:GenerateDataKey through logs
    assert all("kms:ViaService in ['logs.{region}.{dns_suffix}']" in f.message for f in findings)


def test_key_with_the_default_key_policy_encrypting_logs_is_flagged(stack, tmp_path):
    findings = findings_after(stack, tmp_path, lambda d: next(iter(d["resource"]["aws_kms_key"].values())).pop("policy"))
    assert rule_ids(findings) == ["PTI014"]
    assert "no key policy of its own" in findings[0].message


# --- rendering the policies as real JSON: parliament, and a plan ------------------------------------


def _concrete(doc: dict, value: str) -> str:
    """Replace interpolations with plausible literals (placeholder ARNs) for linters and plan fixtures."""
    resources = doc["resource"]

    def one(match: re.Match) -> str:
        parts = match.group(1).split(".")
        if parts[0] == "data":
            if parts[1] == "aws_partition":
                return {"partition": "aws", "dns_suffix": "amazonaws.com"}[parts[3]]
            return {"aws_region": REGION, "aws_caller_identity": ACCOUNT}[parts[1]]
        kind, name = parts[0], parts[1]
        body = resources[kind][name]
        if kind == "aws_s3_bucket":
            return f"arn:aws:s3:::mlpipe-data-{ACCOUNT}-{REGION}"
        if kind == "aws_iam_role":
            return f"arn:aws:iam::{ACCOUNT}:role/{body['name']}"
        if kind == "aws_lambda_function":
            return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{body['function_name']}"
        if kind == "aws_cloudwatch_log_group":
            return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{body['name']}"
        if kind == "aws_kms_key":
            return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0e1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7"
        raise AssertionError(f"no literal for {match.group(0)}")

    return re.sub(r"\$\{([^{}]*)\}", one, value)


def _iam_json(doc: dict, document_name: str) -> dict:
    statements = []
    for block in doc["data"]["aws_iam_policy_document"][document_name]["statement"]:
        out = {"Effect": block.get("effect", "Allow"), "Action": block["actions"]}
        if block.get("sid"):
            out["Sid"] = block["sid"]
        if block.get("resources"):
            out["Resource"] = [_concrete(doc, r) for r in block["resources"]]
        if block.get("principals"):
            out["Principal"] = {p["type"]: p["identifiers"] for p in block["principals"]}
        if block.get("condition"):
            conditions: dict = {}
            for c in block["condition"]:
                values = [_concrete(doc, v) for v in c["values"]]
                # One value is written as a string, as the provider's aws_iam_policy_document writes it
                # (iamPolicyDecodeConfigStringList / "flatten entries with a single item to match AWS IAM
                # syntax", hashicorp/terraform-provider-aws internal/service/iam policy model): parliament
                # cannot read a one-element list under Bool.
                conditions.setdefault(c["test"], {})[c["variable"]] = values[0] if len(values) == 1 else values
            out["Condition"] = conditions
        statements.append(out)
    return {"Version": "2012-10-17", "Statement": statements}


def test_parliament_finds_nothing_on_default_policies(stack):
    from parliament import analyze_policy_string

    for body in stack["resource"]["aws_iam_role_policy"].values():
        policy = json.dumps(_iam_json(stack, _doc_name(body["policy"])))
        analyzed = analyze_policy_string(policy)
        assert [(f.issue, f.detail) for f in analyzed.findings] == [], body["policy"]


def _plan_from(stack: dict) -> dict:
    """A `terraform show -json` shaped plan whose policies are known JSON strings."""
    resources = []
    for name, body in stack["resource"]["aws_iam_role"].items():
        resources.append({
            "address": f"aws_iam_role.{name}", "mode": "managed", "type": "aws_iam_role", "name": name,
            "values": {
                "name": body["name"],
                "arn": f"arn:aws:iam::{ACCOUNT}:role/{body['name']}",
                "assume_role_policy": json.dumps(_iam_json(stack, _doc_name(body["assume_role_policy"]))),
            },
        })
    for name, body in stack["resource"]["aws_iam_role_policy"].items():
        role = re.match(r"^\$\{aws_iam_role\.([^.]+)\.id\}$", body["role"]).group(1)
        resources.append({
            "address": f"aws_iam_role_policy.{name}", "mode": "managed", "type": "aws_iam_role_policy", "name": name,
            "values": {"role": stack["resource"]["aws_iam_role"][role]["name"], "policy": json.dumps(_iam_json(stack, _doc_name(body["policy"])))},
        })
    for kind, attribute in (("aws_s3_bucket", "arn"), ("aws_cloudwatch_log_group", "arn")):
        for name in stack["resource"][kind]:
            resources.append({
                "address": f"{kind}.{name}", "mode": "managed", "type": kind, "name": name,
                "values": {
                    attribute: _concrete(stack, f"${{{kind}.{name}.arn}}"),
                    **{k: _concrete(stack, v) if isinstance(v, str) else v for k, v in stack["resource"][kind][name].items() if k != "//"},
                },
            })
    for name, body in stack["resource"].get("aws_kms_key", {}).items():
        resources.append({
            "address": f"aws_kms_key.{name}", "mode": "managed", "type": "aws_kms_key", "name": name,
            "values": {"arn": _concrete(stack, f"${{aws_kms_key.{name}.arn}}"), "policy": _concrete(stack, body["policy"])},
        })
    for kind in ("aws_sfn_state_machine", "aws_lambda_function"):
        for name, body in stack["resource"][kind].items():
            # A plan shows nested blocks as lists, whatever shape the configuration used.
            values = {k: [v] if isinstance(v, dict) else v for k, v in body.items() if k not in ("//", "definition")}
            values["arn"] = _concrete(stack, f"${{{kind}.{name}.arn}}") if kind == "aws_lambda_function" else None
            resources.append({"address": f"{kind}.{name}", "mode": "managed", "type": kind, "name": name, "values": values})
    identity = next(iter(stack["data"]["aws_caller_identity"]))
    prior = [{"address": f"data.aws_caller_identity.{identity}", "mode": "data", "type": "aws_caller_identity", "name": identity, "values": {"account_id": ACCOUNT}}]
    return {
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": resources}},
        "prior_state": {"values": {"root_module": {"resources": prior}}},
        "resource_changes": [],
        "configuration": {"root_module": {}},
    }


def test_plan_input_is_clean_and_finds_the_same_roles(stack, tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(_plan_from(stack)))
    loaded = load_plan(plan)
    assert sorted(r.purpose for r in loaded.roles) == ["lambda", "sagemaker", "state_machine"]
    assert run_rules(loaded) == []


def test_plan_input_reports_a_broken_policy(stack, tmp_path):
    plan_doc = _plan_from(stack)
    for entry in plan_doc["planned_values"]["root_module"]["resources"]:
        if entry["type"] == "aws_iam_role_policy" and "s3:AbortMultipartUpload" in entry["values"]["policy"]:
            policy = json.loads(entry["values"]["policy"])
            policy["Statement"][0]["Action"].append("s3:DeleteObject")
            entry["values"]["policy"] = json.dumps(policy)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(plan_doc))
    assert rule_ids(run_rules(load_plan(plan))) == ["PTI001"]


# --- formats ---------------------------------------------------------------------------------------


def test_sarif_validates_against_the_sarif_2_1_0_schema(stack, tmp_path):
    schema = json.loads(SARIF_SCHEMA.read_text())
    findings = findings_after(stack, tmp_path, lambda d: statement(d, "sagemaker", "ReadPipelineData").update(resources=["*"]))
    loaded = verify(stack_dir=tmp_path)[0]
    log = json.loads(render_sarif(loaded, findings))
    jsonschema.Draft4Validator(schema).validate(log)
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["PTI004"]
    assert log["runs"][0]["results"][0]["level"] == "error"
    # and a clean report is valid too
    jsonschema.Draft4Validator(schema).validate(json.loads(render_sarif(loaded, [])))


def test_sarif_schema_rejects_a_broken_log():
    """The schema really is checking: a log without `version` must fail."""
    schema = json.loads(SARIF_SCHEMA.read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema).validate({"runs": []})


def test_junit_and_json_formats(stack, tmp_path):
    findings = findings_after(stack, tmp_path, lambda d: trust_statement(d, "sagemaker").pop("condition"))
    loaded = verify(stack_dir=tmp_path)[0]
    suite = ET.fromstring(render_junit(loaded, findings).split("?>", 1)[1])
    assert suite.get("failures") == "1"
    failed = [case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None]
    assert failed == ["PTI008 trust-without-source-condition"]
    report = json.loads(render_json(loaded, findings))
    assert [f["rule_id"] for f in report["findings"]] == ["PTI008"]
    assert set(report["roles"]) == {"lambda", "sagemaker", "state_machine"}


# --- the command line ------------------------------------------------------------------------------


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline_tools.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_cli_exit_codes_and_output_file(stack_dir, stack, tmp_path):
    out = tmp_path / "report" / "iam.sarif"
    done = _cli("verify-iam", "--stack-dir", str(stack_dir), "--format", "sarif", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["version"] == "2.1.0"
    assert [p.name for p in out.parent.iterdir()] == ["iam.sarif"]  # no temp files left

    broken = copy.deepcopy(stack)
    statement(broken, "lambda", "WriteDataset")["actions"].append("s3:DeleteObject")
    (tmp_path / "cdk.tf.json").write_text(json.dumps(broken))
    done = _cli("verify-iam", "--stack-dir", str(tmp_path), "--format", "json")
    assert done.returncode == 1
    assert [f["rule_id"] for f in json.loads(done.stdout)["findings"]] == ["PTI001"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{ not json", "cdk.tf.json is not valid JSON (line 1, column 3"),
        (json.dumps({"resource": {"aws_iam_role": {"r": {"assume_role_policy": "${data.aws_iam_policy_document.gone.json}"}}}}),
         "malformed stack: data.aws_iam_policy_document.gone is referenced but not defined"),
        ("[]", "malformed input: cdk.tf.json must be a dict"),
    ],
    ids=["broken-json", "dangling-reference", "not-an-object"],
)
def test_cli_malformed_stack_is_one_line_exit_2(tmp_path, content, message):
    (tmp_path / "cdk.tf.json").write_text(content)
    done = _cli("verify-iam", "--stack-dir", str(tmp_path))
    assert_clean_error(done, message, "pipeline-tools synth")


def test_cli_malformed_plan_is_one_line_exit_2(tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"hello": "world"}))
    done = _cli("verify-iam", "--plan", str(plan))
    assert_clean_error(done, "plan.json is not a Terraform plan in JSON", "terraform show -json")


def test_plan_with_a_policy_unknown_until_apply(stack, tmp_path):
    """A fresh plan: the policy JSON is unknown; the loader follows the configuration to the data source,
    reads its actions, and reports the unknown resources as unverifiable instead of guessing."""
    plan_doc = _plan_from(stack)
    lambda_doc = _doc_name(next(
        b["policy"] for b in stack["resource"]["aws_iam_role_policy"].values()
        if b["role"] == f"${{aws_iam_role.{role_name(stack, 'lambda')}.id}}"
    ))
    for entry in plan_doc["planned_values"]["root_module"]["resources"]:
        if entry["type"] == "aws_iam_role_policy" and "s3:AbortMultipartUpload" in entry["values"]["policy"]:
            del entry["values"]["policy"]
            address = entry["address"]
    blocks = copy.deepcopy(stack["data"]["aws_iam_policy_document"][lambda_doc]["statement"])
    for block in blocks:
        block["resources"] = None if any("${" in r for r in block["resources"]) else block["resources"]
        for condition in block.get("condition", []):  # known at plan time (region, partition)
            condition["values"] = [_concrete(stack, v) for v in condition["values"]]
    data_address = f"data.aws_iam_policy_document.{lambda_doc}"
    plan_doc["resource_changes"] = [{
        "address": data_address, "mode": "data", "type": "aws_iam_policy_document", "name": lambda_doc,
        "change": {"actions": ["read"], "after": {"statement": blocks, "json": None},
                   "after_unknown": {"json": True, "statement": [{"resources": b["resources"] is None} for b in blocks]}},
    }]
    plan_doc["configuration"]["root_module"]["resources"] = [
        {"address": address, "expressions": {"policy": {"references": [f"{data_address}.json", data_address]}}}
    ]
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(plan_doc))
    findings = run_rules(load_plan(plan))
    assert rule_ids(findings) == ["PTI011"]
    assert findings[0].role == "lambda" and "unknown until apply" in findings[0].message


def _in_module(plan_doc: dict, name: str = "pipeline") -> dict:
    """The same plan, its resources inside a module a root module calls (as with `module export`):
    addresses prefixed, the configuration under module_calls with its own (relative) addresses and references."""
    moved = copy.deepcopy(plan_doc)
    for section in ("planned_values", "prior_state"):
        root = moved[section] if section == "planned_values" else moved[section]["values"]
        resources = root["root_module"].pop("resources")
        for entry in resources:
            entry["address"] = f"module.{name}.{entry['address']}"
        root["root_module"]["child_modules"] = [{"address": f"module.{name}", "resources": resources}]
    for change in moved["resource_changes"]:
        change["address"] = f"module.{name}.{change['address']}"
    moved["configuration"] = {"root_module": {"module_calls": {name: {"source": "./module", "module": moved["configuration"]["root_module"]}}}}
    return moved


def test_a_plan_of_a_root_module_calling_the_pipeline_module_reads_the_same(stack, tmp_path):
    """Roles, ARNs known in the plan (bucket, keys, log groups) and the data layout are found inside a
    called module; a policy unknown until apply is followed through the module's configuration."""
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(_in_module(_plan_from(stack))))
    loaded = load_plan(plan)
    assert sorted(r.purpose for r in loaded.roles) == ["lambda", "sagemaker", "state_machine"]
    assert run_rules(loaded) == []
    # A policy unknown until apply, inside the module: followed to its document, reported as unverifiable.
    plan_doc = _plan_from(stack)
    entry = next(e for e in plan_doc["planned_values"]["root_module"]["resources"]
                 if e["type"] == "aws_iam_role_policy" and "s3:AbortMultipartUpload" in e["values"]["policy"])
    del entry["values"]["policy"]
    document = _doc_name(next(b["policy"] for n, b in stack["resource"]["aws_iam_role_policy"].items() if entry["address"].endswith(f".{n}")))
    data_address = f"data.aws_iam_policy_document.{document}"
    plan_doc["resource_changes"] = [{
        "address": data_address, "mode": "data", "type": "aws_iam_policy_document", "name": document,
        "change": {"actions": ["read"], "after": {"statement": [{"actions": ["s3:PutObject"], "resources": None}], "json": None},
                   "after_unknown": {"json": True, "statement": [{"resources": True}]}},
    }]
    plan_doc["configuration"]["root_module"]["resources"] = [
        {"address": entry["address"], "expressions": {"policy": {"references": [f"{data_address}.json", data_address]}}}
    ]
    plan.write_text(json.dumps(_in_module(plan_doc)))
    findings = run_rules(load_plan(plan))
    assert "PTI011" in rule_ids(findings)
    assert any(f.role == "lambda" and f"module.pipeline.{data_address}: resources unknown until apply" in f.message for f in findings), findings


def test_the_default_stack_may_not_trust_transform_jobs(stack, tmp_path):
    """The batch transform set applies only to a stack that has the stage."""
    def trust_transform_jobs(doc):
        (source_arn,) = [c for c in trust_statement(doc, "sagemaker")["condition"] if c["variable"] == "aws:SourceArn"]
        source_arn["values"] = source_arn["values"] + [source_arn["values"][0].replace("processing-job", "transform-job")]

    findings = findings_after(stack, tmp_path, trust_transform_jobs)
    assert rule_ids(findings) == ["PTI012"] and "transform-job/*" in findings[0].message


def test_a_batch_transform_stack_is_clean_and_needs_its_managed_rule(tmp_path_factory, tmp_path):
    from pipeline_tools.synthesis import synthesize

    config = tmp_path / "pipeline.toml"
    config.write_text("[batch_transform]\nenabled = true\n")
    directory = synthesize(config_path=config, out_dir=tmp_path_factory.mktemp("bt") / "cdktf.out")
    loaded, findings = verify(stack_dir=directory)
    assert "batch_transform" in loaded.features and findings == []
    doc = json.loads((directory / "cdk.tf.json").read_text())

    def drop_transform_rule(d):
        grant = statement(d, "state_machine", "WatchSyncJobs")
        grant["resources"] = [r for r in grant["resources"] if "TransformJobsRule" not in r]

    found = findings_after(doc, tmp_path, drop_transform_rule)
    assert rule_ids(found) == ["PTI002", "PTI002", "PTI002"] and all("TransformJobsRule" in f.message for f in found)
