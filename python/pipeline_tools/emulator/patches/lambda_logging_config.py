"""Lambda functions keep their ``LoggingConfig``.

What moto lacks: CreateFunction/UpdateFunctionConfiguration drop ``LoggingConfig`` and
GetFunction never returns it, while AWS always does (``{"LogFormat": "Text", "LogGroup":
"/aws/lambda/<name>"}`` by default). A terraform ``aws_lambda_function`` with a
``logging_config`` block then shows a change on every plan ("block count changed from 1 to
0"), and everything that references the function is re-planned with it.

The patch stores the configuration with AWS's defaults filled in (JSON format adds the
``INFO`` log levels AWS reports), returns it from GetFunction/GetFunctionConfiguration and
applies updates.
"""

from __future__ import annotations

from typing import Any


def normalized(config: dict[str, Any] | None, function_name: str) -> dict[str, Any]:
    """``LoggingConfig`` as AWS reports it for a function created with ``config``."""
    result = {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function_name}", **(config or {})}
    if result["LogFormat"] == "JSON":
        result.setdefault("ApplicationLogLevel", "INFO")
        result.setdefault("SystemLogLevel", "INFO")
    else:
        result.pop("ApplicationLogLevel", None)
        result.pop("SystemLogLevel", None)
    return result


def apply() -> None:
    from moto.awslambda.models import LambdaFunction

    original_init = LambdaFunction.__init__
    original_get_configuration = LambdaFunction.get_configuration
    original_update = LambdaFunction.update_configuration

    def __init__(self: LambdaFunction, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        original_init(self, account_id, spec, *args, **kwargs)
        self.logging_config = normalized(spec.get("LoggingConfig"), self.function_name)

    def get_configuration(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = original_get_configuration(self, *args, **kwargs)
        config["LoggingConfig"] = getattr(self, "logging_config", None) or normalized(None, self.function_name)
        return config

    def update_configuration(self: LambdaFunction, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "LoggingConfig" in config_updates:
            self.logging_config = normalized(config_updates["LoggingConfig"], self.function_name)
        return original_update(self, config_updates)

    LambdaFunction.__init__ = __init__
    LambdaFunction.get_configuration = get_configuration
    LambdaFunction.update_configuration = update_configuration
