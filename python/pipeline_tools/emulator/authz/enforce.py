"""Who is calling, and may they? The emulator's authentication and authorization, in one place.

:mod:`pipeline_tools.emulator.patches.iam_enforce` hooks this into moto's request handling; the
job runners, the Lambda runtime and the Step Functions interpreter get their credentials from
:func:`credentials_for` (a role assumed by a service, its trust policy evaluated first).

* Authentication (access key -> principal): the emulator's fixed key (``testing``,
  :data:`~pipeline_tools.emulator.state.ACCESS_KEY_ID`) is the default account's administrator,
  treated as the account root; a key of twelve digits is the administrator of the account with that
  ID (:mod:`..patches.accounts`: a second account, e.g. a data owner's); a key issued by moto's STS
  (``ASIA...``) is the assumed role's session in the role's account, its session token checked; an
  IAM user's key is that user. Any other key is refused (``InvalidClientTokenId``), as AWS refuses
  a key it never issued. Signatures are not verified.
* Accounts: each principal belongs to one account (moto keeps each account's IAM, STS, S3, KMS...
  apart); a resource belongs to the account in its ARN, an S3 bucket to the account that created it
  (moto's ``s3_backends.bucket_accounts``: S3 ARNs name no account). A request for another
  account's resource is decided with AWS's cross-account rule (both the caller's identity-based
  policy and the resource's policy in the owner's account must allow: see
  :mod:`pipeline_tools.iam.evaluation.engine`), even for an administrator.
* Authorization: :func:`pipeline_tools.iam.evaluation.evaluate` with the caller's identity
  policies (inline + attached managed, read from moto's IAM backend on every request, so a
  policy changed through the IAM API applies to the next request), and the resource's policy
  where it has one: the bucket policy for ``s3:``, the key policy for ``kms:`` (required: an
  identity policy alone cannot grant a KMS key), the trust policy for ``sts:AssumeRole``.
  The administrator is the account root: allowed unless a resource-based policy denies
  (e.g. the TLS-only bucket statement over plain HTTP) or a key policy does not allow it
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html: the root user has full
  access to the account's resources, "except as limited by" resource policies such as key
  policies: https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).

Every decision made for a principal that acts on an execution's behalf is kept in
:data:`ACCESS_LOG` under that execution's ARN (see :func:`act_for`); ``pipeline-tools run``
fetches it into ``artifacts/<execution>/access.json``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping

from ...iam.evaluation import RESOURCE, TRUST, Decision, Kind, Policy, Principal, Request, evaluate
from ..state import ACCESS_KEY_ID, ACCOUNT_ID, REGION
from .resolve import REGISTRY, Account, Authorization, RequestFacts, UnresolvedOperation, resolve

ENV_FLAG = "PIPELINE_TOOLS_EMULATOR_IAM"


def enabled() -> bool:
    """Enforcement is on in this server process (``PIPELINE_TOOLS_EMULATOR_IAM=1``).

    The server itself defaults to off (``start_emulator()`` from Python, e.g. tests that build
    their own roles); the CLI (``pipeline-tools local up``, ``demo``) defaults to on, see
    :func:`choose_for_cli`."""
    return os.environ.get(ENV_FLAG, "0") == "1"


def choose_for_cli(flag: bool | None) -> bool:
    """The mode ``local up``/``demo`` start the emulator in: ``--iam``/``--no-iam`` if given, else
    ``PIPELINE_TOOLS_EMULATOR_IAM`` if set, else on. Exported to the server process it starts."""
    if flag is None:
        flag = os.environ.get(ENV_FLAG, "1") != "0"
    os.environ[ENV_FLAG] = "1" if flag else "0"
    return flag


ADMIN_POLICY = Policy(
    "account root (administrator)",
    {"Version": "2012-10-17", "Statement": [{"Sid": "Root", "Effect": "Allow", "Action": "*", "Resource": "*"}]},
)
# Services whose resources carry a policy of their own that can limit the administrator.
RESOURCE_POLICY_SERVICES = frozenset({"s3", "kms"})


class Unauthenticated(Exception):
    """The request's access key (or its session token) is not one this account issued."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Denied(Exception):
    """One authorization the request needs was denied (the decision says how, in AWS's words)."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.message())
        self.decision = decision


@dataclass(frozen=True)
class Caller:
    principal: Principal
    access_key: str
    kind: str  # "admin", "role" or "user"
    role_arn: str | None = None
    user_name: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.kind == "admin"


ACCOUNT = Account(ACCOUNT_ID, REGION)  # the default account (the emulator's own key, the pipeline)
ADMIN = Caller(Principal.root(ACCOUNT_ID), ACCESS_KEY_ID, "admin")


def admin_of(account: str, access_key: str) -> Caller:
    """The administrator (root) of ``account``, as its access key names it."""
    return ADMIN if account == ACCOUNT_ID else Caller(Principal.root(account), access_key, "admin")


def account_context(caller: Caller) -> Account:
    """The caller's own account and the emulator's region: where names without an ARN resolve."""
    account = caller.principal.account or ACCOUNT_ID
    return ACCOUNT if account == ACCOUNT_ID else Account(account, REGION)


# ---- moto's backends -------------------------------------------------------------------------


def _iam(account: str = ACCOUNT_ID) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account]["aws"]


def _sts(account: str = ACCOUNT_ID) -> Any:
    from moto.sts.models import sts_backends

    return sts_backends[account]["aws"]


def _arn_account(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else ACCOUNT_ID


@functools.lru_cache(maxsize=1024)
def _parsed(name: str, document: str) -> Policy:
    return Policy(name, json.loads(document))


def _document_text(document: Any) -> str:
    if isinstance(document, bytes):
        return document.decode()
    if isinstance(document, str):
        return document
    return json.dumps(document)


def _managed_document(policy: Any) -> str:
    for version in policy.versions:
        if version.is_default:
            return _document_text(version.document)
    return _document_text(policy.versions[-1].document)


def role_policies(role: Any) -> list[Policy]:
    """A role's identity-based policies: inline, then attached managed (default versions)."""
    policies = [_parsed(f"role/{role.name} inline {name}", _document_text(doc)) for name, doc in role.policies.items()]
    policies += [_parsed(f"{p.arn}", _managed_document(p)) for p in role.managed_policies.values()]
    return policies


