"""DSYNC realtime requests end to end against the sandbox over real TLS."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest

import ferrolink.sandbox
from ferrolink import dsync
from ferrolink.dsync import realtime as realtime_module
from ferrolink.errors import ConnectError, InvalidArgumentError, TimeoutError
from ferrolink.sandbox.dsync import DsyncService


@pytest.fixture(scope="module")
def sb() -> Iterator[ferrolink.sandbox.Sandbox]:
    with ferrolink.sandbox.start(["dsync", "echo"]) as running:
        yield running


@pytest.fixture
def service(sb: ferrolink.sandbox.Sandbox) -> Iterator[DsyncService]:
    svc = cast(DsyncService, sb.service("dsync"))
    svc.reset()
    yield svc
    svc.reset()


@pytest.fixture
def request_(
    sb: ferrolink.sandbox.Sandbox, service: DsyncService
) -> Iterator[dsync.RealtimeRequest]:
    creds = sb.credentials("dsync")
    with dsync.RealtimeRequest(
        creds["auth_token"], creds["entity_token"], base_url=sb.url("dsync"), ca_file=sb.ca_file
    ) as req:
        yield req


PRODUCT = {"sku": "ABC-123", "name": "Big product", "price": 9.5, "inventory": {"qty": 3}}


def test_create_update_delete_round_trip(
    request_: dsync.RealtimeRequest, service: DsyncService
) -> None:
    token = cast(str, request_.entity_token)
    created = request_.create(PRODUCT)
    assert created == {"status": 200, "message": "Record created", "detail": {}, "data": PRODUCT}
    assert service.records(token)["ABC-123"] == PRODUCT

    updated = request_.update({"sku": "ABC-123", "price": 12, "inventory": {"qty": 0}})
    assert updated["message"] == "Record updated"
    assert service.records(token)["ABC-123"] == {**PRODUCT, "price": 12, "inventory": {"qty": 0}}

    deleted = request_.delete("ABC-123")
    assert deleted["message"] == "Record deleted"
    assert "ABC-123" not in service.records(token)

    methods = [(e.method, e.body) for e in service.journal]
    assert methods == [
        ("POST", json.dumps(PRODUCT).encode()),
        ("PUT", json.dumps({"sku": "ABC-123", "price": 12, "inventory": {"qty": 0}}).encode()),
        ("DELETE", b""),
    ]


def test_wire_headers(request_: dsync.RealtimeRequest, service: DsyncService) -> None:
    request_.create(PRODUCT)
    request_.delete("ABC-123")
    post, delete = service.journal
    for entry in (post, delete):
        assert entry.headers["content-type"] == "application/json"
        assert entry.headers["auth-token"] == request_.auth_token
        assert entry.headers["entity-token"] == request_.entity_token
    assert "entity-id" not in post.headers
    assert delete.headers["entity-id"] == "ABC-123"
    assert delete.path == "/api/realtime"


def test_connections_are_reused(request_: dsync.RealtimeRequest, service: DsyncService) -> None:
    for i in range(3):
        request_.create({**PRODUCT, "sku": f"s{i}"})
    assert len({e.peer for e in service.journal}) == 1


def test_empty_dict_and_zero_id_are_sent_exactly(
    request_: dsync.RealtimeRequest, service: DsyncService
) -> None:
    with pytest.raises(dsync.RealtimeRequestException) as info:
        request_.create({})
    assert info.value.status_code == 422
    with pytest.raises(dsync.RealtimeRequestException) as info:
        request_.delete(0)
    assert info.value.status_code == 404
    assert str(info.value) == "404: No product record 0"
    post, delete = service.journal
    assert post.body == b"{}"
    assert delete.headers["entity-id"] == "0"


def test_update_error_message_surfaced(request_: dsync.RealtimeRequest) -> None:
    with pytest.raises(dsync.RealtimeRequestException) as info:
        request_.update({"sku": "missing", "price": 1})
    exc = info.value
    assert exc.status_code == 404
    assert exc.message == "No product record missing"
    assert str(exc) == "404: No product record missing"
    assert exc.body["status"] == 404


def test_bad_auth_token_is_401(sb: ferrolink.sandbox.Sandbox, service: DsyncService) -> None:
    creds = sb.credentials("dsync")
    req = dsync.RealtimeRequest(
        "wrong-key", creds["entity_token"], base_url=sb.url("dsync"), ca_file=sb.ca_file
    )
    with pytest.raises(dsync.RealtimeRequestException) as info:
        req.create(PRODUCT)
    assert info.value.status_code == 401
    assert str(info.value) == "401: Unauthorized"
    assert info.value.body == {"status": 401, "message": "Unauthorized", "detail": {}, "data": None}


def test_unknown_entity_token(sb: ferrolink.sandbox.Sandbox, service: DsyncService) -> None:
    creds = sb.credentials("dsync")
    req = dsync.RealtimeRequest(
        creds["auth_token"],
        dsync.generate_entity_token("product"),
        base_url=sb.url("dsync"),
        ca_file=sb.ca_file,
    )
    with pytest.raises(dsync.RealtimeRequestException, match="Unknown entity token") as info:
        req.create(PRODUCT)
    assert info.value.status_code == 404


def test_payload_violating_the_layout(
    request_: dsync.RealtimeRequest, service: DsyncService
) -> None:
    bad = {"sku": "X", "price": "cheap", "colour": "red", "tags": "a", "url": "ftp://x"}
    with pytest.raises(dsync.RealtimeRequestException) as info:
        request_.create(bad)
    exc = info.value
    assert exc.status_code == 422
    errors = exc.body["detail"]["errors"]
    assert 'price must be of type number, got "cheap"' in errors
    assert "colour is not a field of product" in errors
    assert "tags must be a list (the field is multiple)" in errors
    assert 'url must be of type url, got "ftp://x"' in errors
    assert "name is required" in errors
    assert "price must be of type number" in str(exc)
    nested = {"sku": "X", "name": "n", "inventory": {"qty": "many"}}
    with pytest.raises(
        dsync.RealtimeRequestException, match=r"inventory\.qty must be of type number"
    ):
        request_.create(nested)
    assert service.records(cast(str, request_.entity_token)) == {}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"auth_token": None}, "an auth token is required"),
        ({"auth_token": ""}, "an auth token is required"),
        ({"entity_token": None}, "an entity token is required"),
        ({"entity_token": "a\r\nX-Evil: 1"}, "entity_token must be printable ASCII"),
    ],
)
def test_refuses_to_send_without_tokens(
    request_: dsync.RealtimeRequest, service: DsyncService, change: dict[str, Any], message: str
) -> None:
    for key, value in change.items():
        setattr(request_, key, value)
    with pytest.raises(dsync.InvalidRealtimeRequest, match=message) as info:
        request_.create(PRODUCT)
    assert isinstance(info.value, dsync.RealtimeRequestException)
    assert isinstance(info.value, InvalidArgumentError)
    assert service.journal == []


@pytest.mark.parametrize("data", [None, [1, 2], "text", 3])
def test_data_must_be_a_dict(
    request_: dsync.RealtimeRequest, service: DsyncService, data: Any
) -> None:
    with pytest.raises(dsync.InvalidRealtimeRequest, match="needs the record as a dict"):
        request_.create(data)
    with pytest.raises(dsync.InvalidRealtimeRequest, match="update\\(\\) needs the record"):
        request_.update(data)
    assert service.journal == []


def test_unserialisable_data_and_missing_id(
    request_: dsync.RealtimeRequest, service: DsyncService
) -> None:
    with pytest.raises(dsync.InvalidRealtimeRequest, match="not JSON-serialisable"):
        request_.create({"sku": object()})
    with pytest.raises(dsync.InvalidRealtimeRequest, match="not JSON-serialisable"):
        request_.create({"price": float("nan")})
    for missing in (None, ""):
        with pytest.raises(dsync.InvalidRealtimeRequest, match="an entity id is required"):
            request_.delete(missing)  # type: ignore[arg-type]
    with pytest.raises(dsync.InvalidRealtimeRequest, match="entity_id must be a str or int"):
        request_.delete(1.5)  # type: ignore[arg-type]
    assert service.journal == []


@pytest.mark.parametrize("charset, status", [(True, 200), (False, 201), (True, 201)])
def test_any_2xx_and_json_with_parameters(
    request_: dsync.RealtimeRequest, service: DsyncService, charset: bool, status: int
) -> None:
    service.json_charset, service.success_status = charset, status
    reply = request_.create(PRODUCT)
    assert reply["status"] == status and reply["data"] == PRODUCT


def test_204_returns_none(request_: dsync.RealtimeRequest, service: DsyncService) -> None:
    service.success_status = 204
    assert request_.create(PRODUCT) is None
    assert request_.delete("ABC-123") is None


def test_error_with_charset_is_parsed(sb: ferrolink.sandbox.Sandbox, service: DsyncService) -> None:
    service.json_charset = True
    req = dsync.RealtimeRequest("nope", "x", base_url=sb.url("dsync"), ca_file=sb.ca_file)
    with pytest.raises(dsync.RealtimeRequestException, match=r"^401: Unauthorized$"):
        req.update(PRODUCT)


def test_text_replies(sb: ferrolink.sandbox.Sandbox) -> None:
    echo = sb.url("echo", "https")
    req = dsync.RealtimeRequest("a", "b", echo + "/status/500", ca_file=sb.ca_file)
    with pytest.raises(dsync.RealtimeRequestException) as info:
        req.create({})
    assert info.value.status_code == 500
    assert info.value.message == "There was an error making this realtime request."
    assert info.value.body == "status 500"
    req.set_realtime_url(echo + "/status/200")
    assert req.create({}) == "status 200"
    # realtime_endpoint is the full URL: no path appended
    req.set_realtime_url(echo + "/echo")
    assert req.update({"k": 1})["path"] == "/echo"


def test_connection_refused_is_chained(sb: ferrolink.sandbox.Sandbox) -> None:
    req = dsync.RealtimeRequest("a", "b", "https://127.0.0.1:1/api/realtime", ca_file=sb.ca_file)
    with pytest.raises(dsync.RealtimeRequestException) as info:
        req.create({"a": 1})
    assert info.value.status_code is None
    assert isinstance(info.value.__cause__, ConnectError)
    assert str(info.value) == str(info.value.__cause__)


def test_timeout(sb: ferrolink.sandbox.Sandbox, service: DsyncService) -> None:
    service.faults.delay = 0.5
    creds = sb.credentials("dsync")
    req = dsync.RealtimeRequest(
        creds["auth_token"],
        creds["entity_token"],
        base_url=sb.url("dsync"),
        ca_file=sb.ca_file,
        timeout=0.1,
    )
    with pytest.raises(dsync.RealtimeRequestException) as info:
        req.create(PRODUCT)
    assert isinstance(info.value.__cause__, TimeoutError)
    assert info.value.status_code is None
    # The server still handles the abandoned request after its delay: wait for it here, so it
    # cannot land in the next test's journal or consume that test's injected errors.
    deadline = time.monotonic() + 10
    while not service.journal and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(service.journal) == 1


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    monkeypatch.setattr(realtime_module.time, "sleep", recorded.append)
    return recorded


def retrying(sb: ferrolink.sandbox.Sandbox, retries: int) -> dsync.RealtimeRequest:
    creds = sb.credentials("dsync")
    return dsync.RealtimeRequest(
        creds["auth_token"],
        creds["entity_token"],
        base_url=sb.url("dsync"),
        ca_file=sb.ca_file,
        retries=retries,
        backoff=0.5,
    )


def test_put_and_delete_retry_on_503_and_429(
    sb: ferrolink.sandbox.Sandbox, service: DsyncService, sleeps: list[float]
) -> None:
    req = retrying(sb, 2)
    req.create(PRODUCT)
    service.fail_next(503, times=2)
    assert req.update({"sku": "ABC-123", "price": 1})["message"] == "Record updated"
    assert [e.status for e in service.journal] == [200, 503, 503, 200]
    assert sleeps == [0.5, 1.0]  # exponential backoff
    service.fail_next(429, retry_after="7")
    assert req.delete("ABC-123")["message"] == "Record deleted"
    assert sleeps[-1] == 7.0  # the server's Retry-After wins


def test_post_is_never_retried(
    sb: ferrolink.sandbox.Sandbox, service: DsyncService, sleeps: list[float]
) -> None:
    req = retrying(sb, 3)
    service.fail_next(503, message="busy")
    with pytest.raises(dsync.RealtimeRequestException, match=r"^503: busy$"):
        req.create(PRODUCT)
    assert len(service.journal) == 1 and sleeps == []


def test_no_retry_by_default_or_on_other_statuses(
    sb: ferrolink.sandbox.Sandbox,
    request_: dsync.RealtimeRequest,
    service: DsyncService,
    sleeps: list[float],
) -> None:
    service.fail_next(503)
    with pytest.raises(dsync.RealtimeRequestException, match=r"^503"):
        request_.update(PRODUCT)
    service.fail_next(500)
    with pytest.raises(dsync.RealtimeRequestException, match=r"^500"):
        retrying(sb, 3).update(PRODUCT)
    assert len(service.journal) == 2 and sleeps == []


def test_retries_exhausted(
    sb: ferrolink.sandbox.Sandbox, service: DsyncService, sleeps: list[float]
) -> None:
    service.fail_next(503, times=5, message="maintenance")
    with pytest.raises(dsync.RealtimeRequestException, match=r"^503: maintenance$"):
        retrying(sb, 2).delete("x")
    assert len(service.journal) == 3 and len(sleeps) == 2


def test_secrets_stay_out_of_messages_and_repr(
    sb: ferrolink.sandbox.Sandbox, request_: dsync.RealtimeRequest, service: DsyncService
) -> None:
    auth = cast(str, request_.auth_token)
    service.fail_next(400, message=f"bad key {auth}")
    with pytest.raises(dsync.RealtimeRequestException) as info:
        request_.create(PRODUCT)
    assert auth not in str(info.value) and "***" in str(info.value)
    assert auth not in repr(request_)
    assert cast(str, request_.entity_token) not in repr(request_)


def test_bad_options() -> None:
    with pytest.raises(InvalidArgumentError, match="retries"):
        dsync.RealtimeRequest("a", "b", retries=-1)
    with pytest.raises(InvalidArgumentError, match="not both"):
        dsync.RealtimeRequest("a", "b", "https://x/api/realtime", base_url="https://x")
    with pytest.raises(InvalidArgumentError, match="timeout"):
        dsync.RealtimeRequest("a", "b", timeout=-1)
    assert dsync.RealtimeRequest().realtime_endpoint == "https://api.dsync.com/api/realtime"


def test_start_endpoint(sb: ferrolink.sandbox.Sandbox) -> None:
    from ferrolink.http import Client

    with Client(ca_file=sb.ca_file) as client:
        assert client.get(sb.url("dsync") + "/start").status == 200
