"""Glob matching for IAM action and resource patterns (only ``*`` and ``?`` are special, as in IAM)."""

from __future__ import annotations

import re
from functools import cache


@cache
def _regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def action_matches(granted: str, action: str) -> bool:
    """Does the granted action pattern (maybe ``s3:*``) cover this action? Actions are case-insensitive."""
    return bool(_regex(granted, True).match(action))


def resource_covers(granted: str, needed: str) -> bool:
    """Does a granted resource pattern cover a needed one? (``*`` in ``needed`` is matched literally by ``*``.)"""
    return bool(_regex(granted, False).match(needed))


def has_wildcard(action: str) -> bool:
    return "*" in action or "?" in action
