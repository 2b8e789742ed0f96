"""CreateModel keeps ``EnableNetworkIsolation``.

What moto 5.2.5 lacks: ``SageMakerResponse.create_model`` drops the parameter and moto's ``Model``
hard-codes ``enable_network_isolation = False``, so DescribeModel answers ``False`` for a model created
isolated ("Isolates the model container. No inbound or outbound network calls can be made to or from
the model container", https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModel.html).
The patch records what was asked; the model's ``VpcConfig`` moto already keeps. A transform job of the
model runs with it (jobs/transform.py: no AWS credentials in the container).
"""

from __future__ import annotations

from typing import Any


def apply() -> None:
    from moto.sagemaker.responses import SageMakerResponse

    original = SageMakerResponse.create_model

    def create_model(self: SageMakerResponse) -> Any:
        result = original(self)
        model = self.sagemaker_backend.describe_model(self._get_param("ModelName"))
        model.enable_network_isolation = bool(self._get_param("EnableNetworkIsolation", False))
        return result

    SageMakerResponse.create_model = create_model