def role_by_arn(role_arn: str) -> Any | None:
    """The role ``role_arn`` names, in the account the ARN names."""
    for role in _iam(_arn_account(role_arn)).roles.values():
        if role.arn == role_arn:
            return role
    return None


def identity_policies(caller: Caller) -> list[Policy]:
    if caller.is_admin:
        return [ADMIN_POLICY]
    iam = _iam(caller.principal.account or ACCOUNT_ID)
    if caller.kind == "role":
        role = role_by_arn(caller.role_arn or "")
        return role_policies(role) if role is not None else []
    user = iam.users.get(caller.user_name or "")
    if user is None:
        return []
    policies = [_parsed(f"user/{user.name} inline {n}", _document_text(d)) for n, d in user.policies.items()]
    policies += [_parsed(p.arn, _managed_document(p)) for p in user.managed_policies.values()]
    for group in iam.get_groups_for_user(user.name):
        policies += [_parsed(f"group/{group.name} inline {n}", _document_text(d)) for n, d in group.policies.items()]
        policies += [_parsed(p.arn, _managed_document(p)) for p in group.managed_policies.values()]
    return policies


def bucket_owner(bucket_name: str) -> str | None:
    """The account that created ``bucket_name`` (S3's one namespace over all accounts), None if none did."""
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(bucket_name)
    if owner is not None:
        return owner[1]
    for account in list(s3_backends.keys()):  # a bucket restored without moto's index
        if bucket_name in s3_backends[account]["aws"].buckets:
            return account
    return None


def bucket_policy(bucket_name: str) -> Policy | None:
    from moto.s3.models import s3_backends

    owner = bucket_owner(bucket_name)
    bucket = s3_backends[owner]["aws"].buckets.get(bucket_name) if owner else None
    if bucket is None or not bucket.policy:
        return None
    return _parsed(f"bucket policy of {bucket_name}", _document_text(bucket.policy))


def _kms_key(key_arn: str) -> Any | None:
    from moto.kms.models import kms_backends

    parts = key_arn.split(":")
    if len(parts) < 6 or not parts[5].startswith("key/"):
        return None
    return kms_backends[parts[4]][parts[3]].keys.get(parts[5][len("key/"):])


