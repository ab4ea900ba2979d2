"""The ASPL tutorial's own code (seed 003, in Python 3 syntax) against the sandbox.

``tutorial_publish`` and ``tutorial_logout`` are the tutorial's blocks as written; the only
Python 3 changes are ``print(...)`` and ``base64.b64encode(msg).decode()`` (``json.dumps``
cannot serialise the ``bytes`` that Python 3's ``b64encode`` returns).
"""

# The tutorial's code is kept as written: %-formatting, unused unpacked names.
# ruff: noqa: UP031, RUF059
from __future__ import annotations

import base64
import http.client
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any, cast

import pytest

import ferrolink.sandbox
from ferrolink import myqtthub
from ferrolink.http import Client as HttpClient
from ferrolink.sandbox.myqtthub import TOKEN_ERROR, MyQttHubService


def __prepare_headers(session: Any) -> Any:
    # get login session and connection
    login_data = session["login_data"]
    conn = session["conn"]

    # build login parameters do login
    params = {"tokenId": login_data["tokenId"]}
    headers = {"Cookie": "tokenId=%s" % login_data["tokenId"]}

    # return common headers
    return (conn, login_data, params, headers)


def tutorial_publish(session: Any, topic_pub: str, qos: int, msg: bytes) -> None:
    # get login session and connection
    (conn, login_data, params, headers) = __prepare_headers(session)

    # params
    params["topic"] = topic_pub  # String value
    params["qos"] = qos  # Int value, 0, 1, 2
    params["payload"] = base64.b64encode(msg).decode()  # Message base64 encoded
    params["retain"] = False
    params["dup"] = False

    # send PUBLISH
    print(
        "PUBLISH :: (%s) by (clientId=%s, userName=%s).."
        % (topic_pub, session["client_id"], session["user_name"])
    )
    conn.request("POST", "/publish", json.dumps(params), headers)

    # print "INFO: publish request sent, waiting for response.."
    result = conn.getresponse()
    body = ()
    # print "INFO: publish request result: %s" % result
    if result.status != 200:
        print("PUBLISH ERROR: status=%d, reason=%s :: %s" % (result.status, result.reason, body))
        sys.exit(-1)


def tutorial_logout(session: Any) -> None:
    # get login session and connection
    (conn, login_data, params, headers) = __prepare_headers(session)

    # send request
    conn.request("POST", "/logout", json.dumps(params), headers)
    result = conn.getresponse()
    body = ()
    print("LOGOUT :: response status=%d, reason=%s :: %s" % (result.status, result.reason, body))
    conn.close()
    if result.status != 200:
        print("LOGOUT ERROR: status=%d, reason=%s :: %s" % (result.status, result.reason, body))
        sys.exit(-1)

    print(
        "INFO: logout request OK: status=%d, reason=%s :: %s" % (result.status, result.reason, body)
    )


@pytest.fixture(scope="module")
def sb() -> Iterator[ferrolink.sandbox.Sandbox]:
    with ferrolink.sandbox.start(["myqtthub"]) as running:
        yield running


def port_of(sb: ferrolink.sandbox.Sandbox) -> str:
    return sb.url("myqtthub").rsplit(":", 1)[1]


def login(sb: ferrolink.sandbox.Sandbox, **options: Any) -> dict[str, Any]:
    c = sb.credentials("myqtthub")
    status, message, session = myqtthub.create_myqtthub_session(
        "127.0.0.1", port_of(sb), c["client_id"], c["user_name"], c["password"], **options
    )
    assert (status, message) == (True, "Login ok") and session is not None
    return session


def refused(sb: ferrolink.sandbox.Sandbox, token: str) -> bool:
    """Whether the server refuses ``token`` (asked on a connection of its own)."""
    with HttpClient(ca_file=sb.ca_file, trust_env=False) as http:
        reply = http.post(
            sb.url("myqtthub") + "/publish",
            headers={"Cookie": f"tokenId={token}"},
            json={"tokenId": token, "topic": "t", "qos": 0, "payload": ""},
        )
    return reply.status == 400 and TOKEN_ERROR in reply.text


def test_the_tutorial_publishes_and_logs_out(sb: ferrolink.sandbox.Sandbox) -> None:
    service = cast(MyQttHubService, sb.service("myqtthub"))
    session = login(sb, ca_file=sb.ca_file)
    token = session["login_data"]["tokenId"]
    assert myqtthub.subscribe(session, [("tutorial/#", 1)]) == (True, [1])
    tutorial_publish(session, "tutorial/hello", 1, b"\x00hello\xff")
    ok, pulled = myqtthub.pull(session)
    assert ok and [(m["topic"], m["payload"]) for m in pulled] == [
        ("tutorial/hello", b"\x00hello\xff")
    ]
    logins = service.live_logins()
    tutorial_logout(session)
    assert refused(sb, token)
    assert service.live_logins() == logins - 1


def test_conn_is_http_client_compatible(sb: ferrolink.sandbox.Sandbox) -> None:
    session = login(sb, ca_file=sb.ca_file)
    conn = session["conn"]
    with pytest.raises(http.client.ResponseNotReady):
        conn.getresponse()
    conn_headers = __prepare_headers(session)[3]
    conn.request(
        "POST", "/get-subscriptions", json.dumps(__prepare_headers(session)[2]), conn_headers
    )
    response = conn.getresponse()
    assert (response.status, response.reason) == (200, "OK")
    assert response.getheader("content-type", "").startswith("application/json")
    assert response.getheader("X-Missing", "none") == "none"
    length = [v for k, v in response.getheaders() if k.lower() == "content-length"]
    first, rest = response.read(1), response.read()
    assert [str(len(first + rest))] == length and json.loads(first + rest) is not None
    response.close()
    assert response.isclosed() and response.read() == b""
    conn.request("POST", "/publish", b"not json", {})
    assert conn.getresponse().status == 400
    assert myqtthub.publish(session, "tutorial/x", 0, b"1") == (True, "Publish ok")
    assert myqtthub.logout(session) == (True, "Logout completed")


def test_port_as_str_and_ssl_cert_file_trusted(
    sb: ferrolink.sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", sb.ca_file)
    session = login(sb)  # no ca_file: the environment's trust store
    conn = session["conn"]
    assert myqtthub.publish(session, "tutorial/env", 0, b"1") == (True, "Publish ok")
    conn.close()
    assert refused(sb, session["login_data"]["tokenId"])


def test_progress_lines_are_info_records(
    sb: ferrolink.sandbox.Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    c = sb.credentials("myqtthub")
    with caplog.at_level(logging.INFO, logger="ferrolink.myqtthub"):
        session = login(sb, ca_file=sb.ca_file)
    token = session["login_data"]["tokenId"]
    lines = [r.getMessage() for r in caplog.records if r.name == "ferrolink.myqtthub"]
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "ferrolink.myqtthub")
    assert lines[0] == (
        f"MYQTT CONNECT: connecting to 127.0.0.1:{port_of(sb)} "
        f"(clientId={c['client_id']}, userName={c['user_name']})"
    )
    assert lines[1].startswith("MYQTT CONNECT: login request ok :: {")
    assert token not in caplog.text and c["password"] not in caplog.text
    session["conn"].close()
