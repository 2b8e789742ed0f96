"""`pipeline-tools demo`: the whole pipeline on the embedded local emulator, end to end."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import click

from ..emulator import lifecycle
from ..emulator.state import DEFAULT_DIRECTORY
from ..errors import Findings
from ..options import config_option, plugin_dir_option, port_option, terraform_option
from ..synthesis import preload_construct, synthesize
from ..gates.validate import definition_problems
from ..operations.runs import report_of, start_and_watch
from ..operations.stack import WhenUsable, deploy_stack


class BackgroundRun:
    """The demo's run, started on a thread while the deploy's last resource is still being created;
    :meth:`result` waits for it and re-raises what it raised."""

    def __init__(self, work) -> None:
        self._work, self._outcome, self._thread = work, {}, None

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        def target() -> None:
            try:
                self._outcome["value"] = self._work()
            except BaseException as error:  # noqa: BLE001 - handed to result(), raised in the main thread
                self._outcome["error"] = error

        self._thread = threading.Thread(target=target, name="demo-run", daemon=True)
        self._thread.start()

    def result(self):
        self._thread.join()
        if "error" in self._outcome:
            raise self._outcome["error"]
        return self._outcome["value"]


@click.command()
@config_option
@port_option
@plugin_dir_option
@terraform_option
@click.option("--rows", type=click.IntRange(1, 100_000_000), default=None, help="Rows to generate (default: config).")
@click.option(
    "--keep",
    is_flag=True,
    help="Leave the emulator running afterwards (explore it with `pipeline-tools local status`); the deploy then also "
    "records the refreshed state, so `pipeline-tools drift --target local` starts clean.",
)
@click.option(
    "--iam/--no-iam",
    "iam",
    default=None,
    help="Enforce IAM in the emulator it starts (default: on, unless PIPELINE_TOOLS_EMULATOR_IAM=0).",
)
def demo(config_path, port, plugin_dir, terraform_bin, rows, keep, iam):
    """Run everything locally: local up -> synth -> validate -> deploy -> run -> summary -> local down.

    No AWS account needed: the real Terraform applies the stack to the local emulator, the real
    Lambda handler generates the data, the real transform.py standardizes it and real XGBoost trains.
    """
    from ..emulator.authz.enforce import choose_for_cli

    t0 = time.monotonic()
    choose_for_cli(iam)  # for the emulator it starts (a running one keeps its mode)
    was_running = lifecycle.running_state(DEFAULT_DIRECTORY) is not None

    def step(title: str) -> None:
        click.secho(f"\n[{time.monotonic() - t0:5.1f} s] {title}", bold=True)

    try:
        step("local up")
        preload_construct()  # a first synth's jsii load overlaps the emulator's start
        state = lifecycle.start_emulator(port, DEFAULT_DIRECTORY)
        click.echo(f"emulator: {state['endpoint']}")
        step("synth --target local")
        click.echo(synthesize(config_path, "local"))
        step("validate (statelint + SageMaker API shapes)")
        # `terraform validate` is not run apart: the deploy's plan/apply validates the same
        # configuration first (hashicorp/terraform internal/backend/local/backend_local.go, localRun:
        # "we automatically do the input/validate here since every option requires this"; its
        # debug log shows "Building and walking validate graph"), and each extra terraform command
        # loads the aws provider again (~3-4 s of CPU on 2 cores). `pipeline-tools validate` runs both.
        problems = definition_problems(None)
        if problems:
            raise Findings(f"validate found {len(problems)} problem(s): {problems[0]}")
        click.echo("valid")
        step("deploy --target local")
        run = BackgroundRun(lambda: start_and_watch(config_path, "local", rows, None))

        def run_while_deploy_finishes() -> None:
            step("run --target local (the deploy finishes the bucket's lifecycle rules meanwhile)")
            run.start()

        # The refresh-only apply serves later `drift` runs: only worth it if the emulator outlives the demo.
        outputs = deploy_stack(
            config_path, "local", Path("cdktf.out"), plugin_dir, terraform_bin, auto_approve=True,
            record_refreshed_state=keep or was_running,
            # A run needs every resource but the lifecycle configuration (object expiry, counted in
            # days), whose create waits >= 55 s in the provider whatever the target (issue 12).
            when_usable=WhenUsable(run_while_deploy_finishes, frozenset({"aws_s3_bucket_lifecycle_configuration"})),
        )
        click.echo(f"state machine: {next(v for k, v in outputs.items() if k.endswith('state_machine_arn'))}")
        if not run.started:
            step("run --target local")
            run.start()
        summary = run.result()
        step("summary")
        report_of(summary, Path("artifacts"))
        click.secho(f"\ndemo finished in {time.monotonic() - t0:.1f} s", fg="green", bold=True)
    finally:
        if not keep and not was_running:
            lifecycle.stop_emulator(DEFAULT_DIRECTORY)
            click.echo("local emulator stopped (use --keep to leave it running)")