def key_arn_of(reference: str, account: Any = None) -> str | None:
    """A key ID, key ARN, alias name or alias ARN -> the key's ARN (None if no such key). Anything
    but a key ARN is looked up in ``account``, the requester's (default: the emulator's account):
    "If the KMS key doesn't exist in the same account that's issuing the command, you must use the
    full Key ARN not the Key ID" (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html,
    SSEKMSKeyId); "If you use a KMS key alias instead, then KMS resolves the key within the requester's
    account" (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ServerSideEncryptionByDefault.html)."""
    if reference.startswith("arn:") and ":key/" in reference:
        return reference
    from moto.kms.models import kms_backends

    account = account or ACCOUNT
    backend = kms_backends[account.account][account.region]
    try:
        key_id = backend.any_id_to_key_id(reference)
    except Exception:  # noqa: BLE001 - an unknown key: the calling service answers with its own error
        return None
    return account.arn("kms", f"key/{key_id}") if key_id else None


def key_policy(key_arn: str) -> Policy | None:
    key = _kms_key(key_arn)
    if key is None or not key.policy:
        return None
    return _parsed(f"key policy of {key_arn.rsplit('/', 1)[-1]}", _document_text(key.policy))


def trust_policy(role_arn: str) -> Policy | None:
    role = role_by_arn(role_arn)
    if role is None:
        return None
    return _parsed(f"trust policy of role/{role.name}", _document_text(role.assume_role_policy_document))


# ---- authentication ----------------------------------------------------------------------------

_callers: dict[str, tuple[Caller, Any]] = {}  # access key -> (caller, its STS session or None)
_callers_lock = threading.Lock()
_INVALID = ("InvalidClientTokenId", "The security token included in the request is invalid.")


def _check_session(session: Any, session_token: str | None) -> None:
    if session_token != session.session_token:
        raise Unauthenticated(*_INVALID)
    if session.expiration.timestamp() < time.time():
        raise Unauthenticated("ExpiredToken", "The security token included in the request is expired")


def _key_account(access_key: str) -> str | None:
    """The account whose IAM issued ``access_key`` (moto keeps an STS session's key in the role's
    account: ``moto.sts.models.STSBackend._create_access_key``), None if none did."""
    from moto.iam.models import iam_backends

    for account in list(iam_backends.keys()):
        if access_key in iam_backends[account]["aws"].access_keys:
            return account
    return None


def caller_for(access_key: str | None, session_token: str | None = None) -> Caller:
    """The principal behind ``access_key``, or :class:`Unauthenticated`."""
    from ..patches.accounts import account_of_key

    if access_key == ACCESS_KEY_ID:
        return ADMIN
    if not access_key:
        raise Unauthenticated("MissingAuthenticationToken", "Request is missing Authentication Token")
    account = account_of_key(access_key)
    if account is not None:
        return admin_of(account, access_key)
    cached = _callers.get(access_key)
    if cached is not None:
        caller, session = cached
        if session is not None:
            _check_session(session, session_token)
        else:  # a user's key: deleted or deactivated since?
            current = _iam(caller.principal.account or ACCOUNT_ID).access_keys.get(access_key)
            if current is None or current.status != "Active":
                raise Unauthenticated(*_INVALID)
        return caller
    account = _key_account(access_key)
    if account is None:
        raise Unauthenticated(*_INVALID)
    key = _iam(account).access_keys[access_key]
    session = None
    if key.role_arn:
        session = _sts(account).get_assumed_role_from_access_key(access_key)
        if session is None:
            raise Unauthenticated(*_INVALID)
        _check_session(session, session_token)
        role = role_by_arn(session.role_arn)
        principal = Principal.assumed_role(session.role_arn, session.session_name, role.id if role is not None else None)
        caller = Caller(principal, access_key, "role", role_arn=session.role_arn)
    else:
        if key.status != "Active":
            raise Unauthenticated(*_INVALID)
        user = _iam(account).users.get(key.user_name or "")
        if user is None:
            raise Unauthenticated(*_INVALID)
        caller = Caller(Principal(user.arn, account, user_id=user.id), access_key, "user", user_name=user.name)
    with _callers_lock:
        _callers[access_key] = (caller, session)
    return caller


# ---- on whose behalf: executions ------------------------------------------------------------------
# A role session acting for an execution: the state machine role's session for it, the Lambda
# environment while it serves the execution's invocation, the SageMaker jobs it started.

_on_behalf: dict[str, str] = {}  # access key -> execution ARN
ROLE_SERVICES: dict[str, str] = {}  # role ARN -> the service principal the emulator assumed it as
ACCESS_LOG: dict[str, dict[tuple, dict[str, Any]]] = {}  # execution ARN -> distinct decisions, in order
_log_lock = threading.Lock()
_current = threading.local()


