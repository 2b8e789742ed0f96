"""`pipeline-tools graph`: the synthesized state machine as a picture (SVG, PNG) or Mermaid text."""

from __future__ import annotations

from pathlib import Path

import click

from ..options import stack_dir_option


@click.command()
@stack_dir_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["svg", "png", "mermaid"]),
    default="svg",
    show_default=True,
    help="svg and png are pictures like the AWS console's graph view; mermaid is text for Markdown.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to FILE (atomically). Default: stdout for mermaid, graph.svg / graph.png otherwise. '-' is stdout.",
)
def graph(stack_dir: Path | None, output_format: str, output: Path | None) -> None:
    """Draw the state machine from the synthesized stack (run `pipeline-tools synth` first):
    Start -> each state with its integration (e.g. "SageMaker: createTrainingJob.sync") -> End,
    with Catch transitions dashed. Needs no graphviz, browser or network."""
    from ..files import write_atomic
    from ..graph import graph_from_stack, render
    from ..stackfile import load_stack

    picture = render(graph_from_stack(load_stack(stack_dir)), output_format)
    if output is None and output_format != "mermaid":
        output = Path(f"graph.{output_format}")
    if output is None or str(output) == "-":
        if isinstance(picture, bytes):
            click.get_binary_stream("stdout").write(picture)
        else:
            click.echo(picture, nl=False)
        return
    click.echo(write_atomic(output, picture))
