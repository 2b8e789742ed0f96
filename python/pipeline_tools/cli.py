"""The `pipeline-tools` root group.

One module per command lives in ``pipeline_tools.commands``; this file only wires them up
and is the one place that turns exceptions into clean one-line messages and exit codes.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import os
import sys
import traceback

import click

from . import __version__
from .errors import EXIT_USAGE, PipelineToolsError

# (command name, module in pipeline_tools.commands). Imported lazily so `--help` and
# light commands never pay for jsii/cdktn start-up.
COMMANDS: dict[str, str] = {
    "synth": "synth",
    "package": "package",
    "validate": "validate",
    "plan": "deploy",
    "deploy": "deploy",
    "destroy": "destroy",
    "drift": "drift",
    "outputs": "outputs",
    "module": "module",
    "verify-iam": "verify_iam",
    "scan": "scan",
    "check": "check",
    "local": "local",
    "run": "run",
    "logs": "logs",
    "models": "models",
    "demo": "demo",
    "graph": "graph",
}

EPILOG = """\b
Exit codes:
  0  success
  1  findings (policy findings, failed checks, a failed execution)
  2  usage, input or environment error (bad config, broken JSON, missing binary, busy port);
     for `drift` alone, 2 means "drifted" (as `terraform plan -detailed-exitcode` does)
  130 interrupted (Ctrl-C during `run` stops watching; the execution goes on)

\b
Typical flow:
  pipeline-tools synth               # cdktf.out/stacks/<stack>/cdk.tf.json
  pipeline-tools validate            # statelint + API shapes + terraform validate
  pipeline-tools check               # synth, validate, verify-iam, scan: the CI gate
  pipeline-tools demo                # everything, locally, on the embedded emulator
"""


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, module in COMMANDS.items() if _module_exists(module)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = COMMANDS.get(cmd_name)
        if module_name is None or not _module_exists(module_name):
            return None
        module = importlib.import_module(f"pipeline_tools.commands.{module_name}")
        attr = cmd_name.replace("-", "_")
        return getattr(module, attr, None) or getattr(module, "command")


def _module_exists(module_name: str) -> bool:
    return importlib.util.find_spec(f"pipeline_tools.commands.{module_name}") is not None


@click.group(cls=LazyGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pipeline-tools")
@click.option("-v", "--verbose", is_flag=True, envvar="PIPELINE_TOOLS_VERBOSE", help="Show tracebacks and tool output.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Build, verify, deploy and run the Step Functions ML pipeline
    (Generate dataset -> Standardization -> Train model (XGBoost)) on AWS or on a local emulator."""
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose


def _quick_exit_setup() -> None:
    """Skip the cyclic GC's passes over everything at interpreter exit.

    After a run the process holds botocore's service models, pandas, xgboost and matplotlib:
    millions of objects that the final collections traverse one by one, 0.3 s between the last
    line printed and the shell prompt (measured). Registered first, so it runs after every other
    exit handler: ``gc.freeze()`` then moves what is left out of the collector's reach.
    Objects are still freed by reference counting and files flushed; only garbage cycles still
    alive at exit are left to the OS, which Python does not promise to finalize anyway (every
    file this CLI writes is closed, and renamed into place, before it returns)."""
    if not getattr(_quick_exit_setup, "done", False):
        atexit.register(gc.freeze)
        _quick_exit_setup.done = True


def main(argv: list[str] | None = None) -> None:
    """Console entry point: the one place that turns exceptions into messages and exit codes."""
    _quick_exit_setup()
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    try:
        result = cli.main(args=argv, prog_name="pipeline-tools", standalone_mode=False)
        if isinstance(result, int):  # click returns Exit codes instead of raising without standalone mode
            sys.exit(result)
    except PipelineToolsError as error:
        if _verbose():  # where it was raised, then the same one line
            traceback.print_exc()
        click.echo(f"error: {error}", err=True)
        sys.exit(error.exit_code)
    except click.exceptions.Abort as abort:
        if isinstance(abort.__context__, KeyboardInterrupt):
            click.echo("interrupted", err=True)
            sys.exit(130)
        click.echo("aborted", err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as error:
        error.show()
        sys.exit(EXIT_USAGE if error.exit_code == 2 else error.exit_code)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as error:  # noqa: BLE001 - last resort: one line unless --verbose
        if _verbose():
            raise
        click.echo(f"error: unexpected {type(error).__name__}: {error} (re-run with --verbose for a traceback)", err=True)
        sys.exit(EXIT_USAGE)
    sys.exit(0)


def _verbose() -> bool:
    return "-v" in sys.argv or "--verbose" in sys.argv or bool(os.environ.get("PIPELINE_TOOLS_VERBOSE"))


if __name__ == "__main__":
    main()
