"""A job's Python, started before its inputs are in place:
``python -m pipeline_tools.emulator.jobs.launch PRELOAD -- (SCRIPT | -m MODULE) [ARG ...]``.

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
import os
import runpy
import sys

GO = "run"


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--":
        sys.exit("usage: python -m pipeline_tools.emulator.jobs.launch PRELOAD -- (SCRIPT | -m MODULE) [ARG ...]")
    preload, target = argv[0], argv[2:]
    for name in filter(None, preload.split(",")):
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # the job's own import reports it, as it would without preloading
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
