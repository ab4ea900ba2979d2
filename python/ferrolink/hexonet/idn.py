"""Local IDN -> punycode conversion of command parameters.

The original asked the server (``ConvertIDN``, one extra round trip per request). ferrolink
converts locally with UTS-46 (the ``idna`` package), with the 4.0.2 key selection and trigger
rule (``DOMAIN``/``NAMESERVER``/``DNSZONE`` keys whose values hold anything but letters,
digits, dots and hyphens: ``_core.hexonet_command`` picks them), and the registry's processing
choice: transitional (``ß`` -> ``ss``, final sigma -> sigma, ZWJ/ZWNJ dropped) except for the
TLDs that register those characters as they are. Transitional mapping is applied here rather
than by ``idna`` because ``idna`` >= 3.19 ignores its ``transitional`` flag.
"""

from __future__ import annotations

from typing import Optional

import idna

__all__ = ["to_ascii"]

_NONTRANSITIONAL_TLDS = (
    ".art",
    ".be",
    ".ca",
    ".de",
    ".swiss",
    ".fr",
    ".pm",
    ".re",
    ".tf",
    ".wf",
    ".yt",
)
_TRANSITIONAL = str.maketrans(
    {"ß": "ss", "ẞ": "ss", "\u03c2": "\u03c3", "\u200c": None, "\u200d": None}
)


def to_ascii(name: str) -> Optional[str]:
    """``name`` in ACE form, or ``None`` when it is not a convertible domain name
    (wildcards, underscores, empty labels...)."""
    if not name:
        return None
    if not name.lower().rstrip(".").endswith(_NONTRANSITIONAL_TLDS):
        name = name.translate(_TRANSITIONAL)
    try:
        return idna.encode(name, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return None
