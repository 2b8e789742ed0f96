"""Step Functions conformance: the cases of tests/data/step_functions_conformance.toml (each from
AWS's pages or recorded on AWS) run on a real emulator, and docs/step-functions-conformance.md
lists exactly those cases.

One emulator and one Python function serve the whole module; every case is a state machine of its
own, all started at once and then awaited (the interpreter runs executions in threads).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from pipeline_tools.emulator import client

from .conftest_emulator import create_role, emulator_in, wait_execution, zip_files

ROOT = Path(__file__).resolve().parents[1]
CASES = tomllib.loads((ROOT / "tests" / "data" / "step_functions_conformance.toml").read_text())["case"]
DOC = ROOT / "docs" / "step-functions-conformance.md"

HANDLER = '''
def handler(event, context):
    if event.get("fail"):
        raise ValueError(event["fail"])
    return {"echo": event}
'''


def doc_table(cases: list[dict]) -> str:
    """The table docs/step-functions-conformance.md carries between its markers."""
    rows = ["| # | area | case | what AWS documents | source |", "|---|---|---|---|---|"]
    for number, case in enumerate(cases, 1):
        doc, name = (case[key].replace("|", "\\|") for key in ("doc", "name"))
        source = case["source"]
        link = f"[{source.rsplit('/', 1)[-1] or source}]({source})" if source.startswith("https://") else source
        rows.append(f"| {number} | {case['area']} | {name} | {doc} | {link} |")
    return "\n".join(rows)


def test_the_doc_lists_the_cases_the_test_runs():
    text = DOC.read_text()
    found = re.search(r"<!-- cases: begin -->\n(.*?)\n<!-- cases: end -->", text, re.DOTALL)
    assert found, "docs/step-functions-conformance.md lost its <!-- cases: begin/end --> markers"
    assert found.group(1) == doc_table(CASES), "regenerate the table: python -m tests.test_sfn_conformance"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    with emulator_in(tmp_path_factory.mktemp("conformance") / ".pipeline-tools") as state:
        yield state


@pytest.fixture(scope="module")
def executions(emulator):
    """Every case's state machine created and started; yields {case name: (described execution, names)}."""
    sfn, iam = client("stepfunctions", emulator), client("iam", emulator)
    role = create_role(iam, "conformance-role")
    function = client("lambda", emulator).create_function(
        FunctionName="conformance-fn", Runtime="python3.12", Role=role, Handler="app.handler",
        Code={"ZipFile": zip_files({"app.py": HANDLER})}, Timeout=30,
    )["FunctionArn"]
    started = {}
    for number, case in enumerate(CASES, 1):
        machine_name, execution_name = f"conformance-{number}", f"case-{number}"
        definition = case["definition"].replace("FUNCTION_ARN", function)
        json.loads(definition)  # the table's JSON is valid
        try:
            machine = sfn.create_state_machine(name=machine_name, definition=definition, roleArn=role)["stateMachineArn"]
            arn = sfn.start_execution(stateMachineArn=machine, name=execution_name, input=case.get("input", "{}"))["executionArn"]
        except Exception as error:  # noqa: BLE001 - that case fails, the others run
            started[case["name"]] = (error, machine_name, execution_name)
            continue
        started[case["name"]] = (arn, machine_name, execution_name)
    yield {
        name: (wait_execution(sfn, arn, 120) if isinstance(arn, str) else arn, machine, execution)
        for name, (arn, machine, execution) in started.items()
    }


@pytest.mark.emulator
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_emulator_does_what_aws_documents(executions, case):
    described, machine_name, execution_name = executions[case["name"]]
    if isinstance(described, Exception):
        raise described
    assert described["status"] == case["expect"], described
    if case["expect"] == "FAILED":
        assert (described.get("error"), described.get("cause")) == (case["error"], case["cause"])
        return
    output = json.loads(described["output"])  # DescribeExecution answered: no datetime in the output
    if "output" in case:
        expected = case["output"].replace('"NAME"', json.dumps(execution_name)).replace('"MACHINE"', json.dumps(machine_name))
        assert output == json.loads(expected)
    for key, pattern in case.get("match", {}).items():
        assert re.fullmatch(pattern, output[key]), (key, output[key])


@pytest.mark.emulator
def test_a_refused_definition_leaves_the_next_one_alone(emulator, executions):
    """moto kept the parser's QueryLanguage scopes in a class attribute: after one definition was
    refused midway, every JSONPath definition was refused until a restart (sfn_query_language_scope)."""
    from botocore.exceptions import ClientError

    sfn = client("stepfunctions", emulator)
    role = create_role(client("iam", emulator), "after-refusal-role")
    refused = {"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": {"Type": "Pass", "Parameters": {"a": 1}, "End": True}}}
    with pytest.raises(ClientError):
        sfn.create_state_machine(name="refused", definition=json.dumps(refused), roleArn=role)
    plain = {"StartAt": "S", "States": {"S": {"Type": "Pass", "Result": 1, "ResultPath": "$.r", "End": True}}}
    machine = sfn.create_state_machine(name="after-refusal", definition=json.dumps(plain), roleArn=role)["stateMachineArn"]
    described = wait_execution(sfn, sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"])
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", {"r": 1})


if __name__ == "__main__":  # python -m tests.test_sfn_conformance: print the doc's table
    print(doc_table(CASES))
