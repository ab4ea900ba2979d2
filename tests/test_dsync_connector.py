"""The WSGI connector helper, served by wsgiref and driven by the sandbox platform."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, cast
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

import ferrolink.sandbox
from ferrolink import dsync
from ferrolink.errors import ConnectError, FerrolinkError
from ferrolink.sandbox.dsync import DsyncService, PlatformError

API_KEY = "connector-key-0123456789"


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def sb() -> Iterator[ferrolink.sandbox.Sandbox]:
    with ferrolink.sandbox.start(
        ["dsync"], options={"dsync": {"auth_tokens": [API_KEY]}}
    ) as running:
        yield running


def serve(app: Any) -> Iterator[str]:
    server: WSGIServer = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def build_layout(order_token: str) -> dsync.DataLayout:
    product = dsync.Endpoint(
        {
            "entity_name": "product",
            "treekey": "product",
            "endpoint_url": "/entity/product",
            "entity_token": dsync.generate_entity_token("product"),
        }
    )
    inventory = dsync.Field({"treekey": "product.inventory", "type": "object", "name": "inventory"})
    inventory.add_field(
        dsync.Field({"treekey": "product.inventory.qty", "type": "number", "name": "qty"})
    )
    product.add_fields(
        [
            dsync.Field(
                {
                    "treekey": "product.sku",
                    "type": "text",
                    "name": "sku",
                    "primary_key": True,
                    "required": True,
                }
            ),
            dsync.Field({"treekey": "product.released", "type": "date", "name": "released"}),
            inventory,
        ]
    )
    order = dsync.Endpoint(
        {
            "entity_name": "order",
            "treekey": "order",
            "endpoint_url": "http://127.0.0.1:9/elsewhere/order",  # absolute: resolved as-is
            "entity_token": order_token,
        }
    )
    order.add_field(
        dsync.Field({"treekey": "order.id", "type": "number", "name": "id", "primary_key": True})
    )
    layout = dsync.DataLayout()
    layout.add_endpoints([product, order])
    return layout


class Store:
    def __init__(self) -> None:
        self.products: dict[str, Any] = {"A": {"sku": "A", "inventory": {"qty": 1}}}


@pytest.fixture
def connector() -> Iterator[tuple[str, dsync.DataLayout, Store]]:
    layout = build_layout(dsync.generate_entity_token("order"))
    store = Store()
    app = dsync.Connector(layout, auth_token=API_KEY)

    @app.route("/entity/product", methods=["GET"])
    def list_products(request: dsync.ConnectorRequest) -> Any:
        return list(store.products.values())

    @app.route("/entity/product", methods=["POST"])
    def add_product(request: dsync.ConnectorRequest) -> Any:
        record = request.json()
        if not isinstance(record, dict) or "sku" not in record:
            raise dsync.ConnectorError(422, "a product needs a sku")
        store.products[record["sku"]] = record
        return record

    @app.route("/entity/product", methods=["DELETE"])
    def remove_product(request: dsync.ConnectorRequest) -> Any:
        return store.products.pop(request.entity_id or "", None)

    for url in serve(app):
        yield url, layout, store


def test_platform_fetches_validates_and_registers(
    sb: ferrolink.sandbox.Sandbox, connector: tuple[str, dsync.DataLayout, Store]
) -> None:
    url, layout, store = connector
    service = cast(DsyncService, sb.service("dsync"))
    platform = service.connect(url)
    assert platform.layout == layout.generate()
    assert platform.entity_url("product") == url + "/entity/product"
    assert platform.entity_url("order") == "http://127.0.0.1:9/elsewhere/order"

    # entity endpoints routed to the callbacks
    assert platform.call("product") == [{"sku": "A", "inventory": {"qty": 1}}]
    assert platform.call("product", "POST", {"sku": "B"}) == {"sku": "B"}
    assert platform.call("product", "DELETE", entity_id="A") == {
        "sku": "A",
        "inventory": {"qty": 1},
    }
    assert list(store.products) == ["B"]
    with pytest.raises(PlatformError, match="answered 422: a product needs a sku"):
        platform.call("product", "POST", {"name": "no sku"})
    with pytest.raises(PlatformError, match="answered 405"):
        platform.call("product", "PUT", {"sku": "B"})

    # the connector's entity tokens now work against the realtime API
    product_token = layout.endpoints[0].entity_token
    assert product_token is not None
    req = dsync.RealtimeRequest(
        API_KEY, product_token, base_url=sb.url("dsync"), ca_file=sb.ca_file
    )
    reply = req.create({"sku": "C", "released": "2018-01-05", "inventory": {"qty": 2}})
    assert reply["data"]["sku"] == "C"
    with pytest.raises(dsync.RealtimeRequestException, match="released must be of type date"):
        req.create({"sku": "D", "released": "yesterday"})
    assert service.records(product_token) == {
        "C": {"sku": "C", "released": "2018-01-05", "inventory": {"qty": 2}}
    }


def test_connector_checks_auth_token(
    sb: ferrolink.sandbox.Sandbox, connector: tuple[str, dsync.DataLayout, Store]
) -> None:
    url, _, _ = connector
    service = cast(DsyncService, sb.service("dsync"))
    with pytest.raises(PlatformError, match="answered 401: Unauthorized"):
        service.connect(url, auth_token="wrong")


def test_unknown_route_is_404(
    sb: ferrolink.sandbox.Sandbox, connector: tuple[str, dsync.DataLayout, Store]
) -> None:
    url, _, _ = connector
    from ferrolink.http import Client

    with Client() as client:
        reply = client.get(url + "/entity/nothing", headers={"Auth-Token": API_KEY})
        assert reply.status == 404
        assert reply.json() == {
            "status": 404,
            "message": "no entity endpoint at /entity/nothing",
            "detail": {},
            "data": None,
        }
        assert reply.headers["content-type"] == "application/json"
        reply = client.get(url + "/datalayout", headers={"Auth-Token": API_KEY})
        assert list(reply.json()) == ["status", "message", "detail", "data"]


@pytest.mark.parametrize(
    "breakage, problem",
    [
        (lambda e: e.fields.clear(), "an entity needs at least one field"),
        (lambda e: setattr(e.fields[0], "primary_key", False), "no field is marked primary_key"),
        (lambda e: setattr(e.fields[1], "treekey", "product.sku"), "the treekey is used twice"),
    ],
)
def test_platform_rejects_invalid_layouts(
    sb: ferrolink.sandbox.Sandbox, breakage: Any, problem: str
) -> None:
    layout = build_layout(dsync.generate_entity_token("order"))
    breakage(layout.endpoints[0])
    raw = layout.generate()  # served without the connector's own check, as a careless one would

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        import json

        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(dsync.layout_envelope(raw, validate=False)).encode()]

    service = cast(DsyncService, sb.service("dsync"))
    for url in serve(app):
        with pytest.raises(PlatformError, match=problem) as info:
            service.connect(url)
        assert any(problem in p for p in info.value.problems)


def test_connector_refuses_to_serve_an_invalid_layout(sb: ferrolink.sandbox.Sandbox) -> None:
    app = dsync.Connector(dsync.DataLayout(), auth_token=API_KEY)
    service = cast(DsyncService, sb.service("dsync"))
    for url in serve(app):
        with pytest.raises(PlatformError, match="answered 500: the data layout is invalid"):
            service.connect(url)


def test_entity_tokens_unique_across_systems(
    sb: ferrolink.sandbox.Sandbox, connector: tuple[str, dsync.DataLayout, Store]
) -> None:
    url, layout, _ = connector
    service = cast(DsyncService, sb.service("dsync"))
    service.connect(url, system="first")
    with pytest.raises(PlatformError, match="already used by system 'first'"):
        service.register_layout(layout.generate(), system="second")
    service.connect(url, system="first")  # the same system may re-register


def test_connector_arguments() -> None:
    with pytest.raises(ValueError, match="auth_token"):
        dsync.Connector(dsync.DataLayout(), auth_token="")


def test_connector_client_checks_a_connector_without_the_sandbox(
    connector: tuple[str, dsync.DataLayout, Store],
) -> None:
    url, layout, _ = connector
    with dsync.ConnectorClient(url, API_KEY) as platform:
        assert platform.fetch_layout() == layout.generate()
        assert platform.call("product", "POST", {"sku": "Z"}) == {"sku": "Z"}


def test_connector_client_unreachable_is_a_platform_error() -> None:
    platform = dsync.ConnectorClient("http://127.0.0.1:9", API_KEY, timeout=2)
    with platform, pytest.raises(FerrolinkError, match=r"GET \S+:9/datalayout failed") as info:
        platform.fetch_layout()
    assert isinstance(info.value, dsync.PlatformError)
    assert isinstance(info.value.__cause__, ConnectError)
