"""The accounts and documents the EXP sandbox starts with."""

from __future__ import annotations

from typing import Any, Callable

ORGANIZATION = "scala"
USER = {"username": "joe@example.com", "password": "joesmoe25", "organization": ORGANIZATION}
DEVICE_UUID = "d0000000-0000-4000-8000-000000000001"
DEVICE_SECRET = "device-secret-1"
CONSUMER_UUID = "c0000000-0000-4000-8000-000000000001"
CONSUMER_API_KEY = "consumer-api-key-1"
EXPERIENCE_UUID = "e0000000-0000-4000-8000-000000000001"
LOCATION_UUID = "10000000-0000-4000-8000-000000000001"


def seed(put: Callable[[str, dict[str, Any]], dict[str, Any]]) -> None:
    """Store the starting documents through ``put(collection, document)``."""
    put(
        "locations",
        {
            "uuid": LOCATION_UUID,
            "name": "Lobby",
            "zones": [{"key": "entrance", "name": "Entrance"}, {"key": "bar", "name": "Bar"}],
        },
    )
    put("experiences", {"uuid": EXPERIENCE_UUID, "name": "Welcome"})
    put(
        "devices",
        {
            "uuid": DEVICE_UUID,
            "name": "Lobby Player",
            "subtype": "scala:device:player",
            "experience": {"uuid": EXPERIENCE_UUID},
            "location": {"uuid": LOCATION_UUID, "zones": [{"key": "entrance"}]},
        },
    )
    put("devices", {"name": "Spare Player", "subtype": "scala:device:player"})
    put(
        "things",
        {
            "name": "Badge",
            "subtype": "scala:thing:rfid",
            "id": "rfid-1",
            "location": {"uuid": LOCATION_UUID, "zones": [{"key": "bar"}]},
        },
    )
    put(
        "feeds",
        {
            "name": "Weather",
            "subtype": "scala:feed:weather",
            "dataType": "static",
            "searchValue": "Oslo",
        },
    )
    put(
        "feeds",
        {"name": "Search", "subtype": "scala:feed:weather", "dataType": "dynamic"},
    )
    root = put(
        "content",
        {"name": "Demo", "subtype": "scala:content:folder", "path": "/Demo", "parent": None},
    )
    for doc in (
        {
            "name": "logo file.png",
            "subtype": "scala:content:file",
            "path": "/Demo/logo file.png",
            "variants": [{"name": "thumb 320"}],
        },
        {"name": "Menu", "subtype": "scala:content:app", "path": "/Demo/Menu"},
        {
            "name": "Site",
            "subtype": "scala:content:url",
            "path": "/Demo/Site",
            "url": "https://example.com/",
        },
        {"name": "Nested", "subtype": "scala:content:folder", "path": "/Demo/Nested"},
    ):
        put("content", {**doc, "parent": root["uuid"]})
