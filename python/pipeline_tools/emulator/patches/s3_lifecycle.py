"""GetBucketLifecycleConfiguration returns the ``TransitionDefaultMinimumObjectSize`` that was put.

What moto lacks: PutBucketLifecycleConfiguration ignores the
``x-amz-transition-default-minimum-object-size`` header, and GetBucketLifecycleConfiguration
always answers ``all_storage_classes_128K``. terraform's AWS provider (5.100) waits after a
put until what it reads back equals what it wrote, *including* this value
(``waitLifecycleConfigEquals``), so a bucket configured with ``varies_by_storage_class``
never converges: the apply polls for the 3-minute create timeout, then fails.

The patch records the header per bucket on put (default ``all_storage_classes_128K``, as
S3 does), answers it on get (and on put, as S3 does), and forgets it on delete.

Measured, and not fixable server-side: with matching answers the provider still spends
~55 s on every create/update of ``aws_s3_bucket_lifecycle_configuration``. That is its
own fixed schedule (``Delay: 10s``, ``PollInterval: 5s``, ``ContinuousTargetOccurence: 10``
in ``internal/service/s3/bucket_lifecycle_configuration.go``), not a mismatch: the rules
moto returns (``<Filter><Prefix/></Filter>``, ids, days) already equal what was put.
"""

from __future__ import annotations

from typing import Any

HEADER = "x-amz-transition-default-minimum-object-size"
DEFAULT = "all_storage_classes_128K"
ALLOWED = {"all_storage_classes_128K", "varies_by_storage_class"}

_sizes: dict[str, str] = {}  # bucket name -> value put (kept off FakeBucket, which moto serializes)


def apply() -> None:
    from moto.s3.responses import S3Response

    original_put = S3Response._bucket_response_put
    original_get = S3Response.get_bucket_lifecycle
    original_delete = S3Response.delete_bucket_lifecycle

    def _bucket_response_put(self: S3Response, request: Any, bucket_name: str, querystring: dict[str, Any]) -> Any:
        result = original_put(self, request, bucket_name, querystring)
        if querystring and "lifecycle" in querystring and not isinstance(result, tuple):
            value = request.headers.get(HEADER) or DEFAULT
            _sizes[bucket_name] = value if value in ALLOWED else DEFAULT
            return 200, {HEADER: _sizes[bucket_name]}, result or ""
        return result

    def get_bucket_lifecycle(self: S3Response) -> Any:
        status, headers, body = original_get(self)
        headers = dict(headers)
        headers[HEADER] = _sizes.get(self.bucket_name, DEFAULT)
        return status, headers, body

    def delete_bucket_lifecycle(self: S3Response) -> Any:
        _sizes.pop(self.bucket_name, None)
        return original_delete(self)

    S3Response._bucket_response_put = _bucket_response_put
    S3Response.get_bucket_lifecycle = get_bucket_lifecycle
    S3Response.delete_bucket_lifecycle = delete_bucket_lifecycle
