"""Validate a synthesized stack: statelint (completed for JSONata and variables: :mod:`.asl_lint`)
and the SageMaker API shapes on each state machine definition, then the real
``terraform init -backend=false`` and ``terraform validate``."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from ..api_shapes import check_stack
from ..stackfile import load_stack, resolve_stack_dir, state_machine_definitions, with_placeholders
from ..terraform import Terraform


def lint_definitions(stack: dict) -> list[str]:
    """statelint's problems (and broken JSONata expressions) for every state machine in the stack
    ("<resource>: <problem>")."""
    from .asl_lint import lint

    problems = []
    for name, definition in state_machine_definitions(stack).items():
        try:
            document = json.loads(with_placeholders(definition))
        except ValueError as error:
            problems.append(f"{name}: definition is not valid JSON: {error}")
            continue
        if not isinstance(document, dict):
            problems.append(f"{name}: definition is not a JSON object")
            continue
        problems.extend(f"{name}: {problem}" for problem in lint(document))
    return problems


def terraform_problems(stack_dir: Path, plugin_dir: Path | None = None, terraform_bin: str | None = None) -> list[str]:
    terraform = Terraform(stack_dir, binary=terraform_bin, plugin_dir=plugin_dir)
    terraform.init(backend=False)
    report = terraform.validate()
    return [
        f"terraform: {d.get('summary', '')}: {d.get('detail', '')}".strip(": ")
        for d in report.get("diagnostics", [])
        if d.get("severity") == "error"
    ]


def code_problems(stack: dict, stack_dir: Path) -> list[str]:
    """Your code as the stack ships it: every ``sourcedir.tar.gz`` a job runs holds its entry point
    (the processing launcher's ``exec python3 <script>``, training's ``sagemaker_program``) and only
    ``.py`` files that parse as the images' Python (packaging.check_sources, on the unpacked archive)."""
    import tarfile
    import tempfile

    from sfn_ml_pipeline.packaging import ARCHIVE_NAME, LAUNCHER_NAME, SourceProblem, check_sources

    objects = {str(body.get("key", "")): stack_dir / str(body.get("source", ""))
               for body in (stack.get("resource", {}).get("aws_s3_object") or {}).values() if isinstance(body, dict)}
    problems = []
    for name, text in state_machine_definitions(stack).items():
        try:
            states = (json.loads(with_placeholders(text)).get("States") or {}).items()
        except ValueError:
            continue  # lint_definitions reports it
        for state_name, state in states:
            parameters = state.get("Parameters") or {} if isinstance(state, dict) else {}
            archives: list[tuple[str, str | None]] = []
            for item in parameters.get("ProcessingInputs") or []:
                uri = (item.get("S3Input") or {}).get("S3Uri", "")
                if uri.endswith("/" + ARCHIVE_NAME):
                    launcher = objects.get(_key(uri).replace(ARCHIVE_NAME, LAUNCHER_NAME))
                    entry = None
                    if launcher and launcher.is_file():
                        found = re.search(r"^exec python3 (\S+)", launcher.read_text(errors="replace"), re.MULTILINE)
                        entry = shlex.split(found[1])[0] if found else None
                    archives.append((uri, entry))
            hyperparameters = parameters.get("HyperParameters") or {}
            for channel in parameters.get("InputDataConfig") or []:
                uri = ((channel.get("DataSource") or {}).get("S3DataSource") or {}).get("S3Uri", "")
                if uri.endswith("/" + ARCHIVE_NAME):
                    try:
                        entry = json.loads(hyperparameters.get("sagemaker_program", "null"))
                    except ValueError:
                        entry = hyperparameters.get("sagemaker_program")
                    archives.append((uri, entry))
            for uri, entry in archives:
                archive = objects.get(_key(uri))
                if archive is None or not archive.is_file():
                    problems.append(f"{name}: {state_name}: {uri} is not an object of this stack (no packaged code)")
                    continue
                with tempfile.TemporaryDirectory(prefix="validate-code-") as folder:
                    try:
                        with tarfile.open(archive) as packed:
                            packed.extractall(folder, filter="data")
                        check_sources(Path(folder), entry or "")
                    except SourceProblem as problem:
                        problems.append(f"{name}: {state_name}: {str(problem).replace(folder, ARCHIVE_NAME)}")
                    except (OSError, tarfile.TarError) as error:
                        problems.append(f"{name}: {state_name}: {archive.name} cannot be read: {error}")
    return problems


def _key(uri: str) -> str:
    """The object key of ``s3://<bucket>/<key>`` (the bucket may be a Terraform reference)."""
    return uri.removeprefix("s3://").split("/", 1)[-1]


def definition_problems(stack_dir: Path | None = None) -> list[str]:
    """statelint's and the SageMaker API shapes' problems in a synthesized stack's state machines,
    and your packaged code's (entry points, Python syntax)."""
    stack_dir = resolve_stack_dir(stack_dir)
    stack = load_stack(stack_dir)
    return lint_definitions(stack) + check_stack(stack) + code_problems(stack, stack_dir)


def validate_stack(stack_dir: Path | None = None, plugin_dir: Path | None = None, terraform_bin: str | None = None) -> list[str]:
    """Every problem found in a synthesized stack (empty when valid)."""
    stack_dir = resolve_stack_dir(stack_dir)
    return definition_problems(stack_dir) + terraform_problems(stack_dir, plugin_dir, terraform_bin)
