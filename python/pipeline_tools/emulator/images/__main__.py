"""``python -m pipeline_tools.emulator.images [build|list]``: build every known image's environment
now (``make setup`` does, so test runs and demos never pay it inside a timed job), or list them
with their state. ``build`` also removes an image's environments for pins no longer in the table
(each ~0.3-0.6 GB) once unused for a week (another checkout on the machine may still use them).
Exit 2 with one line when a build fails."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from . import ImageEnvironmentError, describe, ensure, is_built, known, stale


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "build"
    if command not in ("build", "list"):
        print(f"error: unknown command {command!r}; use build or list", file=sys.stderr)
        return 2
    for image in known():
        if command == "list":
            facts = describe(image.directory())
            state = f"built ({facts.get('built_seconds')} s, {facts.get('size_bytes', 0) / 1e6:.0f} MB)" if facts else "not built"
            print(f"{image.label}: {', '.join(image.requirements)}: {state}: {image.directory()}")
            continue
        if is_built(image):
            print(f"image environment {image.label}: ready ({image.directory()})")
        else:
            try:
                ensure(image, log=lambda line: print(line, flush=True))
            except ImageEnvironmentError as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
        for old in stale(image):
            shutil.rmtree(old, ignore_errors=True)
            Path(f"{old}.lock").unlink(missing_ok=True)
            print(f"removed the environment of {image.label} for earlier pins: {old}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
