"""Step Functions executions can be saved and restored with their history (issue 12).

What moto lacks: an execution holds its live interpreter (``exec_worker``: threads, the program
state, locks) and reads its history from it, so it cannot be pickled, and a restored one would
have no history. The patch pickles an execution with a :class:`FrozenWorker` in its place: the
history events as they were, and empty callback/map-run pools (a stopped interpreter waits for no
task token and runs no map). An execution restored that way answers DescribeExecution,
GetExecutionHistory and ListExecutions as before. The end of an execution is journaled at once
(:mod:`..durable`), not at the next background flush.
"""

from __future__ import annotations

from typing import Any

from .. import durable


class _Events:
    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events

    def get_event_history(self) -> list[dict[str, Any]]:
        return list(self.events)


class _Pool:
    def heartbeat(self, callback_id: str) -> bool:
        return False

    def notify(self, callback_id: str, outcome: Any) -> bool:
        return False

    def get(self, arn: str) -> None:
        return None

    def get_all(self) -> list[Any]:
        return []


class _FrozenEnv:
    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.event_manager = _Events(events)
        self.callback_pool_manager = _Pool()
        self.map_run_record_pool_manager = _Pool()


class FrozenWorker:
    """What stands in for a finished (or interrupted) execution's interpreter."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.env = _FrozenEnv(events)

    def stop(self, **kwargs: Any) -> None:
        pass


STORE: "durable.Store | None" = None  # set by the server once the store is open


def apply() -> None:
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution

    def __getstate__(self: Execution) -> dict[str, Any]:
        state = self.__dict__.copy()
        worker = state.get("exec_worker")
        if worker is not None and not isinstance(worker, FrozenWorker):
            env = getattr(worker, "env", None)
            events = env.event_manager.get_event_history() if env is not None else []
            state["exec_worker"] = FrozenWorker(list(events))
        return state

    Execution.__getstate__ = __getstate__

    original_terminated = BaseExecutionWorkerCommunication.terminated

    def terminated(self: BaseExecutionWorkerCommunication) -> None:
        original_terminated(self)
        if STORE is not None:
            try:
                STORE.flush(["stepfunctions"])
            except Exception as error:  # noqa: BLE001 - the background flush retries
                print(f"[durable] flush at the end of {self.execution.exec_arn} failed: {error}", flush=True)

    BaseExecutionWorkerCommunication.terminated = terminated
