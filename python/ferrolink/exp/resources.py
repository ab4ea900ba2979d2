"""EXP resources: a ``document`` dict plus ``save``/``refresh``/``delete`` and links.

``save()`` POSTs a new resource and PATCHes an existing one, replacing the local document
with the reply. Every path segment is percent-encoded on its own. Content is read-only
(ferrolink follows the JS SDK and refuses ``save``/``delete`` on content).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, Optional, TypeVar, Union
from urllib.parse import quote, urlencode

from .channels import Channel
from .errors import ExpError, UsageError
from .session import Call, Flow, path_of

if TYPE_CHECKING:
    from .async_sdk import AsyncExp
    from .sdk import Exp

    Runtime = Union[Exp, AsyncExp]

__all__ = [
    "Collection",
    "Content",
    "Data",
    "Device",
    "Document",
    "Experience",
    "Feed",
    "Location",
    "Resource",
    "Thing",
    "Zone",
]

R = TypeVar("R")
T = TypeVar("T")


class Document(dict[str, Any]):
    """A resource's JSON document: a plain ``dict`` whose keys are also attributes, so
    ``device.document.name = "My Device"`` and ``device.document["name"]`` are the same.

    Nested objects read as attributes become documents in place, so
    ``device.document.location.uuid = ...`` changes the document. Keys that are ``dict``
    method names (``items``, ``keys``...) are reached with ``[]`` only.
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            value = self[name]
        except KeyError:
            raise AttributeError(f"the document has no {name!r}") from None
        if type(value) is dict:
            value = self[name] = Document(value)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(f"the document has no {name!r}") from None


def as_document(value: Any) -> Document:
    """``value`` as a :class:`Document` (``{}`` when it is not a dict, as in 5.0)."""
    if isinstance(value, Document):
        return value
    return Document(value) if isinstance(value, dict) else Document()


def _document_item(key: str) -> Any:
    """A read-write attribute kept in ``self.document[key]`` (``None`` while absent)."""

    def get(self: Any) -> Any:
        return self.document.get(key)

    def set_(self: Any, value: Any) -> None:
        self.document[key] = value

    return property(get, set_)


class Collection(list[R], Generic[R]):
    """The result of a ``find_*``: a list of resources that also carries every member of the
    reply as an attribute (``results`` is the raw documents, ``total`` counts all matches)."""

    total: int
    results: list[Any]

    def __init__(self, items: list[R], reply: Any) -> None:
        super().__init__(items)
        self.total = len(items)
        self.results = []
        if isinstance(reply, dict):
            for key, value in reply.items():
                if isinstance(key, str) and key.isidentifier():
                    setattr(self, key, value)


class Resource:
    """A document in one of EXP's collections.

    Bound to a sync runtime (:class:`~.sdk.Exp`) its REST methods block: ``save()``,
    ``refresh()``, ``delete()``, ``get_location()``...; bound to an async one
    (:class:`~.async_sdk.AsyncExp`) the same methods are awaited under an ``a`` prefix:
    ``await asave()``, ``await arefresh()``, ``await aget_location()``... Both run one
    :data:`~.session.Flow`, so they send the same calls.
    """

    collection: tuple[str, ...] = ()
    name = _document_item("name")

    def __init__(self, document: Any, sdk: Runtime) -> None:
        self._sdk = sdk
        self.document = document

    @property
    def document(self) -> Document:
        """The JSON document (a ``dict`` with attribute access)."""
        return self._document

    @document.setter
    def document(self, value: Any) -> None:
        self._document = as_document(value)

    @property
    def uuid(self) -> Optional[str]:
        value = self.document.get("uuid")
        return value if isinstance(value, str) else None

    def _saved_uuid(self) -> str:
        if self.uuid is None:
            raise UsageError(f"this {type(self).__name__} has no uuid (it was never saved)")
        return self.uuid

    def _item_path(self) -> str:
        return path_of(*self.collection, self._saved_uuid())

    def _run(self, flow: Flow[T]) -> T:
        return run_sync(self._sdk, flow)

    async def _arun(self, flow: Flow[T]) -> T:
        return await run_async(self._sdk, flow)

    def _save(self) -> Flow[None]:
        if self.uuid is None:
            self.document = yield Call("POST", path_of(*self.collection), self.document)
        else:
            self.document = yield Call("PATCH", self._item_path(), self.document)

    def _refresh(self) -> Flow[None]:
        self.document = yield Call("GET", self._item_path())

    def _delete(self) -> Flow[None]:
        yield Call("DELETE", self._item_path())

    def save(self) -> None:
        """POST when new, else PATCH with the whole document; adopt the reply."""
        self._run(self._save())

    async def asave(self) -> None:
        await self._arun(self._save())

    def refresh(self) -> None:
        """Reload the document from EXP."""
        self._run(self._refresh())

    async def arefresh(self) -> None:
        await self._arun(self._refresh())

    def delete(self) -> None:
        self._run(self._delete())

    async def adelete(self) -> None:
        await self._arun(self._delete())

    @property
    def channel_name(self) -> str:
        """The name of this resource's own channel (its uuid)."""
        return self._saved_uuid()

    def get_channel(self, system: bool = False, consumer: bool = False) -> Channel:
        """The channel named after this resource (sync runtime; with an async one use
        ``sdk.get_channel(resource.channel_name)``)."""
        return Channel(sync_runtime(self._sdk), self.channel_name, system=system, consumer=consumer)

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and isinstance(other, Resource)
            and other.uuid is not None
            and other.uuid == self.uuid
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.uuid))

    def __repr__(self) -> str:
        return f"<exp.{type(self).__name__} {self.uuid} {self.name!r}>"


