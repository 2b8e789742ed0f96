#!/usr/bin/env python3
"""Mutation testing, one target at a time (issue 26): ``make mutation`` or ``tools/mutation.py [TARGET...]``.

The tool is mutmut 3 (PyPI ``mutmut``; pinned in the Makefile, installed into .venv on demand):
it rewrites each function of the target into a trampoline over its mutants, records once which
tests reach which function, then runs only those tests against each mutant in forked workers. Chosen
over cosmic-ray 8 (one fresh test process per mutant, several seconds each here) and mutatest
(last release 2022) for upkeep and speed.

mutmut expects the code under ``src/``; the project keeps it under ``python/`` and ``infra/``. So
each target runs in its own scratch folder ``build/mutation/<target>/`` where ``src`` is a copy of
``python/`` and ``infra/sfn_ml_pipeline``, and ``tests`` of ``tests/``, with a ``pyproject.toml`` naming the files to mutate and the target's own
fast tests (never the whole suite per mutant). The results of every target go to
``build/mutation/results.json`` (and the table printed at the end): per target killed/total, and the
name of every survivor; docs/mutation.md records them with the reason each survivor stands.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "mutation"


@dataclass(frozen=True)
class Target:
    name: str
    mutate: tuple[str, ...]  # globs under python/ (mutmut's only_mutate, as src/...)
    tests: tuple[str, ...]  # pytest arguments: the target's fast tests
    skip: tuple[str, ...] = ()  # globs of files not mutated (do_not_mutate)
    skip_functions: tuple[str, ...] = ()  # functions/classes of the mutated files left out of this target


TARGETS = {
    t.name: t
    for t in (
        Target("iam-engine", ("pipeline_tools/iam/evaluation/*",), ("tests/test_iam_evaluate.py", "tests/test_iam_engine_details.py", "-k", "not resolver and not resolved and not image_pull")),
        Target("authz-resolver", ("pipeline_tools/emulator/authz/resolve.py",), ("tests/test_iam_evaluate.py", "tests/test_authz_resolver.py", "-k", "resolver or resolved or image_pull")),
        Target("durable-journal", ("pipeline_tools/emulator/durable.py",), ("tests/test_durable_journal.py",)),
        # Job limits and sharding: the hosts' shares, how a job's hosts run, fail, stop and time
        # out, and the reasons they leave. The S3 transfers and job folders in the same file are
        # the emulator tests' (real jobs), not this target's.
        Target("jobs-limits", ("pipeline_tools/emulator/jobs/common.py",), ("tests/test_job_limits.py",), skip_functions=(
            "utcnow", "job_s3_client", "_emulator_s3_client", "data_failure", "s3_client", "put_file", "list_keys", "download_keys",
            "free_port", "write_json", "record_instances", "download_prefix", "upload_directory", "jobs_directory",
            "algorithm_module", "image_python", "RunnerLog",
            # issue 25's isolation and encryption of job data (tests/test_job_isolation.py, test_job_security.py: real jobs)
            "output_encryption", "aws_managed_s3_key", "network_isolated", "_unshare_prefix", "container_paths", "in_container",
            "requirements_python", "unreachable_requirements",
        )),
        Target("iam-rules", ("pipeline_tools/iam/rules/*", "pipeline_tools/iam/minimum.py"), ("tests/test_iam_rules.py", "tests/test_iam_rules_boundaries.py")),
        Target("config-rules", ("sfn_ml_pipeline/config.py", "sfn_ml_pipeline/rules.py"), ("tests/test_config.py", "tests/test_rules.py")),
        # test_tasks.py pins what the tasks hand to the role (the Generate dataset statement's Sid), less
        # its test reading the source tree (infra/ is not where the scratch copy keeps it);
        # test_quality_gate.py the evaluation and gate states (issue 23) the definition chains;
        # test_jsonata_translation.py and test_own_code.py run an emulator or a synth (seconds per mutant).
        Target("definition", ("sfn_ml_pipeline/definition.py",),
               ("tests/test_definition.py", "tests/test_tasks.py", "tests/test_quality_gate.py", "-k", "not iam_arrows")),
    )
}


def _pyproject(target: Target) -> str:
    only = [f"src/{glob}" for glob in target.mutate]
    skip = [f"src/{glob}" for glob in target.skip]
    tests = list(target.tests)
    return (
        "[tool.mutmut]\n"
        'source_paths = ["src"]\n'
        f"only_mutate = {json.dumps(only)}\n"
        f"do_not_mutate = {json.dumps(skip)}\n"

        'also_copy = ["tests", "examples"]\n'
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q"]\n'
        "\n[tool.pytest.ini_options]\n"
        'filterwarnings = ["ignore:cannot collect test class \'Testing\':pytest.PytestCollectionWarning"]\n'
        'markers = ["terraform", "emulator", "checkov", "tools"]\n'
    )


def prepare(target: Target) -> Path:
    where = BUILD / target.name
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    shutil.copytree(ROOT / "python", where / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(ROOT / "infra" / "sfn_ml_pipeline", where / "src" / "sfn_ml_pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests", where / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "examples", where / "examples", ignore=shutil.ignore_patterns("__pycache__"))  # configs some tests load
    if target.skip_functions:
        # In the scratch copy only: mutmut's "# pragma: no mutate block" on each left-out definition.
        import re

        names = "|".join(map(re.escape, target.skip_functions))
        header = re.compile(rf"^(\s*(?:def|class) (?:{names})\b.*:)[ \t]*$", re.MULTILINE)
        for glob in target.mutate:
            for path in (where / "src").glob(glob):
                path.write_text(header.sub(r"\1  # pragma: no mutate block", path.read_text()))
    (where / "pyproject.toml").write_text(_pyproject(target))
    return where


def results(where: Path) -> dict:
    """killed/total and the survivors, from mutmut's own per-file records (mutants/**/*.meta)."""
    exit_codes: dict[str, int | None] = {}
    for meta in (where / "mutants").rglob("*.meta"):
        exit_codes.update(json.loads(meta.read_text()).get("exit_code_by_key", {}))
    # mutmut's statuses: 1 (a test failed) killed; 0 survived; 33 no tests; 34 skipped; 35/36 suspicious/timeout; -24 timeout.
    killed = sorted(k for k, c in exit_codes.items() if c not in (0, 33, 34, None))
    survived = sorted(k for k, c in exit_codes.items() if c == 0)
    untested = sorted(k for k, c in exit_codes.items() if c == 33)
    return {"total": len(exit_codes), "killed": len(killed), "survived": survived, "no_tests": untested,
            "not_run": sorted(k for k, c in exit_codes.items() if c is None)}


