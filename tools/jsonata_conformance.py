"""Run JSONata's reference test suite against Python JSONata engines: the evidence behind the
engine the emulator uses (docs/step-functions-conformance.md, "Choosing the JSONata engine").

    python tools/jsonata_conformance.py --suite DIR --engine NAME=PYTHON [--engine ...] [--json OUT]

``DIR`` is ``test/test-suite`` of the reference implementation (github.com/jsonata-js/jsonata) at
the tag Step Functions runs (v2.0.6: "Step Functions supports JSONata version 2.0.6",
https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html); the suite is not
kept in this repository. ``NAME`` is one of :data:`ENGINES`; ``PYTHON`` is an interpreter that
can import it (the candidates install conflicting ``jsonata`` packages, so each lives in a venv
of its own). ``node`` runs the reference implementation itself (``PYTHON`` = a folder holding
``node_modules/jsonata``): a check of this harness, which must score it (almost) 100%.

A case passes when the engine gives the expected ``result`` (numbers compared to 1e-9 relative),
``undefined`` for ``undefinedResult`` (told apart from ``null`` where the engine can: Step
Functions fails an expression that returns nothing), or raises for an expected error ``code``
(``code_matched`` counts those whose code is the same). Each case runs in a worker process with
a time limit (default 5 s; past it the worker is killed and restarted and the case fails), the
way the reference harness boxes ``timelimit`` cases.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ENGINES = ("jsonata-python", "jsonata-rs", "jsonatapy", "jlens", "zopyx-pyjsonata", "jsonata2py", "node")
UNDEFINED = {"__undefined__": True}

# --- worker side: one engine, one case per line on stdin, one answer per line on stdout --------


def _worker_python(engine: str) -> None:
    if engine == "jsonata-python":
        import jsonata
        from jsonata import utils

        def run(expr: str, data: Any, bindings: dict | None) -> Any:
            compiled = jsonata.Jsonata(expr)
            compiled.set_output_convert_nulls(False)
            result = compiled.evaluate(data, bindings)
            return UNDEFINED if result is None else _plain(result, lambda v: None if v is utils.Utils.NULL_VALUE else v)

        def code(error: Exception) -> str | None:
            return getattr(error, "error", None)

    elif engine == "jsonata-rs":
        import jsonata

        def run(expr: str, data: Any, bindings: dict | None) -> Any:
            compiled = jsonata.Jsonata(expr)
            compiled.set_output_convert_nulls(False)
            result = compiled.evaluate(data, bindings) if data is not UNDEFINED else compiled.evaluate(bindings=bindings)
            return UNDEFINED if result is jsonata.UNDEFINED else result

        def code(error: Exception) -> str | None:
            return getattr(error, "code", None)

    elif engine == "jsonatapy":
        import jsonatapy

        def run(expr: str, data: Any, bindings: dict | None) -> Any:
            compiled = jsonatapy.compile(expr)
            text = compiled.evaluate_json(json.dumps(None if data is UNDEFINED else data), bindings)
            return UNDEFINED if text is None else json.loads(text)

        def code(error: Exception) -> str | None:
            text = str(error)
            return text.split(":", 1)[0].strip() if ":" in text else None

    elif engine == "jlens":
        import jlens

        def run(expr: str, data: Any, bindings: dict | None) -> Any:
            compiled = jlens.Expression(expr)
            text = compiled.evaluate_json(None if data is UNDEFINED else json.dumps(data), bindings)
            return UNDEFINED if text is None else json.loads(text)

        def code(error: Exception) -> str | None:
            return getattr(error, "code", None)

    elif engine == "zopyx-pyjsonata":
        from zopyx import pyjsonata

        def run(expr: str, data: Any, bindings: dict | None) -> Any:
            compiled = pyjsonata.Jsonata(expr)
            result = compiled.evaluate(pyjsonata.UNDEFINED if data is UNDEFINED else data, bindings or None)
            return UNDEFINED if result is pyjsonata.UNDEFINED else result

        def code(error: Exception) -> str | None:
            return str(error).split(" ", 1)[0] or None  # "T2002 @ 2: ..."

    elif engine == "jsonata2py":
        import jsonata2py

        def run(expr: str, data: Any, bindings: dict | None) -> Any:
            compiled = jsonata2py.compile(expr)
            bound = None
            if bindings:
                bound = jsonata2py.JsonataBindings()
                for name, value in bindings.items():
                    bound.bind_value(name, value)
            result = compiled.evaluate(jsonata2py.MISSING if data is UNDEFINED else data, bound)
            return UNDEFINED if result is jsonata2py.MISSING else result

        def code(error: Exception) -> str | None:
            return getattr(error, "error_code", None)

    else:
        raise SystemExit(f"unknown engine {engine}")

    out = os.fdopen(os.dup(1), "w")  # answers only: whatever an engine prints goes to stderr
    os.dup2(2, 1)
    for line in sys.stdin:
        case = json.loads(line)
        data = UNDEFINED if case.get("undefined_input") else case.get("data")
        try:
            result = run(case["expr"], data, case.get("bindings"))
            answer = {"ok": True, "result": result}
        except BaseException as error:  # noqa: BLE001 - the engine's failure is the answer
            answer = {"ok": False, "code": code(error), "error": f"{type(error).__name__}: {error}"[:300]}
        try:
            text = json.dumps(answer, allow_nan=False, default=repr)
        except (TypeError, ValueError) as error:
            text = json.dumps({"ok": True, "result": {"__unserializable__": str(error)}})
        out.write(text + "\n")
        out.flush()


def _plain(value: Any, convert: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v, convert) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v, convert) for k, v in value.items()}
    return convert(value)


NODE_WORKER = r"""
const jsonata = require(process.argv[1] + '/node_modules/jsonata');
const rl = require('readline').createInterface({input: process.stdin});
rl.on('line', async (line) => {
  const c = JSON.parse(line);
  let answer;
  try {
    const r = await jsonata(c.expr).evaluate(c.undefined_input ? undefined : c.data, c.bindings || undefined);
    answer = {ok: true, result: r === undefined ? {__undefined__: true} : r};
  } catch (e) { answer = {ok: false, code: e.code || null, error: String(e.message || e).slice(0, 300)}; }
  let text; try { text = JSON.stringify(answer); } catch (e) { text = JSON.stringify({ok: true, result: {__unserializable__: String(e)}}); }
  process.stdout.write(text + '\n');
});
"""

# --- parent side --------------------------------------------------------------------------------


def load_cases(suite: Path) -> list[dict[str, Any]]:
    datasets = {p.stem: json.loads(p.read_text()) for p in (suite / "datasets").glob("*.json")}
    cases = []
    for path in sorted((suite / "groups").glob("*/*.json")):
        loaded = json.loads(path.read_text())
        for index, case in enumerate(loaded if isinstance(loaded, list) else [loaded]):
            case = dict(case)
            case["id"] = f"{path.parent.name}/{path.stem}" + (f"[{index}]" if isinstance(loaded, list) else "")
            if "expr-file" in case:
                case["expr"] = (path.parent / case["expr-file"]).read_text()
            if isinstance(case.get("error"), dict) and "code" not in case:
                case["code"] = case["error"].get("code")
            if "data" not in case:
                if case.get("dataset") is None:
                    case["undefined_input"] = True
                else:
                    case["data"] = datasets[case["dataset"]]
            cases.append(case)
    return cases


class Worker:
    def __init__(self, engine: str, where: str) -> None:
        self.engine, self.where = engine, where
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if self.engine == "node":
            command = ["node", "-e", NODE_WORKER, self.where]
        else:
            command = [self.where, os.path.abspath(__file__), "--worker", self.engine]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)

    def ask(self, case: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        if self.process is None or self.process.poll() is not None:
            self.start()
        request = {k: case[k] for k in ("expr", "data", "bindings", "undefined_input") if k in case}
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            self.stop()
            return {"ok": False, "code": None, "error": "worker died"}
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.stop()
            return None  # timed out (or crashed): the case fails
        try:
            return json.loads(line)
        except ValueError:
            self.stop()
            return None

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def same(expected: Any, got: Any) -> bool:
    if isinstance(expected, bool) or isinstance(got, bool):
        return expected is got if isinstance(expected, bool) and isinstance(got, bool) else False
    if isinstance(expected, (int, float)) and isinstance(got, (int, float)):
        return math.isclose(expected, got, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(expected, list) and isinstance(got, list):
        return len(expected) == len(got) and all(same(a, b) for a, b in zip(expected, got))
    if isinstance(expected, dict) and isinstance(got, dict):
        return expected.keys() == got.keys() and all(same(expected[k], got[k]) for k in expected)
    return expected == got


def judge(case: dict[str, Any], answer: dict[str, Any] | None) -> tuple[bool, bool]:
    """(passed, code matched) for one case."""
    if answer is None:
        return False, False
    if "code" in case:
        return (not answer["ok"]), (not answer["ok"] and answer.get("code") == case["code"])
    if not answer["ok"]:
        return False, False
    if case.get("undefinedResult"):
        return answer["result"] == UNDEFINED, False
    return ("result" in case and same(case["result"], answer["result"])), False


def run_engine(engine: str, where: str, cases: list[dict[str, Any]], timeout: float) -> dict[str, Any]:
    worker = Worker(engine, where)
    passed = code_cases = code_matched = timeouts = 0
    failed: list[str] = []
    started = time.monotonic()
    for case in cases:
        answer = worker.ask(case, timeout)
        timeouts += answer is None
        ok, matched = judge(case, answer)
        passed += ok
        code_cases += "code" in case
        code_matched += matched
        if not ok:
            failed.append(case["id"])
    worker.stop()
    return {
        "engine": engine, "cases": len(cases), "passed": passed, "percent": round(100 * passed / len(cases), 1),
        "error_cases": code_cases, "code_matched": code_matched, "timeouts": timeouts,
        "seconds": round(time.monotonic() - started, 1), "failed": failed,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/jsonata_conformance.py")
    parser.add_argument("--worker")
    parser.add_argument("--suite", type=Path)
    parser.add_argument("--engine", action="append", default=[], help="NAME=PYTHON (node: NAME=DIR with node_modules/jsonata)")
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--json", type=Path, help="write every engine's figures and failed cases here")
    args = parser.parse_args(argv)
    if args.worker:
        _worker_python(args.worker)
        return 0
    if args.suite is None or not (args.suite / "groups").is_dir() or not args.engine:
        parser.error("give --suite (jsonata's test/test-suite folder) and at least one --engine NAME=PYTHON")
    cases = load_cases(args.suite)
    results = []
    print(f"{'engine':18} {'passed':>13} {'%':>6} {'errors: code matched':>21} {'timeouts':>8} {'s':>6}")
    for spec in args.engine:
        name, _, where = spec.partition("=")
        if name not in ENGINES:
            parser.error(f"unknown engine {name}: one of {', '.join(ENGINES)}")
        result = run_engine(name, where, cases, args.timeout)
        results.append(result)
        print(
            f"{name:18} {result['passed']:>6}/{result['cases']:<6} {result['percent']:>6} "
            f"{result['code_matched']:>10}/{result['error_cases']:<10} {result['timeouts']:>8} {result['seconds']:>6}",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
