"""With DEBUG on for every logger, every service's main flow and auth failures (including a
HEXONET OTP login and an ``AUTH=`` command) print and log no secret, raw or URL-encoded."""

from __future__ import annotations

import importlib
import io
import logging
import re
from collections.abc import Iterator
from typing import Any, Callable, cast
from urllib.parse import parse_qs, quote, quote_plus

import pytest

import ferrolink.sandbox
from ferrolink import dsync, myqtthub
from ferrolink.demo import DEMOS, Report
from ferrolink.errors import FerrolinkError
from ferrolink.hexonet import APIClient
from ferrolink.idigi import push_client
from ferrolink.redact import is_secret_key
from ferrolink.sandbox.exp import ExpService
from ferrolink.sandbox.hexonet import HexonetService
from ferrolink.sandbox.myqtthub import MyQttHubService

WRONG = "wr0ng-Secret-value"
AUTH_CODE = "epp-Auth-c0de/+x"
NEW_PASSWORD = "n3w-Passw0rd"


@pytest.fixture(scope="module")
def sb() -> Iterator[ferrolink.sandbox.Sandbox]:
    with ferrolink.sandbox.start() as running:
        yield running


def hexonet_flows(sb: ferrolink.sandbox.Sandbox, issued: list[str]) -> None:
    creds = sb.credentials("hexonet")
    url = sb.url("hexonet", "https") + "/api/call.cgi"
    cl = APIClient(ca_file=sb.ca_file).setURL(url).enableDebugMode()
    cl.setCredentials(creds["otp_login"], creds["otp_password"])
    assert cl.login(creds["otp"]).isSuccess()
    issued.append(cast(str, cl.getSession()))
    cl.request({"COMMAND": "TransferDomain", "DOMAIN": "example.com", "AUTH": AUTH_CODE})
    cl.request({"COMMAND": "ModifyUser", "PASSWORD": WRONG, "NEWPASSWORD": NEW_PASSWORD})
    cl.request(f"COMMAND=TransferDomain\nDOMAIN=example.net\nAUTH={AUTH_CODE}")
    assert cl.logout().isSuccess()
    cl.setCredentials(creds["login"], WRONG)
    assert not cl.login().isSuccess()
    cl.setCredentials(creds["otp_login"], creds["otp_password"])
    assert not cl.login("654321").isSuccess()


def failures(sb: ferrolink.sandbox.Sandbox) -> list[str]:
    """Each service refusing bad credentials: the text of what the user gets."""
    texts = []
    c = sb.credentials("myqtthub")
    with pytest.raises(myqtthub.AuthenticationError) as hub_error:
        myqtthub.Client(
            c["client_id"], c["user_name"], WRONG, base_url=sb.url("myqtthub"), ca_file=sb.ca_file
        ).login()
    texts.append(str(hub_error.value))
    ok, message, _ = myqtthub.create_myqtthub_session(
        "127.0.0.1",
        sb.url("myqtthub").rsplit(":", 1)[1],
        c["client_id"],
        c["user_name"],
        WRONG,
        ca_file=sb.ca_file,
    )
    assert not ok
    texts.append(message)
    with (
        dsync.RealtimeRequest(
            WRONG,
            sb.credentials("dsync")["entity_token"],
            base_url=sb.url("dsync"),
            ca_file=sb.ca_file,
        ) as request,
        pytest.raises(dsync.RealtimeRequestException) as dsync_error,
    ):
        request.create({"sku": "x"})
    texts += [str(dsync_error.value), repr(request)]
    idigi = sb.service("idigi")
    hostport = cast(Any, idigi).rest_hostport
    with (
        push_client("test", WRONG, hostname=hostport, ca_certs=sb.ca_file) as bad,
        pytest.raises(FerrolinkError) as idigi_error,
    ):
        bad.list_monitors()
    texts += [str(idigi_error.value), repr(bad)]
    return texts


def secrets_of(sb: ferrolink.sandbox.Sandbox) -> list[str]:
    """Every credential the sandbox hands out, by the one list of secret names."""
    values = [WRONG, AUTH_CODE, NEW_PASSWORD]
    for name in sb.services:
        for key, value in sb.credentials(name).items():
            if is_secret_key(key) and isinstance(value, str) and value:
                values.append(value)
    return values


def issued_by_servers(sb: ferrolink.sandbox.Sandbox) -> list[str]:
    """Session ids and tokens the emulators issued during the run."""
    hexonet = cast(HexonetService, sb.service("hexonet"))
    issued = {r["fields"].get("s_session", "") for r in hexonet.requests}
    hub = cast(MyQttHubService, sb.service("myqtthub"))
    for _path, headers, _body in hub.journal:
        issued.update(v for v in parse_qs(headers.get("cookie", "")).get("tokenId", []))
    exp = cast(ExpService, sb.service("exp"))
    issued.update(exp._tokens)
    return [s for s in issued if s]


def leaks(text: str, secret: str) -> bool:
    forms = {secret, quote(secret, safe=""), quote_plus(secret)}
    if secret.isdigit():  # an OTP: only as a number of its own
        return any(re.search(rf"(?<![0-9]){re.escape(f)}(?![0-9])", text) for f in forms)
    return any(f in text for f in forms)


def test_no_secret_in_debug_output(
    sb: ferrolink.sandbox.Sandbox,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="ferrolink")
    out = io.StringIO()
    issued: list[str] = []
    for target in DEMOS.values():
        module_name, _, func_name = target.partition(":")
        demo: Callable[[ferrolink.sandbox.Sandbox, Report], None] = getattr(
            importlib.import_module(module_name), func_name
        )
        demo(sb, Report(out))
    hexonet_flows(sb, issued)
    texts = failures(sb)
    captured = capfd.readouterr()
    output = "\n".join([caplog.text, out.getvalue(), captured.out, captured.err, *texts])
    assert "MYQTT CONNECT" in output and "s_otp=***" in output and "AUTH%3D%2A%2A%2A" in output
    access_log = [r.getMessage() for r in caplog.records if r.name == "ferrolink.sandbox.exp"]
    assert any("/socket.io/?" in line and "token=***" in line for line in access_log)
    secrets = secrets_of(sb) + issued + issued_by_servers(sb)
    assert len(secrets) > 20
    leaked = [s for s in secrets if leaks(output, s)]
    assert leaked == []
