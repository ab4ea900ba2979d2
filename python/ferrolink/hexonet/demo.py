"""The HEXONET part of ``ferrolink demo``: the original SDK's main flows against the sandbox."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .apiclient import APIClient
from .response import Response

if TYPE_CHECKING:
    from ..demo import Report
    from ..sandbox import Sandbox


def demo(sb: Sandbox, report: Report) -> None:
    creds = sb.credentials("hexonet")
    url = sb.url("hexonet", "https") + "/api/call.cgi"
    cl = APIClient(ca_file=sb.ca_file).setURL(url).setCredentials(creds["login"], creds["password"])

    def check(response: Response, what: str) -> None:
        if not response.isSuccess():
            raise RuntimeError(f"{what} failed: {response!r}")

    r = cl.login()
    check(r, "login")
    report.step("login (StartSession)", f"session id received: {cl.getSession() is not None}")
    r = cl.request({"COMMAND": "StatusAccount"})
    check(r, "StatusAccount")
    rec = r.getRecord(0)
    amount = rec.getDataByKey("AMOUNT") if rec else "?"
    report.step("StatusAccount", f"{amount} {rec.getDataByKey('CURRENCY') if rec else ''}")
    r = cl.request({"COMMAND": "CheckDomains", "DOMAIN": ["dömäin.example", "premium-shop.com"]})
    check(r, "CheckDomains")
    checks = ", ".join(str(x.getDataByKey("DOMAINCHECK")) for x in r.getRecords())
    report.step("CheckDomains with an IDN (converted locally, one round trip)", checks)
    name = f"ferrolink-demo-{int(time.time())}.com"
    r = cl.request({"COMMAND": "AddDomain", "DOMAIN": name, "PERIOD": 1})
    check(r, "AddDomain")
    report.step("AddDomain", f"{name} expires {r.getColumnIndex('REGISTRATIONEXPIRATIONDATE', 0)}")
    started = time.perf_counter()
    pages = cl.requestAllResponsePages({"COMMAND": "QueryDomainList", "LIMIT": 500})
    took = (time.perf_counter() - started) * 1000
    rows = sum(p.getRecordsCount() for p in pages)
    report.step(
        "QueryDomainList, all pages", f"{rows} domains in {len(pages)} pages, {took:.0f} ms"
    )
    r = cl.logout()
    check(r, "logout")
    report.step("logout (EndSession)", f"session cleared: {cl.getSession() is None}")
