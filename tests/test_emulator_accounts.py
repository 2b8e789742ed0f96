"""Two accounts in one emulator, requests across them decided as AWS does (issue 21 "The IAM
engine", issue 22 "Another account's bucket"): a real server with IAM enforced.

How a test makes a principal of a second account: the access key ID ``"210987654321"`` is that
account's administrator (tests/conftest_emulator.py ``account_client``); it creates a role there
and assumes it; the session's keys belong to the role's account (moto 5.2.5 issues them in the
role's account: ``STSBackend._create_access_key``). S3 ARNs name no account: the emulator knows a
bucket's owner as the account that created it.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html:
"To allow cross-account access, you attach a resource-based policy to the resource that you want
to share. You must also attach an identity-based policy to the identity that acts as the principal
in the request."
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from pipeline_tools.emulator import client

from .conftest_emulator import account_client, emulator_in, session_client

pytestmark = pytest.mark.emulator

OWNER = "123456789012"  # the emulator's default account (its own key): owns the buckets
PARTNER = "210987654321"  # a second account
BUCKET = "owner-data-123456789012"
KMS_BUCKET = "owner-kms-data-123456789012"


def _trust(account: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}]})


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIPELINE_TOOLS_EMULATOR_IAM", "1")
        directory = tmp_path_factory.mktemp("emulator-accounts") / ".pipeline-tools"
        with emulator_in(directory) as state:
            yield {**state, "directory": directory}


def _role(state: dict, account: str, name: str, statements: list[dict]) -> dict:
    """A role in ``account`` with these identity-based statements, assumed by that account's administrator."""
    iam = account_client(state, "iam", account)
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(account))["Role"]
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    credentials = account_client(state, "sts", account).assume_role(RoleArn=role["Arn"], RoleSessionName=name)["Credentials"]
    return {"arn": role["Arn"], "id": role["RoleId"], "credentials": credentials}


@pytest.fixture(scope="module")
def bucket(emulator):
    client("s3", emulator).create_bucket(Bucket=BUCKET)  # no bucket policy
    return BUCKET


