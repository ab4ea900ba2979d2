"""The sandbox's data: systems, test accounts and generated domain portfolios."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Optional

__all__ = ["ENTITIES", "Account", "Scope", "domain_record", "generate", "seeded_accounts"]

ENTITIES = {"54cd": "LIVE", "1234": "OT&E"}
TLDS = ("com", "net", "org", "de", "info", "io", "eu")
WORDS = (
    "alpha",
    "beta",
    "cloud",
    "data",
    "echo",
    "forge",
    "green",
    "harbor",
    "iris",
    "jade",
    "kilo",
    "lumen",
    "metro",
    "nova",
    "orbit",
    "pixel",
    "quartz",
    "river",
    "solar",
    "terra",
)


@dataclass
class Account:
    password: str
    otp: Optional[str] = None
    allowed_ip: Optional[str] = None
    subusers: tuple[str, ...] = ()
    roles: dict[str, str] = field(default_factory=dict)  # role -> password


@dataclass
class Scope:
    """One user's data on one system."""

    domains: dict[str, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[str, dict[str, str]] = field(default_factory=dict)


def seeded_accounts() -> dict[str, Account]:
    """The accounts of one system (see the package docstring)."""
    return {
        "test.user": Account(
            "test.passw0rd", subusers=("test.subuser",), roles={"readonly": "role.passw0rd"}
        ),
        "otp.user": Account("otp.passw0rd", otp="123456"),
        "ipfilter.user": Account("ipfilter.passw0rd", allowed_ip="10.10.10.10"),
    }


def domain_record(name: str, created: date, period: int = 1) -> dict[str, Any]:
    expires = (
        created.replace(year=created.year + period)
        if not (created.month == 2 and created.day == 29)
        else created + timedelta(days=365 * period)
    )
    return {
        "DOMAIN": name,
        "STATUS": "ACTIVE",
        "CREATEDDATE": f"{created.isoformat()} 10:00:00",
        "REGISTRATIONEXPIRATIONDATE": f"{expires.isoformat()} 10:00:00",
        "RENEWALMODE": "DEFAULT",
        "NAMESERVER": ["ns1.example.net", "ns2.example.net"],
        "OWNERCONTACT": "P-OWNER1",
        "AUTH": "auth-" + name.split(".")[0][:8],
    }


def generate(seed: int, entity: str, size: int) -> Scope:
    """A seeded portfolio of ``size`` domains: the same seed and entity give the same names."""
    rng = random.Random(f"{seed}-{entity}")
    scope = Scope()
    start = date(2015, 1, 1)
    for i in range(size):
        name = f"{rng.choice(WORDS)}{i}-{rng.choice(WORDS)}.{rng.choice(TLDS)}"
        record = domain_record(name, start + timedelta(days=rng.randrange(3000)))
        if i % 97 == 0:
            record["STATUS"] = "ACTIVE clientRenewProhibited"
        scope.domains[name] = record
    return scope
