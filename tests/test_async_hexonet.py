"""HEXONET AsyncAPIClient against the sandbox emulator over real TLS, mirroring the sync tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

import ferrolink.sandbox
from ferrolink.hexonet import APIClient, AsyncAPIClient
from ferrolink.sandbox.hexonet import HexonetService


@pytest.fixture(scope="module")
def sb() -> Iterator[ferrolink.sandbox.Sandbox]:
    with ferrolink.sandbox.start(
        ["hexonet"], options={"hexonet": {"portfolio_size": 2500}}
    ) as running:
        yield running


@pytest.fixture
def emulator(sb: ferrolink.sandbox.Sandbox) -> HexonetService:
    service = sb.service("hexonet")
    assert isinstance(service, HexonetService)
    service.reset()
    return service


@pytest.fixture
def url(sb: ferrolink.sandbox.Sandbox, emulator: HexonetService) -> str:
    return sb.url("hexonet", "https") + "/api/call.cgi"


def _client(sb: ferrolink.sandbox.Sandbox, url: str, **options: float) -> AsyncAPIClient:
    client = AsyncAPIClient(ca_file=sb.ca_file, **options)  # type: ignore[arg-type]
    return client.setURL(url).setCredentials("test.user", "test.passw0rd")


def test_same_wire_request_and_response_as_the_sync_client(
    sb: ferrolink.sandbox.Sandbox, url: str, emulator: HexonetService
) -> None:
    cmd = {"COMMAND": "CheckDomains", "DOMAIN": ["free-name.com", "dömäin.example"]}
    sync = APIClient(ca_file=sb.ca_file).setURL(url).setCredentials("test.user", "test.passw0rd")
    expected = sync.request(cmd)
    sync_sent = emulator.requests[-1]

    async def main() -> None:
        async with _client(sb, url) as client:
            response = await client.request(cmd)
            assert (response.getCode(), response.getDescription()) == (
                expected.getCode(),
                expected.getDescription(),
            )
            assert [r.getData() for r in response.getRecords()] == [
                r.getData() for r in expected.getRecords()
            ]
            assert response.getCommand() == expected.getCommand()
            assert response.getHTTPStatus() == 200 and response.getError() is None

    asyncio.run(main())
    sent = emulator.requests[-1]
    assert sent["body"] == sync_sent["body"]  # IDN converted locally: one request each
    assert sent["command"]["DOMAIN1"] == "xn--dmin-moa0i.example"
    assert {k.lower(): v for k, v in sent["headers"].items()}["user-agent"] == sync.getUserAgent()


def test_login_logout_and_paging(sb: ferrolink.sandbox.Sandbox, url: str) -> None:
    async def main() -> None:
        async with _client(sb, url) as client:
            login = await client.loginExtended({"TIMEOUT": 120})
            assert login.isSuccess() and client.getSession()
            pages = await client.requestAllResponsePages(
                {"COMMAND": "QueryDomainList", "LIMIT": 1000, "WIDE": 1}
            )
            assert [p.getRecordsCount() for p in pages] == [1000, 1000, 500]
            first = await client.request({"COMMAND": "QueryDomainList", "LIMIT": 2})
            nxt = await client.requestNextResponsePage(first)
            assert nxt is not None and nxt.getPagination()["CURRENTPAGE"] == 2
            with pytest.raises(Exception, match="Parameter LAST in use"):
                await client.requestNextResponsePage(
                    await client.request({"COMMAND": "QueryDomainList", "LAST": 3})
                )
            assert (await client.logout()).isSuccess() and client.getSession() is None
            assert (await client.login()).getCode() == 530  # logout dropped the credentials

    asyncio.run(main())


def test_server_idn_conversion_awaits_convert_idn(
    sb: ferrolink.sandbox.Sandbox, url: str, emulator: HexonetService
) -> None:
    async def main() -> None:
        async with _client(sb, url) as client:
            client.setIDNConversion("server")
            await client.request({"COMMAND": "CheckDomains", "DOMAIN": ["äöütest.com"]})

    before = len(emulator.requests)
    asyncio.run(main())
    assert len(emulator.requests) == before + 2
    assert emulator.requests[-2]["command"] == {"COMMAND": "ConvertIDN", "DOMAIN0": "äöütest.com"}
    assert emulator.requests[-1]["command"]["DOMAIN0"] == "xn--test-koa2iub.com"


@pytest.mark.parametrize(
    ("fault", "code", "status"),
    [("status:500", 421, 500), ("redirect:302", 421, 302), ("redirect:307", 200, 200)],
)
def test_faults_give_the_same_responses(
    sb: ferrolink.sandbox.Sandbox,
    url: str,
    emulator: HexonetService,
    fault: str,
    code: int,
    status: int,
) -> None:
    async def main() -> tuple[int, int | None]:
        async with _client(sb, url) as client:
            emulator.inject(fault)
            r = await client.request({"COMMAND": "StatusAccount"})
            return r.getCode(), r.getHTTPStatus()

    assert asyncio.run(main()) == (code, status)


def test_transport_faults_timeouts_and_server_drop(
    sb: ferrolink.sandbox.Sandbox, url: str, emulator: HexonetService
) -> None:
    async def main() -> None:
        async with _client(sb, url, timeout=0.3) as client:
            emulator.faults.truncate_next = 1  # the server drops the connection mid-reply
            dropped = await client.request({"COMMAND": "StatusAccount"})
            assert dropped.getCode() == 421 and dropped.getHTTPStatus() is None
            emulator.faults.delay = 1.0
            started = time.monotonic()
            try:
                slow = await client.request({"COMMAND": "StatusAccount"})
            finally:
                emulator.faults.delay = 0.0
            assert time.monotonic() - started < 0.6
            assert slow.getCode() == 421 and "tim" in (slow.getError() or "").lower()
            refused = await AsyncAPIClient().setURL("https://127.0.0.1:9/x").request("COMMAND=X")
            assert refused.getCode() == 421
            untrusted = await AsyncAPIClient().setURL(url).request({"COMMAND": "StatusAccount"})
            assert "certificate" in (untrusted.getError() or "").lower()
            assert (await client.request({"COMMAND": "StatusAccount"})).isSuccess()

    asyncio.run(main())


def test_cancelled_request_and_concurrent_requests(
    sb: ferrolink.sandbox.Sandbox, url: str, emulator: HexonetService
) -> None:
    async def main() -> None:
        async with _client(sb, url) as client:
            emulator.faults.delay = 0.5
            task = asyncio.ensure_future(client.request({"COMMAND": "StatusAccount"}))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            emulator.faults.delay = 0.0
            replies = await asyncio.gather(
                *(
                    client.request({"COMMAND": "CheckDomain", "DOMAIN": f"free-{i}.com"})
                    for i in range(40)
                )
            )
            assert [r.getCode() for r in replies] == [210] * 40

    asyncio.run(main())