class _Placed(Resource):
    """Devices and things: linked to a location (and its zones) and an experience."""

    def _location(self) -> Flow[Optional[Location]]:
        uuid = _link(self.document, "location")
        return (yield from get(self._sdk, Location, uuid)) if uuid else None

    def _zones(self) -> Flow[list[Zone]]:
        location = yield from self._location()
        if location is None:
            return []
        wanted = {
            z.get("key")
            for z in (self.document.get("location") or {}).get("zones") or []
            if isinstance(z, dict)
        }
        return [zone for zone in location.get_zones() if zone.key in wanted]

    def _experience(self) -> Flow[Optional[Experience]]:
        uuid = _link(self.document, "experience")
        return (yield from get(self._sdk, Experience, uuid)) if uuid else None

    def get_location(self) -> Optional[Location]:
        return self._run(self._location())

    async def aget_location(self) -> Optional[Location]:
        return await self._arun(self._location())

    def get_zones(self) -> list[Zone]:
        return self._run(self._zones())

    async def aget_zones(self) -> list[Zone]:
        return await self._arun(self._zones())

    def get_experience(self) -> Optional[Experience]:
        return self._run(self._experience())

    async def aget_experience(self) -> Optional[Experience]:
        return await self._arun(self._experience())


P = TypeVar("P", bound=_Placed)


class Device(_Placed):
    collection = ("api", "devices")


class Thing(_Placed):
    collection = ("api", "things")


def _merged(params: Optional[dict[str, Any]], kw: dict[str, Any], **links: Any) -> dict[str, Any]:
    """The caller's filter parameters with the link filter on top."""
    return {**(params or {}), **kw, **links}


class Experience(Resource):
    collection = ("api", "experiences")

    def _devices(self, params: dict[str, Any]) -> Flow[Collection[Device]]:
        return find(self._sdk, Device, {**params, "experience.uuid": self.uuid})

    def get_devices(self, params: Optional[dict[str, Any]] = None, **kw: Any) -> Collection[Device]:
        """Devices linked to this experience (the filter merged with ``params``)."""
        return self._run(self._devices(_merged(params, kw)))

    async def aget_devices(
        self, params: Optional[dict[str, Any]] = None, **kw: Any
    ) -> Collection[Device]:
        return await self._arun(self._devices(_merged(params, kw)))


class Location(Resource):
    collection = ("api", "locations")

    def _placed(self, cls: type[P], params: dict[str, Any]) -> Flow[Collection[P]]:
        return find(self._sdk, cls, {**params, "location.uuid": self.uuid})

    def get_devices(self, params: Optional[dict[str, Any]] = None, **kw: Any) -> Collection[Device]:
        return self._run(self._placed(Device, _merged(params, kw)))

    async def aget_devices(
        self, params: Optional[dict[str, Any]] = None, **kw: Any
    ) -> Collection[Device]:
        return await self._arun(self._placed(Device, _merged(params, kw)))

    def get_things(self, params: Optional[dict[str, Any]] = None, **kw: Any) -> Collection[Thing]:
        return self._run(self._placed(Thing, _merged(params, kw)))

    async def aget_things(
        self, params: Optional[dict[str, Any]] = None, **kw: Any
    ) -> Collection[Thing]:
        return await self._arun(self._placed(Thing, _merged(params, kw)))

    def get_zones(self) -> list[Zone]:
        return [Zone(z, self) for z in _zone_documents(self.document)]

    def get_layout_url(self) -> str:
        """Absolute layout image URL with the restricted token."""
        session = self._sdk.session
        return (
            f"{session.host}{self._item_path()}/layout?"
            f"{urlencode({'_rt': session.restricted_token})}"
        )


