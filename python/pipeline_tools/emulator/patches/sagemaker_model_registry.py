"""The SageMaker Model Registry (model package groups and their versions) as SageMaker answers it.

What moto 5.2.5 lacks or gets wrong, each against the API reference:

* **DeleteModelPackageGroup** is not implemented ("Deletes the specified model group",
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DeleteModelPackageGroup.html), so
  ``terraform destroy`` of an ``aws_sagemaker_model_package_group`` fails. Implemented; a group that
  does not exist answers the ValidationException DescribeModelPackageGroup answers ("ModelPackageGroup
  <arn> does not exist."), which the AWS provider treats as already deleted.
* **UpdateModelPackage** overwrites every field the request leaves out: moto sets the approval status,
  the approval description and ``CustomerMetadataProperties`` to what was passed, None when nothing
  was. SageMaker's own approval example passes only ``ModelPackageArn`` and ``ModelApprovalStatus``
  ("The following code snippet shows how to manually change the approval status to Approved",
  https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-approve.html): a version keeps its
  metadata when it is approved. Now a field the request leaves out is kept; ``CustomerMetadataProperties``
  given are set key by key and ``CustomerMetadataPropertiesToRemove`` removes keys (the API has a
  separate parameter to remove them, https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateModelPackage.html).
* **ListTags / AddTags / DeleteTags on a model package version** fail with a server error: moto splits
  the ARN's resource at "/" into exactly two parts, but a version's ARN is
  ``model-package/<group>/<version>`` (``ModelPackageArn`` in DescribeModelPackage; the Service
  Authorization Reference's model-package type, list_amazonsagemaker.html), and moto has no
  ``model-package`` entry. A version (or an unversioned package) is found by its ARN; its tags start
  empty rather than None.
"""

from __future__ import annotations

from typing import Any


def _delete_model_package_group(backend: Any, name: str) -> None:
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.utils import arn_formatter

    if "/" in name:  # the API takes the group's name or its ARN
        name = name.rsplit("/", 1)[-1]
    if name not in backend.model_package_groups:
        arn = arn_formatter(region_name=backend.region_name, account_id=backend.account_id, _type="model-package-group", _id=name)
        raise ValidationError(f"ModelPackageGroup {arn} does not exist.")
    del backend.model_package_groups[name]


def _update_model_package(
    backend: Any,
    model_package_arn: str,
    model_approval_status: str | None,
    approval_description: str | None,
    customer_metadata_properties: dict[str, str] | None,
    customer_metadata_properties_to_remove: list[str] | None,
    additional_inference_specifications_to_add: list[Any] | None,
) -> str:
    from moto.sagemaker.exceptions import ValidationError

    package = backend.model_packages.get(backend.model_package_name_mapping.get(model_package_arn, model_package_arn))
    if package is None:
        raise ValidationError(f"Model package {model_package_arn} not found")
    if model_approval_status is not None:
        package.set_model_approval_status(model_approval_status)
    if approval_description is not None:
        package.approval_description = approval_description
    if customer_metadata_properties:
        package.customer_metadata_properties = {**(package.customer_metadata_properties or {}), **customer_metadata_properties}
    for key in customer_metadata_properties_to_remove or []:
        (package.customer_metadata_properties or {}).pop(key, None)
    if additional_inference_specifications_to_add:
        package.add_additional_inference_specifications(additional_inference_specifications_to_add)
    package.modifications_done()
    return package.arn


def apply() -> None:
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    def delete_model_package_group(self: SageMakerModelBackend, model_package_group_name: str) -> None:
        _delete_model_package_group(self, model_package_group_name)

    SageMakerModelBackend.delete_model_package_group = delete_model_package_group

    def delete_model_package_group_response(self: SageMakerResponse) -> Any:
        from moto.core.responses import EmptyResult

        self.sagemaker_backend.delete_model_package_group(self._get_param("ModelPackageGroupName"))
        return EmptyResult()

    SageMakerResponse.delete_model_package_group = delete_model_package_group_response

    def update_model_package(self: SageMakerModelBackend, model_package_arn: str, model_approval_status: str | None,
                             approval_description: str | None, customer_metadata_properties: dict[str, str] | None,
                             customer_metadata_properties_to_remove: list[str], additional_inference_specifications_to_add: Any) -> str:
        return _update_model_package(self, model_package_arn, model_approval_status, approval_description, customer_metadata_properties,
                                     customer_metadata_properties_to_remove, additional_inference_specifications_to_add)

    SageMakerModelBackend.update_model_package = update_model_package

    original_resource = SageMakerModelBackend._get_resource_from_arn

    def _get_resource_from_arn(self: SageMakerModelBackend, arn: str) -> Any:
        resource = arn.split(":", 5)[-1]
        if resource.startswith("model-package/"):
            from moto.sagemaker.exceptions import ValidationError

            package = self.model_packages.get(self.model_package_name_mapping.get(arn, arn))
            if package is None:
                raise ValidationError(message=f"Could not find model-package with name {resource.split('/', 1)[1]}")
            if package.tags is None:
                package.tags = []
            return package
        found = original_resource(self, arn)
        if found is not None and getattr(found, "tags", []) is None:
            found.tags = []
        return found

    SageMakerModelBackend._get_resource_from_arn = _get_resource_from_arn
