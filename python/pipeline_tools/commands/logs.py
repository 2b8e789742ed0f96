"""`pipeline-tools logs`: a run's logs from every state, in time order (operations.logs)."""

from __future__ import annotations

import click

from ..operations.logs import show
from ..options import config_option, target_option


@click.command()
@click.argument("execution", required=False)
@config_option
@target_option
@click.option("--state", default=None, metavar="NAME", help="Only the lines of the states whose name starts with NAME, any case (e.g. standardization, train).")
@click.option("--follow", "-f", is_flag=True, help="Keep reading new lines until the execution ends.")
def logs(execution, config_path, target, state, follow):
    """Show the logs of one execution: the Lambda's and every SageMaker job host's, in time order.

    EXECUTION is an execution name (as `run` prints it, e.g. run-20261128-120000-ab12) or ARN of the
    deployed state machine; without it, the latest execution. Each line is prefixed with the state
    and the host it came from:

    \b
      Generate dataset 3893e7fa | START RequestId: ... Version: $LATEST
      Standardization  algo-2   | standardized 5000 rows
      Train model (XGBoost) algo-1 | [0]  train-rmse:0.33

    The lines come from CloudWatch Logs, where SageMaker writes each job host's stdout and stderr
    (/aws/sagemaker/{ProcessingJobs,TrainingJobs,TransformJobs}, stream <job>/algo-N-<epoch>) and
    Lambda the function's output (/aws/lambda/<function>), on AWS and on the local emulator alike,
    so `aws logs tail` reads the same streams.

    \b
    Examples:
      pipeline-tools logs --target local                      # the latest run
      pipeline-tools logs run-20261128-120000-ab12 --state Standardization
      pipeline-tools run --target local --no-wait && pipeline-tools logs --target local --follow

    Exit 2 when the execution, the deployed stack or the emulator is not found.
    """
    show(config_path, target, execution, state, follow, echo=click.echo)
