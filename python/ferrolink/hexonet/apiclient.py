"""``APIClient``: the HEXONET API connector, drop-in for ``hexonet.apiconnector`` 4.0.2.

What differs from the original (all compatible):

- Requests go through ferrolink's pooled keep-alive HTTPS transport (one TLS configuration
  and trust-store load per client, not per request), with a real timeout (default 300 s).
- IDN parameters are converted locally (UTS-46), so an IDN request costs one round trip;
  ``idn_conversion="server"`` restores the original's ``ConvertIDN`` round trip.
- A transport failure still gives the 421 ``httperror`` response, but
  ``Response.getError()`` / ``getHTTPStatus()`` tell why; the debug logger gets it too.
- Redirects: only 307/308 are followed (the POST is resent); any other 3xx is a transport
  error (421), where the original silently turned the POST into a GET.
- Next-page requests resend the real command, not the masked ``PASSWORD=***`` copy.
- Placeholders such as ``{CONNECTION_URL}`` are filled only in responses the client
  synthesizes; real API data containing ``{FOO}`` is returned as sent.

Threads: one client may be shared by threads calling ``request()`` and the paging helpers
(the connection pool is thread-safe). The setters (credentials, session, URL, proxy,
user agent, debug mode, logger...) change state every later request sees; configure the
client before sharing it, or give each thread its own client.
"""

from __future__ import annotations

import copy
import functools
import logging
import platform
import re
import threading
from collections.abc import Mapping
from typing import Any, Callable, Optional, TypeVar, Union
from urllib.parse import urlsplit

from .. import _core
from ..closing import ClosesOnExit
from ..errors import FerrolinkError, InvalidArgumentError
from ..http import Client
from ..redact import MASK, is_secret_key, redact_form, redact_url
from . import idn
from .logger import Logger
from .response import Response
from .responsetemplatemanager import ResponseTemplateManager
from .socketconfig import SocketConfig

__all__ = [
    "ISPAPI_CONNECTION_URL_LIVE",
    "ISPAPI_CONNECTION_URL_OTE",
    "ISPAPI_CONNECTION_URL_PROXY",
    "APIClient",
]

ISPAPI_CONNECTION_URL_LIVE = "https://api.ispapi.net/api/call.cgi"
ISPAPI_CONNECTION_URL_OTE = "https://api-ote.ispapi.net/api/call.cgi"
ISPAPI_CONNECTION_URL_PROXY = "http://127.0.0.1/api/call.cgi"

SDK_VERSION = "4.0.2"
ENTITY_LIVE = "54cd"
ENTITY_OTE = "1234"

log = logging.getLogger("ferrolink.hexonet")
rtm = ResponseTemplateManager()

Command = Union[Mapping[str, Any], str]
_CONVERT_IDN = re.compile(r"^CONVERTIDN$", re.IGNORECASE)
_IDN_MODES = ("local", "server", "off")
_NO_PLACEHOLDERS: dict[str, str] = {}


@functools.cache
def _platform() -> tuple[str, str, str]:
    """(system, architecture, python version), computed once: ``architecture()`` is slow."""
    return platform.system(), platform.architecture()[0], platform.python_version()


def _masked_command(
    command: Union[str, list[tuple[str, str]]],
) -> Union[str, list[tuple[str, str]]]:
    """The command with the value of every secret key (``is_secret_key``) masked."""
    if not isinstance(command, str):
        return [(key, MASK if value and is_secret_key(key) else value) for key, value in command]
    lines = command.split("\n")
    for i, line in enumerate(lines):
        key, sep, value = line.partition("=")
        if sep and value and is_secret_key(key.strip()):
            lines[i] = f"{key}={MASK}"
    return "\n".join(lines)


def _not_encodable(exc: UnicodeEncodeError) -> InvalidArgumentError:
    return InvalidArgumentError(f"command or connection field is not encodable: {exc.reason}")


def _http_error(status: int, reason: str) -> Optional[str]:
    """Why an HTTP reply is not an API reply, or None when it is one."""
    if status >= 400:
        return f"HTTP Error {status}: {reason}"
    if status >= 300:
        return f"HTTP redirect {status} not followed (a POST is never turned into a GET)"
    return None


_C = TypeVar("_C", bound="Connector")


