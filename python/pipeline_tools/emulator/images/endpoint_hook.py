"""Installed into every image environment (images.__init__._build) as ``pipeline_tools_endpoint_hook.py``
with a ``.pth`` line that imports it at interpreter start. Standard library only.

A local job reaches the emulator through ``AWS_ENDPOINT_URL`` (and its CA through ``AWS_CA_BUNDLE``),
which botocore reads from 1.31 on ("Service-specific endpoints": the variable appeared in botocore
1.31.0, https://github.com/boto/botocore/blob/develop/CHANGELOG.rst). An image that ships an older
botocore (sagemaker-xgboost 1.7-1: boto3 1.17.52 / botocore 1.20.52) would send a script's calls to
AWS itself. Only there, and only when the job's environment names an endpoint (never under network
isolation, where a job has none), botocore's ``Session.create_client`` gets that endpoint as its
default, as a newer botocore would: an explicit ``endpoint_url`` still wins.
"""

import os


def _older_than_1_31(version: str) -> bool:
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) < (1, 31)


def _install() -> None:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        return
    try:
        from importlib.metadata import PackageNotFoundError, version

        if not _older_than_1_31(version("botocore")):
            return
    except (ImportError, PackageNotFoundError):
        return
    import botocore.session

    original = botocore.session.Session.create_client

    def create_client(self, service_name, region_name=None, api_version=None, use_ssl=True, verify=None, endpoint_url=None, *args, **kwargs):
        if endpoint_url is None:
            endpoint_url = os.environ.get("AWS_ENDPOINT_URL")
        if verify is None and os.environ.get("AWS_CA_BUNDLE"):
            verify = os.environ["AWS_CA_BUNDLE"]
        return original(self, service_name, region_name, api_version, use_ssl, verify, endpoint_url, *args, **kwargs)

    botocore.session.Session.create_client = create_client


_install()
