"""``ferrolink.http.AsyncClient`` end to end: real TLS on loopback, on asyncio's loop and uvloop."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, Callable, TypeVar

import pytest

import ferrolink.sandbox
from ferrolink import errors
from ferrolink.http import AsyncClient, Client
from ferrolink.sandbox.echo import EchoService, pattern_bytes
from ferrolink.sandbox.ports import free_port
from test_proxy import tinyproxy  # noqa: F401  (the fixture: a real tinyproxy on loopback)

T = TypeVar("T")
Runner = Callable[[Coroutine[Any, Any, T]], T]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Runner[Any]:
    """Run a coroutine to completion on a fresh loop of the given kind."""
    if request.param == "uvloop":
        import uvloop

        return uvloop.run  # type: ignore[no-any-return]
    return asyncio.run


def _client(sb: ferrolink.sandbox.Sandbox, **options: Any) -> AsyncClient:
    return AsyncClient(ca_file=sb.ca_file, trust_env=False, **options)


def test_round_trip_every_method_and_body_kind(
    run: Runner[None], echo_sandbox: ferrolink.sandbox.Sandbox
) -> None:
    url = echo_sandbox.url("echo", "https") + "/echo"

    async def main() -> None:
        async with _client(echo_sandbox) as client:
            reply = await client.post(url, json={"a": 1}, headers={"X-Request-Id": "abc"})
            assert reply.status == 200 and reply.ok
            data = reply.json()
            assert (data["id"], data["method"], data["body"]) == ("abc", "POST", '{"a":1}')
            assert data["content_type"] == "application/json"
            assert reply.headers["X-REQUEST-ID"] == "abc"
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                assert (await client.request(method, url)).json()["method"] == method
            assert (await client.post(url)).json()["length"] == 0
            assert (await client.patch(url, body=b"\x00\xff")).json()["length"] == 2
            put = await client.put(url, body="text é")
            assert put.json()["body"] == "text é".encode().decode("latin-1")
            form = (await client.delete(url, form={"a": "1 2", "b": "&"})).json()
            assert form["content_type"] == "application/x-www-form-urlencoded"

    run(main())


def test_concurrent_requests_get_their_own_responses(
    run: Runner[None], echo_sandbox: ferrolink.sandbox.Sandbox
) -> None:
    url = echo_sandbox.url("echo", "https") + "/echo"

    async def one(client: AsyncClient, rid: str) -> None:
        data = (await client.post(url, body=rid, headers={"X-Request-Id": rid})).json()
        assert (data["id"], data["body"]) == (rid, rid)

    async def main() -> None:
        async with _client(echo_sandbox, max_connections=8) as client:
            await asyncio.gather(*(one(client, str(i)) for i in range(300)))

    run(main())


def test_large_body_arrives_intact(echo_sandbox: ferrolink.sandbox.Sandbox) -> None:
    size = 20 * 1024 * 1024

    async def main() -> bytes:
        async with _client(echo_sandbox) as client:
            return (await client.get(echo_sandbox.url("echo", "https") + f"/bytes/{size}")).body

    assert asyncio.run(main()) == pattern_bytes(size)


def _sync_and_async_error(url: str, **options: Any) -> tuple[BaseException, BaseException]:
    with (
        Client(trust_env=False, **options) as sync_client,
        pytest.raises(errors.FerrolinkError) as sync_info,
    ):
        sync_client.get(url)

    async def main() -> None:
        async with AsyncClient(trust_env=False, **options) as client:
            await client.get(url)

    with pytest.raises(errors.FerrolinkError) as async_info:
        asyncio.run(main())
    return sync_info.value, async_info.value


@pytest.mark.parametrize(
    "case", ["refused", "unknown CA", "no scheme", "bad scheme", "bad character", "bad method"]
)
def test_errors_match_the_sync_client(case: str, echo_sandbox: ferrolink.sandbox.Sandbox) -> None:
    urls = {
        "refused": f"http://127.0.0.1:{free_port()}/",
        "unknown CA": echo_sandbox.url("echo", "https") + "/echo",
        "no scheme": "not a url at all",
        "bad scheme": "ftp://127.0.0.1/x",
        "bad character": "http://127.0.0.1/a b",
    }
    if case == "bad method":
        with (
            Client(trust_env=False) as sync_client,
            pytest.raises(errors.FerrolinkError) as sync_info,
        ):
            sync_client.request("BAD METHOD", "http://127.0.0.1:9/")

        async def main() -> None:
            async with AsyncClient(trust_env=False) as client:
                await client.request("BAD METHOD", "http://127.0.0.1:9/")

        with pytest.raises(errors.FerrolinkError) as async_info:
            asyncio.run(main())
        sync_error, async_error = sync_info.value, async_info.value
    else:
        sync_error, async_error = _sync_and_async_error(urls[case])
    assert type(async_error) is type(sync_error)
    assert str(async_error) == str(sync_error)
    assert async_error.host == sync_error.host  # type: ignore[attr-defined]


def test_timeout_matches_the_sync_client_and_fires_on_time(
    run: Runner[None], echo_sandbox: ferrolink.sandbox.Sandbox
) -> None:
    url = echo_sandbox.url("echo", "https") + "/delay/5000"
    with (
        Client(ca_file=echo_sandbox.ca_file, trust_env=False) as sync_client,
        pytest.raises(errors.TimeoutError) as sync_info,
    ):
        sync_client.get(url, timeout=0.3)

    async def main() -> None:
        async with _client(echo_sandbox) as client:
            for configured in (0.4, 0.8):
                started = time.monotonic()
                with pytest.raises(errors.TimeoutError) as info:
                    await client.get(url, timeout=configured)
                assert time.monotonic() - started < configured * 1.5
                assert isinstance(info.value, TimeoutError)
                assert str(info.value) == str(sync_info.value)

    run(main())


def test_read_timeout_from_client_settings(echo_sandbox: ferrolink.sandbox.Sandbox) -> None:
    async def main() -> None:
        async with _client(echo_sandbox, read_timeout=0.3) as client:
            started = time.monotonic()
            with pytest.raises(errors.TimeoutError):
                await client.get(echo_sandbox.url("echo", "https") + "/delay/3000")
            assert time.monotonic() - started < 0.45

    asyncio.run(main())


def test_cancelled_request_never_leaves_its_connection_in_the_pool(
    run: Runner[None], echo_sandbox: ferrolink.sandbox.Sandbox
) -> None:
    base = echo_sandbox.url("echo", "https")

    async def main() -> None:
        # One pooled connection at most: were the cancelled one reused, the next request
        # would read the slow reply still on its way.
        async with _client(echo_sandbox, max_idle_per_host=1) as client:
            assert (await client.get(base + "/echo")).status == 200
            slow = asyncio.ensure_future(
                client.get(base + "/delay/400", headers={"X-Request-Id": "slow"})
            )
            await asyncio.sleep(0.1)
            slow.cancel()
            with pytest.raises(asyncio.CancelledError):
                await slow
            await asyncio.sleep(0.5)  # the slow reply would have arrived by now
            for i in range(3):
                reply = await client.post(
                    base + "/echo", body="x", headers={"X-Request-Id": str(i)}
                )
                assert reply.json()["id"] == str(i)

    run(main())


def test_wait_for_timeout_cancels_cleanly(echo_sandbox: ferrolink.sandbox.Sandbox) -> None:
    base = echo_sandbox.url("echo", "https")

    async def main() -> None:
        async with _client(echo_sandbox) as client:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(client.get(base + "/delay/2000"), 0.1)
            assert (await client.get(base + "/echo")).status == 200

    asyncio.run(main())


def test_server_faults_are_protocol_errors_and_the_pool_recovers(
    echo: EchoService, echo_sandbox: ferrolink.sandbox.Sandbox
) -> None:
    base = echo_sandbox.url("echo", "https")

    async def main() -> None:
        async with _client(echo_sandbox) as client:
            echo.faults.garbage_next = 1
            with pytest.raises(errors.ProtocolError):
                await client.get(base + "/echo")
            assert (await client.get(base + "/echo")).status == 200
            echo.faults.truncate_next = 1
            with pytest.raises(errors.ProtocolError):
                await client.get(base + "/bytes/100000")
            assert (await client.get(base + "/echo")).status == 200

    asyncio.run(main())


def test_stale_pooled_connections_are_invisible_and_posts_not_duplicated(
    echo: EchoService, echo_sandbox: ferrolink.sandbox.Sandbox
) -> None:
    url = echo_sandbox.url("echo", "https")
    before = echo.counts().get("POST", 0)

    async def main() -> int:
        closed = 0
        async with _client(echo_sandbox) as client:
            for _ in range(25):
                assert (await client.post(url + "/count")).status == 200
                await asyncio.sleep(0.02)
                closed += echo.close_idle_connections()
                await asyncio.sleep(0.02)
        return closed

    assert asyncio.run(main()) >= 20
    assert echo.counts()["POST"] - before == 25


def test_https_through_a_proxy_explicit_and_from_the_environment(
    tinyproxy: tuple[str, Path],  # noqa: F811
    echo_sandbox: ferrolink.sandbox.Sandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy, log = tinyproxy
    target = echo_sandbox.url("echo", "https")
    port = target.rsplit(":", 1)[1]

    async def main() -> None:
        async with AsyncClient(ca_file=echo_sandbox.ca_file, trust_env=False) as direct:
            assert (await direct.get(target + "/echo")).status == 200
        assert f"127.0.0.1:{port}" not in log.read_text()
        async with _client(echo_sandbox, proxy=proxy) as explicit:
            for i in range(3):
                reply = await explicit.post(target + "/echo", headers={"X-Request-Id": str(i)})
                assert reply.json()["id"] == str(i)
        assert f"127.0.0.1:{port}" in log.read_text()
        tunnels = log.read_text().count(f"127.0.0.1:{port}")
        monkeypatch.setenv("HTTPS_PROXY", proxy)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        async with AsyncClient(ca_file=echo_sandbox.ca_file) as excluded:
            assert (await excluded.get(target + "/echo")).status == 200
        assert log.read_text().count(f"127.0.0.1:{port}") == tunnels  # NO_PROXY honoured
        dead = f"http://user:hunter2@127.0.0.1:{free_port()}"
        async with _client(echo_sandbox, proxy=dead) as client:
            with pytest.raises(errors.ConnectError) as info:
                await client.get(target + "/echo")
        assert "hunter2" not in str(info.value)

    asyncio.run(main())


def test_credentials_never_in_error_messages() -> None:
    async def main() -> None:
        async with AsyncClient(trust_env=False) as client:
            await client.get(f"http://alice:s3cr3t-pw@127.0.0.1:{free_port()}/")

    with pytest.raises(errors.ConnectError) as info:
        asyncio.run(main())
    assert "s3cr3t-pw" not in str(info.value) and "alice" not in str(info.value)


def test_bad_arguments_and_closed_client() -> None:
    with pytest.raises(errors.InvalidArgumentError):
        AsyncClient(timeout=-1)

    async def main() -> None:
        client = AsyncClient(trust_env=False)
        with pytest.raises(errors.InvalidArgumentError, match="only one of"):
            await client.post("http://127.0.0.1:9/", body=b"x", json={})
        with pytest.raises(errors.InvalidArgumentError, match="header"):
            await client.get("http://127.0.0.1:9/", headers={"X": 1})  # type: ignore[dict-item]
        await client.aclose()
        assert "closed" in repr(client)
        with pytest.raises(errors.InvalidArgumentError, match="closed"):
            await client.get("http://127.0.0.1:9/")

    asyncio.run(main())


def test_one_client_serves_successive_loops(echo_sandbox: ferrolink.sandbox.Sandbox) -> None:
    client = _client(echo_sandbox)
    url = echo_sandbox.url("echo", "https") + "/echo"

    async def main() -> int:
        return (await client.get(url)).status

    assert asyncio.run(main()) == 200
    assert asyncio.run(main()) == 200


SHUTDOWN_SCRIPT = """
import asyncio, sys
from ferrolink.http import AsyncClient

async def main():
    client = AsyncClient(ca_file=sys.argv[2], trust_env=False)
    await client.get(sys.argv[1] + "/echo")
    # Left open, with requests in flight, when the loop and then the interpreter go away.
    for _ in range(20):
        asyncio.ensure_future(client.get(sys.argv[1] + "/delay/3000"))
    await asyncio.sleep(0.1)
    print("done", flush=True)

if sys.argv[3] == "uvloop":
    import uvloop
    uvloop.run(main())
else:
    asyncio.run(main())
"""


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_interpreter_exits_cleanly_with_requests_in_flight(
    loop: str, echo_sandbox: ferrolink.sandbox.Sandbox, tmp_path: Path
) -> None:
    script = tmp_path / "leave_open.py"
    script.write_text(textwrap.dedent(SHUTDOWN_SCRIPT))
    url = echo_sandbox.url("echo", "https")
    result = subprocess.run(
        [sys.executable, "-W", "error", str(script), url, str(echo_sandbox.ca_file), loop],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"
    assert result.stderr == ""
