"""`pipeline-tools graph`: the synthesized state machine as Mermaid, SVG and PNG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from pipeline_tools.errors import UsageError
from pipeline_tools.graph import END, START, graph_from_definition, graph_from_stack, layout, task_label, to_mermaid, to_svg
from sfn_ml_pipeline.definition import FAILED, GENERATE, STANDARDIZE, TRAIN

from .conftest import assert_clean_error

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def pipeline_graph(default_stack):
    return layout(graph_from_stack(default_stack))


def edges_of(graph, kind=None):
    return {(e.source, e.target) for e in graph.edges if kind is None or e.kind == kind}


def test_the_synthesized_machine_is_a_chain_with_catches_into_the_fail_state(pipeline_graph):
    assert edges_of(pipeline_graph, "next") == {
        (START, GENERATE), (GENERATE, STANDARDIZE), (STANDARDIZE, TRAIN), (TRAIN, END), (FAILED, END)
    }
    assert edges_of(pipeline_graph, "catch") == {(GENERATE, FAILED), (STANDARDIZE, FAILED), (TRAIN, FAILED)}
    details = {key: node.detail for key, node in pipeline_graph.nodes.items()}
    assert details[GENERATE] == "Lambda: invoke"
    assert details[STANDARDIZE] == "SageMaker: createProcessingJob.sync"
    assert details[TRAIN] == "SageMaker: createTrainingJob.sync"
    assert pipeline_graph.nodes[FAILED].kind == "fail"


def test_layout_is_top_down_with_the_fail_state_beside_the_chain(pipeline_graph):
    nodes = pipeline_graph.nodes
    chain = [START, GENERATE, STANDARDIZE, TRAIN, END]
    assert [nodes[k].y for k in chain] == sorted(nodes[k].y for k in chain)
    assert len({round(nodes[k].x) for k in chain}) == 1
    assert nodes[FAILED].x - nodes[FAILED].width / 2 > max(nodes[k].x + nodes[k].width / 2 for k in chain)
    boxes = list(nodes.values())
    for index, a in enumerate(boxes):  # no two boxes overlap
        for b in boxes[index + 1:]:
            assert abs(a.x - b.x) >= (a.width + b.width) / 2 or abs(a.y - b.y) >= (a.height + b.height) / 2, (a.id, b.id)
    for node in boxes:
        assert 0 <= node.x - node.width / 2 and node.x + node.width / 2 <= pipeline_graph.width
        assert 0 <= node.y - node.height / 2 and node.y + node.height / 2 <= pipeline_graph.height


def test_svg_is_standalone_xml_with_dashed_catch_edges(pipeline_graph):
    svg = to_svg(pipeline_graph)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")  # nothing fetched from anywhere
    paths = root.findall(f".//{SVG}path[@class]")
    dashed = [p for p in paths if p.get("stroke-dasharray")]
    assert len(dashed) == 3 and all("catch" in p.get("class") for p in dashed)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    for label in ("Start", "End", GENERATE, STANDARDIZE, TRAIN, FAILED, "SageMaker: createTrainingJob.sync"):
        assert label in texts


def test_mermaid_is_a_flowchart_without_reserved_ids(pipeline_graph):
    text = to_mermaid(pipeline_graph)
    assert text.startswith("flowchart TD\n")
    assert text.count("-.->|Catch|") == 3
    assert " end" not in text.replace("End", "")  # `end` closes a subgraph in Mermaid
    assert "Lambda: invoke" in text


def test_png_has_the_png_signature_and_a_sensible_size(pipeline_graph):
    # matplotlib is a declared dependency (pyproject.toml): a missing one fails here, never skips.
    from pipeline_tools.graph import to_png

    data = to_png(pipeline_graph)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 400 and height > 400


@pytest.mark.parametrize(
    ("resource", "label"),
    [
        ("arn:aws:states:::lambda:invoke", "Lambda: invoke"),
        ("arn:aws:lambda:eu-west-1:123456789012:function:f", "Lambda: invoke"),
        ("arn:aws:states:::sns:publish", "SNS: publish"),
        ("arn:aws:states:::aws-sdk:s3:putObject", "S3: putObject"),
        ("arn:aws:states:eu-west-1:123456789012:activity:a", "Activity"),
        ("", "Task"),
    ],
)
def test_task_labels(resource, label):
    assert task_label(resource) == label


def test_branches_sit_side_by_side_and_loops_do_not_break_the_layout():
    definition = {
        "StartAt": "Pick",
        "States": {
            "Pick": {"Type": "Choice", "Choices": [{"Variable": "$.a", "BooleanEquals": True, "Next": "A"}], "Default": "B"},
            "A": {"Type": "Pass", "Next": "Wait"},
            "B": {"Type": "Pass", "Next": "Wait"},
            "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Pick"},
        },
    }
    graph = layout(graph_from_definition(definition))
    a, b = graph.nodes["A"], graph.nodes["B"]
    assert a.y == b.y and a.x != b.x
    assert graph.nodes["Wait"].y > a.y
    assert ("Wait", "Pick") in edges_of(graph)
    ET.fromstring(to_svg(graph))


def test_a_definition_without_states_is_a_usage_error():
    with pytest.raises(UsageError, match="no States"):
        graph_from_definition({"StartAt": "X", "States": {}})


def test_cli_writes_files_and_prints_mermaid(cli, default_stack_dir, tmp_path):
    result = cli("graph", "--stack-dir", str(default_stack_dir), "--format", "mermaid")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("flowchart TD")
    out = tmp_path / "pictures" / "machine.svg"
    result = cli("graph", "--stack-dir", str(default_stack_dir), "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert ET.fromstring(out.read_text()).tag == f"{SVG}svg"
    assert [p.name for p in out.parent.iterdir()] == ["machine.svg"]  # no temp file left behind


def test_cli_without_a_stack_is_one_line_exit_2(cli, tmp_path):
    result = cli("graph", "--stack-dir", str(tmp_path / "missing"), cwd=tmp_path)
    assert_clean_error(result, "missing/cdk.tf.json not found", "pipeline-tools synth")
    assert not (tmp_path / "graph.svg").exists()
