"""`pipeline-tools scan`: checkov on the synthesized stack (and a plan), with the one checked-in skip list.

checkov runs from its own environment (``.venv-checkov``, made by ``make setup``) because its pins
(boto3, packaging, networkx) would hold the application's dependencies back. It is found through
``PIPELINE_TOOLS_CHECKOV`` (the Makefile exports it), then ``checkov`` on PATH.

``scan_stack`` (what ``scan`` and ``check`` run) adds the job rules (PTJ, ``gates/job_rules``): checkov
reads Terraform resources, the job rules read every SageMaker task inside the state machine's
definition; their results are in the same report, in each format, and count as checks.

Why the file layout: checkov scans cdk.tf.json only with ``--framework terraform_json`` (``terraform``
scans nothing) and runs its IAM checks on JSON policy strings only in a plan
(``--framework terraform_plan``); both are passed in one run when a plan is given.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import EnvironmentProblem, UsageError

SKIPS_FILE = "checkov-skips.toml"
FORMATS = {"cli": "cli", "json": "json", "sarif": "sarif", "junitxml": "junitxml"}


@dataclass(frozen=True)
class ScanResult:
    passed: int
    failed: int
    skipped: int  # checks skipped by the skip list (not run) plus any checkov reports as skipped
    failed_checks: list[tuple[str, str, str]]  # (check id, resource, check name)
    report: str  # the requested format's output
    returncode: int


def find_checkov() -> str:
    """``PIPELINE_TOOLS_CHECKOV``, then ``checkov`` on PATH; else a one-line environment error."""
    configured = os.environ.get("PIPELINE_TOOLS_CHECKOV")
    if configured:
        if Path(configured).is_file() and os.access(configured, os.X_OK):
            return configured
        found = shutil.which(configured)
        if found:
            return found
    found = shutil.which("checkov")
    if found:
        return found
    checkout = Path(__file__).resolve().parents[3] / ".venv-checkov" / "bin" / "checkov"
    if not configured and checkout.is_file():
        return str(checkout)  # an editable checkout where `make setup` ran, called outside make
    where = f" (PIPELINE_TOOLS_CHECKOV={configured} is not an executable)" if configured else ""
    raise EnvironmentProblem(f"checkov not found{where}", "run `make setup`, which installs it in .venv-checkov")


def default_skips_file() -> Path:
    """./checkov-skips.toml, else the one at the root of this checkout (editable installs)."""
    local = Path(SKIPS_FILE)
    if local.is_file():
        return local
    return Path(__file__).resolve().parents[3] / SKIPS_FILE


def load_skips(path: Path) -> dict[str, str]:
    """check id -> reason. Every entry must carry a reason: an unexplained skip is an error."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"skip list {path} not found", f"create {SKIPS_FILE} at the repository root or pass --skips") from None
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"skip list {path} is not valid TOML: {error}", "fix the file") from None
    skips: dict[str, str] = {}
    for index, entry in enumerate(data.get("skip", [])):
        check_id = str(entry.get("id", "")).strip() if isinstance(entry, dict) else ""
        reason = str(entry.get("reason", "")).strip() if isinstance(entry, dict) else ""
        if not check_id or not reason:
            raise UsageError(f"skip list {path}: entry {index + 1} needs both `id` and a written `reason`", "add the reason or remove the entry")
        skips[check_id] = reason
    return skips


def run_checkov(
    stack_file: Path | None,
    plan_file: Path | None = None,
    output_format: str = "cli",
    skips: dict[str, str] | None = None,
    checkov: str | None = None,
) -> ScanResult:
    """Run checkov once over the stack (terraform_json) and/or plan (terraform_plan)."""
    binary = checkov or find_checkov()
    targets: list[tuple[Path, str]] = []
    if stack_file is not None:
        targets.append((stack_file, "terraform_json"))
    if plan_file is not None:
        targets.append((plan_file, "terraform_plan"))
    for path, _ in targets:
        if not path.is_file():
            raise UsageError(f"{path} not found", "run `pipeline-tools synth` first, or pass --stack-dir/--plan")
    with tempfile.TemporaryDirectory(prefix="pipeline-tools-scan-") as tmp:
        command = [binary, "--skip-download", "--quiet", "--compact"]
        for path, _ in targets:
            command += ["-f", str(path.resolve())]
        command += ["--framework", *[framework for _, framework in targets]]
        if skips:
            command += ["--skip-check", ",".join(sorted(skips))]
        outputs = [FORMATS[output_format]] + (["json"] if output_format != "json" else [])
        for output in outputs:
            command += ["-o", output]
        command += ["--output-file-path", tmp]
        # cwd=tmp: checkov drops a results.sarif in its working directory for some formats.
        try:
            done = subprocess.run(command, cwd=tmp, capture_output=True, text=True, timeout=600)
        except OSError as error:
            raise EnvironmentProblem(f"cannot run checkov ({binary}): {error}", "run `make setup`") from None
        if done.returncode not in (0, 1):
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise EnvironmentProblem(f"checkov failed (exit {done.returncode}): {last}", "re-run with --verbose, or `make setup`")
        results_path = Path(tmp) / "results_json.json"
        report_path = next(Path(tmp).glob(f"results_{FORMATS[output_format]}.*"), None)
        if not results_path.is_file() or report_path is None:
            raise EnvironmentProblem("checkov wrote no report", "check the checkov installation (`make setup`)")
        results = json.loads(results_path.read_text())
        report = report_path.read_text()
    runs = results if isinstance(results, list) else [results]
    passed = failed = skipped = 0
    failed_checks = []
    for run in runs:
        summary = run.get("summary") or {}
        passed += int(summary.get("passed", 0))
        failed += int(summary.get("failed", 0))
        skipped += int(summary.get("skipped", 0))
        for check in (run.get("results") or {}).get("failed_checks", []):
            failed_checks.append((check.get("check_id", "?"), check.get("resource", "?"), check.get("check_name", "")))
    if passed + failed == 0:
        raise EnvironmentProblem("checkov ran no checks on the stack", "check that cdk.tf.json is a synthesized stack")
    return ScanResult(passed, failed, skipped + len(skips or {}), failed_checks, report, done.returncode)


def scan_stack(stack_dir: Path | None = None, plan: Path | None = None, output_format: str = "cli", skips_file: Path | None = None) -> ScanResult:
    """What `check` calls: the default stack (and plan) with the checked-in skip list."""
    from ..stackfile import resolve_stack_dir

    skips = load_skips(skips_file or default_skips_file())
    stack_file = resolve_stack_dir(stack_dir) / "cdk.tf.json"
    return with_job_rules(run_checkov(stack_file, plan, output_format, skips), stack_file, output_format)


def with_job_rules(result: ScanResult, stack_file: Path, output_format: str) -> ScanResult:
    """checkov's result with the job rules' (PTJ) over the stack's state machines in it."""
    from .job_rules import scan_jobs
    from .job_rules.report import merge

    context, results = scan_jobs(stack_file)
    failed = [r for r in results if not r.passed]
    return replace(
        result,
        passed=result.passed + len(results) - len(failed),
        failed=result.failed + len(failed),
        failed_checks=result.failed_checks + [(r.rule.id, r.task.resource, f"{r.rule.description} {r.message}") for r in failed],
        report=merge(output_format, result.report, results, context.source),
        returncode=1 if failed else result.returncode,
    )
