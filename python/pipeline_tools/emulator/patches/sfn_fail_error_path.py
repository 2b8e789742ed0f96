"""A Fail state may re-raise a caught ``States.*`` error through ``ErrorPath``.

What moto lacks: its Fail state wraps the evaluated error in ``CustomErrorName``, which raises
``ValueError("Custom Error Names MUST NOT begin with the prefix 'States.'")``. That rule is
for errors a *task* reports; AWS lets a Fail state name any error, and the common pattern
``Catch -> Fail {"ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}`` re-raises
e.g. ``States.TaskFailed`` so the execution keeps the original error. In moto the execution
instead fails with that ValueError, hiding the original error and cause.

The patch gives the Fail state module an error-name class without the prefix check.
"""

from __future__ import annotations


def apply() -> None:
    from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
    from moto.stepfunctions.parser.asl.component.state.fail import state_fail

    class FailStateErrorName(ErrorName):
        """Any error name, ``States.*`` included (only Fail states re-raise with it)."""

    state_fail.CustomErrorName = FailStateErrorName