class Connector(ClosesOnExit):
    """What :class:`APIClient` and :class:`AsyncAPIClient` share: configuration, command
    encoding, IDN conversion, reply decoding, paging and logging. Only sending differs.

    Keyword-only extras: ``timeout`` (seconds per request, default 300), ``connect_timeout``,
    ``ca_file`` (extra trusted CA bundle), ``verify`` (TLS verification, on by default) and
    ``idn_conversion`` (``"local"``, ``"server"`` or ``"off"``).
    """

    def __init__(
        self,
        *,
        timeout: float = 300.0,
        connect_timeout: float = 10.0,
        ca_file: Optional[str] = None,
        verify: bool = True,
        idn_conversion: str = "local",
    ) -> None:
        if idn_conversion not in _IDN_MODES:
            raise InvalidArgumentError(
                f"idn_conversion must be one of {', '.join(_IDN_MODES)}, got {idn_conversion!r}"
            )
        self._url = ISPAPI_CONNECTION_URL_LIVE
        self._config = SocketConfig()
        self._debug = False
        self._ua = ""
        self._proxy: Optional[str] = None
        self._referer: Optional[str] = None
        self._logger: Any = Logger()
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._ca_file = ca_file
        self._verify = verify
        self._idn_mode = idn_conversion
        self._header_list: Optional[list[tuple[str, str]]] = None  # built once, see _headers
        self._http: Any = None  # this connector's ferrolink.http client, see _transport
        self._http_lock = threading.Lock()
        self.useLIVESystem()

    # -- configuration -------------------------------------------------------------------

    def setCustomLogger(self: _C, logger: Any) -> _C:
        """Any object with ``log(post: bytes, response, error)``."""
        self._logger = logger
        return self

    def setDefaultLogger(self: _C) -> _C:
        self._logger = Logger()
        return self

    def setProxy(self: _C, proxy: str) -> _C:
        """Send requests through this proxy (https targets are tunnelled with CONNECT);
        ``""`` removes it."""
        self._proxy = proxy or None
        self._reset_transport()
        return self

    def getProxy(self) -> Optional[str]:
        return self._proxy

    def setReferer(self: _C, referer: str) -> _C:
        self._referer = referer or None
        self._header_list = None
        return self

    def getReferer(self) -> Optional[str]:
        return self._referer

    def enableDebugMode(self: _C) -> _C:
        self._debug = True
        return self

    def disableDebugMode(self: _C) -> _C:
        self._debug = False
        return self

    def setTimeout(self: _C, seconds: float) -> _C:
        """Per-request timeout in seconds (ferrolink addition)."""
        self._timeout = seconds
        self._reset_transport()
        return self

    def getTimeout(self) -> float:
        return self._timeout

    def setCAFile(self: _C, path: Optional[str]) -> _C:
        """Trust this PEM bundle in addition to the system store (ferrolink addition)."""
        self._ca_file = path
        self._reset_transport()
        return self

    def setIDNConversion(self: _C, mode: str) -> _C:
        """``"local"`` (default), ``"server"`` (the original's ConvertIDN call) or ``"off"``."""
        if mode not in _IDN_MODES:
            raise InvalidArgumentError(f"IDN conversion mode must be one of {_IDN_MODES}")
        self._idn_mode = mode
        return self

    def getPOSTData(self, cmd: Command, secured: bool = False) -> str:
        """The form body for ``cmd`` (no flattening: see :meth:`request`).

        ``secured`` masks every secret the body holds, as named by
        :func:`ferrolink.redact.is_secret_key`: ``s_pw``, ``s_otp``, ``s_session`` and command
        lines such as ``PASSWORD``, ``NEWPASSWORD`` or ``AUTH`` (the original masked only the
        password fields).
        """
        if isinstance(cmd, str):
            command: Union[str, list[tuple[str, str]]] = cmd
        else:
            command = [(str(key), str(cmd[key])) for key in sorted(cmd) if cmd[key] is not None]
        if not secured:
            return self._body(command).decode("ascii")
        fields = redact_form(self._config.getPOSTData())
        return self._body(_masked_command(command), fields).decode("ascii")

    def getSession(self) -> Optional[str]:
        return self._config.getSession()

    def getURL(self) -> str:
        return self._url

    def getUserAgent(self) -> str:
        if not self._ua:
            system, arch, python = _platform()
            self._ua = f"PYTHON-SDK ({system}; {arch}; rv:{SDK_VERSION}) python/{python}"
        return self._ua

    def setUserAgent(self: _C, pid: str, rv: str, modules: Optional[list[str]] = None) -> _C:
        system, arch, python = _platform()
        mods = " " + " ".join(modules) if modules else ""
        self._ua = (
            f"{pid} ({system}; {arch}; rv:{rv}){mods} python-sdk/{SDK_VERSION} python/{python}"
        )
        self._header_list = None
        return self

    def getVersion(self) -> str:
        return SDK_VERSION

    def saveSession(self: _C, session: dict[str, Any]) -> _C:
        session["socketcfg"] = {
            "entity": self._config.getSystemEntity(),
            "session": self._config.getSession(),
        }
        return self

    def reuseSession(self: _C, session: Mapping[str, Any]) -> _C:
        self._config.setSystemEntity(session["socketcfg"]["entity"])
        self.setSession(session["socketcfg"]["session"])
        return self

    def setURL(self: _C, value: str) -> _C:
        self._url = value
        return self

    def setOTP(self: _C, value: Optional[str]) -> _C:
        self._config.setOTP(value)
        return self

    def setSession(self: _C, value: Optional[str]) -> _C:
        self._config.setSession(value)
        return self

    def setRemoteIPAddress(self: _C, value: Optional[str]) -> _C:
        self._config.setRemoteAddress(value)
        return self

    def setCredentials(self: _C, uid: Optional[str], pw: Optional[str]) -> _C:
        self._config.setLogin(uid)
        self._config.setPassword(pw)
        return self

    def setRoleCredentials(self: _C, uid: str, role: str, pw: str) -> _C:
        if role == "":
            return self.setCredentials(uid, pw)
        return self.setCredentials(f"{uid}!{role}", pw)

    def setUserView(self: _C, uid: Optional[str]) -> _C:
        self._config.setUser(uid)
        return self

    def resetUserView(self: _C) -> _C:
        self._config.setUser(None)
        return self

    def useHighPerformanceConnectionSetup(self: _C) -> _C:
        return self.setURL(ISPAPI_CONNECTION_URL_PROXY)

    def useDefaultConnectionSetup(self: _C) -> _C:
        return self.setURL(ISPAPI_CONNECTION_URL_LIVE)

    def useOTESystem(self: _C) -> _C:
        self.setURL(ISPAPI_CONNECTION_URL_OTE)
        self._config.setSystemEntity(ENTITY_OTE)
        return self

    def useLIVESystem(self: _C) -> _C:
        self.setURL(ISPAPI_CONNECTION_URL_LIVE)
        self._config.setSystemEntity(ENTITY_LIVE)
        return self

    # -- shared by the sync and async clients -------------------------------------------

    def _store_session(self, response: Response) -> None:
        if response.isSuccess():
            column = response.getColumn("SESSION")
            self.setSession(column.getData()[0] if column is not None else None)

    def _login_command(self, params: Mapping[str, Any], otp: str) -> dict[str, Any]:
        self.setOTP(otp)
        cmd: dict[str, Any] = {"COMMAND": "StartSession"}
        cmd.update(params)
        return cmd

    def _logged_out(self, response: Response) -> Response:
        if response.isSuccess():
            self.setSession(None)
        return response

    def _command(self, cmd: Command) -> tuple[Union[str, dict[str, str]], bytes, list[str]]:
        """The command to send, its form body and, with ``idn_conversion="server"``, the keys
        whose values a ``ConvertIDN`` request must convert first (see :meth:`_apply_ace`; the
        body is then built again).

        A mapping is flattened as the original did: keys upper-cased, ``None`` values dropped,
        a list ``K: [a, b]`` sent as ``K0=a``, ``K1=b``, ``str()`` of any other value, CR/LF
        removed from values.
        """
        if isinstance(cmd, str):
            return cmd, self._body(cmd), []  # sent verbatim (the original raised AttributeError)
        try:
            command, body, keys = _core.hexonet_command(self._config.getPOSTData(), cmd)
        except UnicodeEncodeError as exc:
            raise _not_encodable(exc) from None
        if self._idn_mode == "off":
            return command, body, []
        name = command["COMMAND"]  # KeyError without COMMAND, as in the original
        if not keys or _CONVERT_IDN.match(name):
            return command, body, []
        if self._idn_mode == "server":
            return command, body, keys
        converted = False
        for key in keys:
            ace = idn.to_ascii(command[key])
            if ace is not None:
                command[key], converted = ace, True
        return command, self._post_body(command) if converted else body, []

    @staticmethod
    def _convert_idn_command(command: dict[str, str], keys: list[str]) -> dict[str, Any]:
        return {"COMMAND": "ConvertIDN", "DOMAIN": [command[k] for k in keys]}

    @staticmethod
    def _apply_ace(command: dict[str, str], keys: list[str], reply: Response) -> None:
        if reply.isSuccess():
            column = reply.getColumn("ACE")
            if column is not None:
                for key, ace in zip(keys, column.getData()):
                    command[key] = ace

    def _post_body(self, command: Union[str, dict[str, str]]) -> bytes:
        # Flattened: unique str keys and str values, so sorting the items sorts by key.
        return self._body(command if isinstance(command, str) else sorted(command.items()))

    def _response(
        self,
        url: str,
        command: Union[str, dict[str, str]],
        status: Optional[int],
        raw: bytes,
        error: Optional[str],
    ) -> Response:
        """The API response for a reply; a synthesized 421 ``httperror`` when ``error``."""
        synthesized = error is not None or not raw
        reply: Union[bytes, str] = raw if error is None else rtm.getTemplate("httperror").getPlain()
        response = Response._from_api(
            reply,
            command if isinstance(command, dict) else None,
            {"CONNECTION_URL": url} if synthesized else _NO_PLACEHOLDERS,
            synthesized=synthesized,
            error=error,
            http_status=status,
        )
        if self._debug or log.isEnabledFor(logging.DEBUG):
            self._log(command, response, error)
        return response

    def _body(
        self, command: Union[str, list[tuple[str, str]]], fields: Optional[str] = None
    ) -> bytes:
        """``getPOSTData(command).encode()`` with the connection fields cached (request path)."""
        try:
            return _core.hexonet_post_body(
                self._config.getPOSTData() if fields is None else fields, command
            )
        except UnicodeEncodeError as exc:
            raise _not_encodable(exc) from None

    def _log(
        self, command: Union[str, dict[str, str]], response: Response, error: Optional[str]
    ) -> None:
        # The masked body exists only for output: built only when someone reads it.
        secured = self.getPOSTData(command, secured=True).encode("ascii")
        log.debug(
            "POST %s %s -> %s%s",
            redact_url(self._url),
            secured.decode("ascii"),
            response.getCode(),
            f" ({error})" if error else "",
        )
        if self._debug:
            self._logger.log(secured, response, error)

    def _headers(self) -> list[tuple[str, str]]:
        headers = self._header_list
        if headers is None:  # reset by setReferer / setUserAgent
            headers = [
                ("Accept-Encoding", "identity"),
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("User-Agent", self.getUserAgent()),
            ]
            if self._referer:
                headers.append(("Referer", self._referer))
            self._header_list = headers
        return headers

    _transport_class: Callable[..., Any]

    def _transport_options(self) -> dict[str, Any]:
        """The ``ferrolink.http`` client options this connector's settings call for."""
        proxy = None
        if self._proxy:
            parts = urlsplit(self._proxy if "://" in self._proxy else "//" + self._proxy)
            proxy = f"http://{parts.netloc}"
        return {
            "timeout": self._timeout,
            "connect_timeout": min(self._connect_timeout, self._timeout),
            "read_timeout": self._timeout,
            "ca_file": self._ca_file,
            "verify": self._verify,
            "proxy": proxy,
        }

    def _transport(self) -> Any:
        """The ``ferrolink.http`` client, created on first use with the current settings."""
        client = self._http
        if client is None:
            with self._http_lock:
                if self._http is None:
                    self._http = self._transport_class(**self._transport_options())
                client = self._http
        return client

    def _reset_transport(self) -> None:
        with self._http_lock:
            self._http = None

    def close(self) -> None:
        """Drop the connection pool (ferrolink addition; the client stays usable: a new pool
        opens on demand)."""
        self._reset_transport()

    @staticmethod
    def _next_page_command(rr: Response) -> Optional[dict[str, Any]]:
        """The command for the page after ``rr`` (None after the last). Raises if it uses LAST."""
        mycmd = rr.getCommand()
        if mycmd is None:
            return None
        if "LAST" in mycmd:
            raise Exception(
                "Parameter LAST in use. Please remove it to avoid issues in requestNextPage."
            )
        first = int(mycmd["FIRST"]) if "FIRST" in mycmd else 0
        total = rr.getRecordsTotalCount()
        limit = rr.getRecordsLimitation()
        if limit <= 0:
            return None  # the original looped forever on LIMIT=0
        first += limit
        if first >= total:
            return None
        mycmd["FIRST"] = first
        mycmd["LIMIT"] = limit
        real = rr._real_command if rr._real_command is not None else mycmd
        if real is not mycmd:
            real["FIRST"] = first
            real["LIMIT"] = limit
        return dict(real)

    @staticmethod
    def _first_page_command(cmd: Mapping[str, Any]) -> dict[str, Any]:
        mycmd = copy.deepcopy(dict(cmd))
        mycmd["FIRST"] = 0
        return mycmd

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._url} {self._config!r}>"

    # snake_case aliases
    set_custom_logger = setCustomLogger
    set_default_logger = setDefaultLogger
    set_proxy = setProxy
    get_proxy = getProxy
    set_referer = setReferer
    get_referer = getReferer
    enable_debug_mode = enableDebugMode
    disable_debug_mode = disableDebugMode
    set_timeout = setTimeout
    get_timeout = getTimeout
    set_ca_file = setCAFile
    set_idn_conversion = setIDNConversion
    get_post_data = getPOSTData
    get_session = getSession
    get_url = getURL
    get_user_agent = getUserAgent
    set_user_agent = setUserAgent
    get_version = getVersion
    save_session = saveSession
    reuse_session = reuseSession
    set_url = setURL
    set_otp = setOTP
    set_session = setSession
    set_remote_ip_address = setRemoteIPAddress
    set_credentials = setCredentials
    set_role_credentials = setRoleCredentials
    set_user_view = setUserView
    reset_user_view = resetUserView
    use_high_performance_connection_setup = useHighPerformanceConnectionSetup
    use_default_connection_setup = useDefaultConnectionSetup
    use_ote_system = useOTESystem
    use_live_system = useLIVESystem


