"""A job's Python, started before its inputs are in place:
``PYTHON .../jobs/launch.py PRELOAD -- (SCRIPT | -m MODULE) [ARG ...]``.

Standard library only, run by path: ``PYTHON`` is an image environment's interpreter (see
``emulator/images``), which has the image's libraries and not this project.

It imports the comma-separated PRELOAD modules (libraries the job's image ships and the job
imports: numpy, pandas, xgboost), then waits for one line on stdin. ``run`` runs SCRIPT (or
MODULE) as ``__main__`` with the ARGs, exactly as ``python SCRIPT ARG ...`` would: same
``sys.argv``, ``sys.path[0]`` (the script's directory), exit status and traceback on an
uncaught exception. Anything else, or end of input (the job was stopped or its download
failed), exits 0 without running anything.

Why: the runner downloads the job's inputs meanwhile, so interpreter start and these imports
(~0.3-0.5 s) overlap the download instead of following it. The job sees what it would see
on SageMaker: its inputs are all in place when its code starts.
"""

from __future__ import annotations

import importlib
import json
import os
import runpy
import sys

GO = "run"
# A file to record the interpreter and the versions of the preloaded libraries in: what the
# job's own imports then get (set by jobs/common.JobProcess; removed before the job's code runs).
RECORD = "PIPELINE_TOOLS_JOB_RUNTIME_RECORD"


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--":
        sys.exit("usage: python launch.py PRELOAD -- (SCRIPT | -m MODULE) [ARG ...]")
    if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
        sys.path[0] = os.getcwd()  # run by path: the runners' directory is not the job's to import from
    preload, target = argv[0], argv[2:]
    loaded = {}
    for name in filter(None, preload.split(",")):
        try:
            loaded[name] = getattr(importlib.import_module(name), "__version__", None)
        except ImportError:
            loaded[name] = None  # the job's own import reports it, as it would without preloading
    record = os.environ.pop(RECORD, None)
    if record:
        try:
            with open(record, "w", encoding="utf-8") as handle:
                json.dump({"executable": sys.executable, "prefix": sys.prefix, "python": sys.version.split()[0], "libraries": loaded}, handle)
        except OSError:
            pass
    if sys.stdin.readline().strip() != GO:
        return
    if target[0] == "-m":
        sys.argv = [target[1], *target[2:]]  # runpy sets argv[0] to the module's file
        sys.path[0] = os.getcwd()
        runpy.run_module(target[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = list(target)
        sys.path[0] = os.path.dirname(os.path.abspath(target[0]))
        runpy.run_path(target[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
