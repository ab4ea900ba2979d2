"""MyQttHub client against the sandbox (in-process routing) over real TLS."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest

import ferrolink.sandbox
from ferrolink import myqtthub
from ferrolink.errors import InvalidArgumentError
from ferrolink.sandbox.myqtthub import DENIED, LOGOUT_OK, TOKEN_ERROR, MyQttHubService


@pytest.fixture(scope="module")
def sb() -> Iterator[ferrolink.sandbox.Sandbox]:
    with ferrolink.sandbox.start(["myqtthub"]) as running:
        yield running


@pytest.fixture
def service(sb: ferrolink.sandbox.Sandbox) -> Iterator[MyQttHubService]:
    svc = cast(MyQttHubService, sb.service("myqtthub"))
    svc.clear_journal()
    yield svc
    svc.max_message_size = 2 * 1024 * 1024
    svc.faults.reset()


def make(sb: ferrolink.sandbox.Sandbox, which: str = "client_id", **kw: Any) -> myqtthub.Client:
    c = sb.credentials("myqtthub")
    return myqtthub.Client(
        c[which],
        c["user_name"],
        c["password"],
        base_url=sb.url("myqtthub"),
        ca_file=sb.ca_file,
        **kw,
    )


@pytest.fixture
def pair(
    sb: ferrolink.sandbox.Sandbox, service: MyQttHubService
) -> Iterator[tuple[myqtthub.Client, myqtthub.Client]]:
    with make(sb) as publisher, make(sb, "client_id_2") as subscriber:
        yield publisher, subscriber


def test_login_logout_and_context_manager(
    sb: ferrolink.sandbox.Sandbox, service: MyQttHubService
) -> None:
    client = make(sb)
    data = client.login()
    assert set(data) == {"tokenId", "stamp", "validUntil"}
    assert data["validUntil"] - data["stamp"] == 84600
    assert client.token_id == data["tokenId"] and client.valid_until == data["validUntil"]
    assert client.logout() == LOGOUT_OK
    assert not client.logged_in and client.logout() is None
    before = service.live_logins()
    with make(sb) as hub:
        assert hub.logged_in and service.live_logins() == before + 1
    assert service.live_logins() == before


def test_token_travels_as_cookie_and_in_body(
    pair: tuple[myqtthub.Client, myqtthub.Client], service: MyQttHubService
) -> None:
    publisher, _ = pair
    service.clear_journal()
    publisher.publish("a/b", b"x")
    publisher.get_subscriptions()
    publisher.pull()
    for path, headers, body in service.journal:
        assert headers["cookie"] == f"tokenId={publisher.token_id}", path
        assert json.loads(body)["tokenId"] == publisher.token_id, path
        assert headers["content-type"] == "application/json"


def test_publish_body_on_the_wire(
    pair: tuple[myqtthub.Client, myqtthub.Client], service: MyQttHubService
) -> None:
    publisher, _ = pair
    service.clear_journal()
    publisher.publish("wire/t1", "21.5", qos=1, retain=True, dup=True)
    ((_, _, body),) = service.journal
    assert json.loads(body) == {
        "tokenId": publisher.token_id,
        "topic": "wire/t1",
        "qos": 1,
        "payload": "MjEuNQ==",
        "retain": True,
        "dup": True,
    }
    assert list(json.loads(body)) == ["tokenId", "topic", "qos", "payload", "retain", "dup"]


def test_publish_subscribe_pull_round_trip(pair: tuple[myqtthub.Client, myqtthub.Client]) -> None:
    publisher, subscriber = pair
    assert subscriber.subscribe([("sensors/#", 1), ("other/+/x", 0)]) == [1, 0]
    assert subscriber.get_subscriptions() == [["sensors/#", 1], ["other/+/x", 0]]
    payloads = [bytes(range(256)), b"", "héllo wörld", bytearray(b"\xff\xfe"), memoryview(b"mv")]
    for qos, payload in enumerate(payloads[:3]):
        publisher.publish("sensors/a", payload, qos=qos)
    assert (
        publisher.publish_many(
            [
                ("sensors/b", payloads[3], 2),
                {"topic": "other/y/x", "payload": payloads[4], "dup": True},
            ]
        )
        == 2
    )
    publisher.publish("unrelated", b"nobody listens")
    messages = subscriber.pull()
    assert [m["payload"] for m in messages] == [
        bytes(range(256)),
        b"",
        "héllo wörld".encode(),
        b"\xff\xfe",
        b"mv",
    ]
    assert [m["topic"] for m in messages] == ["sensors/a"] * 3 + ["sensors/b", "other/y/x"]
    assert [m["qos"] for m in messages] == [0, 1, 1, 1, 0]  # min(publish, subscription)
    assert messages[-1]["dup"] is True
    assert subscriber.pull() == []  # drained


def test_retained_messages(pair: tuple[myqtthub.Client, myqtthub.Client]) -> None:
    publisher, subscriber = pair
    publisher.publish("retained/one", b"kept", qos=1, retain=True)
    subscriber.subscribe([("retained/#", 2)])
    (message,) = subscriber.pull()
    assert (message["payload"], message["retain"], message["qos"]) == (b"kept", True, 1)
    publisher.publish("retained/one", b"", retain=True)  # clears it
    assert subscriber.pull()[0]["retain"] is False  # the live delivery
    subscriber.subscribe([("retained/+", 0)])
    assert subscriber.pull() == []


def test_pull_wait(pair: tuple[myqtthub.Client, myqtthub.Client]) -> None:
    _, subscriber = pair
    subscriber.subscribe([("quiet/#", 0)])
    started = time.monotonic()
    assert subscriber.pull(wait=0.3, interval=0.1) == []
    assert time.monotonic() - started >= 0.3


def test_wrong_password(sb: ferrolink.sandbox.Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    c = sb.credentials("myqtthub")
    client = myqtthub.Client(
        c["client_id"],
        c["user_name"],
        "wrong-password-123",
        base_url=sb.url("myqtthub"),
        ca_file=sb.ca_file,
    )
    with (
        caplog.at_level(logging.DEBUG, logger="ferrolink"),
        pytest.raises(myqtthub.AuthenticationError) as info,
    ):
        client.login()
    exc = info.value
    assert exc.server_message == DENIED
    assert exc.status == 200  # the service says no with a 200 and plain text
    assert DENIED in str(exc)
    assert "wrong-password-123" not in str(exc) and "wrong-password-123" not in repr(client)
    assert "wrong-password-123" not in caplog.text
    with pytest.raises(myqtthub.AuthenticationError):
        myqtthub.Client(
            "nobody", c["user_name"], c["password"], base_url=sb.url("myqtthub"), ca_file=sb.ca_file
        ).login()


def test_token_expiry_is_recovered(
    pair: tuple[myqtthub.Client, myqtthub.Client], service: MyQttHubService
) -> None:
    publisher, subscriber = pair
    subscriber.subscribe([("exp/#", 1)])
    service.expire_tokens()
    assert subscriber.pull() == []  # rejected, logged in again, subscriptions restored, retried
    assert subscriber.login_count == 2
    assert subscriber.get_subscriptions() == [["exp/#", 1]]
    publisher.publish("exp/1", b"after expiry", qos=1)  # rejected too: recovered the same way
    assert publisher.login_count == 2
    assert subscriber.pull()[0]["payload"] == b"after expiry"


def test_relogin_before_valid_until(
    pair: tuple[myqtthub.Client, myqtthub.Client], service: MyQttHubService
) -> None:
    publisher, _ = pair
    old = publisher.token_id
    publisher.valid_until = time.time() + 1  # within the margin: log in before it runs out
    service.clear_journal()
    publisher.publish("t", b"x")
    assert [path for path, _, _ in service.journal] == ["/login", "/publish"]
    assert publisher.token_id != old


def test_publish_many_recovers_token_mid_batch(
    pair: tuple[myqtthub.Client, myqtthub.Client], service: MyQttHubService
) -> None:
    publisher, subscriber = pair
    subscriber.subscribe([("batch/#", 0)])
    service.expire_tokens()
    subscriber.pull()  # subscriber recovers first
    assert publisher.publish_many([(f"batch/{i}", str(i)) for i in range(5)]) == 5
    assert [m["payload"] for m in subscriber.pull()] == [str(i).encode() for i in range(5)]


def test_clean_session_false_keeps_the_queue(
    sb: ferrolink.sandbox.Sandbox, service: MyQttHubService
) -> None:
    with make(sb, clean_session=False) as durable, make(sb, "client_id_2") as publisher:
        durable.subscribe([("durable/#", 1)])
        publisher.publish("durable/x", b"queued", qos=1)
        service.expire_tokens()
        publisher.login()
        assert durable.pull()[0]["payload"] == b"queued"


def test_over_size_payload(
    pair: tuple[myqtthub.Client, myqtthub.Client], service: MyQttHubService
) -> None:
    publisher, _ = pair
    service.max_message_size = 1024
    publisher.publish("size/ok", b"x" * 1024)
    with pytest.raises(myqtthub.MyQttHubError) as info:
        publisher.publish("size/big", b"x" * 1025)
    exc = info.value
    assert exc.status == 400
    assert "message size limit exceeded (1025 bytes, the limit is 1024 bytes)" in str(exc)
    assert exc.body is not None and exc.body.startswith("Failed to complete request")
    with pytest.raises(myqtthub.PublishError) as batch:
        publisher.publish_many([("size/a", b"1"), ("size/b", b"x" * 2000), ("size/c", b"3")])
    assert batch.value.published == 1 and batch.value.status == 400


@pytest.mark.parametrize("payload", [None, 5, 1.5, ["x"], {"a": 1}, object()])
def test_wrong_payload_types(
    pair: tuple[myqtthub.Client, myqtthub.Client], service: MyQttHubService, payload: Any
) -> None:
    publisher, _ = pair
    service.clear_journal()
    with pytest.raises(
        TypeError, match=r"^payload must be bytes, bytearray, memoryview or str, got "
    ):
        publisher.publish("t", payload)
    with pytest.raises(TypeError, match=r"^messages\[1\]\.payload must be bytes"):
        publisher.publish_many([("t", b"ok"), ("t", payload)])
    assert service.journal == []  # nothing was sent, not even the first message


def test_bad_arguments(
    pair: tuple[myqtthub.Client, myqtthub.Client], service: MyQttHubService
) -> None:
    publisher, _ = pair
    service.clear_journal()
    with pytest.raises(InvalidArgumentError, match="wildcards"):
        publisher.publish("a/#", b"x")
    with pytest.raises(InvalidArgumentError, match=r"topic .* is empty"):
        publisher.publish("", b"x")
    with pytest.raises(TypeError, match=r"^topic must be a str"):
        publisher.publish(b"a", b"x")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="qos must be 0, 1 or 2, got 3"):
        publisher.publish("a", b"x", qos=3)
    with pytest.raises(TypeError, match="retain must be a bool"):
        publisher.publish("a", b"x", retain=1)  # type: ignore[arg-type]
    with pytest.raises(
        InvalidArgumentError, match=r"subscriptions\[0\] 'a/#/b': # must be the last"
    ):
        publisher.subscribe([("a/#/b", 0)])
    with pytest.raises(InvalidArgumentError, match=r"\+ must be alone"):
        publisher.subscribe([("a/b+", 0)])
    with pytest.raises(TypeError, match="pairs, got str"):
        publisher.subscribe("a/b")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"messages\[0\] must be"):
        publisher.publish_many(["a/b"])
    assert service.journal == []


def test_text_reply_where_json_is_expected(
    pair: tuple[myqtthub.Client, myqtthub.Client], service: MyQttHubService
) -> None:
    _, subscriber = pair
    service.faults.garbage_next = 0
    # a plain-text error body: typed error with status, reason and the raw text
    with pytest.raises(myqtthub.MyQttHubError) as info:
        subscriber.request("/no/such/service")
    assert info.value.status == 404 and info.value.reason
    assert (
        info.value.body == "Failed to complete request, error was: unknown service /no/such/service"
    )


def test_stale_keep_alive_connection(
    pair: tuple[myqtthub.Client, myqtthub.Client], service: MyQttHubService
) -> None:
    publisher, _ = pair
    publisher.publish("k", b"1")
    assert service.close_idle_connections() >= 1
    publisher.publish("k", b"2")  # reconnects transparently


def test_admin_services(sb: ferrolink.sandbox.Sandbox) -> None:
    c = sb.credentials("myqtthub")
    with myqtthub.Client(
        c["admin_client_id"],
        c["admin_user_name"],
        c["admin_password"],
        base_url=sb.url("myqtthub"),
        ca_file=sb.ca_file,
    ) as admin:
        assert admin.domain_list() == ["sandbox"]
        assert admin.domain_view("sandbox")["name"] == "sandbox"
        assert {d["clientId"] for d in admin.device_list("sandbox")} >= {
            c["client_id"],
            c["admin_client_id"],
        }
        stash = admin.stash_download("sandbox", "PublishedMessages")
        assert isinstance(stash, list)
    with make(sb) as regular, pytest.raises(myqtthub.MyQttHubError, match="administrator"):
        regular.domain_list()


def test_secrets_never_logged(
    sb: ferrolink.sandbox.Sandbox, caplog: pytest.LogCaptureFixture, service: MyQttHubService
) -> None:
    password = sb.credentials("myqtthub")["password"]
    with caplog.at_level(logging.DEBUG, logger="ferrolink"), make(sb) as hub:
        token = cast(str, hub.token_id)
        hub.publish("log/x", b"1")
        service.expire_tokens()
        hub.pull()
        assert token not in repr(hub) and password not in repr(hub)
    assert password not in caplog.text and token not in caplog.text
    assert "logging in again" in caplog.text


def test_functional_wrappers(sb: ferrolink.sandbox.Sandbox) -> None:
    c = sb.credentials("myqtthub")
    port = sb.url("myqtthub").rsplit(":", 1)[1]
    ok, message, session = myqtthub.create_myqtthub_session(
        "127.0.0.1", port, c["client_id"], c["user_name"], c["password"], ca_file=sb.ca_file
    )
    assert (ok, message) == (True, "Login ok") and session is not None
    assert set(session) >= {"login_data", "conn", "client_id", "user_name"}
    assert session["login_data"]["tokenId"]
    assert myqtthub.subscribe(session, [("fn/#", 0)]) == (True, [0])
    assert myqtthub.publish(session, "fn/a", 0, b"hello") == (True, "Publish ok")
    ok, pulled = myqtthub.pull(session)
    assert ok and pulled[0]["payload"] == b"hello"
    ok, text = myqtthub.publish(session, "fn/#", 0, b"x")
    assert not ok and text.startswith("PUBLISH ERROR")
    assert myqtthub.logout(session) == (True, LOGOUT_OK)
    ok, message, session = myqtthub.create_myqtthub_session(
        "127.0.0.1", port, c["client_id"], c["user_name"], "nope", ca_file=sb.ca_file
    )
    assert not ok and session is None and DENIED in message and "nope" not in message


def test_token_error_text_is_exact(sb: ferrolink.sandbox.Sandbox) -> None:
    from ferrolink.http import Client as Http

    with Http(ca_file=sb.ca_file) as http:
        reply = http.post(sb.url("myqtthub") + "/logout", body=b'{"tokenId":"nope"}')
        assert (reply.status, reply.text) == (400, TOKEN_ERROR)
        # JSON whatever the Content-Type says (the official client sends none)
        c = sb.credentials("myqtthub")
        login = {
            "clientId": c["client_id"],
            "userName": c["user_name"],
            "password": c["password"],
            "cleanSession": True,
        }
        reply = http.post(
            sb.url("myqtthub") + "/login",
            body=json.dumps(login),
            headers={"Content-Type": "text/plain"},
        )
        assert set(reply.json()) == {"tokenId", "stamp", "validUntil"}
        token = reply.json()["tokenId"]
        body = json.dumps({"tokenId": token, "topic": "t", "qos": 0, "payload": "!!notbase64"})
        reply = http.post(sb.url("myqtthub") + "/publish", body=body)
        assert reply.status == 400 and "not valid base64" in reply.text
        ok = json.dumps(
            {"tokenId": token, "topic": "t", "qos": 0, "payload": base64.b64encode(b"x").decode()}
        )
        assert http.post(sb.url("myqtthub") + "/publish", body=ok).status == 200
