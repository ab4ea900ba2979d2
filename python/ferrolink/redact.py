"""The one place that decides what a secret is, and masks it in structured data.

Secrets reach no log line, exception or repr because ferrolink never puts them there: a
message is built from names and statuses, never from a credential's value. What this module
masks is structured data that carries secrets by design: URL query parameters, form fields,
JSON/mapping fields and headers whose *name* says they hold a secret (:func:`is_secret_key`).

Free text, such as a server's error message, is never rewritten by pattern: the service's own
words stay intact ("wrong password" is not a password). The one exception is
:func:`mask_issued`, which removes credentials a server *issued* (tokens, session ids, API-key
secrets: long random strings) wherever a server echoes them back.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

__all__ = [
    "MASK",
    "is_secret_key",
    "mask_issued",
    "redact_form",
    "redact_headers",
    "redact_mapping",
    "redact_url",
]

MASK = "***"

# Words that make a key secret wherever they appear in it, once case and the separators
# `_ - .` are ignored: NEWPASSWORD, s_session, tokenId, X-API-KEY-SECRET, client_secret...
_SECRET_PARTS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "session",
    "cookie",
    "authorization",
    "authcode",
    "authinfo",
)
# Short words that are secret only as a whole word of the key (`s_pw`, `s_otp`, `AUTH`, `PASS`),
# so that e.g. FOOTPRINT or AUTHOR stay readable.
_SECRET_WORDS = frozenset({"pw", "pwd", "pass", "otp", "auth", "eppcode"})
# A key that ends in one of these names who or what, not a secret: `otp_login`, `token_ttl`.
_PLAIN_LAST_WORDS = frozenset({"login", "user", "username", "name", "uuid", "url", "ttl"})

_SEPARATORS = re.compile(r"[_\-. ]")
_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z0-9]+(?![a-z])")
_URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.\-]*://)[^/@\s?#]+@", re.IGNORECASE)
_QUERY_FIELD = re.compile(r"(?P<sep>[?&;])(?P<key>[^=&;#\s]*)=(?P<value>[^&;#\s]*)")
_FORM_FIELD = re.compile(r"(?P<sep>^|&)(?P<key>[^=&]*)=(?P<value>[^&]*)")


@functools.lru_cache(maxsize=1024)  # the same few names, on every request of a client
def is_secret_key(key: str) -> bool:
    """True when a field, parameter or header named ``key`` holds a secret.

    The one list of secret names: passwords of any prefix, sessions, OTPs, auth codes,
    tokens, secrets, API keys, cookies and ``Authorization``.
    """
    words = [word.lower() for word in _WORDS.findall(key)]
    if words and words[-1] in _PLAIN_LAST_WORDS:
        return False
    squashed = _SEPARATORS.sub("", key).lower()
    return any(part in squashed for part in _SECRET_PARTS) or any(
        word in _SECRET_WORDS for word in words
    )


def _mask_fields(pattern: re.Pattern[str], text: str) -> str:
    def mask(m: re.Match[str]) -> str:
        if not m.group("value") or not is_secret_key(unquote_plus(m.group("key"))):
            return m.group(0)
        return f"{m.group('sep')}{m.group('key')}={MASK}"

    return pattern.sub(mask, text)


def redact_url(url: str) -> str:
    """``url`` without userinfo and with the values of secret query parameters masked."""
    url = _URL_USERINFO.sub(lambda m: m.group("scheme") + MASK + "@", url)
    return _mask_fields(_QUERY_FIELD, url) if "=" in url else url


def redact_form(body: str) -> str:
    """An ``application/x-www-form-urlencoded`` body with secret fields' values masked."""
    return _mask_fields(_FORM_FIELD, body)


def redact_mapping(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` (JSON fields, a command) with secret keys' values masked, recursively."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if is_secret_key(str(key)):
            out[key] = MASK
        elif isinstance(value, Mapping):
            out[key] = redact_mapping(value)
        else:
            out[key] = value
    return out


def redact_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``(name, value)`` pairs with the values of secret headers masked."""
    return [(name, MASK if is_secret_key(name) else value) for name, value in headers]


def mask_issued(text: str, issued: Iterable[object]) -> str:
    """``text`` with every credential in ``issued`` (tokens, session ids, API-key secrets)
    replaced by :data:`MASK`, raw and URL-quoted, for servers that echo one back.

    Only issued credentials belong here: they are long random strings that no ordinary text
    contains. A user's password is never searched for: it may be an ordinary word.
    """
    for secret in issued:
        if isinstance(secret, str) and secret:
            for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
                text = text.replace(form, MASK)
    return text
