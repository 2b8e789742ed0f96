"""A Choice state's own ``Assign``/``Output`` apply only when no rule matched (the Default).

What moto 5.2.5 does: after a Choice state picks its next state, it evaluates the state-level
``Assign`` and ``Output`` whenever the next state's *name* equals ``Default``'s, so a rule that
matches and goes to the same state as ``Default`` gets the default's assignments on top of its own.

AWS's page (https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html): each Choice
rule may carry its own ``Assign`` and ``Output``, applied when the rule is taken; ``Default`` is "The
name of the state to transition to if no Choice Rule evaluates to true.", and the
state's own ``Assign``/``Output`` go with it (LocalStack's snapshot tests recorded on AWS,
"Support for Output Blocks in Choice Rules, Improvements to JSONata Choice Defaults",
localstack/localstack#12075). The patch remembers whether a rule matched and applies the
state-level fields only when none did.
"""

from __future__ import annotations

from typing import Any

MATCHED = "_pipeline_tools_choice_rule_matched"


def apply() -> None:
    from moto.stepfunctions.parser.asl.component.state.choice.state_choice import StateChoice

    def _eval_state(self: StateChoice, env: Any) -> None:  # moto's loop, remembering a match
        for rule in self.choices_decl.rules:
            rule.eval(env)
            if env.stack.pop() is True:
                if not rule.next_stmt:
                    raise RuntimeError(f"Missing Next definition for state_choice rule '{rule}' in choices '{self}'.")
                env.__dict__[MATCHED] = True
                env.stack.append(rule.next_stmt.name)
                return
        if self.default_state is None:
            raise RuntimeError("No branching option reached in state %s", self.name)
        env.__dict__[MATCHED] = False
        env.stack.append(self.default_state.state_name)

    def _eval_state_output(self: StateChoice, env: Any) -> None:  # moto's, with "no rule matched" for the name test
        next_state_name: str = env.stack.pop()
        if not env.__dict__.pop(MATCHED, False) and self.default_state is not None:
            if self.assign_decl:
                self.assign_decl.eval(env=env)
            if self.output:
                self.output.eval(env=env)
        if self._is_language_query_jsonpath():
            if self.output_path:
                self.output_path.eval(env=env)
            else:
                env.states.reset(input_value=env.stack.pop())
        env.next_state_name = next_state_name

    StateChoice._eval_state = _eval_state
    StateChoice._eval_state_output = _eval_state_output
