"""HEXONET API emulator: ``POST /api/call.cgi`` over TLS (and plain HTTP), as ``call.cgi``.

Systems ``54cd`` (LIVE) and ``1234`` (OT&E) with separate data. Accounts (both systems):

- ``test.user`` / ``test.passw0rd``: full rights; sub-user ``test.subuser`` (``s_user``);
  role ``test.user!readonly`` / ``role.passw0rd`` may only run status/query/check commands.
- ``otp.user`` / ``otp.passw0rd``: 2FA, needs ``s_otp=123456``.
- ``ipfilter.user`` / ``ipfilter.passw0rd``: needs ``s_remoteaddr=10.10.10.10``.

test.user's LIVE portfolio is generated (``portfolio_size`` domains, default 2500, seeded),
so ``QueryDomainList`` paging has real work to do; OT&E has its own smaller one.

Options (``sandbox.start(options={"hexonet": {...}})``): ``portfolio_size``, ``seed``,
``expired_code`` (530, or 507 as the live API documents), ``compact`` (``KEY=VALUE``),
``crlf`` (``\\r\\n`` line ends), ``lower_keys`` (``code = 200``).
Fault injection: :meth:`HexonetService.inject` (HTTP status, empty body, garbage, missing
CODE/DESCRIPTION, temporary 4xx codes) plus the shared :attr:`faults` (delay, truncation,
broken HTTP). :attr:`requests` logs every decoded request; :meth:`reset` restores the data.
"""

from __future__ import annotations

import fnmatch
import itertools
import random
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Callable, Optional

import idna

from .httpserver import HttpEmulator, HttpReply, HttpRequest
from .service import Environment

__all__ = ["HexonetService"]

ENTITIES = {"54cd": "LIVE", "1234": "OT&E"}
READONLY_PREFIXES = (
    "status",
    "query",
    "check",
    "convertidn",
    "getuserindex",
    "startsession",
    "endsession",
)
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
Reply = tuple[int, str, list[tuple[str, list[str]]]]


@dataclass
class Account:
    password: str
    otp: Optional[str] = None
    allowed_ip: Optional[str] = None
    subusers: tuple[str, ...] = ()
    roles: dict[str, str] = field(default_factory=dict)  # role -> password


@dataclass
class Session:
    entity: str
    login: str
    role: Optional[str]
    idle: float
    expires: float
    last_used: float


