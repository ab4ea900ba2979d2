"""The EXP part of ``ferrolink demo``: the original SDK's flows against the sandbox emulator."""

from __future__ import annotations

import asyncio
import queue
import time
from typing import Any

from ..demo import Report
from ..sandbox import Sandbox
from . import AsyncExp, AuthenticationError, Experience, start

__all__ = ["demo"]


def demo(sb: Sandbox, report: Report) -> None:
    creds = sb.credentials("exp")
    common: dict[str, Any] = {"host": sb.url("exp"), "ca_file": sb.ca_file}
    user = start(
        **common,
        username=creds["username"],
        password=creds["password"],
        organization=creds["organization"],
    )
    device = start(
        **common, uuid=creds["device_uuid"], secret=creds["device_secret"], websocket=False
    )
    try:
        report.step("user login + event bus", f"online over {user.bus.transport}")
        report.step("device login (HS256 JWT)", f"online over {device.bus.transport}")
        try:
            start(**common, username=creds["username"], password="wrong", organization="scala")
            raise AssertionError("bad credentials were accepted")
        except AuthenticationError:
            report.step("bad credentials", "AuthenticationError from start()")

        players = user.api.find_devices(subtype="scala:device:player", limit=1)
        report.step("find_devices with filter + limit", f"{len(players)} of {players.total}")
        created = user.api.create_device({"name": "Demo Player"})
        created.document.name = "Renamed Player"
        created.save()
        created.delete()
        assert user.api.get_device(created.uuid) is None
        report.step("create / save (PATCH) / delete / get -> None", str(created.uuid))

        root = user.api.find_content(name="Demo")[0]
        children = root.get_children()
        urls = [c.get_url() for c in children if c.get_url()]
        report.step("content tree + delivery URLs", f"{len(children)} children, {len(urls)} URLs")

        user.api.create_data(key="greeting", group="demo", value={"text": "hello"})
        data = user.api.get_data("greeting", "demo")
        assert data is not None and data.value == {"text": "hello"}
        report.step("data store put/get", f"demo/greeting = {data.value}")

        heard: queue.Queue[Any] = queue.Queue()
        device.channels.organization.listen("hello", heard.put)
        started = time.perf_counter()
        user.channels.organization.broadcast("hello", {"from": "user"})
        payload = heard.get(timeout=5)
        took = (time.perf_counter() - started) * 1000
        report.step("broadcast (WebSocket) -> listener (polling)", f"{payload} in {took:.1f} ms")

        device.channels.experience.respond("sendMeMoney", lambda p: {"sent": p})
        player = user.api.get_device(creds["device_uuid"])
        experience = player.get_experience() if player else None
        started = time.perf_counter()
        answer = user.channels.experience_of(experience).request(
            name="sendMeMoney", target={"device": creds["device_uuid"]}, payload=5
        )
        took = (time.perf_counter() - started) * 1000
        report.step(
            "request -> the device's experience responder",
            f"{answer} in {took:.1f} ms (10 s window)",
        )
        answer = asyncio.run(_async_request(common, creds, experience))
        report.step("the same request from the asyncio runtime", str(answer))

        flung: queue.Queue[Any] = queue.Queue()
        device.channels.organization.listen("fling", flung.put)
        user.channels.organization.fling("content-uuid")
        report.step("fling reaches the player", str(flung.get(timeout=5)))

        service: Any = sb.service("exp")
        before = device.bus.connects
        report.note("injecting a fault: the server drops every event-bus socket")
        service.drop_sockets()
        deadline = time.monotonic() + 10
        while not (device.is_connected and device.bus.connects > before):
            if time.monotonic() > deadline:
                raise AssertionError("the event bus did not reconnect")
            time.sleep(0.05)
        channel_id = device.fixed_channel("organization").id
        if not device.bus.wait_subscribed(channel_id, 5):
            raise AssertionError("the event bus did not resubscribe")
        user.channels.organization.broadcast("hello", "after reconnect")
        report.step("expected reconnect + resubscribe", str(heard.get(timeout=5)))
    finally:
        user.stop()
        device.stop()


async def _async_request(
    common: dict[str, Any], creds: dict[str, str], experience: Experience | None
) -> Any:
    async with AsyncExp(
        **common,
        username=creds["username"],
        password=creds["password"],
        organization=creds["organization"],
        experience=experience,
    ) as sdk:
        return await sdk.channels.experience.request("sendMeMoney", payload=6)
