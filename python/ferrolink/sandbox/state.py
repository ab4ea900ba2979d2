"""The state file of a running ``ferrolink sandbox``: where an app finds URLs and credentials.

``ferrolink sandbox`` writes it once every service is up and removes it on exit. It is JSON::

    {"version": 1, "pid": 4242, "host": "127.0.0.1", "ca_file": "/tmp/.../ca.pem",
     "services": {"hexonet": {"urls": {"https": "https://127.0.0.1:8000/api/call.cgi", ...},
                              "ports": {"https": 8000, ...},
                              "credentials": {"login": "test.user", "password": "..."}}, ...}}

Where: ``--state-file``, else ``$FERROLINK_SANDBOX_STATE``, else
``$XDG_STATE_HOME/ferrolink/sandbox.json`` (``~/.local/state/ferrolink/sandbox.json`` when
``XDG_STATE_HOME`` is unset). A file whose ``pid`` is no longer running is treated as absent.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union
from urllib.parse import urlsplit

from ..errors import FerrolinkError

if TYPE_CHECKING:
    from . import Sandbox

__all__ = ["ENV_VAR", "VERSION", "State", "StateFileError", "default_path", "read", "resolve"]

VERSION = 1
ENV_VAR = "FERROLINK_SANDBOX_STATE"

# Paths appended to a service's base URL so that its state-file URL works as printed.
_API_PATHS: dict[str, str] = {"hexonet": "/api/call.cgi"}

PathLike = Union[str, "os.PathLike[str]"]


class StateFileError(FerrolinkError):
    """The state file exists but cannot be read as a sandbox state."""


def default_path() -> Path:
    """The per-user default: ``$XDG_STATE_HOME/ferrolink/sandbox.json``."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(base) / "ferrolink" / "sandbox.json"


def resolve(path: Optional[PathLike] = None) -> Path:
    """``path`` if given, else ``$FERROLINK_SANDBOX_STATE``, else :func:`default_path`."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get(ENV_VAR) or default_path())


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x00100000, False, pid)  # SYNCHRONIZE
        if not handle:
            return False
        try:
            return bool(kernel32.WaitForSingleObject(handle, 0) == 0x102)  # WAIT_TIMEOUT
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


@dataclass(frozen=True)
class State:
    """What a running sandbox publishes: the same lookups as :class:`~ferrolink.sandbox.Sandbox`.

    URLs here are ready to use (HEXONET's ends in ``/api/call.cgi``).
    """

    pid: int
    host: str
    ca_file: str
    services: Mapping[str, Mapping[str, Mapping[str, Any]]]

    @classmethod
    def of(cls, sandbox: Sandbox) -> State:
        """The state of ``sandbox``, running in this process."""
        services: dict[str, dict[str, dict[str, Any]]] = {}
        for name, service in sandbox.services.items():
            path = _API_PATHS.get(name, "")
            urls = {kind: url + path for kind, url in service.urls.items()}
            services[name] = {
                "urls": urls,
                "ports": {kind: urlsplit(url).port for kind, url in urls.items()},
                "credentials": dict(service.credentials),
            }
        return cls(os.getpid(), sandbox.host, sandbox.ca_file, services)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "pid": self.pid,
            "host": self.host,
            "ca_file": self.ca_file,
            "services": self.services,
        }

    @classmethod
    def from_json(cls, data: Any) -> State:
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError(f"not a version {VERSION} sandbox state")
        services = data.get("services")
        if not isinstance(services, dict) or not all(
            isinstance(s, dict) and isinstance(s.get("urls"), dict) for s in services.values()
        ):
            raise ValueError("'services' must map names to objects with 'urls'")
        return cls(int(data["pid"]), str(data["host"]), str(data["ca_file"]), services)

    def _service(self, name: str) -> Mapping[str, Mapping[str, Any]]:
        try:
            return self.services[name]
        except KeyError:
            raise KeyError(f"sandbox service {name!r} is not running") from None

    def url(self, name: str, kind: Optional[str] = None) -> str:
        """The URL of service ``name`` (its first endpoint unless ``kind`` is given)."""
        urls = self._service(name)["urls"]
        if kind is None:
            return str(next(iter(urls.values())))
        try:
            return str(urls[kind])
        except KeyError:
            raise KeyError(f"sandbox service {name!r} has no {kind!r} endpoint") from None

    def port(self, name: str, kind: str) -> int:
        return int(urlsplit(self.url(name, kind)).port or 0)

    def credentials(self, name: str) -> dict[str, str]:
        return {k: str(v) for k, v in self._service(name).get("credentials", {}).items()}

    def write(self, path: Path) -> None:
        """Write atomically, readable by this user only (it holds the test credentials)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self.to_json(), handle, indent=2)
            handle.write("\n")
        os.replace(partial, path)

    def remove(self, path: Path) -> None:
        """Remove ``path`` if it still describes this sandbox (a newer one may have replaced it)."""
        with contextlib.suppress(OSError, StateFileError):
            current = read(path)
            if current is not None and current.pid == self.pid:
                path.unlink()


def read(path: Optional[PathLike] = None) -> Optional[State]:
    """The state of the running sandbox, or None when none runs (no file, or its pid is gone)."""
    where = resolve(path)
    try:
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateFileError(f"cannot read sandbox state file {where}: {exc.strerror}") from None
    try:
        state = State.from_json(json.loads(text))
    except (ValueError, KeyError, TypeError) as exc:
        raise StateFileError(f"sandbox state file {where} is not valid: {exc}") from None
    return state if _alive(state.pid) else None