class Zone:
    """A zone inside a location's ``zones`` list; ``save()`` saves the location."""

    name = _document_item("name")

    def __init__(self, document: Document, location: Location) -> None:
        self.document = document  # an element of the location's ``zones``: save() saves it
        self.location = location

    @property
    def key(self) -> Any:
        return self.document.get("key")

    def _adopt(self) -> None:
        for zone in _zone_documents(self.location.document):
            if zone.get("key") == self.key:
                self.document = zone

    def save(self) -> None:
        self.location.save()

    async def asave(self) -> None:
        await self.location.asave()

    def refresh(self) -> None:
        self.location.refresh()
        self._adopt()

    async def arefresh(self) -> None:
        await self.location.arefresh()
        self._adopt()

    def get_location(self) -> Location:
        return self.location

    def _filter(self) -> dict[str, Any]:
        return {"location.uuid": self.location.uuid, "location.zones.key": self.key}

    def get_devices(self) -> Collection[Device]:
        return self.location._run(find(self.location._sdk, Device, self._filter()))

    async def aget_devices(self) -> Collection[Device]:
        return await self.location._arun(find(self.location._sdk, Device, self._filter()))

    def get_things(self) -> Collection[Thing]:
        return self.location._run(find(self.location._sdk, Thing, self._filter()))

    async def aget_things(self) -> Collection[Thing]:
        return await self.location._arun(find(self.location._sdk, Thing, self._filter()))

    @property
    def channel_name(self) -> str:
        return f"{self.location.uuid}:zone:{self.key}"

    def get_channel(self, system: bool = False, consumer: bool = False) -> Channel:
        return Channel(
            sync_runtime(self.location._sdk), self.channel_name, system=system, consumer=consumer
        )

    def __repr__(self) -> str:
        return f"<exp.Zone {self.key!r} of {self.location.uuid}>"


class Feed(Resource):
    collection = ("api", "connectors", "feeds")

    def _data(self, params: dict[str, Any]) -> Flow[Any]:
        return (yield Call("GET", self._item_path() + "/data", params=params))

    def get_data(self, **params: Any) -> Any:
        """The feed's decoded data (dynamic feeds take e.g. ``searchValue``)."""
        return self._run(self._data(params))

    async def aget_data(self, **params: Any) -> Any:
        return await self._arun(self._data(params))


class Content(Resource):
    """A content item (folder, file, app, url); read-only."""

    collection = ("api", "content")

    @property
    def subtype(self) -> Any:
        return self.document.get("subtype")

    def _save(self) -> Flow[None]:
        raise UsageError("EXP content cannot be saved through the API")

    def _delete(self) -> Flow[None]:
        raise UsageError("EXP content cannot be deleted through the API (as in the JS SDK)")

    def _children(self, params: dict[str, Any]) -> Flow[Collection[Content]]:
        return find(self._sdk, Content, {**params, "parent": self.uuid})

    def get_children(
        self, params: Optional[dict[str, Any]] = None, **kw: Any
    ) -> Collection[Content]:
        """The items whose ``parent`` is this one (``GET /api/content?parent=uuid``)."""
        return self._run(self._children(_merged(params, kw)))

    async def aget_children(
        self, params: Optional[dict[str, Any]] = None, **kw: Any
    ) -> Collection[Content]:
        return await self._arun(self._children(_merged(params, kw)))

    def _delivery_url(self) -> str:
        path = self.document.get("path")
        if not isinstance(path, str) or not path:
            raise ExpError(f"content {self.uuid} has no path, so it has no delivery URL")
        session = self._sdk.session
        encoded = quote("/" + path.lstrip("/"), safe="/")
        return (
            f"{session.host}/api/delivery{encoded}?{urlencode({'_rt': session.restricted_token})}"
        )

    def get_url(self) -> Optional[str]:
        """Delivery URL of a file or app (no ``/index.html``, as the Python SDK), the ``url``
        of a url item, ``None`` for folders."""
        subtype = self.subtype
        if subtype in ("scala:content:file", "scala:content:app"):
            return self._delivery_url()
        if subtype == "scala:content:url":
            url = self.document.get("url")
            return url if isinstance(url, str) else None
        return None

    def get_variant_url(self, name: str) -> Optional[str]:
        if not isinstance(name, str) or not name:
            raise UsageError("variant name must be a non-empty string")
        if self.subtype not in ("scala:content:file", "scala:content:app"):
            return None
        return f"{self._delivery_url()}&{urlencode({'variant': name})}"

    def has_variant(self, name: str) -> bool:
        variants = self.document.get("variants") or []
        return any(isinstance(v, dict) and v.get("name") == name for v in variants)