@pytest.fixture(scope="module")
def writer(emulator):
    """A role of the partner account whose identity-based policy allows s3:PutObject and s3:GetObject on everything."""
    return _role(emulator, PARTNER, "writer", [{"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "*"}])


def _error(call) -> dict:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]


def _bucket_policy(statements: list[dict]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def test_a_session_belongs_to_its_roles_account(emulator, writer):
    identity = session_client(emulator, "sts", writer["credentials"]).get_caller_identity()
    assert identity["Account"] == PARTNER
    assert identity["Arn"] == f"arn:aws:sts::{PARTNER}:assumed-role/writer/writer"
    assert account_client(emulator, "sts", PARTNER).get_caller_identity()["Account"] == PARTNER
    # Each account has its own IAM: the partner's role is not in the owner's account.
    assert "writer" not in [r["RoleName"] for r in client("iam", emulator).list_roles()["Roles"]]


def test_an_identity_policy_alone_does_not_reach_another_accounts_bucket(emulator, bucket, writer):
    s3 = session_client(emulator, "s3", writer["credentials"])
    error = _error(lambda: s3.put_object(Bucket=bucket, Key="in/a.csv", Body=b"1"))
    assert error["Code"] == "AccessDenied"
    assert error["Message"] == (
        f"User: arn:aws:sts::{PARTNER}:assumed-role/writer/writer is not authorized to perform: s3:PutObject on resource: "
        f'"arn:aws:s3:::{bucket}/in/a.csv" because no resource-based policy allows the s3:PutObject action'
    )
    # The same identity policy within the owner's account: allowed (either policy suffices there).
    local = _role(emulator, OWNER, "local-writer", [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}])
    session_client(emulator, "s3", local["credentials"]).put_object(Bucket=bucket, Key="in/local.csv", Body=b"1")
    # The partner account's administrator (its root user) is refused as well.
    root = account_client(emulator, "s3", PARTNER)
    assert "because no resource-based policy allows" in _error(lambda: root.put_object(Bucket=bucket, Key="in/b.csv", Body=b"1"))["Message"]


def test_the_bucket_policy_of_the_owner_grants_the_partner_role(emulator, writer):
    name = "owner-shared-123456789012"
    owner = client("s3", emulator)
    owner.create_bucket(Bucket=name)
    owner.put_bucket_policy(Bucket=name, Policy=_bucket_policy([
        {"Sid": "PartnerWrites", "Effect": "Allow", "Principal": {"AWS": writer["arn"]}, "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{name}/in/*"}]))
    s3 = session_client(emulator, "s3", writer["credentials"])
    s3.put_object(Bucket=name, Key="in/a.csv", Body=b"1,2\n")
    assert owner.get_object(Bucket=name, Key="in/a.csv")["Body"].read() == b"1,2\n"
    # Outside the granted prefix, and for an action the bucket policy does not grant: refused.
    assert _error(lambda: s3.put_object(Bucket=name, Key="out/a.csv", Body=b"1"))["Code"] == "AccessDenied"
    assert "s3:GetObject" in _error(lambda: s3.get_object(Bucket=name, Key="in/a.csv"))["Message"]


def test_an_account_principal_delegates_to_that_accounts_identity_policies(emulator):
    name = "owner-delegating-123456789012"
    owner = client("s3", emulator)
    owner.create_bucket(Bucket=name)
    owner.put_object(Bucket=name, Key="in/a.csv", Body=b"x")
    owner.put_bucket_policy(Bucket=name, Policy=_bucket_policy([
        {"Effect": "Allow", "Principal": {"AWS": PARTNER}, "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}]))
    reader = _role(emulator, PARTNER, "reader", [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/in/*"}])
    idle = _role(emulator, PARTNER, "idle", [])
    assert session_client(emulator, "s3", reader["credentials"]).get_object(Bucket=name, Key="in/a.csv")["Body"].read() == b"x"
    error = _error(lambda: session_client(emulator, "s3", idle["credentials"]).get_object(Bucket=name, Key="in/a.csv"))
    assert error["Message"].endswith("because no identity-based policy allows the s3:GetObject action")
    # The partner's root user is named by its account: allowed.
    assert account_client(emulator, "s3", PARTNER).get_object(Bucket=name, Key="in/a.csv")["Body"].read() == b"x"


def test_sse_kms_across_accounts_also_needs_the_key_policy(emulator):
    """The owner's bucket encrypts with the owner's key: the partner's role needs the bucket
    policy, the key policy and its own identity policy (kms:GenerateDataKey to write, kms:Decrypt to read)."""
    kms, owner = client("kms", emulator), client("s3", emulator)
    admin = {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OWNER}:root"}, "Action": "kms:*", "Resource": "*"}
    key = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": [admin]}))["KeyMetadata"]["Arn"]
    owner.create_bucket(Bucket=KMS_BUCKET)
    owner.put_bucket_encryption(Bucket=KMS_BUCKET, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}, "BucketKeyEnabled": True}]})
    owner.put_bucket_policy(Bucket=KMS_BUCKET, Policy=_bucket_policy([
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"}, "Action": ["s3:PutObject", "s3:GetObject"], "Resource": f"arn:aws:s3:::{KMS_BUCKET}/*"}]))
    role = _role(emulator, PARTNER, "kms-writer", [
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": f"arn:aws:s3:::{KMS_BUCKET}/*"},
        {"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": key}])
    s3 = session_client(emulator, "s3", role["credentials"])

    error = _error(lambda: s3.put_object(Bucket=KMS_BUCKET, Key="in/a.csv", Body=b"secret"))
    assert error["Message"] == (
        f"User: arn:aws:sts::{PARTNER}:assumed-role/kms-writer/kms-writer is not authorized to perform: kms:GenerateDataKey "
        f'on resource: "{key}" because no resource-based policy allows the kms:GenerateDataKey action'
    )
    partner = {"Sid": "PartnerThroughS3", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"},
               "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*",
               "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps({"Version": "2012-10-17", "Statement": [admin, partner]}))
    s3.put_object(Bucket=KMS_BUCKET, Key="in/a.csv", Body=b"secret")
    assert s3.get_object(Bucket=KMS_BUCKET, Key="in/a.csv")["Body"].read() == b"secret"
    # Called directly (not through S3), kms:ViaService is absent: the key policy's grant does not apply.
    direct = session_client(emulator, "kms", role["credentials"])
    assert _error(lambda: direct.generate_data_key(KeyId=key, KeySpec="AES_256"))["Code"] == "AccessDeniedException"


def test_assuming_a_role_of_another_account_needs_its_trust_and_the_callers_policy(emulator):
    iam = client("iam", emulator)
    shared = iam.create_role(RoleName="shared-reader", AssumeRolePolicyDocument=_trust(PARTNER))["Role"]["Arn"]
    allowed = _role(emulator, PARTNER, "ci", [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": shared}])
    idle = _role(emulator, PARTNER, "ci-idle", [])
    credentials = session_client(emulator, "sts", allowed["credentials"]).assume_role(RoleArn=shared, RoleSessionName="xa")["Credentials"]
    assert session_client(emulator, "sts", credentials).get_caller_identity()["Account"] == OWNER
    error = _error(lambda: session_client(emulator, "sts", idle["credentials"]).assume_role(RoleArn=shared, RoleSessionName="xa"))
    assert error["Code"] == "AccessDenied" and "no identity-based policy allows the sts:AssumeRole action" in error["Message"]
    # A role whose trust names only the owner's account: the partner's administrator may not assume it.
    own = iam.create_role(RoleName="owner-only", AssumeRolePolicyDocument=_trust(OWNER))["Role"]["Arn"]
    error = _error(lambda: account_client(emulator, "sts", PARTNER).assume_role(RoleArn=own, RoleSessionName="xa"))
    assert "because no role trust policy allows the sts:AssumeRole action" in error["Message"]


def test_aws_userid_is_the_role_id_and_session(emulator, bucket):
    name = "userid-writer"
    role = _role(emulator, OWNER, name, [])
    client("iam", emulator).put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/home/${{aws:userid}}/*"}]}))
    s3 = session_client(emulator, "s3", role["credentials"])
    assert role["id"].startswith("AROA")
    s3.put_object(Bucket=bucket, Key=f"home/{role['id']}:{name}/a.txt", Body=b"x")
    assert _error(lambda: s3.put_object(Bucket=bucket, Key=f"home/{role['id']}:someone-else/a.txt", Body=b"x"))["Code"] == "AccessDenied"


def test_a_restart_keeps_the_buckets_owner(emulator, writer):
    """S3's bucket index over accounts is rebuilt from the journal: after a restart the partner
    still reaches the owner's bucket through its policy, and still only through it."""
    from pipeline_tools.emulator import start_emulator, stop_emulator

    name = "owner-shared-123456789012"  # granted to the writer role above
    stop_emulator(emulator["directory"])
    state = start_emulator(0, emulator["directory"])
    emulator.update(state)
    s3 = session_client(emulator, "s3", writer["credentials"])
    s3.put_object(Bucket=name, Key="in/after-restart.csv", Body=b"2")
    assert client("s3", emulator).get_object(Bucket=name, Key="in/after-restart.csv")["Body"].read() == b"2"
    assert "no resource-based policy" in _error(lambda: s3.put_object(Bucket=BUCKET, Key="in/c.csv", Body=b"1"))["Message"]
    # The partner cannot create a bucket whose name the owner holds (one namespace).
    assert _error(lambda: account_client(emulator, "s3", PARTNER).create_bucket(Bucket=BUCKET))["Code"] in ("BucketAlreadyExists", "BucketAlreadyOwnedByYou")
