"""sfn_ml_pipeline: the Step Functions ML pipeline as a reusable CDK Terrain construct.

    from sfn_ml_pipeline import MlPipeline, PipelineConfig

    MlPipeline(stack, "churn", config=PipelineConfig(name_prefix="churn"))

Importing the package is cheap; the construct (and jsii) load on first use of ``MlPipeline``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .config import ConfigError, PipelineConfig, load_config

if TYPE_CHECKING:  # pragma: no cover
    from .construct import MlPipeline

__all__ = ["ConfigError", "MlPipeline", "PipelineConfig", "load_config"]


def __getattr__(name: str):
    if name == "MlPipeline":
        from .construct import MlPipeline

        return MlPipeline
    raise AttributeError(name)
