"""scan's job rules (PTJ001-PTJ007): the gate sees inside the state machine.

The real synthesized stack with everything the rules judge present (the stack's own key, [network],
two processing and two training hosts, the batch transform stage), then its definition edited to
drop one setting at a time: each rule fires on its edit, and only there, and is silent on the real
stack. The real CLI with the real checkov runs the real stack (exit 0) and a definition with every
edit at once, in each report format (exit 1, naming every rule).
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from pipeline_tools.gates.job_rules import MODULES, all_rules, scan_jobs

from .conftest import assert_clean_error, run_cli

REPO = Path(__file__).resolve().parents[1]
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-2.1.0.json"
PROCESS, TRAIN, MODEL, TRANSFORM = "Standardization: x' = (x - x̄) / σ", "Train model (XGBoost)", "Create model", "Batch transform"
EVALUATE = "Evaluate model"  # issue 23: the batch transform stage evaluates its predictions in a processing job of its own
SECURE = """
[network]
subnet_ids = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
security_group_ids = ["sg-0123456789abcdef0"]

[processing]
instance_count = 2

[training]
instance_count = 2

[batch_transform]
enabled = true
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> dict:
    from sfn_ml_pipeline.config import config_from_mapping
    import tomllib

    from pipeline_tools.synthesis import synthesize

    config = tmp_path_factory.mktemp("config") / "pipeline.toml"
    config.write_text(SECURE)
    assert config_from_mapping(tomllib.loads(SECURE)).stack_key
    out = synthesize(config_path=config, out_dir=tmp_path_factory.mktemp("synth") / "cdktf.out")
    return json.loads((out / "cdk.tf.json").read_text())


def _definition(stack: dict) -> tuple[dict, dict]:
    (machine,) = stack["resource"]["aws_sfn_state_machine"].values()
    return machine, json.loads(machine["definition"])


def edited(stack: dict, *edits) -> dict:
    """A copy of the stack whose definition has ``edit(states)`` applied for each edit."""
    changed = copy.deepcopy(stack)
    machine, definition = _definition(changed)
    for edit in edits:
        edit(definition["States"])
    machine["definition"] = json.dumps(definition, ensure_ascii=False)
    return changed


def write(stack: dict, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "cdk.tf.json").write_text(json.dumps(stack, ensure_ascii=False))
    return directory


def params(states: dict, state: str) -> dict:
    return states[state]["Parameters"]


# One edit per rule: what a careless change to the definition would do.
EDITS = {
    "PTJ001": lambda s: params(s, TRAIN).pop("EnableNetworkIsolation"),
    "PTJ002": lambda s: params(s, PROCESS)["NetworkConfig"].pop("VpcConfig"),
    "PTJ003": lambda s: params(s, TRAIN).pop("EnableInterContainerTrafficEncryption"),
    "PTJ004": lambda s: params(s, TRANSFORM)["TransformResources"].pop("VolumeKmsKeyId"),
    "PTJ005": lambda s: params(s, PROCESS)["ProcessingOutputConfig"].pop("KmsKeyId"),
    "PTJ006": lambda s: params(s, TRAIN).pop("StoppingCondition"),
    "PTJ007": lambda s: params(s, MODEL).update(ExecutionRoleArn="arn:aws:iam::111122223333:role/someone-elses"),
}
# ... and the task each one breaks.
EDITED_STATE = {"PTJ001": TRAIN, "PTJ002": PROCESS, "PTJ003": TRAIN, "PTJ004": TRANSFORM, "PTJ005": PROCESS, "PTJ006": TRAIN, "PTJ007": MODEL}


def _failures(stack: dict, tmp_path: Path) -> list:
    _, results = scan_jobs(write(stack, tmp_path) / "cdk.tf.json")
    return [r for r in results if not r.passed]


def test_one_module_per_rule_with_stable_ids_and_a_cited_source():
    rules = [rule for rule, _ in all_rules()]
    assert [r.id for r in rules] == [f"PTJ{i:03d}" for i in range(1, len(MODULES) + 1)]
    for rule, module in all_rules():
        assert module.__name__.endswith(f".{rule.id.lower()}_{rule.name.replace('-', '_')}"), module.__name__
        assert rule.url.startswith("https://docs.aws.amazon.com/") and rule.follows and rule.severity in ("high", "medium", "low")
    assert "SageMaker.5" in rules[0].follows  # the Security Hub control for models


def test_the_real_stack_passes_every_rule_on_every_task_it_applies_to(stack, tmp_path):
    _, results = scan_jobs(write(stack, tmp_path) / "cdk.tf.json")
    assert [r for r in results if not r.passed] == []
    applied = {(r.rule.id, r.task.state) for r in results}
    assert applied == {
        ("PTJ001", PROCESS), ("PTJ001", TRAIN), ("PTJ001", MODEL), ("PTJ001", EVALUATE),
        ("PTJ002", PROCESS), ("PTJ002", TRAIN), ("PTJ002", MODEL), ("PTJ002", EVALUATE),
        ("PTJ003", PROCESS), ("PTJ003", TRAIN),  # the evaluation runs on one host: nothing to encrypt between hosts
        ("PTJ004", PROCESS), ("PTJ004", TRAIN), ("PTJ004", TRANSFORM), ("PTJ004", EVALUATE),
        ("PTJ005", PROCESS), ("PTJ005", TRAIN), ("PTJ005", TRANSFORM), ("PTJ005", EVALUATE),
        ("PTJ006", PROCESS), ("PTJ006", TRAIN), ("PTJ006", EVALUATE),
        ("PTJ007", PROCESS), ("PTJ007", TRAIN), ("PTJ007", MODEL), ("PTJ007", EVALUATE),
    }


