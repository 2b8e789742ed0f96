"""The state machine as a picture: ASL -> graph model -> Mermaid text, SVG or PNG.

The picture follows the AWS console's graph view: a "Start" pill, one rounded box per state
(its name, and for a Task the service integration such as "SageMaker: createProcessingJob.sync"),
an "End" pill, solid arrows for ``Next``/``Default``/``Choices`` and dashed arrows for ``Catch``.

The layout is computed here in plain Python (no graphviz binary, no browser, no network): states
are ranked top-down by their longest path from the start along normal transitions; states reached
only through ``Catch`` (typically one Fail state) sit in a side column next to the states that
catch into them. That is exact for this project's chain-plus-catches machine and readable for
branching ones. SVG is written by hand (it is just text); PNG is drawn from the same layout with
matplotlib's Agg backend, which ships its own fonts and needs no system cairo.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

START = "__start__"
END = "__end__"

# Service names as the console spells them, for "arn:aws:states:::<service>:<action>" resources.
_SERVICE_NAMES = {
    "lambda": "Lambda",
    "sagemaker": "SageMaker",
    "sns": "SNS",
    "sqs": "SQS",
    "dynamodb": "DynamoDB",
    "ecs": "ECS",
    "eks": "EKS",
    "batch": "Batch",
    "glue": "Glue",
    "states": "Step Functions",
    "events": "EventBridge",
    "athena": "Athena",
    "emr": "EMR",
    "codebuild": "CodeBuild",
    "apigateway": "API Gateway",
    "http": "HTTP",
    "bedrock": "Bedrock",
}
_LAMBDA_FUNCTION_ARN = re.compile(r"^arn:[^:]+:lambda:")


@dataclass
class Node:
    id: str
    label: str
    kind: str  # start | end | task | fail | succeed | choice | pass | wait | parallel | map
    detail: str = ""  # the second line: "Lambda: invoke", "Choice state", ...
    # Layout results (pixels, centre of the box).
    x: float = 0.0
    y: float = 0.0
    width: float = 0.0
    height: float = 0.0


@dataclass
class Edge:
    source: str
    target: str
    kind: str = "next"  # next | catch | choice | default

    @property
    def dashed(self) -> bool:
        return self.kind == "catch"


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0


def task_label(resource: str) -> str:
    """The console's integration label for a Task's Resource ARN.

    >>> task_label("arn:aws:states:::sagemaker:createTrainingJob.sync")
    'SageMaker: createTrainingJob.sync'
    >>> task_label("arn:aws:lambda:us-east-1:123456789012:function:gen")
    'Lambda: invoke'
    """
    if not isinstance(resource, str) or not resource:
        return "Task"
    if _LAMBDA_FUNCTION_ARN.match(resource) or "${" in resource and "lambda" in resource:
        return "Lambda: invoke"
    parts = resource.split(":::", 1)
    if len(parts) == 2:
        service, _, action = parts[1].partition(":")
        if service == "aws-sdk":  # arn:aws:states:::aws-sdk:s3:putObject
            sdk_service, _, sdk_action = action.partition(":")
            name = _SERVICE_NAMES.get(sdk_service) or (sdk_service.upper() if len(sdk_service) <= 3 else sdk_service.capitalize())
            return f"{name}: {sdk_action}"
        return f"{_SERVICE_NAMES.get(service, service)}: {action}" if action else _SERVICE_NAMES.get(service, service)
    if resource.startswith("arn:") and ":activity:" in resource:
        return "Activity"
    return "Task"


_KIND_DETAIL = {
    "Pass": ("pass", "Pass state"),
    "Choice": ("choice", "Choice state"),
    "Wait": ("wait", "Wait state"),
    "Succeed": ("succeed", "Success state"),
    "Fail": ("fail", "Fail state"),
    "Parallel": ("parallel", "Parallel state"),
    "Map": ("map", "Map state"),
}


def graph_from_definition(definition: dict) -> Graph:
    """Nodes and edges of an ASL document (top-level states; Parallel/Map are one box each)."""
    from .errors import UsageError

    states = definition.get("States")
    start_at = definition.get("StartAt")
    if not isinstance(states, dict) or not states or start_at not in states:
        raise UsageError("the state machine definition has no States/StartAt", "re-run `pipeline-tools synth`")
    graph = Graph()
    graph.nodes[START] = Node(START, "Start", "start")
    for name, state in states.items():
        state_type = state.get("Type", "Task")
        if state_type == "Task":
            graph.nodes[name] = Node(name, name, "task", task_label(state.get("Resource", "")))
        else:
            kind, detail = _KIND_DETAIL.get(state_type, ("task", f"{state_type} state"))
            graph.nodes[name] = Node(name, name, kind, detail)
    graph.nodes[END] = Node(END, "End", "end")
    graph.edges.append(Edge(START, start_at))
    for name, state in states.items():
        for choice in state.get("Choices", []) or []:
            if choice.get("Next") in states:
                graph.edges.append(Edge(name, choice["Next"], "choice"))
        if state.get("Default") in states:
            graph.edges.append(Edge(name, state["Default"], "default"))
        if state.get("Next") in states:
            graph.edges.append(Edge(name, state["Next"]))
        if state.get("End") or state.get("Type") in ("Succeed", "Fail"):
            graph.edges.append(Edge(name, END))
        for catch in state.get("Catch", []) or []:
            if catch.get("Next") in states:
                graph.edges.append(Edge(name, catch["Next"], "catch"))
    # The same (source, target, kind) twice (several Catch clauses to one state) is one arrow.
    unique: dict[tuple[str, str, str], Edge] = {}
    for edge in graph.edges:
        unique.setdefault((edge.source, edge.target, edge.kind), edge)
    graph.edges = list(unique.values())
    return graph


def graph_from_stack(stack: dict) -> Graph:
    """The graph of the (first) state machine in a parsed cdk.tf.json."""
    from .errors import UsageError
    from .stackfile import state_machine_definitions, with_placeholders

    definitions = state_machine_definitions(stack)
    if not definitions:
        raise UsageError("the stack has no aws_sfn_state_machine resource", "synthesize the ml-pipeline stack")
    name = sorted(definitions)[0]
    try:
        return graph_from_definition(json.loads(with_placeholders(definitions[name])))
    except ValueError as error:
        raise UsageError(f"state machine {name}: definition is not JSON: {error}", "re-run `pipeline-tools synth`") from None


# ----------------------------------------------------------------------------------------- layout

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
TITLE_SIZE = 14
DETAIL_SIZE = 11.5
RANK_GAP = 46  # vertical space between boxes
COLUMN_GAP = 70
MARGIN = 24


def text_width(text: str, size: float) -> float:
    """A font-independent estimate (average glyph ~0.56 em, wide glyphs more) used to size boxes."""
    wide = sum(1 for ch in text if ch in "MWmw@%")
    narrow = sum(1 for ch in text if ch in "iljtf.,:;'|!() ")
    return size * (0.56 * len(text) + 0.3 * wide - 0.28 * narrow)


def _size(node: Node) -> None:
    if node.kind in ("start", "end"):
        node.width, node.height = 72, 30
        return
    width = max(text_width(node.label, TITLE_SIZE) * 1.12, text_width(node.detail, DETAIL_SIZE))  # titles are bold
    node.width = max(180.0, width + 36)
    node.height = 58 if node.detail else 40


def layout(graph: Graph) -> Graph:
    """Place every node (top-down ranks, catch-only targets in a side column); returns the graph."""
    for node in graph.nodes.values():
        _size(node)
    normal: dict[str, list[str]] = {key: [] for key in graph.nodes}
    for edge in graph.edges:
        if edge.kind != "catch":
            normal[edge.source].append(edge.target)

    # Longest-path ranks along normal edges, ignoring back edges (loops) found by DFS.
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(key: str) -> None:
        state[key] = 1
        for nxt in normal[key]:
            if state.get(nxt) is None:
                visit(nxt)
        state[key] = 2
        order.append(key)

    visit(START)
    rank: dict[str, int] = {START: 0}
    position = {key: index for index, key in enumerate(reversed(order))}
    for key in reversed(order):
        for nxt in normal[key]:
            if position[nxt] > position[key]:  # a forward edge in topological order
                rank[nxt] = max(rank.get(nxt, 0), rank[key] + 1)

    # States reached only through Catch (and what follows them, except End): the side column.
    side: dict[str, float] = {}
    for _ in range(len(graph.nodes)):
        changed = False
        for edge in graph.edges:
            if edge.target in rank or edge.target == END:
                continue
            if edge.source in rank or edge.source in side:
                sources = [
                    rank.get(e.source, side.get(e.source)) for e in graph.edges
                    if e.target == edge.target and (e.source in rank or e.source in side)
                ]
                value = sum(sources) / len(sources) + (0 if edge.kind == "catch" else 1)
                if side.get(edge.target) != value:
                    side[edge.target] = value
                    changed = True
        if not changed:
            break
    # End goes below everything in the main column.
    main_ranks = [value for key, value in rank.items() if key != END]
    rank[END] = max(main_ranks + [int(v) for v in side.values()] + [0]) + 1 if END in rank or side else rank.get(END, 1)
    for key in graph.nodes:  # unreachable states: stack them under the end, visibly apart
        if key not in rank and key not in side:
            rank[key] = max(rank.values()) + 1

    # Rows: nodes of one rank side by side, centred on the main axis.
    rows: dict[int, list[str]] = {}
    for key, value in rank.items():
        rows.setdefault(value, []).append(key)
    row_height = max(node.height for node in graph.nodes.values()) + RANK_GAP
    main_width = max(
        sum(graph.nodes[k].width for k in keys) + COLUMN_GAP * (len(keys) - 1) for keys in rows.values()
    )
    axis = MARGIN + main_width / 2
    for value, keys in rows.items():
        total = sum(graph.nodes[k].width for k in keys) + COLUMN_GAP * (len(keys) - 1)
        x = axis - total / 2
        for key in keys:
            node = graph.nodes[key]
            node.x, node.y = x + node.width / 2, MARGIN + value * row_height + row_height / 2 - RANK_GAP / 2
            x += node.width + COLUMN_GAP
    side_width = max((graph.nodes[k].width for k in side), default=0)
    for key, value in side.items():
        node = graph.nodes[key]
        node.x = MARGIN + main_width + COLUMN_GAP + 40 + side_width / 2
        node.y = MARGIN + value * row_height + row_height / 2 - RANK_GAP / 2
    graph.width = MARGIN * 2 + main_width + ((COLUMN_GAP + 40 + side_width) if side else 0)
    graph.height = MARGIN * 2 + (max(rank.values()) + 1) * row_height - RANK_GAP
    return graph


Point = tuple[float, float]


def _anchors(source: Node, target: Node, spread: float = 0.0, sideways: bool = False) -> tuple[Point, Point, Point, Point]:
    """Start, two Bezier control points and end of an arrow between two placed boxes.

    ``spread`` shifts where the arrow enters the side of the target, so that several catches into
    one Fail state arrive side by side instead of in one point. ``sideways`` (catches) always leaves
    from the side of the source, so a catch never runs along the main column's arrows.
    """
    dx, dy = target.x - source.x, target.y - source.y
    if abs(dx) < 1 and dy > 0:  # straight down the column
        start, end = (source.x, source.y + source.height / 2), (target.x, target.y - target.height / 2)
        third = (end[1] - start[1]) / 3
        return start, (start[0], start[1] + third), (end[0], end[1] - third), end
    if abs(dx) < 1:  # a loop back up: around the left side
        start = (source.x - source.width / 2, source.y)
        end = (target.x - target.width / 2, target.y)
        bulge = min(source.x - source.width / 2, target.x - target.width / 2) - 50
        return start, (bulge, start[1]), (bulge, end[1]), end
    direction = 1 if dx > 0 else -1
    if not sideways and dy > (source.height + target.height) / 2:  # below and to the side: out of the bottom, into the near side
        start = (source.x, source.y + source.height / 2)
        end = (target.x - direction * target.width / 2, target.y + spread)
        return start, (start[0], end[1]), (start[0], end[1]), end
    start = (source.x + direction * source.width / 2, source.y)
    end = (target.x - direction * target.width / 2, target.y + spread)
    middle = (start[0] + end[0]) / 2
    return start, (middle, start[1]), (middle, end[1]), end


def routes(graph: Graph) -> list[tuple[Edge, tuple[Point, Point, Point, Point]]]:
    """Every edge with its curve; arrows entering one box from the side are spread over its height."""
    side_entries: dict[str, list[Edge]] = {}
    for edge in graph.edges:
        source, target = graph.nodes[edge.source], graph.nodes[edge.target]
        if abs(target.x - source.x) >= 1 and (edge.dashed or not target.y - source.y > (source.height + target.height) / 2):
            side_entries.setdefault(edge.target, []).append(edge)
    spread: dict[int, float] = {}
    for key, edges in side_entries.items():
        edges.sort(key=lambda e: graph.nodes[e.source].y)
        step = graph.nodes[key].height * 0.5 / max(len(edges) - 1, 1)
        for index, edge in enumerate(edges):
            spread[id(edge)] = (index - (len(edges) - 1) / 2) * step if len(edges) > 1 else 0.0
    return [
        (edge, _anchors(graph.nodes[edge.source], graph.nodes[edge.target], spread.get(id(edge), 0.0), edge.dashed))
        for edge in graph.edges
    ]


# -------------------------------------------------------------------------------------- renderers

COLOURS = {
    "task": ("#ffffff", "#7d8998"),
    "fail": ("#fdf3f1", "#d13212"),
    "succeed": ("#f2f8f0", "#1d8102"),
    "choice": ("#fafaf5", "#7d8998"),
    "start": ("#f2f3f3", "#545b64"),
    "end": ("#f2f3f3", "#545b64"),
}
EDGE_COLOUR = "#545b64"
CATCH_COLOUR = "#d13212"


def to_mermaid(graph: Graph) -> str:
    """Mermaid ``flowchart TD`` text: rounded states, circles for start/end, dashed catches."""
    # ("end" is a Mermaid keyword, so the End node is "finish".)
    ids = {key: ("start" if key == START else "finish" if key == END else f"s{index}") for index, key in enumerate(graph.nodes)}

    def quote(text: str) -> str:
        return text.replace('"', "#quot;")

    lines = ["flowchart TD"]
    for key, node in graph.nodes.items():
        if node.kind in ("start", "end"):
            lines.append(f'    {ids[key]}(("{node.label}"))')
        else:
            label = f"{quote(node.label)}<br/><small>{quote(node.detail)}</small>" if node.detail else quote(node.label)
            lines.append(f'    {ids[key]}("{label}")')
    for edge in graph.edges:
        if edge.kind == "catch":
            lines.append(f"    {ids[edge.source]} -.->|Catch| {ids[edge.target]}")
        else:
            lines.append(f"    {ids[edge.source]} --> {ids[edge.target]}")
    for key, node in graph.nodes.items():
        if node.kind == "fail":
            lines.append(f"    style {ids[key]} fill:#fdf3f1,stroke:#d13212")
    return "\n".join(lines) + "\n"


def to_svg(graph: Graph, title: str | None = None) -> str:
    """A standalone SVG document (no external fonts, scripts or stylesheets)."""
    if not graph.width:
        layout(graph)
    width, height = round(graph.width), round(graph.height)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title or "State machine graph")}" font-family="{FONT}">',
        f"<title>{escape(title or 'State machine graph')}</title>",
        "<defs>"
        f'<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{EDGE_COLOUR}"/></marker>'
        f'<marker id="arrow-catch" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{CATCH_COLOUR}"/></marker>'
        "</defs>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for edge, ((x0, y0), (x1, y1), (x2, y2), (x3, y3)) in routes(graph):
        colour, marker = (CATCH_COLOUR, "arrow-catch") if edge.dashed else (EDGE_COLOUR, "arrow")
        dash = ' stroke-dasharray="6 4"' if edge.dashed else ""
        out.append(
            f'<path class="edge {edge.kind}" d="M{x0:.1f},{y0:.1f} C{x1:.1f},{y1:.1f} {x2:.1f},{y2:.1f} {x3:.1f},{y3:.1f}" '
            f'fill="none" stroke="{colour}" stroke-width="1.5"{dash} marker-end="url(#{marker})"/>'
        )
    for node in graph.nodes.values():
        fill, stroke = COLOURS.get(node.kind, COLOURS["task"])
        left, top = node.x - node.width / 2, node.y - node.height / 2
        radius = node.height / 2 if node.kind in ("start", "end") else 8
        out.append(
            f'<g class="state {node.kind}"><rect x="{left:.1f}" y="{top:.1f}" width="{node.width:.1f}" height="{node.height:.1f}" '
            f'rx="{radius:.1f}" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'
        )
        if node.detail:
            out.append(
                f'<text x="{node.x:.1f}" y="{node.y - 4:.1f}" text-anchor="middle" font-size="{TITLE_SIZE}" font-weight="600" fill="#16191f">{escape(node.label)}</text>'
                f'<text x="{node.x:.1f}" y="{node.y + 15:.1f}" text-anchor="middle" font-size="{DETAIL_SIZE}" fill="#5f6b7a">{escape(node.detail)}</text></g>'
            )
        else:
            out.append(
                f'<text x="{node.x:.1f}" y="{node.y + 5:.1f}" text-anchor="middle" font-size="{TITLE_SIZE - 1}" fill="#16191f">{escape(node.label)}</text></g>'
            )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def to_png(graph: Graph, dpi: int = 144) -> bytes:
    """The same picture as :func:`to_svg`, drawn with matplotlib (Agg) from the same layout."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path as MplPath

    if not graph.width:
        layout(graph)
    figure = plt.figure(figsize=(graph.width / 96, graph.height / 96), dpi=dpi)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, graph.width)
    axes.set_ylim(graph.height, 0)
    axes.axis("off")
    points_per_pixel = 72 / 96
    for edge, (p0, p1, p2, p3) in routes(graph):
        path = MplPath([p0, p1, p2, p3], [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4])
        axes.add_patch(
            FancyArrowPatch(
                path=path, arrowstyle="-|>", mutation_scale=12, linewidth=1.4,
                color=CATCH_COLOUR if edge.dashed else EDGE_COLOUR, linestyle=(0, (5, 3)) if edge.dashed else "-",
            )
        )
    for node in graph.nodes.values():
        fill, stroke = COLOURS.get(node.kind, COLOURS["task"])
        radius = node.height / 2 if node.kind in ("start", "end") else 8
        axes.add_patch(
            FancyBboxPatch(
                (node.x - node.width / 2 + radius, node.y - node.height / 2 + radius),
                node.width - 2 * radius, node.height - 2 * radius,
                boxstyle=f"round,pad={radius}", facecolor=fill, edgecolor=stroke, linewidth=1.4,
            )
        )
        if node.detail:
            axes.text(node.x, node.y - 8, node.label, ha="center", va="center", fontsize=TITLE_SIZE * points_per_pixel, fontweight="bold", color="#16191f")
            axes.text(node.x, node.y + 11, node.detail, ha="center", va="center", fontsize=DETAIL_SIZE * points_per_pixel, color="#5f6b7a")
        else:
            axes.text(node.x, node.y, node.label, ha="center", va="center", fontsize=(TITLE_SIZE - 1) * points_per_pixel, color="#16191f")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    plt.close(figure)
    return buffer.getvalue()


def render(graph: Graph, output_format: str) -> str | bytes:
    """The graph in one of ``mermaid``, ``svg``, ``png``."""
    if output_format == "mermaid":
        return to_mermaid(graph)
    layout(graph)
    return to_svg(graph) if output_format == "svg" else to_png(graph)
