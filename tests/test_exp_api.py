"""EXP REST flows against the sandbox: auth, every resource, data, URLs, errors, tokens."""

from __future__ import annotations

import copy
import json
import logging
import pickle
import time
from typing import Any

import pytest

from ferrolink import exp
from ferrolink.http import Client
from ferrolink.sandbox import Sandbox
from ferrolink.sandbox.exp import DEVICE_UUID, LOCATION_UUID, ExpService

pytestmark = pytest.mark.usefixtures("exp_clean")


@pytest.fixture
def sdk(exp_sandbox: Sandbox, exp_options: Any) -> exp.Exp:
    return exp.start(**exp_options(exp_sandbox, enable_network=False))


@pytest.mark.parametrize("who", ["user", "device", "consumer"])
def test_every_identity_logs_in(exp_sandbox: Sandbox, who: str, exp_options: Any) -> None:
    instance = exp.start(**exp_options(exp_sandbox, who, enable_network=False))
    auth = instance.get_auth()
    assert auth["identity"]["organization"] == "scala"
    assert auth["expiration"] > time.time() * 1000
    assert instance.api.find_devices().total >= 2
    instance.stop()
    with pytest.raises(exp.UsageError, match="stopped"):
        instance.api.find_devices()


@pytest.mark.parametrize(
    "bad",
    [
        {"password": "wrong"},
        {"who": "device", "secret": "wrong"},
        {"who": "consumer", "api_key": "wrong"},
        {"who": "device", "uuid": "no-such-device"},
    ],
)
def test_bad_credentials_raise_authentication_error_from_start(
    exp_sandbox: Sandbox, bad: dict[str, str], exp_options: Any
) -> None:
    who = bad.pop("who", "user")
    with pytest.raises(exp.AuthenticationError) as info:
        exp.start(**exp_options(exp_sandbox, who, **bad))
    assert "wrong" not in str(info.value)
    assert info.value.server_message == "Authentication failed."


def test_module_level_runtime_with_bad_credentials_leaves_no_thread(
    exp_sandbox: Sandbox, exp_options: Any
) -> None:
    with pytest.raises(exp.AuthenticationError):
        exp.runtime.start(**exp_options(exp_sandbox, password="nope"))
    with pytest.raises(exp.UsageError, match="start"):
        exp.api.find_devices()


@pytest.mark.parametrize(
    ("kind", "doc"),
    [
        ("device", {"name": "Player 9", "subtype": "scala:device:player"}),
        ("thing", {"name": "Tag", "id": "rfid-9"}),
        ("experience", {"name": "Holiday"}),
        ("location", {"name": "Shop", "zones": [{"key": "z", "name": "Z"}]}),
        ("feed", {"name": "News", "dataType": "static", "searchValue": "x"}),
    ],
)
def test_crud_of_every_resource(sdk: exp.Exp, kind: str, doc: dict[str, object]) -> None:
    api = sdk.api
    created = getattr(api, f"create_{kind}")(doc)
    assert created.uuid and created.document["name"] == doc["name"]
    fetched = getattr(api, f"get_{kind}")(created.uuid)
    assert fetched == created and fetched.document == created.document
    fetched.document["field"] = 123
    fetched.save()  # PATCH, document replaced with the reply
    assert fetched.document["field"] == 123
    created.refresh()
    assert created.document["field"] == 123
    plural = "things" if kind == "thing" else f"{kind}s"
    found = getattr(api, f"find_{plural}")(name=doc["name"])
    assert [r.uuid for r in found] == [created.uuid] and found.total == 1
    created.delete()
    assert getattr(api, f"get_{kind}")(created.uuid) is None


def test_new_resource_save_posts(sdk: exp.Exp) -> None:
    device = exp.Device({"name": "Fresh"}, sdk)
    device.save()
    assert device.uuid and sdk.api.get_device(device.uuid) == device
    empty = sdk.api.create_device()  # no body: the server's default name
    assert empty.name == "New Device"


def test_document_attributes_as_in_the_original_readme(sdk: exp.Exp) -> None:
    device = sdk.api.create_device({"name": "Fresh Player"})
    device.document.name = "My Device"
    assert device.document["name"] == "My Device" == device.name
    device.save()
    stored = sdk.api.get_device(device.uuid)
    assert stored is not None and stored.document.name == "My Device"
    document = stored.document
    assert isinstance(document, dict) and json.loads(json.dumps(document)) == document
    assert copy.deepcopy(document) == document and pickle.loads(pickle.dumps(document)) == document
    with pytest.raises(AttributeError, match="no 'colour'"):
        _ = document.colour
    assert not hasattr(document, "colour") and document.get("colour") is None
    linked = sdk.api.get_device(DEVICE_UUID)
    assert linked is not None and linked.document.location.uuid == LOCATION_UUID
    linked.document.location.zones = [{"key": "bar"}]  # nested edits reach the document
    linked.document.shelf = {"row": 1}
    del linked.document.shelf
    linked.save()
    assert [z.key for z in linked.get_zones()] == ["bar"]
    location = linked.get_location()
    assert location is not None
    zone = location.get_zones()[0]
    zone.document.name = "Front door"  # a zone is an entry of its location's document
    zone.save()
    assert location.document.zones[0]["name"] == "Front door"
    assert sdk.api.get_location(LOCATION_UUID).get_zones()[0].name == "Front door"  # type: ignore[union-attr]
    zone.name = "Entrance"
    zone.save()
    linked.document = {"uuid": DEVICE_UUID, "location": {"uuid": LOCATION_UUID}}
    assert linked.document.location.uuid == LOCATION_UUID
    linked.document.location = {"uuid": LOCATION_UUID, "zones": [{"key": "entrance"}]}
    linked.save()
    device.delete()


