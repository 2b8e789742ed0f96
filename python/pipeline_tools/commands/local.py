"""`pipeline-tools local up|down|status|env`: the embedded AWS emulator (moto, patched) on 127.0.0.1."""

from __future__ import annotations

import os
import time

import click

from ..emulator import lifecycle
from ..emulator.state import DEFAULT_DIRECTORY, NOT_RUNNING
from ..errors import EnvironmentProblem
from ..options import port_option


@click.group("local")
def local() -> None:
    """Run the local AWS emulator (moto with pipeline-tools' patches) over HTTPS on 127.0.0.1.

    State (pid, port, CA bundle, log) lives in ./.pipeline-tools/emulator.json.
    """


@local.command("up")
@port_option
@click.option(
    "--iam/--no-iam",
    "iam",
    default=None,
    help="Enforce IAM: every request is authenticated and authorized as its role, as in an account "
    "(default: on, unless PIPELINE_TOOLS_EMULATOR_IAM=0). See docs/iam-enforcement.md.",
)
def up(port: int, iam: bool | None) -> None:
    """Start the emulator in the background and wait until it answers (idempotent)."""
    from ..emulator.access import enforcement_of, mode_line
    from ..emulator.authz.enforce import choose_for_cli

    wanted = choose_for_cli(iam)  # exported to the server process it starts
    already = lifecycle.running_state(DEFAULT_DIRECTORY)
    if already is not None:
        click.echo(already["endpoint"])
        if port and already["port"] != port:
            click.echo(f"note: already running on port {already['port']} (`pipeline-tools local down` first to move it)", err=True)
        enforced = enforcement_of(already)
        if enforced is not None and enforced != wanted:
            click.echo(f"note: already running with IAM enforcement {'on' if enforced else 'off'} (`pipeline-tools local down` first to change it)", err=True)
        return
    started = time.monotonic()
    state = lifecycle.start_emulator(port, DEFAULT_DIRECTORY)
    click.echo(state["endpoint"])
    click.echo(f"started in {time.monotonic() - started:.1f} s (CA bundle {state['ca_bundle']}, log {state['log']})", err=True)
    restored = state.get("restored") or {}
    for warning in restored.get("warnings", []):
        click.echo(warning, err=True)
    if restored.get("interrupted"):
        click.echo(f"ended {len(restored['interrupted'])} execution(s)/job(s) cut off when the emulator last stopped (FAILED: Emulator.Stopped)", err=True)
    click.echo(mode_line(enforcement_of(state)), err=True)


@local.command("down")
def down() -> None:
    """Stop the emulator this directory started (and only that process)."""
    if lifecycle.stop_emulator(DEFAULT_DIRECTORY):
        click.echo("local emulator stopped")
    else:
        click.echo("local emulator was not running")


@local.command("reset")
@click.option("--yes", "yes", is_flag=True, help="Do not ask (needed without a terminal).")
def reset(yes: bool) -> None:
    """Wipe the local account on purpose: every resource, object and execution the emulator keeps in
    .pipeline-tools/emulator/ (and the job files). Stops the emulator first if it runs."""
    import sys

    from ..errors import UsageError

    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("local reset deletes every resource, object and execution of the local emulator and needs confirmation, but there is no terminal", "pass --yes")
        click.confirm("Delete everything the local emulator holds (resources, objects, executions)?", abort=True)
    stopped, wiped = lifecycle.reset_emulator_state(DEFAULT_DIRECTORY)
    if stopped:
        click.echo("local emulator stopped")
    click.echo("local state wiped" if wiped else "no local state to wipe")


@local.command("status")
def status() -> None:
    """Print the endpoint (and, on stderr, whether IAM is enforced) and exit 0 while the emulator
    runs; exit 2 otherwise."""
    from ..emulator.access import enforcement_of, mode_line

    state = lifecycle.running_state(DEFAULT_DIRECTORY)
    if state is None:
        raise EnvironmentProblem(NOT_RUNNING)
    click.echo(state["endpoint"])
    click.echo(mode_line(enforcement_of(state)), err=True)


@local.command("env")
@click.option(
    "--shell",
    type=click.Choice(["bash", "zsh", "fish", "powershell"]),
    default=None,
    help="Syntax to print (default: from $SHELL, else bash).",
)
@click.option("--unset", "unset", is_flag=True, help="Print the commands that remove these settings again.")
def env(shell: str | None, unset: bool) -> None:
    """Print the settings that point the AWS CLI, boto3 scripts, the AWS SDKs and Terraform's AWS
    provider at the running emulator: its endpoint (AWS_ENDPOINT_URL), CA bundle, region and
    throwaway credentials; AWS_PROFILE, session tokens and service-specific endpoints are unset.

    \b
      eval "$(pipeline-tools local env)"                    # bash, zsh
      pipeline-tools local env --shell fish | source
      pipeline-tools local env --shell powershell | Invoke-Expression
      eval "$(pipeline-tools local env --unset)"            # back to your own settings

    Exit 2 when no emulator runs (`--unset` works either way).
    """
    from ..emulator import env as emulator_env

    shell = shell or emulator_env.default_shell()
    if unset:
        click.echo(emulator_env.render(shell, {}, list(emulator_env.SET_VARIABLES), "pipeline-tools local env --unset"), nl=False)
        return
    state = lifecycle.running_state(DEFAULT_DIRECTORY)
    if state is None:
        raise EnvironmentProblem(NOT_RUNNING)
    settings = emulator_env.emulator_settings(state)
    unset_names = emulator_env.variables_to_unset(os.environ)
    comment = f"pipeline-tools local env: AWS tools -> the local emulator at {state['endpoint']}"
    click.echo(emulator_env.render(shell, settings, unset_names, comment), nl=False)


command = local
