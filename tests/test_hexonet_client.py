"""HEXONET APIClient end to end against the sandbox emulator over real TLS."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any, Optional

import pytest

import ferrolink.sandbox
from ferrolink.hexonet import APIClient, Response
from ferrolink.hexonet.customlogger import CustomLogger
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


@pytest.fixture
def cl(sb: ferrolink.sandbox.Sandbox, url: str) -> APIClient:
    return APIClient(ca_file=sb.ca_file).setURL(url).setCredentials("test.user", "test.passw0rd")


def test_status_account(cl: APIClient, emulator: HexonetService) -> None:
    r = cl.request({"COMMAND": "StatusAccount"})
    assert (r.getCode(), r.isSuccess(), r.getHTTPStatus(), r.getError()) == (200, True, 200, None)
    record = r.getRecord(0)
    assert record is not None and record.getDataByKey("CURRENCY") == "USD"
    sent = emulator.requests[-1]
    assert (
        sent["body"]
        == b"s_entity=54cd&s_login=test.user&s_pw=test.passw0rd&s_command=COMMAND%3DStatusAccount"
    )
    headers = {k.lower(): v for k, v in sent["headers"].items()}
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert headers["accept-encoding"] == "identity"
    assert headers["user-agent"] == cl.getUserAgent()
    assert headers.get("connection", "keep-alive").lower() != "close"


def test_login_logout_and_session_reuse(
    cl: APIClient, sb: ferrolink.sandbox.Sandbox, url: str
) -> None:
    r = cl.loginExtended({"TIMEOUT": 120})
    session = cl.getSession()
    assert r.isSuccess() and session
    assert cl.getPOSTData("").startswith(f"s_entity=54cd&s_session={session}&")
    store: dict[str, Any] = {}
    cl.saveSession(store)
    other = APIClient(ca_file=sb.ca_file).setURL(url).reuseSession(store)
    assert other.request({"COMMAND": "StatusAccount"}).isSuccess()
    assert cl.logout().isSuccess() and cl.getSession() is None
    expired = other.request({"COMMAND": "StatusAccount"})
    assert (expired.getCode(), expired.getDescription()) == (530, "SESSION NOT FOUND")
    assert cl.loginExtended({"TIMEOUT": 5}).getCode() == 530  # logout dropped the credentials
    cl.setCredentials("test.user", "test.passw0rd")
    assert cl.loginExtended({"TIMEOUT": 5}).getCode() == 541


def test_authentication_variants(sb: ferrolink.sandbox.Sandbox, url: str) -> None:
    def status(setup: Any) -> Response:
        client = setup(APIClient(ca_file=sb.ca_file).setURL(url))
        response: Response = client.request({"COMMAND": "StatusAccount"})
        return response

    assert status(lambda c: c.setCredentials("test.user", "wrong")).getCode() == 530
    assert status(lambda c: c).getCode() == 530
    assert status(lambda c: c.setCredentials("otp.user", "otp.passw0rd")).getDescription() == (
        "Authentication failed; OTP"
    )
    assert status(
        lambda c: c.setCredentials("otp.user", "otp.passw0rd").setOTP("123456")
    ).isSuccess()
    assert status(lambda c: c.setCredentials("ipfilter.user", "ipfilter.passw0rd")).getCode() == 530
    assert status(
        lambda c: c.setCredentials("ipfilter.user", "ipfilter.passw0rd").setRemoteIPAddress(
            "10.10.10.10"
        )
    ).isSuccess()
    assert status(
        lambda c: c.useOTESystem().setURL(url).setCredentials("test.user", "test.passw0rd")
    ).isSuccess()
    otp = APIClient(ca_file=sb.ca_file).setURL(url).setCredentials("otp.user", "otp.passw0rd")
    assert otp.login("123456").isSuccess()
    assert otp.request({"COMMAND": "StatusAccount"}).isSuccess()


def test_role_and_user_view(sb: ferrolink.sandbox.Sandbox, url: str, cl: APIClient) -> None:
    role = (
        APIClient(ca_file=sb.ca_file)
        .setURL(url)
        .setRoleCredentials("test.user", "readonly", "role.passw0rd")
    )
    assert role.request({"COMMAND": "QueryDomainList", "LIMIT": 1}).isSuccess()
    denied = role.request({"COMMAND": "AddDomain", "DOMAIN": "new-one.com"})
    assert denied.getCode() == 531
    cl.setUserView("test.subuser")
    r = cl.request({"COMMAND": "QueryDomainList"})
    assert r.getColumnIndex("DOMAIN", 0) == "subuser-example.com" and r.getRecordsTotalCount() == 1
    assert cl.setUserView("nobody").request({"COMMAND": "StatusAccount"}).getCode() == 531
    assert cl.resetUserView().request({"COMMAND": "QueryDomainList"}).getRecordsTotalCount() == 2500


def test_domain_lifecycle_and_error_codes(cl: APIClient) -> None:
    assert cl.request({"COMMAND": "NoSuchCommand"}).getCode() == 500
    assert cl.request({"COMMAND": "AddDomain"}).getCode() == 504
    assert cl.request({"COMMAND": "AddDomain", "DOMAIN": "bad_name.com"}).getCode() == 541
    added = cl.request(
        {
            "COMMAND": "AddDomain",
            "DOMAIN": "ferrolink-test.com",
            "PERIOD": 2,
            "NAMESERVER": ["ns1.a.net", "ns2.a.net"],
        }
    )
    assert added.isSuccess()
    assert cl.request({"COMMAND": "AddDomain", "DOMAIN": "ferrolink-test.com"}).getCode() == 540
    assert cl.request({"COMMAND": "AddDomain", "DOMAIN": "google.com"}).getCode() == 549
    status = cl.request({"COMMAND": "StatusDomain", "DOMAIN": "ferrolink-test.com"})
    nameservers = status.getColumn("NAMESERVER")
    assert nameservers is not None and nameservers.getData() == ["ns1.a.net", "ns2.a.net"]
    assert cl.request(
        {"COMMAND": "ModifyDomain", "DOMAIN": "ferrolink-test.com", "RENEWALMODE": "AUTORENEW"}
    ).isSuccess()
    assert (
        cl.request(
            {"COMMAND": "ModifyDomain", "DOMAIN": "ferrolink-test.com", "RENEWALMODE": "x"}
        ).getCode()
        == 541
    )
    assert cl.request({"COMMAND": "RenewDomain", "DOMAIN": "ferrolink-test.com"}).isSuccess()
    assert cl.request({"COMMAND": "DeleteDomain", "DOMAIN": "ferrolink-test.com"}).isSuccess()
    assert cl.request({"COMMAND": "StatusDomain", "DOMAIN": "ferrolink-test.com"}).getCode() == 545


def test_check_domains(cl: APIClient) -> None:
    r = cl.request(
        {"COMMAND": "CheckDomains", "DOMAIN": ["free-name.com", "premium-name.com", "google.com"]}
    )
    checks = [rec.getDataByKey("DOMAINCHECK") for rec in r.getRecords()]
    assert checks == [
        "210 Domain name available",
        "211 Premium Domain name available",
        "211 Domain name not available",
    ]
    assert r.getColumnIndex("PRICE", 1) == "1999.00" and r.getColumnIndex("CLASS", 0) == ""
    assert cl.request({"COMMAND": "CheckDomain", "DOMAIN": "free-name.com"}).getCode() == 210


def test_contacts(cl: APIClient) -> None:
    missing = cl.request({"COMMAND": "AddContact", "FIRSTNAME": "Ada"})
    assert missing.getCode() == 504
    bad = cl.request(
        {
            "COMMAND": "AddContact",
            "FIRSTNAME": "Ada",
            "LASTNAME": "L",
            "EMAIL": "x",
            "COUNTRY": "DE",
        }
    )
    assert bad.getCode() == 541
    added = cl.request(
        {
            "COMMAND": "AddContact",
            "FIRSTNAME": "Ada",
            "LASTNAME": "L",
            "EMAIL": "a@b.de",
            "COUNTRY": "DE",
        }
    )
    contact = added.getColumnIndex("CONTACT", 0)
    assert contact
    assert (
        cl.request({"COMMAND": "StatusContact", "CONTACT": contact}).getColumnIndex("EMAIL", 0)
        == "a@b.de"
    )
    assert cl.request({"COMMAND": "StatusContact", "CONTACT": "P-NOPE"}).getCode() == 545
    assert cl.request({"COMMAND": "QueryContactList"}).getColumnIndex("CONTACT", 0) == contact


def test_paging_next_and_all(cl: APIClient, emulator: HexonetService) -> None:
    r = cl.request({"COMMAND": "QueryDomainList", "FIRST": 2, "LIMIT": 2})
    assert r.getPagination()["CURRENTPAGE"] == 2
    nxt = cl.requestNextResponsePage(r)
    assert nxt is not None
    assert (
        emulator.requests[-1]["command"]["FIRST"] == "4"
        and emulator.requests[-1]["command"]["LIMIT"] == "2"
    )
    assert r.getCommand() == {"COMMAND": "QueryDomainList", "FIRST": 4, "LIMIT": 2}
    last = cl.request({"COMMAND": "QueryDomainList", "FIRST": 2498, "LIMIT": 2})
    assert cl.requestNextResponsePage(last) is None
    with pytest.raises(Exception, match="Parameter LAST in use"):
        cl.requestNextResponsePage(cl.request({"COMMAND": "QueryDomainList", "LAST": 3}))
    pages = cl.requestAllResponsePages({"COMMAND": "QueryDomainList", "LIMIT": 1000, "WIDE": 1})
    assert [p.getRecordsCount() for p in pages] == [1000, 1000, 500]
    domains = [rec.getDataByKey("DOMAIN") for p in pages for rec in p.getRecords()]
    assert len(set(domains)) == 2500 and domains == sorted(domains)
    empty = cl.request({"COMMAND": "QuerySSLCertList"})
    assert empty.getPagination()["TOTAL"] == 0 and empty.getRecordsCount() == 1


def test_next_page_resends_the_real_password(cl: APIClient, emulator: HexonetService) -> None:
    r = cl.request({"COMMAND": "QueryDomainList", "LIMIT": 1, "PASSWORD": "real-secret"})
    assert r.getCommand()["PASSWORD"] == "***"  # type: ignore[index]
    assert cl.requestNextResponsePage(r) is not None
    assert emulator.requests[-1]["command"]["PASSWORD"] == "real-secret"


def test_error_page_ends_request_all(cl: APIClient, emulator: HexonetService) -> None:
    first = cl.request({"COMMAND": "QueryDomainList", "LIMIT": 1000})
    emulator.inject("code:421")
    pages = [first]
    nxt = cl.requestNextResponsePage(first)
    assert nxt is not None and nxt.getCode() == 421
    pages.append(nxt)
    assert cl.requestNextResponsePage(nxt) is None  # no paging data on the error page


@pytest.mark.parametrize(
    ("fault", "code", "status"),
    [
        ("status:500", 421, 500),
        ("status:404", 421, 404),
        ("redirect:302", 421, 302),
        ("redirect:307", 200, 200),
        ("empty", 423, 200),
        ("garbage", 423, 200),
        ("no_code", 423, 200),
        ("no_description", 423, 200),
        ("code:425", 425, 200),
    ],
)
def test_faults(
    cl: APIClient, emulator: HexonetService, fault: str, code: int, status: int
) -> None:
    emulator.inject(fault)
    r = cl.request({"COMMAND": "StatusAccount"})
    assert (r.getCode(), r.getHTTPStatus()) == (code, status)
    if code == 421:
        assert r.getDescription() == "Command failed due to HTTP communication error"
        assert r.getError()


def test_transport_faults(
    cl: APIClient, emulator: HexonetService, sb: ferrolink.sandbox.Sandbox
) -> None:
    emulator.faults.truncate_next = 1
    r = cl.request({"COMMAND": "StatusAccount"})
    assert r.getCode() == 421 and r.getError() and r.getHTTPStatus() is None
    emulator.faults.garbage_next = 1
    assert cl.request({"COMMAND": "StatusAccount"}).getCode() == 421
    untrusted = APIClient().setURL(cl.getURL()).request({"COMMAND": "StatusAccount"})
    assert untrusted.getCode() == 421 and "certificate" in (untrusted.getError() or "").lower()
    refused = APIClient().setURL("https://127.0.0.1:9/api/call.cgi").request({"COMMAND": "X"})
    assert refused.getCode() == 421
    slow = APIClient(ca_file=sb.ca_file, timeout=0.3).setURL(cl.getURL())
    emulator.faults.delay = 1.0
    before = len(emulator.requests)
    try:
        timed_out = slow.request({"COMMAND": "StatusAccount"})
    finally:
        emulator.faults.delay = 0.0
    assert timed_out.getCode() == 421 and "tim" in (timed_out.getError() or "").lower()
    # The emulator still handles the abandoned request after its delay: wait for it, so it
    # cannot land among a later test's requests.
    deadline = time.monotonic() + 10
    while len(emulator.requests) == before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cl.request({"COMMAND": "StatusAccount"}).isSuccess()


def test_real_api_braces_survive(cl: APIClient, emulator: HexonetService) -> None:
    cl.request(
        {
            "COMMAND": "AddContact",
            "FIRSTNAME": "ok {FOO} bar",
            "LASTNAME": "L",
            "EMAIL": "a@b.de",
            "COUNTRY": "DE",
        }
    )
    contact = emulator.requests[-1]
    assert contact["command"]["FIRSTNAME"] == "ok {FOO} bar"
    r = cl.request({"COMMAND": "StatusContact", "CONTACT": "P-000001"})
    assert r.getColumnIndex("FIRSTNAME", 0) == "ok {FOO} bar"


def test_idn_is_one_round_trip(cl: APIClient, emulator: HexonetService) -> None:
    before = len(emulator.requests)
    r = cl.request({"COMMAND": "CheckDomains", "DOMAIN": ["dömäin.example", "*wild*", "plain.com"]})
    assert r.isSuccess() and len(emulator.requests) == before + 1
    assert emulator.requests[-1]["command"]["DOMAIN0"] == "xn--dmin-moa0i.example"
    assert emulator.requests[-1]["command"]["DOMAIN1"] == "*wild*"
    cl.setIDNConversion("server")
    cl.request({"COMMAND": "CheckDomains", "DOMAIN": ["äöütest.com"]})
    assert len(emulator.requests) == before + 3
    assert emulator.requests[-2]["command"] == {"COMMAND": "ConvertIDN", "DOMAIN0": "äöütest.com"}
    assert emulator.requests[-1]["command"]["DOMAIN0"] == "xn--test-koa2iub.com"
    conv = cl.request({"COMMAND": "ConvertIDN", "DOMAIN": ["dömäin.example"]})
    assert (conv.getColumnIndex("ACE", 0), conv.getColumnIndex("IDN", 0)) == (
        "xn--dmin-moa0i.example",
        "dömäin.example",
    )


def test_debug_logging_is_masked(cl: APIClient, capsys: pytest.CaptureFixture[str]) -> None:
    class Capture(CustomLogger):
        calls: list[tuple[bytes, Response, Optional[str]]] = []

        def log(self, post: bytes, r: Response, error: Optional[str]) -> None:
            self.calls.append((post, r, error))

    capture = Capture()
    cl.enableDebugMode().setCustomLogger(capture)
    cl.request({"COMMAND": "CheckAuthentication", "PASSWORD": "test.passw0rd"})
    post, response, error = capture.calls[-1]
    assert b"s_pw=***" in post and b"PASSWORD%3D%2A%2A%2A" in post and b"passw0rd" not in post
    assert error is None and response.isSuccess()
    cl.setDefaultLogger().setURL("https://127.0.0.1:9/api/call.cgi")
    cl.request({"COMMAND": "StatusAccount"})
    out = capsys.readouterr()
    assert "passw0rd" not in out.out + out.err
    assert "s_pw=***" in out.out and "HTTP communication failed" in out.err
    assert "COMMAND = StatusAccount" in out.out


def test_referer_and_string_command(cl: APIClient, emulator: HexonetService) -> None:
    cl.setReferer("https://reseller.example/panel")
    r = cl.request("COMMAND=StatusAccount")
    assert r.isSuccess()
    headers = {k.lower(): v for k, v in emulator.requests[-1]["headers"].items()}
    assert headers["referer"] == "https://reseller.example/panel"


def test_response_formats(
    sb: ferrolink.sandbox.Sandbox, emulator: HexonetService, cl: APIClient
) -> None:
    for option in ("compact", "crlf", "lower_keys"):
        setattr(emulator, option, True)
    try:
        r = cl.request({"COMMAND": "QueryDomainList", "LIMIT": 3})
    finally:
        emulator.compact = emulator.crlf = emulator.lower_keys = False
    assert "code=200\r\n" in r.getPlain()
    assert r.getCode() == 200 and r.getRecordsCount() == 3 and r.getRecordsTotalCount() == 2500


def test_shared_between_threads(cl: APIClient) -> None:
    results: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(10):
            code = cl.request({"COMMAND": "StatusAccount"}).getCode()
            with lock:
                results.append(code)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 40
