"""The EXP emulator: options, test credentials and the routing of every request."""

from __future__ import annotations

from urllib.parse import unquote

from ..httpserver import HttpReply, HttpRequest
from ..service import Environment, Option
from .documents import COLLECTION_ROUTES, Documents
from .hub import BroadcastHub
from .state import error

__all__ = ["ExpService"]


class ExpService(Documents, BroadcastHub):
    name = "exp"
    OPTIONS = {
        "token_ttl": Option("float", "seconds a login token lives (3600)"),
        "polling_only": Option("bool", "refuse the WebSocket upgrade: Engine.IO polling only"),
        "ping_interval": Option("int", "Engine.IO ping interval in ms (25000)"),
        "ping_timeout": Option("int", "Engine.IO ping timeout in ms (60000)"),
        "poll_duration": Option("float", "seconds a long poll is held open (10)"),
        "deterministic": Option("bool", "tokens token-1, token-2... instead of random ones"),
    }

    def configure(self, env: Environment) -> None:
        opts = env.options
        self.token_ttl = float(opts.get("token_ttl", self.token_ttl))
        if opts.get("polling_only"):
            self.upgrades = []
        self.ping_interval = int(opts.get("ping_interval", self.ping_interval))
        self.ping_timeout = int(opts.get("ping_timeout", self.ping_timeout))
        self.poll_duration = float(opts.get("poll_duration", self.poll_duration))
        self.deterministic = bool(opts.get("deterministic", False))
        if opts.get("clock") is not None:
            self.clock = opts["clock"]

    def stop(self) -> None:
        self._stopping.set()
        self.drop_sockets()
        super().stop()

    # -- dispatch ------------------------------------------------------------------------

    def handle(self, request: HttpRequest) -> HttpReply:
        path = request.path
        if path.rstrip("/") == "/socket.io":
            return self._socketio(request)
        if path == "/api/auth/login" and request.method == "POST":
            return self._login(request)
        parts = [unquote(p) for p in path.split("/")[1:]]
        if parts[:2] == ["api", "delivery"] or (
            len(parts) == 4 and parts[1] == "locations" and parts[3] == "layout"
        ):
            return self._restricted(request, parts)
        identity = self._bearer(request)
        if identity is None:
            self.stats["unauthorized"] += 1
            return error(401, "authentication.required", "A valid bearer token is required.")
        self.stats["authorized"] += 1
        if path == "/api/auth/token" and request.method == "POST":
            self.stats["refresh"] += 1
            return HttpReply.json(self._issue(identity))
        if parts[:1] != ["api"]:
            return error(404, "route.notFound", f"No route {path}.")
        rest = parts[1:]
        if rest[:1] == ["data"]:
            return self._data(request, rest[1:])
        if rest[:2] == ["networks", "current"] and request.method == "POST":
            if rest[2:] == ["broadcasts"]:
                return self._broadcast(request)
            if rest[2:] == ["responses"]:
                return self._respond(request)
        for prefix, collection in COLLECTION_ROUTES.items():
            if tuple(rest[: len(prefix)]) == prefix:
                return self._collection(request, collection, rest[len(prefix) :])
        return error(404, "route.notFound", f"No route {path}.")

    def _restricted(self, request: HttpRequest, parts: list[str]) -> HttpReply:
        if self._valid(request.query_value("_rt"), restricted=True) is None:
            return error(401, "authentication.required", "A valid _rt token is required.")
        if parts[1] == "locations":
            ok = parts[2] in self.collections["locations"]
            return (
                HttpReply(200, b"<svg/>", "image/svg+xml")
                if ok
                else error(404, "location.notFound", "No such location.")
            )
        content_path = "/" + "/".join(parts[2:])
        with self.lock:
            found = any(d.get("path") == content_path for d in self.collections["content"].values())
        if not found:
            return error(404, "content.notFound", f"No content at {content_path}.")
        variant = request.query_value("variant")
        return HttpReply(200, f"content {content_path} variant={variant}".encode())
