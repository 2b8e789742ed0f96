"""A state's ``Assign`` takes effect when the state is done: its own ``Output`` (and
``OutputPath``) read the variables as they were when the state was entered.

What moto 5.2.5 does: ``AssignDecl`` sets the variables as soon as it is evaluated, which is
before the state's output is, so ``Output``/``OutputPath`` of the same state read the new values.

AWS evaluates every expression of a state with the values from the state's entry; the new values
are there for the states after it. Recorded on AWS (LocalStack's snapshot test
``test_state_assign_evaluation_order``, tests/aws/services/stepfunctions/v2/assign): a Pass state
with ``"Assign": {"answer": "<omitted>"}`` and ``"OutputPath": "$answer"``, entered with
``answer = 42``, outputs ``42``. AWS's page: "Variables ... you can store data in a step and
retrieve that data in future steps"
(https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html).

The patch keeps the evaluated assignments aside and binds them when the state exits (before its
``StateExited`` event, whose ``assignedVariables`` lists them); a state that fails assigns nothing.
The rule that a nested scope (a Parallel branch, a Map iteration) may not assign a variable of an
outer scope is checked when the assignment is evaluated, as moto did.
"""

from __future__ import annotations

from typing import Any

PENDING = "_pipeline_tools_pending_assign"


def commit(env: Any) -> None:
    pending = env.__dict__.pop(PENDING, None)
    for identifier, value in (pending or {}).items():
        env.variable_store.set(variable_identifier=identifier, variable_value=value)


def apply() -> None:
    from moto.stepfunctions.parser.asl.component.common.assign.assign_decl import AssignDecl
    from moto.stepfunctions.parser.asl.component.state.state import CommonStateField
    from moto.stepfunctions.parser.asl.eval.variable_store import IllegalOuterScopeWrite

    def assign_eval_body(self: AssignDecl, env: Any) -> None:
        declarations: dict[str, Any] = {}
        for binding in self.declaration_bindings:
            binding.eval(env=env)
            declarations.update(env.stack.pop())
        for identifier, value in declarations.items():
            if identifier in env.variable_store._outer_scope:
                raise IllegalOuterScopeWrite(variable_identifier=identifier, variable_value=value)
        env.__dict__.setdefault(PENDING, {}).update(declarations)

    original_exited = CommonStateField._get_state_exited_event_details

    def exited_details(self: CommonStateField, env: Any) -> Any:
        commit(env)
        return original_exited(self, env)

    original_eval_body = CommonStateField._eval_body

    def eval_body(self: CommonStateField, env: Any) -> None:
        env.__dict__.pop(PENDING, None)  # a state starts with nothing pending (a failed one's are dropped)
        original_eval_body(self, env)
        commit(env)  # a state without an exit event (none today) still assigns

    AssignDecl._eval_body = assign_eval_body
    CommonStateField._get_state_exited_event_details = exited_details
    CommonStateField._eval_body = eval_body
