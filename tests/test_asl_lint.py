"""`validate`'s definition lint (gates/asl_lint.py): statelint completed for JSONata and variables,
with the real statelint and the emulator's JSONata engine. Both sides: what AWS accepts passes,
what is broken is one line naming the state."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from pipeline_tools.emulator.patches.sfn_api import validate_definition
from pipeline_tools.gates.asl_lint import lint
from pipeline_tools.gates.validate import lint_definitions

CASES = tomllib.loads((Path(__file__).parent / "data" / "step_functions_conformance.toml").read_text())["case"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_every_conformance_definition_lints_clean(case):
    """The conformance cases are definitions AWS runs: JSONata, Assign in JSONPath and JSONata
    states, Choice rules with Assign, Map/Parallel scopes."""
    assert lint(json.loads(case["definition"].replace("FUNCTION_ARN", "arn:aws:lambda:us-east-1:123456789012:function:f"))) == []


def machine(states: dict, **top) -> dict:
    return {"StartAt": next(iter(states)), "States": states, **top}


def test_a_jsonata_syntax_error_is_one_line_naming_the_state_and_field():
    document = machine({"Prepare": {"Type": "Pass", "Output": {"items": ["{% $states.input.a + %}"]}, "End": True}}, QueryLanguage="JSONata")
    assert lint(document) == [
        "JSONata expression '{% $states.input.a + %}' in State Machine.States.Prepare.Output.items[0] does not parse: S0207: Unexpected end of expression"
    ]


def test_expressions_in_nested_states_and_choice_conditions_are_parsed():
    inner = {"StartAt": "I", "States": {"I": {"Type": "Pass", "Output": "{% $states.input.( %}", "End": True}}}
    document = machine(
        {
            "C": {"Type": "Choice", "Choices": [{"Condition": "{% $x >> 1 %}", "Next": "M"}], "Default": "M"},
            "M": {"Type": "Map", "Items": "{% [1] %}", "ItemProcessor": inner, "End": True},
        },
        QueryLanguage="JSONata",
    )
    problems = lint(document)
    assert [p.split(" in ")[1].split(" does")[0] for p in problems] == [
        "State Machine.States.C.Choices[0].Condition",
        "State Machine.States.M.ItemProcessor.States.I.Output",
    ]


def test_a_jsonata_state_inside_a_jsonpath_machine_is_parsed_and_jsonpath_strings_are_not():
    document = machine(
        {
            "Path": {"Type": "Pass", "Parameters": {"literal": "{% not an expression here %}"}, "Next": "Nata"},
            "Nata": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% ) %}", "End": True},
        }
    )
    problems = lint(document)
    assert len(problems) == 1 and "State Machine.States.Nata.Output" in problems[0]


def test_a_jsonpath_field_in_a_jsonata_state_is_refused():
    document = machine({"S": {"Type": "Pass", "Parameters": {"a.$": "$.x"}, "End": True}}, QueryLanguage="JSONata")
    assert lint(document) == ['Field "Parameters" not allowed in State Machine.States.S']


def test_assign_is_taken_where_aws_takes_it_and_refused_elsewhere():
    document = machine(
        {
            "P": {"Type": "Pass", "Assign": {"a": 1}, "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 1, "Assign": {"b.$": "$.x"}, "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": True, "Assign": {"c": 1}, "Next": "Done"}],
                  "Default": "Done", "Assign": {"d": 2}},
            "Done": {"Type": "Succeed", "Assign": {"e": 1}},
        }
    )
    assert lint(document) == ['Field "Assign" not allowed in State Machine.States.Done']


def test_the_emulators_validate_api_uses_the_same_lint():
    ok = validate_definition(json.dumps(machine({"P": {"Type": "Pass", "Assign": {"a": 1}, "End": True}})))
    assert ok == {"result": "OK", "diagnostics": [], "truncated": False}
    broken = validate_definition(json.dumps(machine({"P": {"Type": "Pass", "Output": "{% ( %}", "End": True}}, QueryLanguage="JSONata")))
    assert broken["result"] == "FAIL" and broken["diagnostics"][0]["location"] == "/States/P/Output"


def test_validate_names_the_resource_and_the_state(default_stack):
    broken = json.loads(json.dumps(default_stack))
    (name, state_machine), = broken["resource"]["aws_sfn_state_machine"].items()
    definition = json.loads(state_machine["definition"])
    first = definition["StartAt"]
    definition["QueryLanguage"] = "JSONata"
    definition["States"][first]["Output"] = "{% $states.input[ %}"
    state_machine["definition"] = json.dumps(definition)
    problems = lint_definitions(broken)
    assert any(p.startswith(f"{name}: JSONata expression") and f"States.{first}.Output" in p for p in problems), problems


def test_a_variable_read_is_a_path_in_a_jsonpath_template_and_a_non_path_still_is_refused():
    document = machine({"S": {"Type": "Pass", "Parameters": {"name.$": "$customerName", "first.$": "$names[0]", "bad.$": "customerName"}, "End": True}})
    assert lint(document) == ['Field "bad.$" of Parameters at "State Machine.States.S" is not a JSONPath or intrinsic function expression']


def test_an_expression_where_a_number_goes_is_taken_in_jsonata_and_refused_in_jsonpath():
    wait = {"Type": "Wait", "Seconds": "{% $states.input.pause %}", "End": True}
    assert lint(machine({"W": wait}, QueryLanguage="JSONata")) == []
    assert lint(machine({"W": wait})) == ['State Machine.States.W.Seconds is "{% $states.input.pause %}" but should be an Integer']