@functools.lru_cache(maxsize=32)
def _functions(path: Path) -> dict[str, str]:
    """Every function's source in one of mutmut's files (parsed once: it holds every mutant)."""
    import ast

    source = path.read_text()
    lines = source.splitlines()
    return {node.name: "\n".join(lines[node.lineno - 1 : node.end_lineno]) for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _diff(where: Path, mutant: str) -> str:
    """The line(s) a mutant changes, from mutmut's own copy (mutants/src/...): its function beside the original."""
    import ast
    import difflib

    module, _, function = mutant.rpartition(".")
    base = function.rsplit("__mutmut_", 1)[0]
    path = where / "mutants" / "src" / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = path.with_suffix("") / "__init__.py"
    functions = _functions(path)
    bodies = {name: functions.get(name, "") for name in (function, f"{base}__mutmut_orig")}
    original = bodies.get(f"{base}__mutmut_orig", "").splitlines()[1:]
    changed = bodies.get(function, "").splitlines()[1:]
    lines = [line for line in difflib.unified_diff(original, changed, lineterm="", n=0) if line[:1] in "-+" and line[:3] not in ("---", "+++")]
    if not lines:  # the signature changed (a default value)
        lines = [f"- {bodies.get(f'{base}__mutmut_orig', '').splitlines()[0].strip()}", f"+ {bodies.get(function, '').splitlines()[0].strip()}"]
    return " / ".join(" ".join(line.split()) for line in lines)


def run(name: str, jobs: int) -> dict:
    target = TARGETS[name]
    where = prepare(target)
    mutmut = Path(sys.executable).with_name("mutmut")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with open(where / "mutmut.log", "w") as log:  # mutmut redraws a progress line per mutant: kept out of the terminal
        subprocess.run([str(mutmut), "run", "--max-children", str(jobs)], cwd=where, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    found = results(where)
    found["diffs"] = {m: _diff(where, m) for m in found["survived"] + found["no_tests"]}
    return found


REASONS = ROOT / "tools" / "mutation_equivalent.toml"
DOC = ROOT / "docs" / "mutation.md"


def render(summary: dict) -> str:
    """docs/mutation.md's results part: per target killed/total, then every survivor with the line it
    changes and why it stands (tools/mutation_equivalent.toml), or that it is not classified yet."""
    import tomllib

    reasons = tomllib.loads(REASONS.read_text()) if REASONS.exists() else {}
    lines = ["| target | mutated | killed / total | score |", "|---|---|---|---|"]
    for name, target in TARGETS.items():
        if name not in summary:
            lines.append(f"| {name} | {', '.join(target.mutate)} | not run | |")
            continue
        r = summary[name]
        score = r["killed"] / r["total"] if r["total"] else 0.0
        lines.append(f"| {name} | {', '.join(target.mutate)} | {r['killed']} / {r['total']} | {score:.1%} |")
    for name in TARGETS:
        if name not in summary:
            continue
        r = summary[name]
        standing = r["survived"] + r["no_tests"]
        lines += ["", f"### {name}: {len(standing)} survivors", ""]
        known = reasons.get(name, {})
        for mutant in sorted(standing):
            short = mutant.replace("pipeline_tools.", "").split(".", 2)[-1]
            reason = known.get(short) or known.get(short.rsplit("__mutmut_", 1)[0] + "__mutmut_*")
            status = "no test reaches it" if mutant in r["no_tests"] else "survived"
            diff = r.get("diffs", {}).get(mutant, "").replace("|", "\\|")
            lines.append(f"- `{short}` ({status}): `{diff}` - {reason or 'not classified yet'}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--docs"]:
        # Each target's last run, read from mutmut's own records in its scratch folder.
        summary = {}
        for name in TARGETS:
            where = BUILD / name
            if (where / "mutants").exists():
                r = results(where)
                if r["total"]:
                    r["diffs"] = {m: _diff(where, m) for m in r["survived"] + r["no_tests"]}
                    summary[name] = r
        text = DOC.read_text()
        marker = "<!-- results: tools/mutation.py --docs -->"
        DOC.write_text(text.split(marker)[0] + marker + "\n\n" + render(summary))
        return 0
    names = argv or list(TARGETS)
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        print(f"error: unknown mutation target(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}", file=sys.stderr)
        return 2
    if not Path(sys.executable).with_name("mutmut").exists():
        print(f"error: mutmut is not installed beside {sys.executable}: run `make mutation` (it installs the pinned mutmut "
              "into .venv first), or `.venv/bin/python -m pip install mutmut==3.8.1`", file=sys.stderr)
        return 2
    jobs = os.environ.get("MUTATION_JOBS", "2")
    if not jobs.isdigit() or int(jobs) < 1:
        print(f"error: MUTATION_JOBS={jobs!r} is not a number of workers (1 or more)", file=sys.stderr)
        return 2
    jobs = int(jobs)
    BUILD.mkdir(parents=True, exist_ok=True)
    summary_path = BUILD / "results.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    for name in names:
        summary[name] = run(name, jobs)
        summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\n{'target':<18} killed/total  score  survivors")
    failed = False
    for name in names:
        r = summary[name]
        score = r["killed"] / r["total"] if r["total"] else 0.0
        failed |= score < 0.85
        print(f"{name:<18} {r['killed']:>5}/{r['total']:<6} {score:6.1%}  {len(r['survived']) + len(r['no_tests'])}")
    print(f"details: {summary_path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
