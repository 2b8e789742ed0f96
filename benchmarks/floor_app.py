"""The framework floor (issue 6): a cdktn app declaring one S3 bucket, nothing else.

Its synth time is what any cdktn app pays (jsii starting node, loading the cdktn and provider
assemblies); our app's warm synth is compared with it. Run: ``python benchmarks/floor_app.py OUT``.
"""

import sys

from cdktn import App, TerraformStack
from cdktn_provider_aws.provider import AwsProvider
from cdktn_provider_aws.s3_bucket import S3Bucket


class Floor(TerraformStack):
    def __init__(self, scope, name):
        super().__init__(scope, name)
        AwsProvider(self, "aws", region="us-east-1")
        S3Bucket(self, "bucket", bucket_prefix="floor-")


if __name__ == "__main__":
    app = App(outdir=sys.argv[1])
    Floor(app, "floor")
    app.synth()
