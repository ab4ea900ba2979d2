"""The original SDK's "high performance connection setup", for real: Apache (and nginx) from the
OS packages as a plain-HTTP loopback vhost that proxies ``/api/call.cgi`` to the sandbox over
TLS with kept-alive connections; the client goes through it with
``useHighPerformanceConnectionSetup()`` + ``setURL(...)``.

Each test starts its own server process with a temporary configuration and stops it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest

import ferrolink.sandbox
from ferrolink.hexonet.apiclient import ISPAPI_CONNECTION_URL_PROXY, APIClient
from ferrolink.sandbox.ports import free_port, wait_for_port

APACHE = shutil.which("apache2") or "/usr/sbin/apache2"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
APACHE_MODULES = Path("/usr/lib/apache2/modules")


def apache_config(tmp: Path, port: int, upstream: str, ca_file: str) -> list[str]:
    user = "User nobody\nGroup nogroup\n" if os.geteuid() == 0 else ""
    modules = "\n".join(
        f"LoadModule {name}_module {APACHE_MODULES}/mod_{name}.so"
        for name in ("mpm_event", "authz_core", "proxy", "proxy_http", "ssl")
    )
    (tmp / "httpd.conf").write_text(
        f"""{modules}
ServerRoot {tmp}
ServerName 127.0.0.1
DefaultRuntimeDir {tmp}
PidFile {tmp}/httpd.pid
ErrorLog {tmp}/error.log
LogLevel warn
Listen 127.0.0.1:{port}
{user}<VirtualHost 127.0.0.1:{port}>
    ServerSignature Off
    SSLProxyEngine on
    SSLProxyCACertificateFile {ca_file}
    ProxyPass /api/call.cgi {upstream} min=1 max=2 keepalive=On
</VirtualHost>
"""
    )
    return [APACHE, "-f", str(tmp / "httpd.conf"), "-DFOREGROUND"]


def nginx_config(tmp: Path, port: int, upstream: str, ca_file: str) -> list[str]:
    user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
    host_port = upstream.split("://", 1)[1].split("/", 1)[0]
    (tmp / "nginx.conf").write_text(
        f"""{user}daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    upstream hexonet {{ server {host_port}; keepalive 2; }}
    server {{
        listen 127.0.0.1:{port};
        location = /api/call.cgi {{
            proxy_pass https://hexonet/api/call.cgi;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate {ca_file};
            proxy_ssl_name localhost;  # nginx checks DNS names only, not IP SANs
            proxy_ssl_session_reuse on;
        }}
    }}
}}
"""
    )
    return [NGINX, "-c", str(tmp / "nginx.conf"), "-p", str(tmp)]


SERVERS: dict[str, tuple[str, Callable[[Path, int, str, str], list[str]]]] = {
    "apache2": (APACHE, apache_config),
    "nginx": (NGINX, nginx_config),
}


@pytest.fixture(scope="module")
def sb() -> Iterator[ferrolink.sandbox.Sandbox]:
    with ferrolink.sandbox.start(
        ["hexonet"], options={"hexonet": {"portfolio_size": 250}}
    ) as running:
        yield running


@pytest.fixture(params=list(SERVERS))
def proxy_url(
    request: pytest.FixtureRequest, sb: ferrolink.sandbox.Sandbox, tmp_path: Path
) -> Iterator[str]:
    binary, configure = SERVERS[request.param]
    if not os.path.exists(binary):
        pytest.fail(f"{request.param} is not installed (apt-get install {request.param})")
    tmp_path.chmod(0o755)
    ca_copy = tmp_path / "ca.pem"
    shutil.copy(sb.ca_file, ca_copy)
    ca_copy.chmod(0o644)
    port = free_port()
    upstream = sb.url("hexonet", "https") + "/api/call.cgi"
    command = configure(tmp_path, port, upstream, str(ca_copy))
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        try:
            wait_for_port(port, process=proc)
        except (RuntimeError, TimeoutError) as exc:
            log = tmp_path / "error.log"
            raise RuntimeError(f"{exc}: {log.read_text() if log.exists() else ''}") from exc
        yield f"http://127.0.0.1:{port}/api/call.cgi"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_high_performance_setup_through_a_local_proxy(
    proxy_url: str, sb: ferrolink.sandbox.Sandbox
) -> None:
    service = sb.service("hexonet")
    service.reset()  # type: ignore[attr-defined]
    cl = APIClient().useOTESystem()
    cl.useHighPerformanceConnectionSetup()
    assert cl.getURL() == ISPAPI_CONNECTION_URL_PROXY
    cl.setURL(proxy_url)  # the original SDK's way to use another port
    cl.setCredentials("test.user", "test.passw0rd")
    r = cl.request({"COMMAND": "StatusAccount"})
    assert r.isSuccess(), r.getError()
    pages = cl.requestAllResponsePages({"COMMAND": "QueryDomainList", "LIMIT": 10})
    assert sum(p.getRecordsCount() for p in pages) == 25  # OT&E holds a tenth of the portfolio
    for _ in range(20):
        assert cl.request({"COMMAND": "StatusAccount"}).isSuccess()
    seen = list(service.requests)  # type: ignore[attr-defined]
    assert all(entry["scheme"] == "https" for entry in seen)  # the proxy spoke TLS upstream
    assert all(entry["fields"]["s_entity"] == "1234" for entry in seen)
