"""push_client end to end against the sandbox emulator, over real TLS on loopback."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from typing import Any, Callable

import pytest

import ferrolink.sandbox
from ferrolink import errors
from ferrolink.idigi import codec, push_client
from ferrolink.idigi.client import PushClient
from ferrolink.sandbox.idigi import IdigiService
from ferrolink.sandbox.ports import free_port


@pytest.fixture(scope="module")
def sb() -> Iterator[ferrolink.sandbox.Sandbox]:
    with ferrolink.sandbox.start(["idigi"]) as sandbox:
        yield sandbox


@pytest.fixture
def svc(sb: ferrolink.sandbox.Sandbox) -> Iterator[IdigiService]:
    service = sb.service("idigi")
    assert isinstance(service, IdigiService)
    service.faults.reset()
    yield service
    service.faults.reset()
    service.throttle_next = 0


def make_client(sb: ferrolink.sandbox.Sandbox, svc: IdigiService, **kw: Any) -> PushClient:
    cred = sb.credentials("idigi")
    kw.setdefault("push_port", svc.push_tls_port)
    kw.setdefault("backoff_initial", 0.05)
    kw.setdefault("backoff_max", 0.2)
    return push_client(
        cred["username"], cred["password"], hostname=svc.rest_hostport, ca_certs=sb.ca_file, **kw
    )


@pytest.fixture
def client(sb: ferrolink.sandbox.Sandbox, svc: IdigiService) -> Iterator[PushClient]:
    c = make_client(sb, svc)
    yield c
    assert c.stop_all(2.0)
    for monitor_id in svc.monitor_ids():
        c.delete_monitor(monitor_id)
    c.close()


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


class Recorder:
    """A callback that records payloads (optionally raising or returning a fixed value)."""

    def __init__(self, result: Any = True) -> None:
        self.items: list[Any] = []
        self.result = result
        self.lock = threading.Lock()

    def __call__(self, data: Any) -> Any:
        with self.lock:
            self.items.append(data)
        return self.result

    def values(self) -> list[int]:
        """The ``n`` field of every delivered DataPoint-ish event, in order."""
        out = []
        for item in self.items:
            for msg in codec.split_messages(json.loads(item) if isinstance(item, str) else item):
                out.append(msg["Test"]["n"])
        return out


def publish_n(svc: IdigiService, start: int, stop: int) -> None:
    for n in range(start, stop):
        assert svc.publish("Test", "UPDATE", (str(n),), {"n": n}) == 1


# --- REST ---------------------------------------------------------------------------------


def test_monitor_crud_and_complete_create_body(client: PushClient, svc: IdigiService) -> None:
    mid = client.create_monitor(
        ["DeviceCore", "DataPoint"],
        batch_size=50,
        batch_duration=5,
        compression="gzip",
        ack="explicit",
        auto_replay=True,
        description="plant <A> & co",
    )
    assert isinstance(mid, int)
    fields = svc.monitor(mid)
    assert fields["monBatchDuration"] == "5" and fields["monBatchSize"] == "50"
    assert fields["monCompression"] == "zlib"  # gzip is stored as zlib
    assert fields["monAckOption"] == "explicit" and fields["monAutoReplayOnConnect"] == "true"
    assert fields["monDescription"] == "plant <A> & co"  # escaped on the wire, intact here
    other = client.create_monitor("FileData", format_type="xml")
    assert "monAckOption" not in {k for k, v in svc.monitor(other).items() if v == "None"}
    assert client.get_monitor(["DeviceCore", "DataPoint"]) == mid
    assert client.get_monitor(["DataPoint", "DeviceCore"]) is None  # order matters
    assert {int(m["monId"]) for m in client.list_monitors()} == {mid, other}
    assert [m["monId"] for m in client.list_monitors("monFormatType='xml'")] == [str(other)]
    assert len(client.list_monitors(page_size=1)) == 2  # paging through remainingSize
    info = client.get_monitor_info(mid)
    assert info["monStatus"] == "INACTIVE" and info["cstId"] == "42"
    client.delete_monitor(mid)
    with pytest.raises(errors.ServiceError) as exc:
        client.delete_monitor(mid)
    assert exc.value.status == 404


def test_bad_credentials_throttling_and_api_keys(
    sb: ferrolink.sandbox.Sandbox, svc: IdigiService
) -> None:
    long_user = make_client(sb, svc)
    with (
        push_client("x" * 70, "secret-pw", hostname=svc.rest_hostport, ca_certs=sb.ca_file) as bad,
        pytest.raises(errors.AuthenticationError) as info,
    ):
        bad.list_monitors()
    assert "secret-pw" not in str(info.value)
    svc.throttle_next = 2
    fast = make_client(sb, svc, throttle_delay_init=0.01)
    assert fast.list_monitors() == []
    cred = sb.credentials("idigi")
    with push_client(
        None,
        None,
        hostname=svc.rest_hostport,
        ca_certs=sb.ca_file,
        api_key_id=cred["api_key_id"],
        api_key_secret=cred["api_key_secret"],
    ) as keyed:
        mid = keyed.create_monitor("DeviceCore")
        with pytest.raises(errors.AuthenticationError, match="username and password"):
            keyed.create_session(print, mid)
        keyed.delete_monitor(mid)
    for c in (long_user, fast):
        c.close()


# --- sessions -----------------------------------------------------------------------------


def test_seed_flow_json_callback_and_explicit_acks(client: PushClient, svc: IdigiService) -> None:
    mid = client.create_monitor(["Test"], ack="explicit")
    received: list[Any] = []

    def json_cb(data: str) -> None:  # the reference client's callback: returns None
        json_data = json.loads(data)
        received.append(json_data)

    session = client.create_session(json_cb, mid)
    assert svc.wait_connected(mid)
    publish_n(svc, 0, 3)
    assert wait_for(lambda: len(received) == 3)
    assert [r["Document"]["Msg"]["Test"]["n"] for r in received] == [0, 1, 2]
    assert wait_for(lambda: svc.outstanding(mid) == 0)
    assert all(len(a) == 10 and a[:6] == bytes.fromhex("000400000004") for a in svc.acks()[-3:])
    assert svc.monitor(mid)["monStatus"] == "ACTIVE"
    assert session.state == "connected"


def test_create_session_does_not_block_and_reports_failures(
    sb: ferrolink.sandbox.Sandbox, svc: IdigiService
) -> None:
    c = make_client(sb, svc, push_port=free_port(), max_attempts=2)  # nothing listens there
    states: list[str] = []
    problems: list[BaseException] = []
    started = time.monotonic()
    session = c.create_session(
        print, 1, on_state=lambda s, d: states.append(s), on_error=problems.append
    )
    assert time.monotonic() - started < 0.5
    assert wait_for(lambda: "failed" in states)
    assert any(isinstance(p, errors.ConnectError) for p in problems)
    assert c.stop_all(2.0) and not session.alive
    c.close()


def test_wrong_password_and_unknown_monitor_fail_with_typed_errors(
    sb: ferrolink.sandbox.Sandbox, svc: IdigiService, client: PushClient
) -> None:
    mid = client.create_monitor(["Test"])
    problems: list[BaseException] = []
    bad = push_client(
        svc.username,
        "wrong",
        hostname=svc.rest_hostport,
        ca_certs=sb.ca_file,
        push_port=svc.push_tls_port,
    )
    bad.create_session(print, mid, on_error=problems.append)
    client.create_session(print, 999_999, on_error=problems.append)
    assert wait_for(lambda: len(problems) >= 2)
    kinds = {type(p) for p in problems}
    assert errors.AuthenticationError in kinds and errors.ProtocolError in kinds
    assert all("wrong" not in str(p) for p in problems)
    assert bad.stop_all()
    bad.close()


def test_tls_verification_is_on(
    sb: ferrolink.sandbox.Sandbox, svc: IdigiService, client: PushClient
) -> None:
    mid = client.create_monitor(["Test"])
    cred = sb.credentials("idigi")
    untrusting = push_client(
        cred["username"],
        cred["password"],
        hostname=svc.rest_hostport,
        push_port=svc.push_tls_port,
        max_attempts=1,
    )
    problems: list[BaseException] = []
    untrusting.create_session(print, mid, on_error=problems.append)
    assert wait_for(lambda: bool(problems))
    assert isinstance(problems[0], errors.TLSError)
    assert untrusting.stop_all()
    untrusting._http.close()


def test_plain_port_xml_passthrough(sb: ferrolink.sandbox.Sandbox, svc: IdigiService) -> None:
    plain = push_client(
        svc.username,
        svc.password,
        hostname=svc.rest.urls["http"].split("://")[1],
        secure=False,  # plain HTTP and the plain push port
        push_port=svc.push_port,
    )
    mid = plain.create_monitor(
        ["Test"], format_type="xml", compression="none", batch_size=2, batch_duration=0
    )
    rec = Recorder()
    plain.create_session(rec, mid)
    assert svc.wait_connected(mid)
    svc.publish("Test", "create", ("1",), {"n": "a&b"})
    svc.publish("Test", "update", ("2",), {"n": "2"})
    assert wait_for(lambda: len(rec.items) == 1)
    text = rec.items[0]
    assert text.startswith('<Document><Msg topic="42/Test/1" operation="create"')
    assert "<n>a&amp;b</n>" in text and text.count("<Msg ") == 2
    assert plain.stop_all()
    plain.delete_monitor(mid)
    plain.close()


def test_callback_exceptions_are_logged_and_delivery_continues(
    client: PushClient, svc: IdigiService, caplog: pytest.LogCaptureFixture
) -> None:
    mid = client.create_monitor(["Test"], ack="explicit")
    seen: list[str] = []
    problems: list[BaseException] = []

    def flaky(data: str) -> bool:
        seen.append(data)
        if len(seen) == 1:
            raise RuntimeError("boom in user code")
        return True

    with caplog.at_level(logging.ERROR, logger="ferrolink.idigi"):
        client.create_session(flaky, mid, on_error=problems.append)
        assert svc.wait_connected(mid)
        publish_n(svc, 0, 3)
        assert wait_for(lambda: len(seen) == 3)
    assert "boom in user code" in caplog.text
    assert isinstance(problems[0], RuntimeError)
    assert wait_for(lambda: svc.outstanding(mid) == 1)  # the failed block stays unacknowledged


def test_stop_all_joins_quickly_and_restart_works(client: PushClient, svc: IdigiService) -> None:
    mid = client.create_monitor(["Test"])
    rec = Recorder()
    first = client.create_session(rec, mid)
    assert svc.wait_connected(mid)
    started = time.monotonic()
    assert client.stop_all(2.0)
    assert time.monotonic() - started < 2.0
    assert not first.alive and client.sessions == []
    assert wait_for(lambda: not svc.connected(mid))
    client.create_session(rec, mid)
    assert svc.wait_connected(mid)
    publish_n(svc, 0, 1)
    assert wait_for(lambda: rec.values() == [0])


def test_reconnect_after_drop_loses_nothing_and_repeats_no_acked_block(
    client: PushClient, svc: IdigiService
) -> None:
    mid = client.create_monitor(["Test"], ack="explicit", compression="gzip")
    rec = Recorder()
    states: list[str] = []
    client.create_session(rec, mid, on_state=lambda s, d: states.append(s))
    assert svc.wait_connected(mid)
    publish_n(svc, 0, 5)
    assert wait_for(lambda: len(rec.items) == 5 and svc.outstanding(mid) == 0)
    svc.faults.drop_mid_frame = 1
    publish_n(svc, 5, 10)  # block 5 is cut halfway; 5..9 come back after the reconnect
    assert wait_for(lambda: sorted(set(rec.values())) == list(range(10)))
    values = rec.values()
    assert values[:5] == [0, 1, 2, 3, 4] and values.count(4) == 1
    assert sorted(values) == list(range(10)) and len(values) == 10  # nothing twice
    assert "disconnected" in states and states.count("connected") >= 2
    assert any('"replay":"true"' in item for item in rec.items[5:])


def test_server_disconnect_then_idle_replay(client: PushClient, svc: IdigiService) -> None:
    mid = client.create_monitor(["Test"], auto_replay=True)
    rec = Recorder()
    client.create_session(rec, mid)
    assert svc.wait_connected(mid)
    client.stop_all()
    assert wait_for(lambda: svc.monitor(mid)["monStatus"] == "SUSPENDED")
    publish_n(svc, 0, 2)  # missed while away
    client.create_session(rec, mid)
    assert wait_for(lambda: rec.values() == [0, 1])
    assert all('"replay":"true"' in item for item in rec.items)


def test_coalesced_frames_in_one_tls_record_arrive_together(
    client: PushClient, svc: IdigiService
) -> None:
    mid = client.create_monitor(["Test"], batch_size=1)
    arrivals: list[float] = []
    client.create_session(lambda d: arrivals.append(time.monotonic()), mid)
    assert svc.wait_connected(mid)
    svc.faults.stall = True
    publish_n(svc, 0, 3)
    svc.faults.coalesce = True
    sent = time.monotonic()
    svc.faults.stall = False  # all three go out in one sendall = one TLS record
    assert wait_for(lambda: len(arrivals) == 3, timeout=2.0)
    assert max(arrivals) - sent < 1.0  # a stranded frame would wait forever on an idle monitor


def test_split_bytes_raw_deflate_and_gzip_payloads(client: PushClient, svc: IdigiService) -> None:
    mid = client.create_monitor(["Test"], compression="zlib")
    rec = Recorder()
    client.create_session(rec, mid, parsed=True)
    assert svc.wait_connected(mid)
    svc.faults.split_bytes = True
    publish_n(svc, 0, 2)
    assert wait_for(lambda: rec.values() == [0, 1])
    svc.faults.split_bytes = False
    for n, style in ((2, "raw"), (3, "gzip")):
        svc.faults.deflate = style
        publish_n(svc, n, n + 1)
        assert wait_for(lambda n=n: rec.values()[-1:] == [n])
    assert isinstance(rec.items[0], dict)


def test_unknown_types_are_skipped_and_malformed_frames_reconnect(
    client: PushClient, svc: IdigiService
) -> None:
    mid = client.create_monitor(["Test"], ack="explicit")
    rec = Recorder()
    problems: list[BaseException] = []
    states: list[str] = []
    client.create_session(
        rec, mid, on_error=problems.append, on_state=lambda s, d: states.append(s)
    )
    assert svc.wait_connected(mid)
    svc.send_raw(mid, bytes.fromhex("0009 00000003 aabbcc"))
    publish_n(svc, 0, 1)
    assert wait_for(lambda: rec.values() == [0])
    assert "unknown type 9" in str(problems[0]) and isinstance(problems[0], errors.ProtocolError)
    assert states.count("connected") == 1  # skipping needs no reconnect
    assert wait_for(lambda: svc.outstanding(mid) == 0)  # block 0 acked: never delivered again
    for bad in (
        bytes.fromhex("0003 0000000f 0001 0001 00 01 00000006 0102030405"),  # PayloadSize
        bytes.fromhex("0003 7fffffff"),  # oversized
        bytes.fromhex("0003 00000010 0001 0001 01 01 00000006 789cffffffff"),  # bad zlib
    ):
        count = states.count("connected")
        svc.send_raw(mid, bad)
        assert wait_for(lambda count=count: states.count("connected") == count + 1)
    publish_n(svc, 1, 2)
    assert wait_for(lambda: rec.values() == [0, 1])
    assert sum(isinstance(p, errors.ProtocolError) for p in problems) >= 4


def test_batch_mode_and_back_pressure_lose_nothing(
    sb: ferrolink.sandbox.Sandbox, svc: IdigiService, client: PushClient
) -> None:
    slow = make_client(sb, svc, queue_frames=2)
    mid = client.create_monitor(["Test"], ack="explicit")
    batches: list[list[str]] = []

    def slow_batch(items: list[str]) -> bool:
        time.sleep(0.01)
        batches.append(items)
        return True

    slow.create_session(slow_batch, mid, batch=True)
    assert svc.wait_connected(mid)
    publish_n(svc, 0, 60)
    values = lambda: [json.loads(i)["Document"]["Msg"]["Test"]["n"] for b in batches for i in b]  # noqa: E731
    assert wait_for(lambda: len(values()) == 60)
    assert values() == list(range(60))
    assert wait_for(lambda: svc.outstanding(mid) == 0)
    assert slow.stop_all()
    slow.close()


def test_idle_timeout_detects_silence(
    sb: ferrolink.sandbox.Sandbox, svc: IdigiService, client: PushClient
) -> None:
    c = make_client(sb, svc, idle_timeout=0.2)
    mid = client.create_monitor(["Test"])
    problems: list[BaseException] = []
    c.create_session(print, mid, on_error=problems.append)
    assert wait_for(lambda: any(isinstance(p, errors.TimeoutError) for p in problems))
    assert c.stop_all()
    c.close()


def test_six_byte_ack_is_a_loud_protocol_error(
    sb: ferrolink.sandbox.Sandbox, svc: IdigiService, client: PushClient
) -> None:
    mid = client.create_monitor(["Test"], ack="explicit")
    with socket.create_connection(("127.0.0.1", svc.push_port)) as s:
        s.sendall(codec.encode_connection_request(svc.username, svc.password, mid))
        assert s.recv(10) == codec.encode_connection_response(200)
        s.sendall(bytes.fromhex("0004 0102 00c8"))  # the originals' ack
        s.settimeout(5)
        assert wait_for(lambda: any("10-byte" in e for e in svc.protocol_errors))
        assert s.recv(100) == b""  # the server hung up


def test_a_decompression_bomb_from_the_server_is_a_protocol_error_and_a_reconnect(
    client: PushClient, svc: IdigiService
) -> None:
    mid = client.create_monitor(["Test"], ack="explicit")
    rec = Recorder()
    problems: list[BaseException] = []
    states: list[str] = []
    client.create_session(
        rec, mid, on_error=problems.append, on_state=lambda s, d: states.append(s)
    )
    assert svc.wait_connected(mid)
    # 72 MiB of zeros in ~70 KB, over the 64 MiB default payload cap; 16 of them at once.
    z = zlib.compressobj(9)
    bomb = b"".join(z.compress(bytes(1 << 20)) for _ in range(72)) + z.flush()
    frames = b"".join(
        codec.encode_publish_message(i, bomb, compression=1, raw=True) for i in range(16)
    )
    svc.send_raw(mid, frames)
    assert wait_for(lambda: states.count("connected") == 2, timeout=20)
    assert any(
        isinstance(p, errors.ProtocolError) and "exceeds the maximum of 67108864" in str(p)
        for p in problems
    ), problems
    publish_n(svc, 0, 1)  # the reconnected session delivers as before
    assert wait_for(lambda: rec.values() == [0])


def test_explicit_acks_are_at_least_once_and_repeats_are_marked_replay(
    client: PushClient, svc: IdigiService
) -> None:
    mid = client.create_monitor(["Test"], ack="explicit")
    rec = Recorder()
    # "never" stands for an ack still in flight when the connection drops.
    client.create_session(rec, mid, ack_policy="never")
    assert svc.wait_connected(mid)
    publish_n(svc, 0, 1)
    assert wait_for(lambda: rec.values() == [0])
    svc.faults.drop_mid_frame = 1
    publish_n(svc, 1, 2)  # cut halfway through: a reconnect, then everything unacked again
    assert wait_for(lambda: rec.values() == [0, 0, 1])
    assert '"replay":"true"' not in rec.items[0]
    assert all('"replay":"true"' in item for item in rec.items[1:])


def test_a_payload_nested_too_deeply_is_reported_and_delivery_goes_on(
    client: PushClient, svc: IdigiService
) -> None:
    mid = client.create_monitor(["Test"])
    rec = Recorder()
    problems: list[BaseException] = []
    client.create_session(rec, mid, parsed=True, on_error=problems.append)
    assert svc.wait_connected(mid)
    deep = "[" * 100_000 + "]" * 100_000
    svc.send_raw(mid, codec.encode_publish_message(60000, deep, compression=1))
    assert wait_for(lambda: any("nested too deeply" in str(p) for p in problems))
    assert all(isinstance(p, errors.ProtocolError) for p in problems)
    publish_n(svc, 0, 1)
    assert wait_for(lambda: rec.values() == [0])
