"""More than one account: the access key ID ``<12 digits>`` acts as that account's administrator.

What moto 5.2.5 lacks: it keeps every service's state per account (``BackendDict[account]``) and
maps a request to an account by its access key (``BaseResponse.get_current_account``: the
``MOTO_ACCOUNT_ID`` variable, an ``x-moto-account-id`` header, else the account whose IAM backend
issued the key: ``moto.iam.models.get_account_id_from``; a key STS issued for a role lives in the
role's account, ``STSBackend._create_access_key``). Any other key is the default account
123456789012, so nothing but a header reaches a second account's administrator, and neither the
AWS CLI nor Terraform sends one.

The patch: an access key ID made of exactly twelve digits is the administrator (root) of the
account with that ID (the convention LocalStack uses for its accounts), for every service. With it
a test, a script or a tool's profile acts in the data owner's account with plain credentials
(``aws_access_key_id="210987654321"``), creates roles there, and those roles' sessions (keys STS
issues) belong to that account as moto already arranges. The emulator's own key ``testing`` stays
the default account's administrator. With IAM enforcement, :mod:`..authz.enforce` treats both as
their account's root user.
"""

from __future__ import annotations

import re
from typing import Any

ACCOUNT_KEY = re.compile(r"^[0-9]{12}$")
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


def account_of_key(access_key: str | None) -> str | None:
    """The account an administrator key names (``"210987654321"`` -> itself), else None."""
    return access_key if access_key and ACCOUNT_KEY.match(access_key) else None


def credentials(headers: Any, querystring: Any) -> tuple[str | None, str | None]:
    """(access key ID, session token) of a SigV4 request: the Authorization header's
    ``Credential=KEY/...``, or a presigned URL's ``X-Amz-Credential`` (moto's own parser wants
    20 characters, which neither ``testing`` nor an account ID has)."""
    authorization = headers.get("Authorization") or ""
    match = _CREDENTIAL.search(authorization)
    token = headers.get("X-Amz-Security-Token")
    if match:
        return match.group(1), token
    query = querystring or {}
    credential = (query.get("X-Amz-Credential") or [None])[0]
    if credential:
        token = token or (query.get("X-Amz-Security-Token") or [None])[0]
        return credential.split("/", 1)[0], token
    return None, token


def apply() -> bool:
    from moto.core.responses import BaseResponse

    original = BaseResponse.get_current_account

    def get_current_account(self: Any) -> str:
        account = account_of_key(credentials(self.headers, getattr(self, "querystring", None))[0])
        return account if account is not None else original(self)

    BaseResponse.get_current_account = get_current_account
    return True
