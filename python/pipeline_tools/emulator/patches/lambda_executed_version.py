"""Lambda's Invoke answers which version ran (``X-Amz-Executed-Version``), so the
``arn:aws:states:::lambda:invoke`` integration's output carries ``ExecutedVersion``.

What moto 5.2.5 lacks: its Invoke response has no ``X-Amz-Executed-Version`` header, so boto3's
answer, and with it a Step Functions ``lambda:invoke`` task's result, has no ``ExecutedVersion``.

AWS's Invoke API: "X-Amz-Executed-Version: The version of the function that executed. When you
invoke a function with an alias, this indicates which version the alias resolved to."
(https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html); a Step Functions task that calls
``lambda:invoke`` outputs the Invoke response: ``ExecutedVersion``, ``Payload``, ``StatusCode``,
... (https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html). The patch sets
the header to the version of the function that ran: ``$LATEST``, or the number a qualifier or an
alias resolved to.
"""

from __future__ import annotations

from typing import Any


def apply() -> None:
    from moto.awslambda.models import LambdaBackend

    original = LambdaBackend.invoke

    def invoke(self: LambdaBackend, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any) -> Any:
        payload = original(self, function_name, qualifier, body, headers, response_headers)
        function = self.get_function(function_name, qualifier)
        response_headers.setdefault("x-amz-executed-version", str(function.version))
        return payload

    LambdaBackend.invoke = invoke
