"""HEXONET benchmarks, side by side with the original SDK ``hexonet.apiconnector==4.0.2``.

- parse a small StatusAccount response into a Response and read it;
- parse a 1000-row list page and read every record (``getListHash``);
- sequential ``request()`` over keep-alive HTTPS to nginx serving the StatusAccount body, with
  the realistic trust store (system bundle + the bench CA), plus ferrolink's raw transport on
  the same requests (the HEXONET layer must add little);
- one IDN request (ferrolink: one round trip; the original: ConvertIDN + the command).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from ferrolink.hexonet.apiclient import APIClient
from ferrolink.hexonet.response import Response
from ferrolink.http import Client
from ferrolink.sandbox.nginx import find_nginx, nginx_server
from ferrolink.sandbox.tls import SandboxTLS

original = pytest.importorskip("hexonet.apiconnector.apiclient")
from hexonet.apiconnector.response import Response as OriginalResponse  # noqa: E402

SMALL = (
    b"[RESPONSE]\r\nCODE = 200\r\nDESCRIPTION = Command completed successfully\r\n"
    b"PROPERTY[AMOUNT][0] = 1000.00\r\nPROPERTY[CREDIT][0] = 0.00\r\n"
    b"PROPERTY[CURRENCY][0] = USD\r\nPROPERTY[DEPOSIT][0] = 0.00\r\nPROPERTY[VAT][0] = 19\r\n"
    b"QUEUETIME = 0\r\nRUNTIME = 0.004\r\nEOF\r\n"
)


def list_page(rows: int) -> bytes:
    lines = ["[RESPONSE]", "CODE = 200", "DESCRIPTION = Command completed successfully"]
    for name in ("DOMAIN", "CREATEDDATE", "EXPIRATIONDATE", "STATUS", "RENEWALMODE"):
        lines += [
            f"PROPERTY[{name}][{i}] = {name.lower()}-value-{i:06d}.example.com" for i in range(rows)
        ]
    lines += [
        f"PROPERTY[COUNT][0] = {rows}",
        "PROPERTY[FIRST][0] = 0",
        f"PROPERTY[LAST][0] = {rows - 1}",
        f"PROPERTY[LIMIT][0] = {rows}",
        "PROPERTY[TOTAL][0] = 100000",
        "QUEUETIME = 0",
        "RUNTIME = 0.2",
        "EOF",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


LARGE = list_page(1000)


def _run(benchmark: Any, group: str, peer: str, fn: Callable[[], Any], rounds: int = 0) -> None:
    benchmark.group = group
    benchmark.extra_info["peer"] = peer
    if rounds:
        benchmark.pedantic(fn, rounds=rounds, warmup_rounds=1, iterations=1)
    else:
        benchmark(fn)


@pytest.mark.parametrize("peer", ["ferrolink", "hexonet.apiconnector"])
def test_parse_small(benchmark: Any, peer: str) -> None:
    cls = Response if peer == "ferrolink" else OriginalResponse

    def parse() -> None:
        r = cls(SMALL)
        assert r.getCode() == 200
        r.getRecords()[0].getDataByKey("AMOUNT")

    _run(benchmark, "hexonet: small Response (5 properties) + read", peer, parse)


@pytest.mark.parametrize("peer", ["ferrolink", "hexonet.apiconnector"])
def test_parse_large(benchmark: Any, peer: str) -> None:
    cls = Response if peer == "ferrolink" else OriginalResponse

    def parse() -> None:
        r = cls(LARGE)
        assert len(r.getListHash()["LIST"]) == 1000

    _run(
        benchmark,
        "hexonet: 1000-row list page + every record",
        peer,
        parse,
        rounds=0 if peer == "ferrolink" else 5,
    )


BATCH = 20


@pytest.fixture(scope="module")
def api_url(bench_tls: SandboxTLS) -> Iterator[str]:
    if find_nginx() is None:
        pytest.skip("nginx is not installed")
    with nginx_server({"/api/call.cgi": (200, SMALL, "text/plain")}, bench_tls, workers=2) as base:
        yield base + "/api/call.cgi"


@pytest.fixture(scope="module")
def realistic_bundle(bench_tls: SandboxTLS, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The system trust store plus the bench CA, as the spec's "realistic" setting."""
    system = ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt"
    bundle = tmp_path_factory.mktemp("trust") / "bundle.pem"
    parts = [
        Path(system).read_bytes() if os.path.exists(system) else b"",
        Path(bench_tls.ca_file).read_bytes(),
    ]
    bundle.write_bytes(b"\n".join(parts))
    return str(bundle)


SEQ = f"hexonet: {BATCH} sequential request() HTTPS, realistic trust store"


def test_request_ferrolink(
    benchmark: Any, api_url: str, realistic_bundle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", realistic_bundle)
    cl = APIClient().setURL(api_url).setCredentials("test.user", "test.passw0rd")

    def batch() -> None:
        for _ in range(BATCH):
            assert cl.request({"COMMAND": "StatusAccount"}).getCode() == 200

    _run(benchmark, SEQ, "ferrolink", batch, rounds=15)


def test_request_raw_transport(
    benchmark: Any, api_url: str, realistic_bundle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", realistic_bundle)
    native = Client(trust_env=False).native
    body = b"s_entity=54cd&s_login=test.user&s_pw=test.passw0rd&s_command=COMMAND%3DStatusAccount"
    headers = [("Content-Type", "application/x-www-form-urlencoded")]

    def batch() -> None:
        for _ in range(BATCH):
            assert native.request("POST", api_url, headers, body, None)[0] == 200

    _run(benchmark, SEQ, "ferrolink raw transport (no HEXONET)", batch, rounds=15)


def test_request_original(
    benchmark: Any, api_url: str, realistic_bundle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", realistic_bundle)
    cl = original.APIClient()
    cl.setURL(api_url)
    cl.setCredentials("test.user", "test.passw0rd")

    def batch() -> None:
        for _ in range(BATCH):
            assert cl.request({"COMMAND": "StatusAccount"}).getCode() == 200

    _run(benchmark, SEQ, "hexonet.apiconnector", batch, rounds=3)


IDN = "hexonet: one CheckDomains request with an IDN, HTTPS"


@pytest.mark.parametrize("peer", ["ferrolink", "hexonet.apiconnector"])
def test_idn_request(
    benchmark: Any, peer: str, api_url: str, realistic_bundle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", realistic_bundle)
    cl: Any = APIClient() if peer == "ferrolink" else original.APIClient()
    cl.setURL(api_url)
    cl.setCredentials("test.user", "test.passw0rd")

    def call() -> None:
        assert (
            cl.request({"COMMAND": "CheckDomains", "DOMAIN": ["dömäin.example"]}).getCode() == 200
        )

    _run(benchmark, IDN, peer, call, rounds=20 if peer == "ferrolink" else 5)