def act_for(access_key: str, execution_arn: str | None) -> None:
    """Attribute what ``access_key`` does from now on to ``execution_arn`` (None: to nobody)."""
    if execution_arn is None:
        _on_behalf.pop(access_key, None)
    else:
        _on_behalf[access_key] = execution_arn


def execution_of(access_key: str | None) -> str | None:
    return _on_behalf.get(access_key or "")


def current_execution() -> str | None:
    """The execution the request being handled in this thread acts for (None: none)."""
    return getattr(_current, "execution", None)


def set_current_execution(execution_arn: str | None) -> None:
    _current.execution = execution_arn


@contextlib.contextmanager
def acting_for(access_key: str | None, execution_arn: str | None) -> Iterator[None]:
    """Attribute ``access_key``'s requests to ``execution_arn`` while the block runs (a Lambda
    environment serving one invocation)."""
    if not access_key or not execution_arn:
        yield
        return
    act_for(access_key, execution_arn)
    try:
        yield
    finally:
        act_for(access_key, None)


def record(decision: Decision, caller_role: str | None, execution_arn: str | None, via: str = "request") -> None:
    """Keep ``decision`` in the execution's access log: one entry per distinct (role, principal,
    action, resource, decision, statement, via), with how often and when (a ``.sync`` state polls
    its job's Describe call every 0.1 s: one entry, not hundreds)."""
    if execution_arn is None:
        return
    statement = str(decision.statement) if decision.statement else None
    key = (caller_role, decision.request.principal.arn, decision.request.action, decision.request.resource, decision.kind.value, statement, via)
    now = round(time.time(), 3)
    with _log_lock:
        entries = ACCESS_LOG.setdefault(execution_arn, {})
        entry = entries.get(key)
        if entry is None:
            entry = entries[key] = {
                "role": caller_role,
                "service": _service_of(caller_role),
                "principal": decision.request.principal.arn,
                "action": decision.request.action,
                "resource": decision.request.resource,
                "decision": decision.kind.value,
                "statement": statement,
                "policy_type": decision.statement.policy_type if decision.statement else (None if decision.allowed else decision.policy_type),
                "via": via,
                "count": 0,
                "first": now,
            }
            if decision.denied:
                entry["message"] = decision.message()
            if decision.note:
                entry["note"] = decision.note
        entry["count"] += 1
        entry["last"] = now


def _service_of(role_arn: str | None) -> str | None:
    """The service the emulator assumes ``role_arn`` as (else the one its trust policy names)."""
    if not role_arn:
        return None
    if role_arn not in ROLE_SERVICES:
        role = role_by_arn(role_arn)
        services = []
        if role is not None:
            try:
                document = json.loads(_document_text(role.assume_role_policy_document))
                for statement in document.get("Statement", []):
                    names = (statement.get("Principal") or {}).get("Service", []) if isinstance(statement.get("Principal"), dict) else []
                    services += names if isinstance(names, list) else [names]
            except ValueError:
                pass
        if len(set(services)) != 1:
            return None
        ROLE_SERVICES[role_arn] = services[0]
    return ROLE_SERVICES[role_arn]


COSTS: dict[str, list[float]] = {}  # execution ARN -> [seconds spent authorizing, checks]


def charge(execution_arn: str | None, seconds: float) -> None:
    """Account time spent authenticating and authorizing for an execution (what enforcement costs it)."""
    if execution_arn is None:
        return
    with _log_lock:
        cost = COSTS.setdefault(execution_arn, [0.0, 0])
        cost[0] += seconds
        cost[1] += 1


def cost_of(execution_arn: str) -> dict[str, float]:
    with _log_lock:
        seconds, checks = COSTS.get(execution_arn, [0.0, 0])
    return {"seconds": round(seconds, 4), "checks": int(checks)}


def access_log(execution_arn: str) -> list[dict[str, Any]]:
    """The execution's decisions, in the order first seen."""
    with _log_lock:
        return [dict(entry) for entry in ACCESS_LOG.get(execution_arn, {}).values()]


# ---- authorization -------------------------------------------------------------------------------


