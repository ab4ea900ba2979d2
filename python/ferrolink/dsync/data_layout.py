"""Data layouts: the schema a connector serves to DSYNC (``Field``, ``Endpoint``, ``DataLayout``).

Same names, constructors and output as the original SDK, with its gaps closed: field types
are checked, ``object`` fields can nest child fields, ``add_*`` reject the wrong objects, and
the whole layout can be validated (:meth:`DataLayout.validate`) by the same rules the sandbox
platform applies.

Deviation, on purpose: the first field message keeps its trailing space (the PHP SDK's form),
so the concatenated message reads well.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Optional, TypeVar, Union

from ..errors import InvalidArgumentError
from ..redact import MASK
from .rules import FIELD_TYPES, MAX_FIELD_DEPTH, _kind, layout_problems

__all__ = [
    "TYPE_BOOLEAN",
    "TYPE_CUSTOM",
    "TYPE_DATE",
    "TYPE_DATETIME",
    "TYPE_EMAIL",
    "TYPE_MATH",
    "TYPE_NUMBER",
    "TYPE_OBJECT",
    "TYPE_TEXT",
    "TYPE_TIME",
    "TYPE_URL",
    "DataLayout",
    "Endpoint",
    "Field",
    "LayoutTypeError",
    "ValidationException",
    "layout_envelope",
]

_T = TypeVar("_T")

TYPE_TEXT = "text"
TYPE_NUMBER = "number"
TYPE_URL = "url"
TYPE_EMAIL = "email"
TYPE_DATE = "date"
TYPE_TIME = "time"
TYPE_DATETIME = "datetime"
TYPE_BOOLEAN = "boolean"
TYPE_OBJECT = "object"
TYPE_MATH = "math"
TYPE_CUSTOM = "custom"


class ValidationException(InvalidArgumentError):
    """A field, endpoint or layout is incomplete or wrong. ``errors`` lists each problem."""

    def __init__(self, message: str, errors: Optional[list[str]] = None) -> None:
        super().__init__(message)
        self.errors = list(errors) if errors is not None else [message]


class LayoutTypeError(ValidationException, TypeError):
    """An ``add_*`` method was given an object of the wrong class."""


class Field:
    """One attribute of an entity. Built from a dict; unknown keys are ignored.

    ``fields`` (a list of :class:`Field` or dicts) nests child fields under an ``object``
    field; they are emitted after the 13 standard keys.
    """

    TYPE_TEXT = TYPE_TEXT
    TYPE_NUMBER = TYPE_NUMBER
    TYPE_URL = TYPE_URL
    TYPE_EMAIL = TYPE_EMAIL
    TYPE_DATE = TYPE_DATE
    TYPE_TIME = TYPE_TIME
    TYPE_DATETIME = TYPE_DATETIME
    TYPE_BOOLEAN = TYPE_BOOLEAN
    TYPE_OBJECT = TYPE_OBJECT
    TYPE_MATH = TYPE_MATH
    TYPE_CUSTOM = TYPE_CUSTOM
    TYPES = FIELD_TYPES

    # The 13 keys of generate(), in the documented order.
    KEYS = (
        "id",
        "treekey",
        "value",
        "type",
        "multiple",
        "date_format",
        "required",
        "functions",
        "primary_key",
        "foreign_key",
        "bool_settings",
        "name",
        "description",
    )

    def __init__(self, attributes: Optional[Mapping[str, Any]] = None) -> None:
        self.id: Any = None
        self.treekey: Optional[str] = None
        self.value: Any = None
        self.type: Optional[str] = None
        self.multiple: bool = False
        self.date_format: Optional[str] = None
        self.required: bool = False
        self.functions: list[Any] = []  # a new list per instance
        self.primary_key: bool = False
        self.foreign_key: Any = None
        self.bool_settings: Any = None
        self.name: Optional[str] = None
        self.description: Optional[str] = None
        self.fields: list[Field] = []
        if attributes is None:
            return
        if not isinstance(attributes, Mapping):
            raise LayoutTypeError(
                f"Field attributes must be a dict, got {type(attributes).__name__}"
            )
        self._load(attributes, "field", 0)

    def _load(self, attributes: Any, path: str, depth: int) -> None:
        """Take ``attributes`` (a dict from JSON) found at ``path``, ``depth`` levels down."""
        if not isinstance(attributes, Mapping):
            raise LayoutTypeError(f"{path} must be an object, got {_kind(attributes)}")
        for key in self.KEYS:
            if key in attributes:
                setattr(self, key, attributes[key])
        functions = attributes.get("functions")
        if functions is not None:
            if not isinstance(functions, (list, tuple)):
                raise LayoutTypeError(f"{path}.functions must be a list, got {_kind(functions)}")
            self.functions = list(functions)
        if attributes.get("fields"):
            self.fields = _fields_from_attributes(attributes["fields"], path, depth)

    def add_field(self, field: Field) -> Field:
        """Nest ``field`` under this ``object`` field."""
        self.fields.append(_checked_field("add_field", field))
        return self

    def add_fields(self, fields: Iterable[Field]) -> Field:
        self.fields.extend(_listed_of(Field, "add_fields", fields))
        return self

    def validate(self) -> None:
        """Raise :class:`ValidationException` naming every missing or wrong attribute."""
        message = ""
        if not self.treekey:
            message += "Treekey is required for this field. "
        if not self.type:
            message += "Field type is required. "
        elif self.type not in FIELD_TYPES:
            message += f"Field type {self.type!r} is not one of: {', '.join(FIELD_TYPES)}. "
        if not self.name:
            message += "Name of field is required. "
        if self.fields and self.type != TYPE_OBJECT:
            message += "Only fields of type object can have nested fields. "
        if message:
            raise ValidationException(message)
        for child in self.fields:
            child.validate()

    def generate(self) -> dict[str, Any]:
        """The field as the platform expects it: all 13 keys in order (+ nested ``fields``)."""
        self.validate()
        out = {key: getattr(self, key) for key in self.KEYS}
        out["functions"] = list(self.functions or [])
        if self.type == TYPE_OBJECT:
            out["fields"] = [child.generate() for child in self.fields]
        return out

    def __repr__(self) -> str:
        return f"Field(treekey={self.treekey!r}, type={self.type!r}, name={self.name!r})"


class Endpoint:
    """One entity of the connector (``entity_name``, ``treekey``, ``endpoint_url``,
    ``entity_token``) and its fields."""

    def __init__(self, attributes: Optional[Mapping[str, Any]] = None) -> None:
        self.entity_name: Optional[str] = None
        self.treekey: Optional[str] = None
        self.endpoint_url: Optional[str] = None
        self.entity_token: Optional[str] = None
        self.fields: list[Field] = []
        if attributes is None:
            return
        if not isinstance(attributes, Mapping):
            raise LayoutTypeError(
                f"Endpoint attributes must be a dict, got {type(attributes).__name__}"
            )
        self._load(attributes, "endpoint")

    def _load(self, attributes: Any, path: str) -> None:
        if not isinstance(attributes, Mapping):
            raise LayoutTypeError(f"{path} must be an object, got {_kind(attributes)}")
        for key in ("entity_name", "treekey", "endpoint_url", "entity_token"):
            if key in attributes:
                setattr(self, key, attributes[key])
        if attributes.get("fields"):
            self.fields = _fields_from_attributes(attributes["fields"], path, 0)

    def add_field(self, field: Field) -> Endpoint:
        self.fields.append(_checked_field("add_field", field))
        return self

    def add_fields(self, fields: Iterable[Field]) -> Endpoint:
        self.fields.extend(_listed_of(Field, "add_fields", fields))
        return self

    def validate(self) -> None:
        message = ""
        if not self.treekey:
            message += "Treekey is required for this endpoint. "
        if not self.entity_name:
            message += "Entity name is required. "
        if not self.endpoint_url:
            message += "The endpoint url is required. "
        if not self.entity_token:
            message += "The entity token is required. "
        if message:
            raise ValidationException(message)

    def generate(self) -> dict[str, Any]:
        self.validate()
        return {
            "entity_name": self.entity_name,
            "treekey": self.treekey,
            "endpoint_url": self.endpoint_url,
            "entity_token": self.entity_token,
            "fields": [field.generate() for field in self.fields],
        }

    def __repr__(self) -> str:
        token = MASK if self.entity_token else None
        return (
            f"Endpoint(entity_name={self.entity_name!r}, endpoint_url={self.endpoint_url!r}, "
            f"entity_token={token!r}, fields={len(self.fields)})"
        )


class DataLayout:
    """Every endpoint of the connector; :meth:`generate` gives ``{"data_layout": [...]}``."""

    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataLayout:
        """Rebuild a layout from its JSON: ``{"data_layout": [...]}`` or the served envelope."""
        if isinstance(data, Mapping) and isinstance(data.get("data"), Mapping):
            data = data["data"]
        if not isinstance(data, Mapping) or not isinstance(data.get("data_layout"), list):
            raise ValidationException('a data layout is a JSON object with a "data_layout" list')
        layout = cls()
        for index, attributes in enumerate(data["data_layout"]):
            endpoint = Endpoint()
            endpoint._load(attributes, f"data_layout[{index}]")
            layout.add_endpoint(endpoint)
        return layout

    def add_endpoint(self, endpoint: Endpoint) -> DataLayout:
        if not isinstance(endpoint, Endpoint):
            raise LayoutTypeError(
                f"add_endpoint() needs an Endpoint, got {type(endpoint).__name__}"
            )
        self.endpoints.append(endpoint)
        return self

    def add_endpoints(self, endpoints: Iterable[Endpoint]) -> DataLayout:
        self.endpoints.extend(_listed_of(Endpoint, "add_endpoints", endpoints))
        return self

    def generate(self) -> dict[str, Any]:
        """``{"data_layout": [...]}``; each endpoint and field checks itself, nothing more."""
        return {"data_layout": [endpoint.generate() for endpoint in self.endpoints]}

    def validate(self) -> dict[str, Any]:
        """Generate and check the whole layout (:mod:`~ferrolink.dsync.rules`); returns it, or
        raises listing problems."""
        return _checked_layout(self.generate())

    def __repr__(self) -> str:
        names = [e.entity_name for e in self.endpoints]
        return f"DataLayout(endpoints={names!r})"


def layout_envelope(
    layout: Union[DataLayout, Mapping[str, Any]], *, validate: bool = True
) -> dict[str, Any]:
    """The reply a connector serves on ``GET /datalayout``: ``{status, message, detail, data}``.

    ``detail`` is ``{}`` (the blueprint's form; the original README showed ``''``).
    """
    data = layout.generate() if isinstance(layout, DataLayout) else dict(layout)
    if validate:
        _checked_layout(data)
    return {"status": 200, "message": "OK", "detail": {}, "data": data}


def _checked_layout(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` when it passes every rule, else :class:`ValidationException` listing each."""
    problems = layout_problems(data)
    if problems:
        raise ValidationException("invalid data layout: " + "; ".join(problems), problems)
    return data


def _checked_field(method: str, field: Any) -> Field:
    if not isinstance(field, Field):
        raise LayoutTypeError(f"{method}() needs a Field, got {type(field).__name__}")
    return field


def _listed_of(cls: type[_T], method: str, items: Any) -> list[_T]:
    """``items`` as a list, every one a ``cls`` (else :class:`LayoutTypeError` naming it)."""
    listed = _listed(method, items)
    for index, item in enumerate(listed):
        if not isinstance(item, cls):
            raise LayoutTypeError(
                f"{method}() needs {cls.__name__} objects; item {index} is {type(item).__name__}"
            )
    return listed


def _fields_from_attributes(fields: Any, path: str, depth: int) -> list[Field]:
    """The ``fields`` of the object at ``path``: Field objects or their dicts (as loaded JSON).

    Nesting is capped so a hostile document is an error naming where, not a RecursionError.
    """
    if isinstance(fields, (str, bytes, Mapping)) or not isinstance(fields, Iterable):
        raise LayoutTypeError(f"{path}.fields must be a list, got {_kind(fields)}")
    if depth >= MAX_FIELD_DEPTH:
        raise ValidationException(
            f"{path}.fields: fields nest deeper than {MAX_FIELD_DEPTH} levels"
        )
    loaded = []
    for index, item in enumerate(fields):
        if isinstance(item, Field):
            loaded.append(item)
            continue
        child = Field()
        child._load(item, f"{path}.fields[{index}]", depth + 1)
        loaded.append(child)
    return loaded


def _listed(method: str, items: Any) -> list[Any]:
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
        raise LayoutTypeError(f"{method}() needs a list, got {type(items).__name__}")
    return list(items)
