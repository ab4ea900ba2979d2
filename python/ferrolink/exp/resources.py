"""EXP resources: a ``document`` dict plus ``save``/``refresh``/``delete`` and links.

``save()`` POSTs a new resource and PATCHes an existing one, replacing the local document
with the reply. Every path segment is percent-encoded on its own. Content is read-only
(ferrolink follows the JS SDK and refuses ``save``/``delete`` on content).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, Optional, TypeVar
from urllib.parse import quote, urlencode

from .channels import Channel
from .errors import ExpError, UsageError
from .session import path_of

if TYPE_CHECKING:
    from .sdk import Exp

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
    """A document in one of EXP's collections."""

    collection: tuple[str, ...] = ()
    name = _document_item("name")

    def __init__(self, document: Any, sdk: Exp) -> None:
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

    def save(self) -> None:
        """POST when new, else PATCH with the whole document; adopt the reply."""
        session = self._sdk.session
        if self.uuid is None:
            self.document = session.request(
                "POST", path_of(*self.collection), payload=self.document
            )
        else:
            self.document = session.request("PATCH", self._item_path(), payload=self.document)

    def refresh(self) -> None:
        """Reload the document from EXP."""
        self.document = self._sdk.session.request("GET", self._item_path())

    def delete(self) -> None:
        self._sdk.session.request("DELETE", self._item_path())

    def get_channel(self, system: bool = False, consumer: bool = False) -> Channel:
        """The channel named after this resource (its uuid)."""
        return Channel(self._sdk, self._channel_name(), system=system, consumer=consumer)

    def _channel_name(self) -> str:
        return self._saved_uuid()

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

    def get_location(self) -> Optional[Location]:
        uuid = _link(self.document, "location")
        return self._sdk.api.get_location(uuid) if uuid else None

    def get_zones(self) -> list[Zone]:
        location = self.get_location()
        if location is None:
            return []
        wanted = {
            z.get("key")
            for z in (self.document.get("location") or {}).get("zones") or []
            if isinstance(z, dict)
        }
        return [zone for zone in location.get_zones() if zone.key in wanted]

    def get_experience(self) -> Optional[Experience]:
        uuid = _link(self.document, "experience")
        return self._sdk.api.get_experience(uuid) if uuid else None


class Device(_Placed):
    collection = ("api", "devices")


class Thing(_Placed):
    collection = ("api", "things")


class Experience(Resource):
    collection = ("api", "experiences")

    def get_devices(self, params: Optional[dict[str, Any]] = None, **kw: Any) -> Collection[Device]:
        """Devices linked to this experience (the filter merged with ``params``)."""
        return self._sdk.api.find_devices(**{**(params or {}), **kw, "experience.uuid": self.uuid})


class Location(Resource):
    collection = ("api", "locations")

    def get_devices(self, params: Optional[dict[str, Any]] = None, **kw: Any) -> Collection[Device]:
        return self._sdk.api.find_devices(**{**(params or {}), **kw, "location.uuid": self.uuid})

    def get_things(self, params: Optional[dict[str, Any]] = None, **kw: Any) -> Collection[Thing]:
        return self._sdk.api.find_things(**{**(params or {}), **kw, "location.uuid": self.uuid})

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

    def save(self) -> None:
        self.location.save()

    def refresh(self) -> None:
        self.location.refresh()
        for zone in _zone_documents(self.location.document):
            if zone.get("key") == self.key:
                self.document = zone

    def get_location(self) -> Location:
        return self.location

    def get_devices(self) -> Collection[Device]:
        return self.location._sdk.api.find_devices(
            **{"location.uuid": self.location.uuid, "location.zones.key": self.key}
        )

    def get_things(self) -> Collection[Thing]:
        return self.location._sdk.api.find_things(
            **{"location.uuid": self.location.uuid, "location.zones.key": self.key}
        )

    def get_channel(self, system: bool = False, consumer: bool = False) -> Channel:
        name = f"{self.location.uuid}:zone:{self.key}"
        return Channel(self.location._sdk, name, system=system, consumer=consumer)

    def __repr__(self) -> str:
        return f"<exp.Zone {self.key!r} of {self.location.uuid}>"


class Feed(Resource):
    collection = ("api", "connectors", "feeds")

    def get_data(self, **params: Any) -> Any:
        """The feed's decoded data (dynamic feeds take e.g. ``searchValue``)."""
        return self._sdk.session.request("GET", self._item_path() + "/data", params=params)


class Content(Resource):
    """A content item (folder, file, app, url); read-only."""

    collection = ("api", "content")

    @property
    def subtype(self) -> Any:
        return self.document.get("subtype")

    def save(self) -> None:
        raise UsageError("EXP content cannot be saved through the API")

    def delete(self) -> None:
        raise UsageError("EXP content cannot be deleted through the API (as in the JS SDK)")

    def get_children(
        self, params: Optional[dict[str, Any]] = None, **kw: Any
    ) -> Collection[Content]:
        """The items whose ``parent`` is this one (``GET /api/content?parent=uuid``)."""
        return self._sdk.api.find_content(**{**(params or {}), **kw, "parent": self.uuid})

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


class Data(Resource):
    """One value of the key-value store, addressed by ``group`` and ``key``."""

    collection = ("api", "data")
    group = _document_item("group")
    key = _document_item("key")
    value = _document_item("value")

    def _item_path(self) -> str:
        return data_path(self.group, self.key)

    def save(self) -> None:
        """PUT the value as the JSON body."""
        self.document = self._sdk.session.request("PUT", self._item_path(), payload=self.value)

    def _channel_name(self) -> str:
        return f"data:{self.group}:{self.key}"

    def __repr__(self) -> str:
        return f"<exp.Data {self.group!r}/{self.key!r}>"


def data_path(group: Any, key: Any) -> str:
    """``/api/data/{group}/{key}``; a missing group or key is an error, not ``"None"``."""
    for label, value in (("group", group), ("key", key)):
        if not isinstance(value, str) or not value:
            raise UsageError(f"data {label} must be a non-empty string, got {value!r}")
    return path_of("api", "data", group, key)


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
