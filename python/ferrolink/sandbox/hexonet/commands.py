"""The API commands the sandbox runs, each on one user's data on one system (a :class:`Scope`)."""

from __future__ import annotations

import fnmatch
from datetime import date, timedelta
from typing import Any, Callable

import idna

from .data import Scope, domain_record
from .params import CommandError, Reply, indexed, int_param, need, valid_domain
from .state import HexonetState

__all__ = ["Commands"]


class Commands(HexonetState):
    def __init__(self) -> None:
        super().__init__()
        self._commands: dict[str, Callable[[Scope, dict[str, str]], Reply]] = {
            "checkauthentication": lambda s, c: (200, "Command completed successfully", []),
            "statusaccount": self._status_account,
            "statususer": self._status_user,
            "getuserindex": lambda s, c: (
                200,
                "Command completed successfully",
                [("USERINDEX", ["123456"])],
            ),
            "checkdomain": self._check_domain,
            "checkdomains": self._check_domains,
            "adddomain": self._add_domain,
            "statusdomain": self._status_domain,
            "modifydomain": self._modify_domain,
            "renewdomain": self._renew_domain,
            "deletedomain": self._delete_domain,
            "querydomainlist": self._query_domain_list,
            "addcontact": self._add_contact,
            "statuscontact": self._status_contact,
            "querycontactlist": self._query_contact_list,
            "convertidn": self._convert_idn,
            "querysslcertlist": lambda s, c: self._page(c, [], []),
        }

    @staticmethod
    def _status_account(scope: Scope, cmd: dict[str, str]) -> Reply:
        return (
            200,
            "Command completed successfully",
            [
                ("AMOUNT", ["1000.00"]),
                ("CREDIT", ["0.00"]),
                ("CURRENCY", ["USD"]),
                ("DEPOSIT", ["0.00"]),
                ("VAT", ["19"]),
            ],
        )

    @staticmethod
    def _status_user(scope: Scope, cmd: dict[str, str]) -> Reply:
        return (
            200,
            "Command completed successfully",
            [
                ("ACCOUNT", ["test.user"]),
                ("DOMAINCOUNT", [str(len(scope.domains))]),
            ],
        )

    @staticmethod
    def _check_one(scope: Scope, name: str) -> tuple[str, str, str, str]:
        """(DOMAINCHECK, REASON, PRICE, CLASS) for one name."""
        if not valid_domain(name):
            return "541 Invalid domain name", "syntax error", "", ""
        ace = idna.encode(name, uts46=True).decode("ascii")
        if (
            ace in scope.domains
            or name in scope.domains
            or ace.split(".")[0] in ("google", "example")
        ):
            return "211 Domain name not available", "Domain exists", "", ""
        if "premium" in ace or ace.split(".")[0] in ("cloud", "pixel"):
            return "211 Premium Domain name available", "", "1999.00", "PREMIUM_COM_A"
        return "210 Domain name available", "", "", ""

    def _check_domain(self, scope: Scope, cmd: dict[str, str]) -> Reply:
        result = self._check_one(scope, need(cmd, "DOMAIN"))[0]
        code, _, description = result.partition(" ")
        return int(code), description, []

    def _check_domains(self, scope: Scope, cmd: dict[str, str]) -> Reply:
        names = indexed(cmd, "DOMAIN")
        if not names:
            raise CommandError(504, "Missing required attribute; DOMAIN0")
        checks = [self._check_one(scope, n) for n in names]
        return (
            200,
            "Command completed successfully",
            [
                ("DOMAINCHECK", [c[0] for c in checks]),
                ("REASON", [c[1] for c in checks]),
                ("PRICE", [c[2] for c in checks]),
                ("CLASS", [c[3] for c in checks]),
                ("CURRENCY", ["USD" if c[2] else "" for c in checks]),
            ],
        )

    @staticmethod
    def _domain(scope: Scope, cmd: dict[str, str]) -> dict[str, Any]:
        name = need(cmd, "DOMAIN").lower()
        record = scope.domains.get(name)
        if record is None:
            raise CommandError(545, "Object not found; DOMAIN " + name)
        return record

    def _add_domain(self, scope: Scope, cmd: dict[str, str]) -> Reply:
        name = need(cmd, "DOMAIN").lower()
        if not valid_domain(name) or not name.isascii():
            raise CommandError(541, "Invalid attribute value; DOMAIN")
        if name in scope.domains:
            raise CommandError(540, "Attribute value is not unique; DOMAIN")
        if self._check_one(scope, name)[0].startswith("211 Domain name not"):
            raise CommandError(549, "Command failed; domain is registered by another registrant")
        period = int_param(cmd, "PERIOD", 1, 1, 10)
        record = domain_record(name, date.today(), period)
        nameservers = indexed(cmd, "NAMESERVER")
        if nameservers:
            record["NAMESERVER"] = nameservers
        record["OWNERCONTACT"] = cmd.get("OWNERCONTACT0", record["OWNERCONTACT"])
        scope.domains[name] = record
        return (
            200,
            "Command completed successfully",
            [
                ("CREATEDDATE", [record["CREATEDDATE"]]),
                ("REGISTRATIONEXPIRATIONDATE", [record["REGISTRATIONEXPIRATIONDATE"]]),
                ("STATUS", [record["STATUS"]]),
            ],
        )

    def _status_domain(self, scope: Scope, cmd: dict[str, str]) -> Reply:
        record = self._domain(scope, cmd)
        return (
            200,
            "Command completed successfully",
            [
                (key, list(value) if isinstance(value, list) else [value])
                for key, value in record.items()
            ],
        )

    def _modify_domain(self, scope: Scope, cmd: dict[str, str]) -> Reply:
        record = self._domain(scope, cmd)
        nameservers = indexed(cmd, "NAMESERVER")
        if nameservers:
            if not all(valid_domain(ns) for ns in nameservers):
                raise CommandError(541, "Invalid attribute value; NAMESERVER")
            record["NAMESERVER"] = nameservers
        if "RENEWALMODE" in cmd:
            mode = cmd["RENEWALMODE"].upper()
            if mode not in ("DEFAULT", "AUTORENEW", "AUTOEXPIRE", "AUTODELETE"):
                raise CommandError(541, "Invalid attribute value; RENEWALMODE")
            record["RENEWALMODE"] = mode
        if "AUTH" in cmd:
            record["AUTH"] = cmd["AUTH"]
        if "OWNERCONTACT0" in cmd:
            if cmd["OWNERCONTACT0"] not in scope.contacts and cmd["OWNERCONTACT0"] != "P-OWNER1":
                raise CommandError(545, "Object not found; CONTACT " + cmd["OWNERCONTACT0"])
            record["OWNERCONTACT"] = cmd["OWNERCONTACT0"]
        return 200, "Command completed successfully", []

    def _renew_domain(self, scope: Scope, cmd: dict[str, str]) -> Reply:
        record = self._domain(scope, cmd)
        if "clientRenewProhibited" in record["STATUS"]:
            raise CommandError(552, "Object status prohibits operation; clientRenewProhibited")
        period = int_param(cmd, "PERIOD", 1, 1, 10)
        day, clock = record["REGISTRATIONEXPIRATIONDATE"].split(" ")
        expires = date.fromisoformat(day)
        record["REGISTRATIONEXPIRATIONDATE"] = f"{expires + timedelta(days=365 * period)} {clock}"
        return (
            200,
            "Command completed successfully",
            [
                ("REGISTRATIONEXPIRATIONDATE", [record["REGISTRATIONEXPIRATIONDATE"]]),
            ],
        )

    def _delete_domain(self, scope: Scope, cmd: dict[str, str]) -> Reply:
        record = self._domain(scope, cmd)
        del scope.domains[record["DOMAIN"]]
        return 200, "Command completed successfully", []

    @staticmethod
    def _page(cmd: dict[str, str], rows: list[dict[str, Any]], columns: list[str]) -> Reply:
        first = int_param(cmd, "FIRST", 0, 0, 10**9)
        limit = int_param(cmd, "LIMIT", 100, 1, 10000)
        if "LAST" in cmd:
            last_wanted = int_param(cmd, "LAST", 0, 0, 10**9)
            limit = max(1, min(limit, last_wanted - first + 1))
        page = rows[first : first + limit]
        properties = [(c, [str(r.get(c, "")) for r in page]) for c in columns] if page else []
        total = len(rows)
        properties += [
            ("COUNT", [str(len(page))]),
            ("FIRST", [str(first if total else 0)]),
            ("LAST", [str((first if total else 0) + len(page) - 1)]),
            ("LIMIT", [str(limit)]),
            ("TOTAL", [str(total)]),
        ]
        return 200, "Command completed successfully", properties

    def _query_domain_list(self, scope: Scope, cmd: dict[str, str]) -> Reply:
        rows = list(scope.domains.values())
        pattern = cmd.get("DOMAIN", "")
        if pattern:
            rows = [r for r in rows if fnmatch.fnmatchcase(r["DOMAIN"], pattern.lower())]
        order = cmd.get("ORDERBY", "DOMAIN").upper()
        keys = {
            "DOMAIN": "DOMAIN",
            "DOMAINDESC": "DOMAIN",
            "CREATEDDATE": "CREATEDDATE",
            "CREATEDDATEDESC": "CREATEDDATE",
            "EXPIRATIONDATE": "REGISTRATIONEXPIRATIONDATE",
            "EXPIRATIONDATEDESC": "REGISTRATIONEXPIRATIONDATE",
        }
        if order not in keys:
            raise CommandError(541, "Invalid attribute value; ORDERBY")
        rows.sort(key=lambda r: (r[keys[order]], r["DOMAIN"]), reverse=order.endswith("DESC"))
        columns = ["DOMAIN"]
        if cmd.get("WIDE") == "1":
            columns += ["CREATEDDATE", "REGISTRATIONEXPIRATIONDATE", "STATUS", "RENEWALMODE"]
        return self._page(cmd, rows, columns)

    def _add_contact(self, scope: Scope, cmd: dict[str, str]) -> Reply:
        contact = {key: need(cmd, key) for key in ("FIRSTNAME", "LASTNAME", "EMAIL", "COUNTRY")}
        if "@" not in contact["EMAIL"]:
            raise CommandError(541, "Invalid attribute value; EMAIL")
        if len(contact["COUNTRY"]) != 2:
            raise CommandError(541, "Invalid attribute value; COUNTRY")
        for key in ("STREET", "CITY", "ZIP", "PHONE", "ORGANIZATION"):
            contact[key] = cmd.get(key, cmd.get(key + "0", ""))
        contact_id = f"P-{next(self._contact_ids):06d}"
        contact["CONTACT"] = contact_id
        scope.contacts[contact_id] = contact
        return 200, "Command completed successfully", [("CONTACT", [contact_id])]

    @staticmethod
    def _status_contact(scope: Scope, cmd: dict[str, str]) -> Reply:
        contact_id = need(cmd, "CONTACT")
        contact = scope.contacts.get(contact_id)
        if contact is None:
            raise CommandError(545, "Object not found; CONTACT " + contact_id)
        return 200, "Command completed successfully", [(k, [v]) for k, v in contact.items()]

    def _query_contact_list(self, scope: Scope, cmd: dict[str, str]) -> Reply:
        rows = sorted(scope.contacts.values(), key=lambda c: c["CONTACT"])
        return self._page(cmd, rows, ["CONTACT"])

    @staticmethod
    def _convert_idn(scope: Scope, cmd: dict[str, str]) -> Reply:
        names = indexed(cmd, "DOMAIN")
        if not names:
            raise CommandError(504, "Missing required attribute; DOMAIN0")
        ace, unicode = [], []
        for name in names:
            try:
                a = idna.encode(name, uts46=True).decode("ascii")
                u = idna.decode(a)
            except (idna.IDNAError, UnicodeError, ValueError):
                raise CommandError(541, f"Invalid attribute value; DOMAIN {name}") from None
            ace.append(a)
            unicode.append(u)
        return 200, "Command completed successfully", [("ACE", ace), ("IDN", unicode)]
