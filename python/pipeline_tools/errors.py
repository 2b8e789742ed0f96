"""Exit codes and the errors that map to them.

Each exit code means one thing (see ``pipeline-tools --help``):

* 0 - success
* 1 - findings: the tool ran and found a problem (a policy finding, a failed check, a failed execution)
* 2 - usage, input or environment error (bad config, broken JSON, missing binary, port in use)

Commands raise :class:`PipelineToolsError` subclasses; ``pipeline_tools.cli.main`` is the one
place that turns them into a one-line message and an exit code, never a traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


class PipelineToolsError(Exception):
    """An error the user can fix. ``str(error)`` is the one line shown: the problem, then the fix."""

    exit_code = EXIT_USAGE

    def __init__(self, problem: str, fix: str | None = None):
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem} ({fix})" if fix else problem)


class UsageError(PipelineToolsError):
    """Bad input: wrong config, broken JSON, unknown option value, unreadable file."""


class EnvironmentProblem(PipelineToolsError):
    """Something on the machine is missing or busy: a binary, a port, a provider, credentials."""


class Findings(PipelineToolsError):
    """The tool ran and found problems (verify-iam, scan, check, a failed execution)."""

    exit_code = EXIT_FINDINGS