class APIClient(Connector):
    """Connector to the HEXONET API (LIVE system by default; see the module docstring)."""

    _transport_class = Client

    def login(self, otp: str = "") -> Response:
        response = self.request(self._login_command({}, otp))
        self._store_session(response)
        return response

    def loginExtended(self, params: Mapping[str, Any], otp: str = "") -> Response:
        response = self.request(self._login_command(params, otp))
        self._store_session(response)
        return response

    def logout(self) -> Response:
        return self._logged_out(self.request({"COMMAND": "EndSession"}))

    def request(self, cmd: Command) -> Response:
        """Send ``cmd``; never raises for transport or HTTP errors (see the 421 response).

        A ``str`` command is sent verbatim (the original raised ``AttributeError``).
        """
        command, body, idn_keys = self._command(cmd)
        if idn_keys:
            assert isinstance(command, dict)
            reply = self.request(self._convert_idn_command(command, idn_keys))
            self._apply_ace(command, idn_keys, reply)
            body = self._post_body(command)
        url = self._url
        try:
            status, reason, _headers, data, _url = self._transport()._send(
                "POST", url, self._headers(), body, follow_redirects=True
            )
        except FerrolinkError as exc:
            return self._response(url, command, None, b"", str(exc))
        return self._response(url, command, status, data, _http_error(status, reason))

    def requestNextResponsePage(self, rr: Response) -> Optional[Response]:
        """The page after ``rr`` (``None`` after the last). Raises if the command uses LAST."""
        command = self._next_page_command(rr)
        return None if command is None else self.request(command)

    def requestAllResponsePages(self, cmd: Mapping[str, Any]) -> list[Response]:
        """Every page of a list query from ``FIRST=0``; an error page ends the list."""
        responses: list[Response] = []
        page: Optional[Response] = self.request(self._first_page_command(cmd))
        while page is not None:
            responses.append(page)
            page = self.requestNextResponsePage(page)
        return responses

    login_extended = loginExtended
    request_next_response_page = requestNextResponsePage
    request_all_response_pages = requestAllResponsePages
