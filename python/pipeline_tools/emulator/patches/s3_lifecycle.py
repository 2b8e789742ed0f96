"""GetBucketLifecycleConfiguration returns what PutBucketLifecycleConfiguration stored.

What moto lacks: see :func:`apply` (filled in once the provider's diff is measured).
"""

from __future__ import annotations


def apply() -> None:
    return None
