"""Stack operations (prepare, plan, apply, destroy, drift, outputs) that the commands call, as
Sceptre's commands call its plan/launcher: a command is its options, one call here, and its output."""
