"""EXP documents: the collections (filters, paging), feed data and the key-value data store."""

from __future__ import annotations

import copy
import json
from typing import Any

from ..httpserver import HttpReply, HttpRequest
from .fixtures import seed
from .state import ExpState, error

__all__ = ["Documents"]

# URL path prefix -> collection name.
COLLECTION_ROUTES = {
    ("devices",): "devices",
    ("things",): "things",
    ("experiences",): "experiences",
    ("locations",): "locations",
    ("connectors", "feeds"): "feeds",
    ("content",): "content",
}
_DEFAULT_NAMES = {
    "devices": "New Device",
    "things": "New Thing",
    "experiences": "New Experience",
    "locations": "New Location",
    "feeds": "New Feed",
    "content": "New Content",
}


class Documents(ExpState):
    def __init__(self) -> None:
        super().__init__()
        self.collections: dict[str, dict[str, dict[str, Any]]] = {c: {} for c in _DEFAULT_NAMES}
        self.data: dict[tuple[str, str], Any] = {}
        seed(self._put)

    def _put(self, collection: str, doc: dict[str, Any]) -> dict[str, Any]:
        doc.setdefault("uuid", self.new_id())
        self.collections[collection][doc["uuid"]] = doc
        return doc

    def _collection(self, request: HttpRequest, name: str, rest: list[str]) -> HttpReply:
        docs = self.collections[name]
        method = request.method
        if not rest:
            if method == "GET":
                with self.lock:
                    items = [copy.deepcopy(d) for d in docs.values()]
                return self._page(items, request)
            if method == "POST":
                body = self._json_body(request, default={})
                if not isinstance(body, dict):
                    return error(400, "document.invalid", "The document must be an object.")
                body.setdefault("name", _DEFAULT_NAMES[name])
                with self.lock:
                    body["uuid"] = self.new_id()
                    docs[body["uuid"]] = body
                    return HttpReply.json(copy.deepcopy(body))
            return error(405, "method.notAllowed", f"{method} is not allowed here.")
        uuid = rest[0]
        if name == "feeds" and rest[1:] == ["data"] and method == "GET":
            return self._feed_data(request, uuid)
        if len(rest) != 1:
            return error(404, "route.notFound", f"No route {request.path}.")
        with self.lock:
            doc = docs.get(uuid)
            if doc is None:
                return error(404, f"{name}.notFound", f"No {name} item {uuid}.")
            if method == "GET":
                return HttpReply.json(copy.deepcopy(doc))
            if method == "PATCH":
                body = self._json_body(request, default={})
                if not isinstance(body, dict):
                    return error(400, "document.invalid", "The document must be an object.")
                doc.update(body)
                doc["uuid"] = uuid
                return HttpReply.json(copy.deepcopy(doc))
            if method == "DELETE":
                del docs[uuid]
                return HttpReply.json({})
        return error(405, "method.notAllowed", f"{method} is not allowed here.")

    def _page(self, items: list[dict[str, Any]], request: HttpRequest) -> HttpReply:
        filters = {k: v[-1] for k, v in request.query.items() if k not in ("limit", "skip")}
        matches = [d for d in items if all(_matches(d, k, v) for k, v in filters.items())]
        try:
            skip = int(request.query_value("skip", "0") or 0)
            limit_text = request.query_value("limit")
            limit = int(limit_text) if limit_text else None
        except ValueError:
            return error(400, "query.invalid", "limit and skip must be integers.")
        page = matches[max(skip, 0) :]
        if limit is not None:
            page = page[: max(limit, 0)]
        return HttpReply.json({"results": page, "total": len(matches)})

    def _feed_data(self, request: HttpRequest, uuid: str) -> HttpReply:
        with self.lock:
            feed = copy.deepcopy(self.collections["feeds"].get(uuid))
        if feed is None:
            return error(404, "feeds.notFound", f"No feed {uuid}.")
        search = feed.get("searchValue")
        if feed.get("dataType") == "dynamic":
            search = request.query_value("searchValue")
        return HttpReply.json(
            {
                "search": {"search": search, "maxResults": 10},
                "details": {"name": feed.get("name"), "lastBuildDate": "2017-05-01T00:00:00Z"},
                "items": [
                    {
                        "text": f"{search}: sunny",
                        "date": "2017-05-01T00:00:00Z",
                        "images": [{"url": "https://example.com/sun.png"}],
                        "raw": {},
                    }
                ],
            }
        )

    def _data(self, request: HttpRequest, rest: list[str]) -> HttpReply:
        method = request.method
        if not rest and method == "GET":
            with self.lock:
                items = [
                    {"group": g, "key": k, "value": copy.deepcopy(v)}
                    for (g, k), v in self.data.items()
                ]
            return self._page(items, request)
        if len(rest) != 2:
            return error(404, "route.notFound", f"No route {request.path}.")
        group, key = rest
        with self.lock:
            if method == "GET":
                if (group, key) not in self.data:
                    return error(404, "data.notFound", f"No data {group}/{key}.")
                value = copy.deepcopy(self.data[(group, key)])
                return HttpReply.json({"group": group, "key": key, "value": value})
            if method == "PUT":
                try:
                    value = request.json()
                except ValueError:
                    return error(400, "data.invalid", "The value must be JSON.")
                self.data[(group, key)] = value
                return HttpReply.json({"group": group, "key": key, "value": value})
            if method == "DELETE":
                self.data.pop((group, key), None)
                return HttpReply.json({})
        return error(405, "method.notAllowed", f"{method} is not allowed here.")


def _matches(doc: Any, path: str, wanted: str) -> bool:
    """Equality on a dotted path; a list anywhere on the way matches if any element does."""
    if isinstance(doc, list):
        return any(_matches(item, path, wanted) for item in doc)
    head, _, rest = path.partition(".")
    if not isinstance(doc, dict) or head not in doc:
        return False
    value = doc[head]
    if rest:
        return _matches(value, rest, wanted)
    if isinstance(value, list):
        return any(_scalar_equal(v, wanted) for v in value)
    return _scalar_equal(value, wanted)


def _scalar_equal(value: Any, wanted: str) -> bool:
    if isinstance(value, str):
        return value == wanted
    return json.dumps(value) == wanted
