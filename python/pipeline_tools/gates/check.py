"""`pipeline-tools check`: synth -> validate -> verify-iam -> scan, the single CI gate.

Every stage that can run does run (a finding in validate still lets verify-iam and scan report
theirs, so one CI run shows everything); a stage that needs the stack is skipped when synth failed.
Exit 2 if any stage could not run, else 1 if any stage found something, else 0.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, Findings, PipelineToolsError


@dataclass
class StageResult:
    name: str
    status: str = "skipped"  # ok | findings | error | skipped
    seconds: float = 0.0
    summary: str = ""
    details: list[str] = field(default_factory=list)


def _run(result: StageResult, body: Callable[[], tuple[str, list[str]]]) -> None:
    """Run one stage: body returns (summary, problems). Problems -> findings; exceptions -> error."""
    started = time.monotonic()
    try:
        summary, problems = body()
        result.status = "findings" if problems else "ok"
        result.summary = summary
        result.details = problems
    except PipelineToolsError as error:
        result.status = "findings" if isinstance(error, Findings) else "error"
        result.summary = str(error)
    except Exception as error:  # noqa: BLE001 - one stage's crash must not hide the others' results
        result.status = "error"
        result.summary = f"unexpected {type(error).__name__}: {error}"
    result.seconds = time.monotonic() - started


def run_check(config_path: Path | None, out_dir: Path, plugin_dir: Path | None, terraform_bin: str | None) -> list[StageResult]:
    from ..synthesis import synthesize

    stages = [StageResult(name) for name in ("synth", "validate", "verify-iam", "scan")]
    synth, validate, verify_iam, scan = stages
    stack_dir: dict[str, Path] = {}

    def do_synth():
        stack_dir["path"] = synthesize(config_path=config_path, target="aws", out_dir=out_dir)
        return f"{stack_dir['path'] / 'cdk.tf.json'}", []

    def do_validate():
        from .validate import validate_stack

        problems = validate_stack(stack_dir["path"], plugin_dir=plugin_dir, terraform_bin=terraform_bin)
        return ("statelint + API shapes + terraform validate: valid" if not problems else f"{len(problems)} problem(s)"), problems

    def do_verify_iam():
        from ..iam import verify

        stack, findings = verify(stack_dir=stack_dir["path"])
        lines = [f"{f.rule_id} [{f.severity}] {f.role} {f.statement}: {f.message}" for f in findings]
        return f"{len(stack.roles)} roles against the documented minimum: {len(findings)} finding(s)", lines

    def do_scan():
        from .scan import scan_stack

        result = scan_stack(stack_dir["path"])
        lines = [f"{check} {resource}: {name}" for check, resource, name in result.failed_checks]
        return f"checkov + job rules: {result.passed} passed, {result.failed} failed, {result.skipped} skipped (with reasons)", lines

    _run(synth, do_synth)
    if synth.status != "ok":
        for stage in (validate, verify_iam, scan):
            stage.summary = "needs a synthesized stack"
        return stages
    _run(validate, do_validate)
    _run(verify_iam, do_verify_iam)
    _run(scan, do_scan)
    return stages


def exit_code(stages: list[StageResult]) -> int:
    if any(s.status == "error" for s in stages) or stages[0].status != "ok":
        return EXIT_USAGE
    if any(s.status == "findings" for s in stages):
        return EXIT_FINDINGS
    return EXIT_OK


def render(stages: list[StageResult]) -> str:
    from io import StringIO

    from rich.console import Console
    from rich.table import Table

    buffer = StringIO()
    console = Console(file=buffer, width=160, force_terminal=False, color_system=None)
    table = Table(title="pipeline-tools check")
    table.add_column("stage")
    table.add_column("result")
    table.add_column("seconds", justify="right")
    table.add_column("summary", overflow="fold")
    for stage in stages:
        table.add_row(stage.name, stage.status, f"{stage.seconds:.1f}", stage.summary)
    console.print(table)
    for stage in stages:
        for line in stage.details:
            console.print(f"  {stage.name}: {line}", markup=False, highlight=False)
    return buffer.getvalue()
