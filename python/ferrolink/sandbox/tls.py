"""The sandbox's throwaway certificate authority and the TLS contexts built from it."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from .. import _core

__all__ = ["SandboxTLS", "create_tls"]


@dataclass(frozen=True)
class SandboxTLS:
    """PEM files of one sandbox run: clients trust ``ca_file``; servers present cert/key."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.cert_file), str(self.key_file))
        return context

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts only the sandbox CA."""
        return ssl.create_default_context(cafile=str(self.ca_file))


def create_tls(directory: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> SandboxTLS:
    """Generate a fresh CA and a server certificate for ``hosts``; write them to ``directory``."""
    ca_pem, cert_pem, key_pem = _core.generate_test_ca(list(hosts))
    directory.mkdir(parents=True, exist_ok=True)
    tls = SandboxTLS(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    tls.ca_file.write_text(ca_pem)
    tls.cert_file.write_text(cert_pem)
    tls.key_file.write_text(key_pem)
    tls.key_file.chmod(0o600)
    return tls