R_ = TypeVar("R_", bound=Resource)


class Data(Resource):
    """One value of the key-value store, addressed by ``group`` and ``key``."""

    collection = ("api", "data")
    group = _document_item("group")
    key = _document_item("key")
    value = _document_item("value")

    def _item_path(self) -> str:
        return data_path(self.group, self.key)

    def _save(self) -> Flow[None]:
        """PUT the value as the JSON body."""
        self.document = yield Call("PUT", self._item_path(), self.value)

    @property
    def channel_name(self) -> str:
        return f"data:{self.group}:{self.key}"

    def __repr__(self) -> str:
        return f"<exp.Data {self.group!r}/{self.key!r}>"


def data_path(group: Any, key: Any) -> str:
    """``/api/data/{group}/{key}``; a missing group or key is an error, not ``"None"``."""
    for label, value in (("group", group), ("key", key)):
        if not isinstance(value, str) or not value:
            raise UsageError(f"data {label} must be a non-empty string, got {value!r}")
    return path_of("api", "data", group, key)


# -- the calls of exp.api, for both runtimes -----------------------------------------------


def find(sdk: Runtime, cls: type[R_], params: dict[str, Any]) -> Flow[Collection[R_]]:
    reply = yield Call("GET", path_of(*cls.collection), params=params)
    docs = reply.get("results") if isinstance(reply, dict) else reply
    items = [cls(doc, sdk) for doc in docs or [] if isinstance(doc, dict)]
    return Collection(items, reply)


def get(sdk: Runtime, cls: type[R_], uuid: Any) -> Flow[Optional[R_]]:
    if not isinstance(uuid, str) or not uuid:
        return None  # the 5.0 behaviour: no request for a missing uuid
    doc = yield Call("GET", path_of(*cls.collection, uuid), none_on_404=True)
    return None if doc is None else cls(doc, sdk)


def create(sdk: Runtime, cls: type[R_], document: Any) -> Flow[R_]:
    if document is not None and not isinstance(document, dict):
        raise UsageError(f"a document must be a dict, got {type(document).__name__}")
    return cls((yield Call("POST", path_of(*cls.collection), document)), sdk)


def remove(cls: type[Resource], uuid: Any) -> Flow[None]:
    if not isinstance(uuid, str) or not uuid:
        raise UsageError(f"uuid must be a non-empty string, got {uuid!r}")
    yield Call("DELETE", path_of(*cls.collection, uuid))


def get_data(sdk: Runtime, key: Any, group: Any) -> Flow[Optional[Data]]:
    doc = yield Call("GET", data_path(group, key), none_on_404=True)
    return None if doc is None else Data(doc, sdk)


def create_data(sdk: Runtime, key: Any, group: Any, value: Any) -> Flow[Data]:
    data = Data({"group": group, "key": key, "value": value}, sdk)
    yield from data._save()
    return data


def remove_data(key: Any, group: Any) -> Flow[None]:
    yield Call("DELETE", data_path(group, key))


def sync_runtime(sdk: Runtime) -> Exp:
    """``sdk`` as a sync runtime, else a clear error (the object came from an async one)."""
    from .sdk import Exp

    if not isinstance(sdk, Exp):
        raise UsageError(
            "this object belongs to an async EXP runtime: await its a-methods "
            "(asave(), arefresh(), aget_location()...)"
        )
    sdk._check()
    return sdk


def run_sync(sdk: Runtime, flow: Flow[T]) -> T:
    return sync_runtime(sdk).session.run(flow)


async def run_async(sdk: Runtime, flow: Flow[T]) -> T:
    from .sdk import Exp

    if isinstance(sdk, Exp):
        flow.close()
        raise UsageError(
            "this object belongs to a sync EXP runtime: call save(), refresh(), "
            "get_location()... without the a- prefix"
        )
    sdk._check()
    return await sdk.session.run(flow)


def _zone_documents(location: Document) -> list[Document]:
    """The location's zone entries, made documents in place (edits reach the location)."""
    zones = location.get("zones")
    if not isinstance(zones, list):
        return []
    for i, zone in enumerate(zones):
        if type(zone) is dict:
            zones[i] = Document(zone)
    return [zone for zone in zones if isinstance(zone, Document)]


def _link(document: dict[str, Any], field: str) -> Optional[str]:
    linked = document.get(field)
    uuid = linked.get("uuid") if isinstance(linked, dict) else None
    return uuid if isinstance(uuid, str) and uuid else None
