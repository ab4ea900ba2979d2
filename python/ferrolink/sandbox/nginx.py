"""Fixed responses served by a real nginx on loopback, for benchmarks and proxy tests.

Benchmarks need a server that is never the bottleneck; nginx from the OS packages is that.
``nginx_server`` writes a throwaway configuration, starts nginx in the foreground as a child
process, waits until it accepts connections and stops it on exit.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

from .ports import free_port, wait_for_port
from .tls import SandboxTLS

__all__ = ["find_nginx", "nginx_server"]

Route = tuple[int, bytes, str]  # status, body, content type


def find_nginx() -> Optional[str]:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


def _quoted(body: bytes) -> str:
    text = body.decode("utf-8")
    # `$` would start a variable: it comes from the `$dollar` geo variable instead.
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "${dollar}")
    return f'"{escaped}"'


@contextmanager
def nginx_server(
    routes: Mapping[str, Route], tls: Optional[SandboxTLS] = None, *, workers: int = 1
) -> Iterator[str]:
    """Serve ``routes`` (exact path -> (status, UTF-8 body, content type)) for any method.

    Yields the base URL (``https://127.0.0.1:PORT`` with ``tls``, else plain http).
    """
    binary = find_nginx()
    if binary is None:
        raise RuntimeError("nginx is not installed (apt-get install nginx-light)")
    work = Path(tempfile.mkdtemp(prefix="ferrolink-nginx-"))
    port = free_port()
    listen = f"listen 127.0.0.1:{port}" + (" ssl" if tls else "") + ";"
    tls_lines = (
        f"ssl_certificate {tls.cert_file}; ssl_certificate_key {tls.key_file};"
        " ssl_session_cache shared:ferrolink:1m;"
        if tls
        else ""
    )
    locations = "\n".join(
        f"location = {path} {{ default_type {ctype}; return {status} {_quoted(body)}; }}"
        for path, (status, body, ctype) in routes.items()
    )
    temp = {name: work / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    config = f"""
worker_processes {workers};
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 600s;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    client_max_body_size 64m;
    geo $dollar {{ default "$"; }}
    server {{
        {listen}
        {tls_lines}
        {locations}
        location / {{ return 404 "no such route"; }}
    }}
}}
"""
    (work / "nginx.conf").write_text(config)
    process = subprocess.Popen(
        [binary, "-p", str(work), "-c", str(work / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        try:
            wait_for_port(port, process=process)
        except (RuntimeError, TimeoutError) as exc:
            log = (work / "error.log").read_text() if (work / "error.log").exists() else ""
            raise RuntimeError(f"nginx failed to start: {exc}\n{log}") from exc
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
        shutil.rmtree(work, ignore_errors=True)