def test_get_returns_none_on_404_and_for_missing_uuid(sdk: exp.Exp) -> None:
    api = sdk.api
    assert api.get_device("does-not-exist") is None
    assert api.get_content("does/not/exist") is None  # the slash is encoded, not a route
    assert api.get_thing(None) is None
    assert api.get_data("nope", "nothing") is None


def test_errors_carry_code_message_and_status(sdk: exp.Exp) -> None:
    with pytest.raises(exp.ApiError) as info:
        sdk.post("/api/devices", payload=[1, 2])
    err = info.value
    assert (err.code, err.status_code) == ("document.invalid", 400)
    assert err.payload["message"] == err.message and err.message in str(err)
    with pytest.raises(exp.UsageError):
        sdk.api.create_device("not a dict")  # type: ignore[arg-type]


def test_find_filters_dotted_paths_limit_and_skip(sdk: exp.Exp) -> None:
    api = sdk.api
    linked = api.find_devices(**{"location.uuid": LOCATION_UUID})
    assert [d.uuid for d in linked] == [DEVICE_UUID]
    in_zone = api.find_devices(**{"location.zones.key": "entrance"})
    assert [d.uuid for d in in_zone] == [DEVICE_UUID]
    page = api.find_devices(subtype="scala:device:player", limit=1)
    assert len(page) == 1 and page.total == 2 and page.results == [page[0].document]
    rest = api.find_devices(subtype="scala:device:player", limit=1, skip=1)
    assert rest[0].uuid != page[0].uuid


def test_links_between_resources(sdk: exp.Exp) -> None:
    device = sdk.api.get_device(DEVICE_UUID)
    assert device is not None
    location = device.get_location()
    experience = device.get_experience()
    assert location is not None and experience is not None
    assert [z.key for z in device.get_zones()] == ["entrance"]
    assert [d.uuid for d in experience.get_devices()] == [DEVICE_UUID]
    assert [d.uuid for d in location.get_devices(params={"name": "Lobby Player"})] == [DEVICE_UUID]
    assert location.get_devices(name="other").total == 0  # filter merged with params
    assert [t.document["id"] for t in location.get_things()] == ["rfid-1"]
    bar = next(z for z in location.get_zones() if z.key == "bar")
    assert [t.document["id"] for t in bar.get_things()] == ["rfid-1"]
    assert bar.get_devices().total == 0
    thing = sdk.api.find_things(id="rfid-1")[0]
    assert thing.get_experience() is None and thing.get_location() == location


def test_current_device_for_a_device_identity(exp_sandbox: Sandbox, exp_options: Any) -> None:
    device_sdk = exp.start(**exp_options(exp_sandbox, "device", enable_network=False))
    current = device_sdk.get_current_device()
    assert current is not None and current.uuid == DEVICE_UUID
    experience = device_sdk.get_current_experience()
    assert experience is not None and experience.name == "Welcome"
    assert [z.key for z in device_sdk.get_current_zones()] == ["entrance"]
    device_sdk.stop()


def test_content_tree_and_urls(sdk: exp.Exp, exp_sandbox: Sandbox) -> None:
    root = sdk.api.find_content(name="Demo")[0]
    children = root.get_children()
    by_type = {c.subtype: c for c in children}
    assert set(by_type) >= {"scala:content:file", "scala:content:app", "scala:content:url"}
    assert children.total == len(children) == 4
    file_item = by_type["scala:content:file"]
    rt = sdk.get_auth()["restrictedToken"]
    url = file_item.get_url()
    base = exp_sandbox.url("exp")
    assert url == f"{base}/api/delivery/Demo/logo%20file.png?_rt={rt}"
    variant = file_item.get_variant_url("thumb 320")
    assert variant == f"{url}&variant=thumb+320"
    assert file_item.has_variant("thumb 320") and not file_item.has_variant("big")
    app_url = by_type["scala:content:app"].get_url()
    assert app_url == f"{base}/api/delivery/Demo/Menu?_rt={rt}"
    assert by_type["scala:content:url"].get_url() == "https://example.com/"
    assert root.get_url() is None
    with Client(ca_file=exp_sandbox.ca_file) as http:  # the URLs really deliver
        for u in (url, variant, app_url):
            assert http.get(u).status == 200
        location = sdk.api.get_location(LOCATION_UUID)
        assert location is not None
        assert http.get(location.get_layout_url()).status == 200
    fetched = sdk.api.get_content(file_item.uuid)
    assert fetched is not None and fetched.document == file_item.document
    with pytest.raises(exp.UsageError):
        fetched.delete()
    pathless = exp.Content({"uuid": "x", "subtype": "scala:content:file"}, sdk)
    with pytest.raises(exp.ExpError, match="no path"):
        pathless.get_url()


