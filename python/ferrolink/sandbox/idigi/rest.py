"""The REST side: ``/ws/Monitor`` CRUD and the event sources, behind Basic or API-key auth."""

from __future__ import annotations

import base64
from urllib.parse import unquote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from ..httpserver import HttpEmulator, HttpReply, HttpRequest
from .conditions import matches, parse_condition
from .monitors import DEFAULTS, Monitor, now_iso, parse_fields
from .state import IdigiState

__all__ = ["RestApi"]

FILEDATA_EVENT_LIMIT = 120 * 1024


class _Rest(HttpEmulator):
    name = "idigi"
    serve_plain = True

    def __init__(self, owner: RestApi) -> None:
        super().__init__()
        self.owner = owner

    def handle(self, request: HttpRequest) -> HttpReply:
        return self.owner.handle_rest(request)


class RestApi(IdigiState):
    """The REST half of the emulator, served by :attr:`rest` (HTTPS and plain HTTP)."""

    def __init__(self) -> None:
        super().__init__()
        self.rest = _Rest(self)
        self.throttle_next = 0

    def _authorized(self, request: HttpRequest) -> bool:
        auth = request.header("Authorization", "") or ""
        if auth.lower().startswith("basic "):
            try:
                user, _, pw = (
                    base64.b64decode(auth[6:].strip(), validate=True).decode().partition(":")
                )
            except (ValueError, UnicodeDecodeError):
                return False
            return user == self.username and pw == self.password
        return (
            request.header("X-API-KEY-ID") == self.api_key_id
            and request.header("X-API-KEY-SECRET") == self.api_key_secret
        )

    def handle_rest(self, request: HttpRequest) -> HttpReply:
        if self.throttle_next > 0:
            self.throttle_next -= 1
            return HttpReply(429, "Too Many Requests")
        if not self._authorized(request):
            return HttpReply(
                401, "Unauthorized", headers=[("WWW-Authenticate", 'Basic realm="sandbox"')]
            )
        path = request.path
        parts = [unquote(p) for p in path.split("/") if p]
        if len(parts) < 2 or parts[0] != "ws":
            return HttpReply(404, f"no resource {path}")
        resource, rest = parts[1], parts[2:]
        as_json = path.endswith(".json") or "json" in (request.header("Accept", "") or "")
        if resource in ("Monitor", "Monitor.json"):
            if rest and rest[-1] in (".json", ".xml"):
                rest = rest[:-1]
            return self._monitor_rest(request, rest, as_json)
        if resource == "DataPoint" and request.method == "POST":
            return self._datapoint(request, rest)
        if resource == "FileData" and request.method in ("PUT", "DELETE"):
            return self._filedata(request, rest)
        if resource == "DeviceCore" and request.method == "POST" and len(rest) == 2:
            status = {"connect": 1, "disconnect": 0}.get(rest[1])
            if status is None:
                return HttpReply(404, "use DeviceCore/{device}/connect or /disconnect")
            body = {
                "devConnectwareId": rest[0],
                "dpConnectionStatus": status,
                "dpLastConnectTime": now_iso(),
            }
            n = self.publish("DeviceCore", "UPDATE", (rest[0],), body)
            return HttpReply.json({"published": n})
        if resource == "sandbox" and rest == ["event"] and request.method == "POST":
            try:
                spec = request.json()
                n = self.publish(
                    str(spec["type"]),
                    str(spec.get("operation", "UPDATE")),
                    tuple(str(k) for k in spec.get("keys", ())),
                    spec.get("body") or {},
                    str(spec.get("path", "")),
                )
            except (ValueError, KeyError, TypeError) as exc:
                return HttpReply(400, f"bad event: {exc}")
            return HttpReply.json({"published": n})
        return HttpReply(404, f"no resource {path}")

    def _datapoint(self, request: HttpRequest, rest: list[str]) -> HttpReply:
        stream = "/".join(rest)
        text = request.body.decode("utf-8", "replace")
        try:
            if text.lstrip().startswith("{"):
                data = request.json().get("data")
            else:
                root = ElementTree.fromstring(text)
                node = root.find(".//data")
                data = node.text if node is not None else None
                stream_node = root.find(".//streamId")
                if not stream and stream_node is not None and stream_node.text:
                    stream = stream_node.text
        except (ValueError, ElementTree.ParseError) as exc:
            return HttpReply(400, f"bad DataPoint: {exc}")
        if not stream or data is None:
            return HttpReply(400, "a DataPoint needs a stream id and data")
        point = {"streamId": stream, "data": data, "timestamp": now_iso(), "cstId": self.cst_id}
        n = self.publish("DataPoint", "INSERTION", tuple(stream.split("/")), point)
        return HttpReply(
            201,
            f"<result><location>DataPoint/{escape(stream)}</location><published>{n}</published></result>",
            "application/xml",
        )

    def _filedata(self, request: HttpRequest, rest: list[str]) -> HttpReply:
        path = "/".join(rest)
        if request.method == "DELETE" or len(request.body) > FILEDATA_EVENT_LIMIT:
            return HttpReply(200, "stored (no event published)")
        name = rest[-1] if rest else ""
        body = {
            "id": {"fdPath": "/".join(rest[:-1]) + "/", "fdName": name},
            "fdSize": len(request.body),
            "fdData": base64.b64encode(request.body).decode("ascii"),
        }
        n = self.publish("FileData", "CREATE", tuple(rest), body, path=path)
        return HttpReply(201, f"<result><published>{n}</published></result>", "application/xml")

    def _monitor_rest(self, request: HttpRequest, rest: list[str], as_json: bool) -> HttpReply:
        if not rest:
            if request.method == "GET":
                return self._list(request, as_json)
            if request.method == "POST":
                return self._create(request)
            return HttpReply(405, "use GET or POST on /ws/Monitor")
        ident = rest[0].removesuffix(".json")
        if not ident.isdigit() or int(ident) not in self._monitors:
            return HttpReply(404, f"Monitor {ident} not found")
        monitor_id = int(ident)
        if request.method == "GET":
            return self._render([self.monitor(monitor_id)], 0, 1, 1, 0, as_json)
        if request.method == "DELETE":
            with self._cond:
                mon = self._monitors.pop(monitor_id)
            if mon.connection:
                mon.connection.close()
            return HttpReply(200, "")
        if request.method == "PUT":
            try:
                fields = parse_fields(request.body, require=False)
            except ValueError as exc:
                return HttpReply(400, str(exc))
            with self._cond:
                mon = self._monitors[monitor_id]
                mon.fields.update(fields)
                mon.backlog.clear()
                mon.outstanding.clear()
                conn = mon.connection
            if conn:
                conn.close()
            return HttpReply(200, "")
        return HttpReply(405, "use GET, PUT or DELETE on /ws/Monitor/{id}")

    def _create(self, request: HttpRequest) -> HttpReply:
        try:
            fields = parse_fields(request.body, require=True)
        except ValueError as exc:
            return HttpReply(400, f"<error>{escape(str(exc))}</error>", "application/xml")
        with self._cond:
            monitor_id = self._next_id
            self._next_id += 1
            self._monitors[monitor_id] = Monitor(monitor_id, self.username, {**DEFAULTS, **fields})
        body = (
            '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
            f"<result>\n   <location>Monitor/{monitor_id}</location>\n</result>"
        )
        return HttpReply(201, body, "application/xml", [("Location", f"Monitor/{monitor_id}")])

    def _list(self, request: HttpRequest, as_json: bool) -> HttpReply:
        try:
            start = int(request.query_value("start", "0") or 0)
            size = int(request.query_value("size", "1000") or 1000)
            condition = request.query_value("condition")
            groups = parse_condition(condition) if condition else None
        except ValueError as exc:
            return HttpReply(400, f"bad query: {exc}")
        with self._cond:
            items = [m.public(self.cst_id) for _, m in sorted(self._monitors.items())]
        if groups is not None:
            items = [i for i in items if matches(i, groups)]
        page = items[start : start + size]
        remaining = max(len(items) - start - len(page), 0)
        return self._render(page, start, size, len(items), remaining, as_json)

    def _render(
        self,
        items: list[dict[str, str]],
        start: int,
        size: int,
        total: int,
        remaining: int,
        as_json: bool,
    ) -> HttpReply:
        envelope = {
            "resultTotalRows": str(total),
            "requestedStartRow": str(start),
            "resultSize": str(len(items)),
            "requestedSize": str(size),
            "remainingSize": str(remaining),
        }
        if as_json:
            return HttpReply.json({**envelope, "items": items})
        attrs = "".join(f' {k}="{v}"' for k, v in envelope.items())
        body = "".join(
            "<Monitor>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in item.items()) + "</Monitor>"
            for item in items
        )
        return HttpReply(
            200,
            f'<?xml version="1.0" encoding="ISO-8859-1"?>\n<result{attrs}>{body}</result>',
            "application/xml",
        )
