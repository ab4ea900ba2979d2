"""The DSYNC part of ``ferrolink demo``: layout, connector, platform check, realtime calls."""

from __future__ import annotations

import threading
import time
from typing import Any, cast
from wsgiref.simple_server import WSGIRequestHandler, make_server

from ..demo import Report
from ..sandbox import Sandbox
from .connector import Connector
from .data_layout import DataLayout, Endpoint, Field
from .entity_token import generate_entity_token
from .realtime import RealtimeRequest, RealtimeRequestException

__all__ = ["demo"]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _layout() -> DataLayout:
    endpoint = Endpoint(
        {
            "entity_name": "product",
            "treekey": "product",
            "endpoint_url": "/entity/product",
            "entity_token": generate_entity_token("product"),
        }
    )
    inventory = Field(
        {"treekey": "product.inventory", "type": Field.TYPE_OBJECT, "name": "inventory"}
    )
    inventory.add_field(
        Field({"treekey": "product.inventory.qty", "type": Field.TYPE_NUMBER, "name": "qty"})
    )
    endpoint.add_fields(
        [
            Field(
                {
                    "treekey": "product.sku",
                    "type": Field.TYPE_TEXT,
                    "name": "sku",
                    "primary_key": True,
                    "required": True,
                }
            ),
            Field({"treekey": "product.name", "type": Field.TYPE_TEXT, "name": "name"}),
            inventory,
        ]
    )
    return DataLayout().add_endpoint(endpoint)


def demo(sb: Sandbox, report: Report) -> None:
    service: Any = sb.service("dsync")
    api_key = sb.credentials("dsync")["auth_token"]
    layout = _layout()
    layout.validate()
    token = cast(str, layout.endpoints[0].entity_token)
    report.step("data layout built and validated", f"product with 3 fields, token {token[:24]}...")

    connector = Connector(layout, auth_token=api_key)
    connector.add_route("/entity/product", lambda request: [{"sku": "A-1"}], ["GET"])
    server = make_server("127.0.0.1", 0, connector, handler_class=_QuietHandler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    try:
        platform = service.connect(f"http://127.0.0.1:{server.server_port}", api_key)
        report.step(
            "WSGI connector served /datalayout", "the sandbox platform fetched and accepted it"
        )
        report.step(
            "platform read an entity endpoint", f"GET /entity/product -> {platform.call('product')}"
        )
    finally:
        server.shutdown()
        server.server_close()

    with RealtimeRequest(api_key, token, base_url=sb.url("dsync"), ca_file=sb.ca_file) as request:
        created = request.create({"sku": "A-1", "name": "Anvil", "inventory": {"qty": 3}})
        report.step("create (POST)", f"{created['status']} {created['message']}")
        updated = request.update({"sku": "A-1", "inventory": {"qty": 2}})
        report.step(
            "update (PUT with the body)",
            f"{updated['message']}: qty={updated['data']['inventory']['qty']}",
        )
        deleted = request.delete("A-1")
        report.step("delete (Entity-Id: A-1)", deleted["message"])
        try:
            request.create({"sku": "A-2", "inventory": {"qty": "lots"}})
        except RealtimeRequestException as exc:
            report.step("payload checked against the layout", str(exc))
        else:
            raise AssertionError("the sandbox accepted a record that violates the layout")
        n = 200
        started = time.perf_counter()
        for i in range(n):
            request.create({"sku": f"B-{i}", "name": "bulk"})
        elapsed = time.perf_counter() - started
        report.step(
            "pooled TLS connection",
            f"{n} creates in {elapsed * 1000:.0f} ms ({n / elapsed:,.0f}/s)",
        )

    stranger = RealtimeRequest("wrong-key", token, base_url=sb.url("dsync"), ca_file=sb.ca_file)
    try:
        stranger.create({"sku": "X"})
    except RealtimeRequestException as exc:
        report.step("bad API key refused", str(exc))
    else:
        raise AssertionError("the sandbox accepted a bad API key")
    finally:
        stranger.close()
