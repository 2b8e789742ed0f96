"""An execution whose output is a JSON string answers it as JSON (``"medium"``), not bare.

What moto 5.2.5 does: ``DescribeExecution`` returns ``output`` as is when the execution's output
is a Python ``str`` (``moto/stepfunctions/responses.py``), taking it for JSON text already; its
interpreter keeps the output as a value, so a state machine ending in the string ``medium``
answers ``output: medium``, which no client can parse as JSON. JSONata (``"Output": "{% $size %}"``)
makes string outputs common.

AWS's DescribeExecution: "output: The JSON output data of the execution."
(https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html):
a string output is the JSON string ``"medium"``. The patch serializes it so.
"""

from __future__ import annotations

import json
from typing import Any


def apply() -> None:
    from moto.stepfunctions.parser.backend.execution import Execution
    from moto.stepfunctions.responses import StepFunctionResponse

    original = StepFunctionResponse.describe_execution

    def describe_execution(self: StepFunctionResponse) -> Any:
        answer = original(self)
        response = answer.result
        if isinstance(response, dict) and "output" in response:
            execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
            if isinstance(execution, Execution) and isinstance(execution.output, str):
                response["output"] = json.dumps(execution.output)
        return answer

    StepFunctionResponse.describe_execution = describe_execution