def _resource_policy(authorization: Authorization) -> tuple[Policy | None, bool, str, str | None]:
    """(resource-based policy, required?, its type, the owner where the ARN names none) for one authorization."""
    action, resource = authorization.action.lower(), authorization.resource
    if action == "s3:createbucket":
        return None, False, RESOURCE, None  # a new bucket is the caller's (S3 answers BucketAlreadyExists for a taken name)
    if action.startswith("s3:") and resource.startswith("arn:aws:s3:::"):
        bucket = resource[len("arn:aws:s3:::"):].split("/", 1)[0]
        return bucket_policy(bucket), False, RESOURCE, bucket_owner(bucket)
    if action.startswith("kms:") and ":key/" in resource:
        return key_policy(resource), True, RESOURCE, None
    if action == "sts:assumerole":
        return trust_policy(resource), True, TRUST, None
    if action.startswith("ecr:") and _arn_account(resource) in _image_accounts():
        return SAGEMAKER_IMAGES_POLICY, False, RESOURCE, None
    return None, False, RESOURCE, None


# The SageMaker images' repositories live in AWS-owned accounts (one per region; the construct's
# data/ecr_accounts.json) and every customer account runs them: "Pre-built container images are
# owned by SageMaker AI [...] training and processing jobs, batch transform, and real-time
# inference use service-owned credentials to pull and run images"
# (https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-algo-docker-registry-paths.html).
# The emulator still asks the job role's pull permissions (service_side.job_image_pull, as the
# documented minimum has them); for the cross-account rule those repositories stand as shared with
# every account, so the role's own grant decides, as before.
SAGEMAKER_IMAGES_POLICY = Policy(
    "repository policy of a SageMaker image (AWS-owned, usable by every account)",
    {"Statement": [{"Sid": "SageMakerImages", "Effect": "Allow", "Principal": "*", "Resource": "*",
                    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]}]},
)


@functools.lru_cache(maxsize=1)
def _image_accounts() -> frozenset[str]:
    from ...iam.normalize import ecr_accounts

    return ecr_accounts()


def decide(principal: Principal, policies: Iterable[Policy], authorization: Authorization) -> Decision:
    resource_policy, required, policy_type, owner = _resource_policy(authorization)
    request = Request(principal, authorization.action, authorization.resource, authorization.context, owner)
    return evaluate(
        request,
        list(policies),
        resource_policy,
        resource_policy_required=required,
        resource_policy_type=policy_type,
        registry=REGISTRY,
    )


def authorize_all(
    caller: Caller,
    authorizations: Iterable[Authorization],
    *,
    execution_arn: str | None = None,
    via: str = "request",
) -> list[Decision]:
    """Decide each authorization in order; record them; raise :class:`Denied` at the first denial."""
    policies = identity_policies(caller)
    decisions = []
    for authorization in authorizations:
        decision = decide(caller.principal, policies, authorization)
        record(decision, caller.role_arn, execution_arn, via)
        decisions.append(decision)
        if decision.denied:
            raise Denied(decision)
    return decisions


def _may_allow(policy: Policy, action: str) -> bool:
    from ...iam.evaluation import action_matches

    for statement in policy.statements:
        if not statement.allow:
            continue
        if statement.actions is not None and any(action_matches(a, action) for a in statement.actions):
            return True
        if statement.not_actions is not None and not any(action_matches(a, action) for a in statement.not_actions):
            return True
    return False


def authorize_request(
    caller: Caller,
    service: str,
    operation: str,
    params: Mapping[str, Any],
    facts: RequestFacts,
    *,
    fallback_resource: str = "*",
) -> list[Decision]:
    """Authorize one API call (see the module's docstring). The administrator calling a service
    whose resources have no policy of their own is allowed without evaluation (it is the root),
    unless it assumes a role of another account (the trust policy and the cross-account rule decide)."""
    if caller.is_admin and service not in RESOURCE_POLICY_SERVICES and not _assumes_other_account(caller, service, operation, params):
        return []
    account = account_context(caller)
    try:
        authorizations = resolve(service, operation, params, account, facts)
    except UnresolvedOperation:
        if not caller.is_admin:
            action = f"{service}:{operation}"
            policies = identity_policies(caller)
            if any(_may_allow(policy, action) for policy in policies):
                raise  # some statement could allow it, on a resource we cannot name: a gap, not a guess
            # No Allow statement names the action at all: whatever its resource, the answer is an
            # implicit deny (an SCP-free single account has nothing else that could allow it).
            decision = decide(caller.principal, policies, Authorization(action, "*", facts.context(account)))
            record(decision, caller.role_arn, execution_of(caller.access_key))
            raise Denied(decision) from None
        # The root may call anything; what can still deny it is the resource's own policy, which
        # is evaluated for the operation named as its IAM action (s3:PutBucketPolicy, kms:PutKeyPolicy).
        authorizations = [Authorization(f"{service}:{operation}", fallback_resource, facts.context(account))]
    return authorize_all(caller, authorizations, execution_arn=execution_of(caller.access_key))


