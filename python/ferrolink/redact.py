"""One place that masks secrets before anything reaches a log, an exception or a repr.

Every service uses these helpers; nothing else in ferrolink decides what a secret looks like.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "is_secret_key", "redact_mapping", "redact_text", "redact_url"]

MASK = "***"

# Key names whose values are secrets, matched case-insensitively anywhere in the key.
_SECRET_WORDS = (
    "password",
    "passw",
    "pass",
    "pwd",
    "pw",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "authorization",
    "cookie",
    "otp",
    "session",
)

_KEY_VALUE = re.compile(
    r"(?P<key>[A-Za-z0-9_.\-]*(?:" + "|".join(re.escape(w) for w in _SECRET_WORDS) + r")"
    r"[A-Za-z0-9_.\-]*)"
    r"(?P<sep>\"?\s*[=:]\s*\"?)(?P<value>[^&\s\"',;]+)",
    re.IGNORECASE,
)
_URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.\-]*://)[^/@\s]+@", re.IGNORECASE)
_BEARER = re.compile(r"(?P<kind>Bearer|Basic)\s+[A-Za-z0-9._~+/=\-]+", re.IGNORECASE)


def is_secret_key(key: str) -> bool:
    """True when a field named ``key`` holds a secret (password, token, cookie...)."""
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Mask ``key=value`` secrets, URL userinfo, bearer tokens and every literal in ``secrets``.

    Literal secrets are also masked in their URL-quoted form, so form bodies are covered.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
            for quoted in {quote(secret, safe=""), quote_plus(secret)} - {secret}:
                text = text.replace(quoted, MASK)
    text = _URL_USERINFO.sub(lambda m: m.group("scheme") + MASK + "@", text)
    text = _BEARER.sub(lambda m: m.group("kind") + " " + MASK, text)
    return _KEY_VALUE.sub(lambda m: m.group("key") + m.group("sep") + MASK, text)


def redact_mapping(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` with the values of secret keys masked (recursively)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if is_secret_key(str(key)):
            out[key] = MASK
        elif isinstance(value, Mapping):
            out[key] = redact_mapping(value)
        else:
            out[key] = value
    return out


def redact_url(url: str) -> str:
    """``url`` without userinfo and with secret query values masked."""
    return redact_text(url)
