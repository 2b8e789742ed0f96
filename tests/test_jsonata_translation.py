"""The pipeline in either query language (`query_language = "JSONata"`, sfn_ml_pipeline/jsonata.py).

* The synthesized JSONata stack: no JSONPath field left, `validate` (lint, API shapes, terraform)
  and `verify-iam` clean, the same roles as the JSONPath stack.
* The translator is generic: JSONPath state machines using every field and intrinsic it translates
  (Pass, Task, Choice, Map, Parallel, Wait, Fail; InputPath/Parameters/ResultSelector/ResultPath/
  OutputPath, Catch, the intrinsics the pipeline uses and more) run on one emulator in both forms
  and give the same output or the same error.
* What it cannot translate faithfully stops the synth with the state and field named.

The pipeline itself runs in both forms end to end in tests/test_local_pipeline.py (same deploy).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline_tools.emulator import client
from sfn_ml_pipeline.jsonata import TranslationError, to_jsonata

from .conftest_emulator import create_role, emulator_in, wait_execution, zip_files

JSONPATH_ONLY = {"InputPath", "Parameters", "ResultSelector", "ResultPath", "OutputPath", "ItemsPath", "Iterator", "ErrorPath", "CausePath", "SecondsPath", "TimestampPath", "Variable"}


def _fields(value, found=None):
    found = set() if found is None else found
    if isinstance(value, dict):
        for key, item in value.items():
            found.add(key)
            _fields(item, found)
    elif isinstance(value, list):
        for item in value:
            _fields(item, found)
    return found


@pytest.fixture(scope="module")
def stacks(tmp_path_factory):
    """The default config synthesized in both query languages (target aws)."""
    from pipeline_tools.synthesis import synthesize

    directory = tmp_path_factory.mktemp("query-languages")
    config = directory / "pipeline.toml"
    config.write_text('query_language = "JSONata"\n\n[batch_transform]\nenabled = true\n')
    jsonpath_config = directory / "jsonpath.toml"
    jsonpath_config.write_text("[batch_transform]\nenabled = true\n")
    return {
        "JSONata": synthesize(config, "aws", directory / "jsonata.out"),
        "JSONPath": synthesize(jsonpath_config, "aws", directory / "jsonpath.out"),
    }


def _definition(stack_dir: Path) -> dict:
    from pipeline_tools.stackfile import load_stack, state_machine_definitions, with_placeholders

    (text,) = state_machine_definitions(load_stack(stack_dir)).values()
    return json.loads(with_placeholders(text))


def test_the_jsonata_stack_has_a_jsonata_definition_and_nothing_else_changes(stacks):
    jsonata, jsonpath = _definition(stacks["JSONata"]), _definition(stacks["JSONPath"])
    assert jsonata["QueryLanguage"] == "JSONata" and "QueryLanguage" not in jsonpath
    assert not (_fields(jsonata) & JSONPATH_ONLY), _fields(jsonata) & JSONPATH_ONLY
    assert not [key for key in _fields(jsonata) if key.endswith(".$")]
    assert list(jsonata["States"]) == list(jsonpath["States"])
    for name, state in jsonpath["States"].items():
        for field in ("Type", "Resource", "Retry", "Next", "End"):
            assert jsonata["States"][name].get(field) == state.get(field), (name, field)
    assert jsonata == to_jsonata(jsonpath)  # the construct calls the translator, nothing more
    from pipeline_tools.stackfile import load_stack

    def without_definition(stack_dir):
        resources = load_stack(stack_dir)["resource"]
        for machine in resources["aws_sfn_state_machine"].values():
            machine.pop("definition")
        return resources

    assert without_definition(stacks["JSONata"]) == without_definition(stacks["JSONPath"])


@pytest.mark.terraform
def test_the_jsonata_stack_validates_and_passes_verify_iam(cli, stacks, plugin_dir):
    validated = cli("validate", "--stack-dir", str(stacks["JSONata"]), "--plugin-dir", str(plugin_dir))
    assert validated.returncode == 0, validated.stdout + validated.stderr
    verified = cli("verify-iam", "--stack-dir", str(stacks["JSONata"]))
    assert verified.returncode == 0, verified.stdout + verified.stderr


# --- the translator is generic: both forms run the same ------------------------------------------

HANDLER = '''
def handler(event, context):
    if event.get("fail"):
        raise ValueError(event["fail"])
    return {"echo": event, "list": [1, 2, 3], "body": "{\\"k\\": [1, 2]}"}
'''

# name -> (JSONPath definition, input)
MACHINES = {
    "task paths and intrinsics": ({"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "FUNCTION_ARN", "InputPath": "$.payload",
        "Parameters": {"name.$": "States.Format('run-{}-{}', $.id, $$.Execution.Name)", "static": "it's", "all.$": "$",
                       "json.$": "States.JsonToString($.nested)", "arr.$": "States.Array($.id, 'x')", "n.$": "States.MathAdd($.id, 2)",
                       "hash.$": "States.Hash($.word, 'SHA-256')", "len.$": "States.ArrayLength($.nested.list)",
                       "item.$": "States.ArrayGetItem($.nested.list, 1)", "has.$": "States.ArrayContains($.nested.list, 2)",
                       "uniq.$": "States.ArrayUnique($.nested.list)", "b64.$": "States.Base64Encode($.word)"},
        "ResultSelector": {"parsed.$": "States.StringToJson($.body)", "first.$": "$.list[0]", "echoed.$": "$.echo"},
        "ResultPath": "$.out.result", "OutputPath": "$.out", "End": True}}},
        {"payload": {"id": 7, "word": "hello", "nested": {"list": [1, 2, 2, 3]}}}),
    "catch into fail": ({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "FUNCTION_ARN", "Parameters": {"fail.$": "$.why"}, "ResultPath": "$.r",
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "F"}], "End": True},
        "F": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}}}, {"why": "broken"}),
    "catch and continue": ({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "FUNCTION_ARN", "Parameters": {"fail": "x"}, "ResultPath": "$.r",
              "Catch": [{"ErrorEquals": ["ValueError"], "ResultPath": "$.caught", "Next": "P"}], "End": True},
        "P": {"Type": "Pass", "Parameters": {"error.$": "$.caught.Error", "keep.$": "$.keep"}, "End": True}}}, {"keep": [1]}),
    "choice rules": ({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"And": [{"Variable": "$.n", "NumericGreaterThan": 10}, {"Variable": "$.s", "StringEquals": "big"}], "Next": "Big"},
            {"Or": [{"Variable": "$.flag", "BooleanEquals": True}, {"Variable": "$.missing", "IsPresent": True}], "Next": "Flag"},
            {"Not": {"Variable": "$.n", "NumericLessThanEqualsPath": "$.limit"}, "Next": "Over"},
            {"Variable": "$.when", "TimestampGreaterThan": "2020-01-01T00:00:00Z", "Next": "Late"}],
            "Default": "Small", "OutputPath": "$.n"},
        "Big": {"Type": "Pass", "Result": "big", "End": True}, "Flag": {"Type": "Pass", "Result": "flag", "End": True},
        "Over": {"Type": "Pass", "Result": "over", "End": True}, "Late": {"Type": "Pass", "Result": "late", "End": True},
        "Small": {"Type": "Pass", "ResultPath": "$.seen", "End": True}}},
        {"n": 5, "s": "small", "flag": False, "limit": 9, "when": "2021-06-01T00:00:00Z"}),
    "choice string matches": ({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"Variable": "$.key", "StringMatches": "out/*", "Next": "Wrong"},
            {"And": [{"Variable": "$.key", "IsString": True}, {"Variable": "$.key", "StringMatches": "in/a\\*b/*.csv"}], "Next": "Match"}],
            "Default": "Wrong"},
        "Wrong": {"Type": "Fail", "Error": "Wrong"}, "Match": {"Type": "Pass", "Result": "matched", "ResultPath": "$.how", "End": True}}},
        {"key": "in/a*b/2024.csv"}),
    "choice default": ({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "One"}], "Default": "Other"},
        "One": {"Type": "Succeed"}, "Other": {"Type": "Pass", "Parameters": {"n.$": "$.n", "type": "other"}, "End": True}}}, {"n": 2}),
    "map with item selector": ({"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index", "tag.$": "$.tag"},
        "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "Parameters": {"v.$": "$.value", "i.$": "$.index", "t.$": "$.tag"}, "End": True}}},
        "ResultPath": "$.mapped", "End": True}}}, {"items": ["a", "b"], "tag": "t"}),
    "parallel and wait": ({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "P"},
        "P": {"Type": "Parallel", "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "InputPath": "$.a", "End": True}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": {"b": True}, "ResultPath": "$.b", "OutputPath": "$.b", "End": True}}}],
            "ResultSelector": {"first.$": "$[0]", "second.$": "$[1]"}, "ResultPath": "$.both", "End": True}}},
        {"wait": 0, "a": {"x": 1}}),
    "pass result into a path": ({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Result": {"r": 1}, "ResultPath": "$.deep.inside", "Next": "Q"},
        "Q": {"Type": "Pass", "InputPath": "$.deep", "End": True}}}, {"deep": {"kept": "yes"}, "other": 0}),
    "a missing path fails": ({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"x.$": "$.nope"}, "End": True}}}, {}),
}


@pytest.fixture(scope="module")
def both_forms(tmp_path_factory):
    """Every machine run in its JSONPath form and its translation; name -> (JSONPath, JSONata) executions."""
    with emulator_in(tmp_path_factory.mktemp("translation") / ".pipeline-tools") as state:
        sfn = client("stepfunctions", state)
        role = create_role(client("iam", state), "translation-role")
        function = client("lambda", state).create_function(
            FunctionName="translation-fn", Runtime="python3.12", Role=role, Handler="app.handler",
            Code={"ZipFile": zip_files({"app.py": HANDLER})}, Timeout=30,
        )["FunctionArn"]
        started = {}
        for number, (name, (definition, payload)) in enumerate(MACHINES.items()):
            jsonpath = json.loads(json.dumps(definition).replace("FUNCTION_ARN", function))
            arns = []
            for language, document in (("path", jsonpath), ("nata", to_jsonata(jsonpath))):
                machine = sfn.create_state_machine(name=f"m{number}-{language}", definition=json.dumps(document), roleArn=role)["stateMachineArn"]
                arns.append(sfn.start_execution(stateMachineArn=machine, name="same", input=json.dumps(payload))["executionArn"])
            started[name] = arns
        yield {name: tuple(wait_execution(sfn, arn, 60) for arn in arns) for name, arns in started.items()}


@pytest.mark.emulator
@pytest.mark.parametrize("name", list(MACHINES))
def test_both_forms_run_the_same(both_forms, name):
    jsonpath, jsonata = both_forms[name]
    assert jsonpath["status"] == jsonata["status"], (jsonpath, jsonata)
    if jsonpath["status"] == "SUCCEEDED":
        output = json.loads(jsonpath["output"])
        assert json.loads(jsonata["output"]) == output
    elif name == "a missing path fails":
        # The same failure; each language words its own (JSONPath: States.Runtime, JSONata: States.QueryEvaluationError).
        assert jsonpath["error"] == "States.Runtime" and "could not be found" in jsonpath["cause"]
        assert jsonata["error"] == "States.QueryEvaluationError" and "The JSONPath '$.nope' specified for the field 'x.$' could not be found" in jsonata["cause"]
    else:  # the function's error, re-raised by the Fail state (each invocation has its own requestId)
        assert jsonata["error"] == jsonpath["error"] == "ValueError"
        path_cause, nata_cause = json.loads(jsonpath["cause"]), json.loads(jsonata["cause"])
        assert {k: path_cause[k] for k in ("errorMessage", "errorType")} == {k: nata_cause[k] for k in ("errorMessage", "errorType")}
        assert list(path_cause) == list(nata_cause) == ["errorMessage", "errorType", "requestId", "stackTrace"]


def test_the_translation_of_the_task_case_reads_as_aws_writes_jsonata():
    definition, _ = MACHINES["task paths and intrinsics"]
    state = to_jsonata(definition)["States"]["T"]
    assert state["Arguments"]["name"] == "{% ('run-' & $string($states.input.payload.id) & '-' & $string($states.context.Execution.Name)) %}"
    assert state["Arguments"]["static"] == "it's" and state["Arguments"]["all"] == "{% $states.input.payload %}"
    assert state["Output"].startswith("{% ($output := $merge([$states.input, {'out': $merge([$states.input.out, {'result': {'parsed': ($v := $parse($states.result.body); ")


# --- what it refuses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"Type": "Pass", "Parameters": {"x.$": "$.items[*].id"}, "End": True}, "state 'S'.Parameters.x.$: '$.items[*].id' uses JSONPath the translation does not support"),
        ({"Type": "Pass", "Parameters": {"x.$": "States.MathRandom(1, 9)"}, "End": True}, "state 'S'.Parameters.x.$: no JSONata translation for States.MathRandom"),
        ({"Type": "Choice", "Choices": [{"Variable": "$.s", "IsTimestamp": True, "Next": "S"}], "Default": "S"}, "state 'S'.Choices[0]: no JSONata translation for the comparison IsTimestamp"),
        ({"Type": "Pass", "Result": {"r": 1}, "ResultPath": "$.a[0]", "End": True}, "state 'S'.ResultPath: ResultPath '$.a[0]': only $.name.name... is translated"),
        ({"Type": "Pass", "Parameters": {"x": "{% 1 %}"}, "End": True}, "state 'S'.Parameters.x: the literal '{% 1 %}' would read as a JSONata expression"),
    ],
)
def test_what_cannot_be_translated_faithfully_is_refused_naming_the_state(state, message):
    with pytest.raises(TranslationError) as refused:
        to_jsonata({"StartAt": "S", "States": {"S": state}})
    assert str(refused.value).startswith(message)


# --- the exported Terraform module mirrors the key ---------------------------------------------------


def test_the_exported_module_takes_query_language_and_carries_both_forms(tmp_path):
    import re

    from pipeline_tools.module_export import export_module

    module = export_module(tmp_path / "module")
    variables = json.loads((module / "variables.tf.json").read_text())["variable"]
    assert variables["query_language"]["default"] == "JSONPath"
    (machine,) = json.loads((module / "main.tf.json").read_text())["resource"]["aws_sfn_state_machine"].values()
    found = re.fullmatch(r'%\{ if var\.query_language == "JSONata" \}(.*)%\{ else \}(.*)%\{ endif \}', machine["definition"], re.DOTALL)
    assert found, machine["definition"][:200]
    # Inside each branch: the job-security fields' own directives (present with a key / subnets), left out here.
    optional = re.compile(r"%\{ if (?!var\.query_language)[^}]*\}.*?%\{ endif \}", re.DOTALL)
    jsonata, jsonpath = (
        json.loads(optional.sub("", text).replace("${jsonencode(var.hyperparameters)}", '{"h": "1"}')) for text in found.groups()
    )
    assert jsonata == to_jsonata(jsonpath) and jsonata["QueryLanguage"] == "JSONata"
    assert "| `query_language` |" in (module / "README.md").read_text()


@pytest.mark.parametrize(
    "settings",
    [{}, {"batch_transform": {"enabled": True}}, {"input": {"s3_uri": "s3://their-data/in.put/"}, "processing": "CODE"},
     {"quality_gate": {"enabled": True, "threshold": 0.9}},
     {"input": {"s3_uri": "s3://their-data/in.put/"}, "processing": "CODE", "quality_gate": {"enabled": True, "metric": "logloss", "threshold": 0.3}}],
    ids=["default", "batch transform", "your data (input Choice, StringMatches)", "quality gate (issue 23)", "your data gated (issue 23)"],
)
def test_every_definition_the_construct_builds_translates_and_lints_clean(settings, tmp_path):
    from pipeline_tools.api_shapes import check_definition
    from pipeline_tools.gates.asl_lint import lint
    from sfn_ml_pipeline.config import PipelineConfig
    from sfn_ml_pipeline.definition import DefinitionRefs, build_definition

    refs = DefinitionRefs(bucket="b", lambda_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
                          sagemaker_role_arn="arn:aws:iam::123456789012:role/r", transform_key="code/x/transform.py",
                          region="us-east-1", processing_code="code/p/", training_code="code/t/",
                          evaluate_key="code/e/evaluate.py", model_package_group="mlpipe-models")
    if settings.get("processing") == "CODE":
        (tmp_path / "prep.py").write_text("print('mine')\n")
        outputs = {"outputs": ["train", "test"]} if "quality_gate" in settings else {}
        settings = {**settings, "processing": {"source_dir": str(tmp_path), "entry_point": "prep.py", **outputs}}
    jsonpath = build_definition(PipelineConfig(**settings), refs)
    jsonata = to_jsonata(jsonpath)
    assert lint(jsonata) == [] and check_definition(jsonata) == []
    assert set(jsonata["States"]) == set(jsonpath["States"])