@dataclass
class Scope:
    """One user's data on one system."""

    domains: dict[str, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[str, dict[str, str]] = field(default_factory=dict)


class CommandError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _need(cmd: dict[str, str], key: str) -> str:
    value = cmd.get(key, "")
    if value == "":
        raise CommandError(504, f"Missing required attribute; {key}")
    return value


def _int_param(cmd: dict[str, str], key: str, default: int, low: int, high: int) -> int:
    raw = cmd.get(key, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise CommandError(541, f"Invalid attribute value syntax; {key}") from None
    if not low <= value <= high:
        raise CommandError(541, f"Invalid attribute value; {key} must be {low}..{high}")
    return value


def _valid_domain(name: str) -> bool:
    try:
        idna.encode(name, uts46=True)
    except (idna.IDNAError, UnicodeError, ValueError):
        return False
    return "." in name.strip(".")


def _indexed(cmd: dict[str, str], base: str) -> list[str]:
    """``BASE`` or ``BASE0..N`` values of a command, in index order."""
    values = [cmd[base]] if cmd.get(base) else []
    for i in itertools.count():
        value = cmd.get(f"{base}{i}")
        if value is None:
            break
        values.append(value)
    return values


class HexonetService(HttpEmulator):
    name = "hexonet"
    serve_plain = True

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.portfolio_size = 2500
        self.seed = 1
        self.expired_code = 530
        self.compact = False
        self.crlf = False
        self.lower_keys = False
        self.requests: deque[dict[str, Any]] = deque(maxlen=1000)
        self._injected: deque[str] = deque()
        self._accounts: dict[str, dict[str, Account]] = {}
        self._scopes: dict[tuple[str, str], Scope] = {}
        self._sessions: dict[str, Session] = {}
        self._contact_ids = itertools.count(1)
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
        # The seeded data is generated by configure(), once the options are known.

    # -- setup ---------------------------------------------------------------------------

    def configure(self, env: Environment) -> None:
        opts = env.options
        self.portfolio_size = int(opts.get("portfolio_size", self.portfolio_size))
        self.seed = int(opts.get("seed", self.seed))
        self.expired_code = int(opts.get("expired_code", self.expired_code))
        self.compact = bool(opts.get("compact", self.compact))
        self.crlf = bool(opts.get("crlf", self.crlf))
        self.lower_keys = bool(opts.get("lower_keys", self.lower_keys))
        self.reset()

    def reset(self) -> None:
        """Restore the seeded data, forget sessions, logged requests and injected faults."""
        with self._lock:
            self.requests.clear()
            self._injected.clear()
            self._sessions.clear()
            self._contact_ids = itertools.count(1)
            accounts = {
                "test.user": Account(
                    "test.passw0rd", subusers=("test.subuser",), roles={"readonly": "role.passw0rd"}
                ),
                "otp.user": Account("otp.passw0rd", otp="123456"),
                "ipfilter.user": Account("ipfilter.passw0rd", allowed_ip="10.10.10.10"),
            }
            self._accounts = {entity: dict(accounts) for entity in ENTITIES}
            self._scopes = {}
            for entity, size in (
                ("54cd", self.portfolio_size),
                ("1234", max(1, self.portfolio_size // 10)),
            ):
                self._scopes[(entity, "test.user")] = self._generate(entity, size)
                sub = Scope()
                sub.domains["subuser-example.com"] = self._domain_record(
                    "subuser-example.com", date(2020, 1, 1)
                )
                self._scopes[(entity, "test.subuser")] = sub
        self.faults.reset()

    def _generate(self, entity: str, size: int) -> Scope:
        rng = random.Random(f"{self.seed}-{entity}")
        scope = Scope()
        start = date(2015, 1, 1)
        for i in range(size):
            name = f"{rng.choice(WORDS)}{i}-{rng.choice(WORDS)}.{rng.choice(TLDS)}"
            record = self._domain_record(name, start + timedelta(days=rng.randrange(3000)))
            if i % 97 == 0:
                record["STATUS"] = "ACTIVE clientRenewProhibited"
            scope.domains[name] = record
        return scope

    @staticmethod
    def _domain_record(name: str, created: date, period: int = 1) -> dict[str, Any]:
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

    @property
    def credentials(self) -> dict[str, str]:
        return {
            "login": "test.user",
            "password": "test.passw0rd",
            "entity": "54cd",
            "ote_entity": "1234",
            "subuser": "test.subuser",
            "role": "readonly",
            "role_password": "role.passw0rd",
            "otp_login": "otp.user",
            "otp_password": "otp.passw0rd",
            "otp": "123456",
            "ipfilter_login": "ipfilter.user",
            "ipfilter_password": "ipfilter.passw0rd",
            "remoteaddr": "10.10.10.10",
        }

    def inject(self, kind: str, count: int = 1) -> None:
        """Queue faults for the next replies: ``status:NNN``, ``empty``, ``garbage``,
        ``no_code``, ``no_description``, ``code:NNN`` (an API reply with that code, e.g. 421),
        ``redirect:NNN`` (a redirect to the same URL)."""
        with self._lock:
            self._injected.extend([kind] * count)

    # -- HTTP ----------------------------------------------------------------------------

    def handle(self, request: HttpRequest) -> HttpReply:
        if request.path != "/api/call.cgi":
            return HttpReply(404, "Not Found", "text/html")
        if request.method not in ("POST", "GET"):
            return HttpReply(405, "Method Not Allowed", "text/html")
        if request.method == "POST":
            raw, fields = request.body, request.form()
        else:
            raw, fields = request.path.encode(), {k: v[-1] for k, v in request.query.items()}
        command = self._decode_command(fields)
        with self._lock:
            self.requests.append(
                {
                    "fields": fields,
                    "command": command,
                    "headers": dict(request.headers.items()),
                    "body": raw,
                    "scheme": request.scheme,
                }
            )
            fault = self._injected.popleft() if self._injected else None
        started = time.perf_counter()
        if fault is not None:
            injected = self._fault_reply(fault, request)
            if injected is not None:
                return injected
        try:
            code, description, properties = self._execute(fields, command)
        except CommandError as exc:
            code, description, properties = exc.code, exc.description, []
        return HttpReply(
            200, self.render(code, description, properties, time.perf_counter() - started)
        )

    def _fault_reply(self, fault: str, request: HttpRequest) -> Optional[HttpReply]:
        kind, _, arg = fault.partition(":")
        if kind == "status":
            return HttpReply(int(arg), f"status {arg}", "text/html")
        if kind == "empty":
            return HttpReply(200, b"")
        if kind == "garbage":
            return HttpReply(
                200, "<html><body>Bad Gateway (not an API response)</body></html>", "text/html"
            )
        if kind == "no_code":
            return HttpReply(200, "[RESPONSE]\nDESCRIPTION = Command completed successfully\nEOF\n")
        if kind == "no_description":
            return HttpReply(200, "[RESPONSE]\nCODE = 200\nEOF\n")
        if kind == "code":
            return HttpReply(
                200, self.render(int(arg), "Command failed; temporary error, try again", [], 0)
            )
        if kind == "redirect":
            return HttpReply(int(arg), "moved", headers=[("Location", request.path)])
        return None

    @staticmethod
    def _decode_command(fields: dict[str, str]) -> dict[str, str]:
        """``s_command`` lines (``KEY=VALUE`` / ``KEY = VALUE``) and top-level non-``s_`` fields."""
        command: dict[str, str] = {}
        for key, value in fields.items():
            if not key.lower().startswith("s_"):
                command[key.strip().upper()] = value
        for line in fields.get("s_command", "").replace("\r\n", "\n").split("\n"):
            key, sep, value = line.partition("=")
            if sep and key.strip():
                command[key.strip().upper()] = value.strip()
        return command

    def render(
        self, code: int, description: str, properties: list[tuple[str, list[str]]], runtime: float
    ) -> str:
        sep = "=" if self.compact else " = "
        lines = ["[RESPONSE]", f"CODE{sep}{code}", f"DESCRIPTION{sep}{description}"]
        for name, values in properties:
            lines.extend(f"PROPERTY[{name}][{i}]{sep}{value}" for i, value in enumerate(values))
        lines += [f"QUEUETIME{sep}0", f"RUNTIME{sep}{runtime:.3f}", "EOF"]
        if self.lower_keys:
            lines = [
                line if line.startswith("[") or line == "EOF" else self._lower_key(line, sep)
                for line in lines
            ]
        end = "\r\n" if self.crlf else "\n"
        return end.join(lines) + end

    @staticmethod
    def _lower_key(line: str, sep: str) -> str:
        key, _, value = line.partition(sep)
        return key.lower() + sep + value

    # -- authentication ------------------------------------------------------------------

    def _execute(self, fields: dict[str, str], cmd: dict[str, str]) -> Reply:
        entity = fields.get("s_entity", "")
        if entity not in ENTITIES:
            raise CommandError(530, "Authentication failed; unknown system entity")
        name = cmd.get("COMMAND", "").lower()
        with self._lock:
            login, role = self._authenticate(entity, fields)
            if role is not None and not name.startswith(READONLY_PREFIXES):
                raise CommandError(531, "Authorization failed; command not allowed for this role")
            owner = login
            user = fields.get("s_user", "")
            if user:
                if user not in self._accounts[entity][login].subusers:
                    raise CommandError(531, f"Authorization failed; unknown subuser {user}")
                owner = user
            if name == "startsession":
                return self._start_session(entity, login, role, cmd)
            if name == "endsession":
                self._sessions.pop(fields.get("s_session", ""), None)
                return 200, "Command completed successfully", []
            handler = self._commands.get(name)
            if handler is None:
                raise CommandError(500, "Invalid command name")
            scope = self._scopes.setdefault((entity, owner), Scope())
            return handler(scope, cmd)

    def _authenticate(self, entity: str, fields: dict[str, str]) -> tuple[str, Optional[str]]:
        session_id = fields.get("s_session", "")
        if session_id:
            session = self._sessions.get(session_id)
            now = time.monotonic()
            if (
                session is None
                or session.entity != entity
                or now > session.expires
                or now - session.last_used > session.idle
            ):
                self._sessions.pop(session_id, None)
                raise CommandError(self.expired_code, "SESSION NOT FOUND")
            session.last_used = now
            return session.login, session.role
        login_field = fields.get("s_login", "")
        if not login_field:
            raise CommandError(530, "Authentication failed")
        login, _, role = login_field.partition("!")
        account = self._accounts[entity].get(login)
        password = fields.get("s_pw", "")
        if account is None:
            raise CommandError(530, "Authentication failed")
        expected = account.roles.get(role) if role else account.password
        if expected is None or not secrets.compare_digest(password.encode(), expected.encode()):
            raise CommandError(530, "Authentication failed")
        if account.otp is not None and fields.get("s_otp", "") != account.otp:
            raise CommandError(530, "Authentication failed; OTP")
        if account.allowed_ip is not None and fields.get("s_remoteaddr", "") != account.allowed_ip:
            raise CommandError(530, "Authentication failed; IP address not allowed")
        return login, (role or None)

    def _start_session(
        self, entity: str, login: str, role: Optional[str], cmd: dict[str, str]
    ) -> Reply:
        idle = _int_param(cmd, "TIMEOUT", 600, 60, 3600)
        ttl = _int_param(cmd, "MAXTTL", 86400, 60, 86400)
        session_id = secrets.token_hex(16)
        now = time.monotonic()
        self._sessions[session_id] = Session(entity, login, role, idle, now + ttl, now)
        return 200, "Command completed successfully", [("SESSION", [session_id])]

    # -- commands ------------------------------------------------------------------------

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
        if not _valid_domain(name):
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
        result = self._check_one(scope, _need(cmd, "DOMAIN"))[0]
        code, _, description = result.partition(" ")
        return int(code), description, []

    def _check_domains(self, scope: Scope, cmd: dict[str, str]) -> Reply:
        names = _indexed(cmd, "DOMAIN")
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
        name = _need(cmd, "DOMAIN").lower()
        record = scope.domains.get(name)
        if record is None:
            raise CommandError(545, "Object not found; DOMAIN " + name)
        return record

    def _add_domain(self, scope: Scope, cmd: dict[str, str]) -> Reply:
        name = _need(cmd, "DOMAIN").lower()
        if not _valid_domain(name) or not name.isascii():
            raise CommandError(541, "Invalid attribute value; DOMAIN")
        if name in scope.domains:
            raise CommandError(540, "Attribute value is not unique; DOMAIN")
        if self._check_one(scope, name)[0].startswith("211 Domain name not"):
            raise CommandError(549, "Command failed; domain is registered by another registrant")
        period = _int_param(cmd, "PERIOD", 1, 1, 10)
        record = self._domain_record(name, date.today(), period)
        nameservers = _indexed(cmd, "NAMESERVER")
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
        nameservers = _indexed(cmd, "NAMESERVER")
        if nameservers:
            if not all(_valid_domain(ns) for ns in nameservers):
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
        period = _int_param(cmd, "PERIOD", 1, 1, 10)
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
        first = _int_param(cmd, "FIRST", 0, 0, 10**9)
        limit = _int_param(cmd, "LIMIT", 100, 1, 10000)
        if "LAST" in cmd:
            last_wanted = _int_param(cmd, "LAST", 0, 0, 10**9)
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
        contact = {key: _need(cmd, key) for key in ("FIRSTNAME", "LASTNAME", "EMAIL", "COUNTRY")}
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
        contact_id = _need(cmd, "CONTACT")
        contact = scope.contacts.get(contact_id)
        if contact is None:
            raise CommandError(545, "Object not found; CONTACT " + contact_id)
        return 200, "Command completed successfully", [(k, [v]) for k, v in contact.items()]

    def _query_contact_list(self, scope: Scope, cmd: dict[str, str]) -> Reply:
        rows = sorted(scope.contacts.values(), key=lambda c: c["CONTACT"])
        return self._page(cmd, rows, ["CONTACT"])

    @staticmethod
    def _convert_idn(scope: Scope, cmd: dict[str, str]) -> Reply:
        names = _indexed(cmd, "DOMAIN")
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