@pytest.mark.parametrize("rule_id", list(EDITS))
def test_each_rule_fires_on_its_edit_and_only_there(stack, tmp_path, rule_id):
    failures = _failures(edited(stack, EDITS[rule_id]), tmp_path)
    assert [(f.rule.id, f.task.state) for f in failures] == [(rule_id, EDITED_STATE[rule_id])], [f.message for f in failures]


def test_settings_that_look_right_but_are_not_the_stacks_fire(stack, tmp_path):
    """Another key, other subnets, a run-time value, a one-host job: judged by value, not presence."""
    other_key = "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000"
    cases = {
        "PTJ004": lambda s: params(s, TRAIN)["ResourceConfig"].update(VolumeKmsKeyId=other_key),
        "PTJ005": lambda s: params(s, TRAIN)["OutputDataConfig"].update({"KmsKeyId.$": "$.key"}) or params(s, TRAIN)["OutputDataConfig"].pop("KmsKeyId"),
        "PTJ002": lambda s: params(s, MODEL)["VpcConfig"].update(Subnets=["subnet-0123456789abcdef9"]),
        "PTJ001": lambda s: params(s, PROCESS)["NetworkConfig"].update(EnableNetworkIsolation=False),
        "PTJ006": lambda s: params(s, PROCESS)["StoppingCondition"].update(MaxRuntimeInSeconds=0),
    }
    for rule_id, edit in cases.items():
        failures = _failures(edited(stack, edit), tmp_path / rule_id)
        assert [f.rule.id for f in failures] == [rule_id], (rule_id, [f.message for f in failures])
    # One host needs no traffic encryption: dropping it from a single-host job is no finding.
    single = edited(stack, lambda s: params(s, TRAIN)["ResourceConfig"].update(InstanceCount=1), EDITS["PTJ003"])
    assert _failures(single, tmp_path / "single") == []


def test_a_role_of_the_stack_that_sagemaker_may_not_assume_fires(stack, tmp_path):
    (lambda_role,) = [name for name in stack["resource"]["aws_iam_role"] if "lambda" in name]
    changed = edited(stack, lambda s: params(s, TRAIN).update(RoleArn=f"${{aws_iam_role.{lambda_role}.arn}}"))
    (failure,) = _failures(changed, tmp_path)
    assert failure.rule.id == "PTJ007" and "may not assume" in failure.message


def test_without_the_settings_the_conditional_rules_stay_silent(stack, tmp_path):
    """No [network]: PTJ002 does not apply; no customer key: PTJ004/PTJ005 do not apply."""
    changed = copy.deepcopy(stack)
    for function in changed["resource"]["aws_lambda_function"].values():
        function.pop("vpc_config")
    for encryption in changed["resource"]["aws_s3_bucket_server_side_encryption_configuration"].values():
        encryption["rule"][0]["apply_server_side_encryption_by_default"] = {"sse_algorithm": "AES256"}
    changed = edited(changed, EDITS["PTJ002"], EDITS["PTJ004"], EDITS["PTJ005"])
    _, results = scan_jobs(write(changed, tmp_path) / "cdk.tf.json")
    assert {r.rule.id for r in results} == {"PTJ001", "PTJ003", "PTJ006", "PTJ007"}
    assert all(r.passed for r in results)


@pytest.mark.checkov
def test_scan_passes_the_real_stack(stack, tmp_path, checkov):
    done = run_cli("scan", "--stack-dir", str(write(stack, tmp_path)), "--skips", str(REPO / "checkov-skips.toml"), timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pipeline-tools job rules" in done.stdout and "Failed checks: 0" in done.stdout.split("pipeline-tools job rules")[1]


@pytest.mark.checkov
@pytest.mark.parametrize("output_format", ["cli", "json", "sarif", "junitxml"])
def test_scan_exits_1_naming_every_dropped_rule_in_every_format(stack, tmp_path, checkov, output_format):
    broken = write(edited(stack, *EDITS.values()), tmp_path)
    done = run_cli("scan", "--stack-dir", str(broken), "--skips", str(REPO / "checkov-skips.toml"), "--format", output_format, timeout=600)
    line = assert_clean_error(done, "scan: 7 failed check(s): " + ", ".join(EDITS), code=1)
    assert "CKV" not in line  # checkov's checks still pass: only the state machine's tasks were edited
    if output_format == "cli":
        for rule_id, state in EDITED_STATE.items():
            assert f"Check: {rule_id}:" in done.stdout and f": {state}" in done.stdout
    elif output_format == "json":
        report = json.loads(done.stdout)
        failed = {(c["check_id"], c["resource"].split(": ", 1)[1]) for c in report["results"]["failed_checks"]}
        assert failed == set(EDITED_STATE.items())
        assert report["summary"]["failed"] == 7 and report["summary"]["passed"] > 100
        assert all(c["guideline"].startswith("https://docs.aws.amazon.com/") for c in report["results"]["failed_checks"])
    elif output_format == "sarif":
        log = json.loads(done.stdout)
        jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(log)
        checkov_run, jobs_run = log["runs"]
        assert checkov_run["tool"]["driver"]["name"] == "Checkov" and checkov_run["results"] == []
        assert sorted(r["ruleId"] for r in jobs_run["results"]) == list(EDITS)
        assert {r["id"]: r["helpUri"] for r in jobs_run["tool"]["driver"]["rules"]}["PTJ001"].endswith("#sagemaker-5")
    else:
        root = ET.fromstring(done.stdout)
        (suite,) = [s for s in root.iter("testsuite") if s.get("name") == "pipeline-tools job rules scan"]
        failures = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
        assert sorted(name.split("]")[0][1:] for name in failures) == list(EDITS)
        assert suite.get("failures") == "7" and root.get("failures") == "7"