def test_feed_data(sdk: exp.Exp) -> None:
    static = sdk.api.find_feeds(dataType="static")[0]
    assert static.get_data()["search"]["search"] == "Oslo"
    dynamic = sdk.api.find_feeds(dataType="dynamic")[0]
    assert dynamic.get_data(searchValue="Bergen")["search"]["search"] == "Bergen"


def test_data_store(sdk: exp.Exp, exp_service: ExpService) -> None:
    api = sdk.api
    data = api.create_data(key="4", group="cats", value={"name": "fluffy"})
    assert data.value == {"name": "fluffy"}
    got = api.get_data("4", "cats")  # key first
    assert got is not None and got.value == {"name": "fluffy"}
    got.value = {"generic": 1111}
    got.save()
    assert exp_service.data[("cats", "4")] == {"generic": 1111}
    odd = api.create_data(key="a/b c", group="g/1", value=[1])  # segments encoded alone
    assert exp_service.data[("g/1", "a/b c")] == [1]
    assert [d.key for d in api.find_data(group="g/1")] == ["a/b c"]
    odd.delete()
    got.delete()
    assert api.get_data("4", "cats") is None
    with pytest.raises(exp.UsageError, match="key"):
        api.create_data(key=None, group="cats", value=1)
    with pytest.raises(exp.UsageError, match="group"):
        api.get_data("k", None)


def test_rest_401_refreshes_once_and_retries(sdk: exp.Exp, exp_service: ExpService) -> None:
    old = sdk.get_auth()["token"]
    exp_service.invalidate_tokens()
    assert sdk.api.get_device(DEVICE_UUID) is not None  # refresh 401 -> login -> retry
    assert sdk.get_auth()["token"] != old


def test_ready_token_is_used_as_is(
    exp_sandbox: Sandbox, sdk: exp.Exp, exp_service: ExpService, exp_options: Any
) -> None:
    token = sdk.get_auth()["token"]
    bearer = exp.start(
        **exp_options(
            exp_sandbox,
            enable_network=False,
            username=None,
            password=None,
            organization="scala",
            token=token,
        )
    )
    assert bearer.api.get_device(DEVICE_UUID) is not None
    exp_service.invalidate_tokens()
    with pytest.raises(exp.ApiError) as info:  # nothing to refresh with: the 401 surfaces
        bearer.api.get_device(DEVICE_UUID)
    assert info.value.status_code == 401
    bearer.stop()


def test_idle_client_refreshes_before_expiry(
    exp_sandbox: Sandbox, exp_service: ExpService, exp_options: Any
) -> None:
    exp_service.token_ttl = 1.5
    sdk = exp.start(**exp_options(exp_sandbox, enable_network=False))
    first = sdk.get_auth()["token"]
    before = dict(exp_service.stats)
    time.sleep(2.5)  # idle well past the first token's lifetime
    assert sdk.get_auth()["token"] != first
    assert sdk.get_auth()["expiration"] > time.time() * 1000
    assert exp_service.stats["refresh"] > before.get("refresh", 0)
    unauthorized = exp_service.stats["unauthorized"]
    assert sdk.api.get_device(DEVICE_UUID) is not None
    assert exp_service.stats["unauthorized"] == unauthorized  # no 401 was needed
    sdk.stop()


def test_secrets_never_reach_logs_or_reprs(
    exp_sandbox: Sandbox, caplog: pytest.LogCaptureFixture, exp_options: Any
) -> None:
    caplog.set_level(logging.DEBUG, logger="ferrolink")
    creds = exp_sandbox.credentials("exp")
    device = exp.start(**exp_options(exp_sandbox, "device", enable_network=False))
    device.api.find_devices()
    device.session.refresh()
    token = device.get_auth()["token"]
    text = caplog.text + repr(device) + repr(device.session)
    for secret in (creds["device_secret"], creds["password"], token):
        assert secret not in text
    device.stop()


def test_unreachable_host_raises_network_error(exp_sandbox: Sandbox, exp_options: Any) -> None:
    with pytest.raises(exp.NetworkError, match=r"could not connect to https://127\.0\.0\.1:9"):
        exp.start(**exp_options(exp_sandbox, host="https://127.0.0.1:9", timeout=2))