def _assumes_other_account(caller: Caller, service: str, operation: str, params: Mapping[str, Any]) -> bool:
    if (service, operation) != ("sts", "AssumeRole"):
        return False
    role = str(params.get("RoleArn") or "")
    return _arn_account(role) != caller.principal.account


# ---- credentials for a service acting as a role ---------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    role_arn: str
    session_name: str

    def boto_kwargs(self) -> dict[str, str]:
        return {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
            "aws_session_token": self.session_token,
        }

    def environment(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


class AssumeRoleDenied(Exception):
    """The service could not assume the role: its trust policy does not allow it."""

    def __init__(self, service: str, role_arn: str, decision: Decision | None, message: str) -> None:
        super().__init__(message)
        self.service = service
        self.role_arn = role_arn
        self.decision = decision


SESSION_SECONDS = 3600


def credentials_for(
    service: str,
    role_arn: str,
    session_name: str,
    *,
    source_account: str | None = None,
    source_arn: str | None = None,
    execution_arn: str | None = None,
) -> Credentials:
    """Temporary credentials of ``role_arn`` as ``service`` (e.g. ``states.amazonaws.com``)
    obtains them: its trust policy is evaluated for that service principal with the source keys
    the service sends (https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html);
    :class:`AssumeRoleDenied` if it does not allow ``sts:AssumeRole``. With enforcement off the
    trust policy is not consulted."""
    started = time.perf_counter()
    try:
        return _credentials_for(service, role_arn, session_name, source_account, source_arn, execution_arn)
    finally:
        charge(execution_arn, time.perf_counter() - started)


def _credentials_for(
    service: str, role_arn: str, session_name: str, source_account: str | None, source_arn: str | None, execution_arn: str | None
) -> Credentials:
    ROLE_SERVICES[role_arn] = service
    context: dict[str, Any] = {"aws:RequestedRegion": REGION}
    if source_account:
        context["aws:SourceAccount"] = source_account
    if source_arn:
        context["aws:SourceArn"] = source_arn
    if enabled():
        if role_by_arn(role_arn) is None:
            raise AssumeRoleDenied(service, role_arn, None, f"{service} cannot assume {role_arn}: the role does not exist")
        decision = decide(Principal.aws_service(service), [], Authorization("sts:AssumeRole", role_arn, context))
        record(decision, role_arn, execution_arn, via=f"{service} assumes the role")
        if decision.denied:
            raise AssumeRoleDenied(
                service,
                role_arn,
                decision,
                f"{service} is not authorized to perform: sts:AssumeRole on resource: {role_arn}: "
                f"its trust policy does not allow {service}"
                + (f" with aws:SourceAccount={source_account}" if source_account else "")
                + (f" and aws:SourceArn={source_arn}" if source_arn else ""),
            )
    session = _sts().assume_role(
        region_name=REGION,
        role_session_name=session_name[:64],
        role_arn=role_arn,
        policy=None,
        duration=SESSION_SECONDS,
        external_id=None,
    )
    credentials = Credentials(session.access_key_id, session.secret_access_key, session.session_token, role_arn, session_name)
    if execution_arn:
        act_for(credentials.access_key_id, execution_arn)
    return credentials


@dataclass
class RoleSessions:
    """Credentials cached per key (one session per (role, purpose)), refreshed before they expire."""

    _cache: dict[Any, tuple[float, Credentials]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: Any, make: Any) -> Credentials:
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] > time.time() + 300:
                return hit[1]
        credentials = make()
        with self._lock:
            self._cache[key] = (time.time() + SESSION_SECONDS, credentials)
        return credentials


def denial_payload(decision: Decision) -> dict[str, Any]:
    return {"message": decision.message(), **decision.as_dict()}


__all__ = [
    "ACCESS_LOG",
    "ADMIN",
    "AssumeRoleDenied",
    "Caller",
    "Credentials",
    "Denied",
    "ENV_FLAG",
    "Kind",
    "RoleSessions",
    "Unauthenticated",
    "access_log",
    "act_for",
    "authorize_all",
    "authorize_request",
    "caller_for",
    "credentials_for",
    "enabled",
]
