"""DSYNC data layouts, fields, endpoints and entity tokens: exact output and validation."""

from __future__ import annotations

import json
import re
from unittest import mock

import pytest

from ferrolink import dsync
from ferrolink.errors import InvalidArgumentError

README_JSON = (
    '{"data_layout": [{"entity_name": "product", "treekey": "product", "endpoint_url": '
    '"/entity/product", "entity_token": "source-1-product-b5503a0ae5f3bc01b6a2da68afd33305", '
    '"fields": [{"id": null, "treekey": "product.sku", "value": null, "type": "text", '
    '"multiple": false, "date_format": null, "required": true, "functions": [], '
    '"primary_key": true, "foreign_key": null, "bool_settings": null, "name": "sku", '
    '"description": "A product SKU"}]}]}'
)
TOKEN = "source-1-product-b5503a0ae5f3bc01b6a2da68afd33305"


def readme_layout() -> dsync.DataLayout:
    field = dsync.Field(
        {
            "primary_key": True,
            "required": True,
            "treekey": "product.sku",
            "description": "A product SKU",
            "name": "sku",
            "type": dsync.Field.TYPE_TEXT,
        }
    )
    endpoint = dsync.Endpoint(
        {
            "entity_name": "product",
            "treekey": "product",
            "entity_token": TOKEN,
            "endpoint_url": "/entity/product",
        }
    )
    endpoint.add_field(field)
    layout = dsync.DataLayout()
    layout.add_endpoint(endpoint)
    return layout


def test_readme_layout_json_is_byte_exact() -> None:
    assert json.dumps(readme_layout().generate()) == README_JSON


def test_endpoint_without_fields_matches_fixture() -> None:
    endpoint = dsync.Endpoint(
        {
            "entity_name": "order",
            "treekey": "order",
            "endpoint_url": "/entity/order",
            "entity_token": "source-1-order-b5503a0ae5f3bc01b6a2da68afd33305",
        }
    )
    assert json.dumps(endpoint.generate()) == (
        '{"entity_name": "order", "treekey": "order", "endpoint_url": "/entity/order", '
        '"entity_token": "source-1-order-b5503a0ae5f3bc01b6a2da68afd33305", "fields": []}'
    )


def test_field_defaults_order_and_unknown_keys_ignored() -> None:
    field = dsync.Field({"treekey": "a.b", "type": "number", "name": "b", "bogus": 1})
    out = field.generate()
    assert list(out) == list(dsync.Field.KEYS)
    assert len(out) == 13
    assert out == {
        "id": None,
        "treekey": "a.b",
        "value": None,
        "type": "number",
        "multiple": False,
        "date_format": None,
        "required": False,
        "functions": [],
        "primary_key": False,
        "foreign_key": None,
        "bool_settings": None,
        "name": "b",
        "description": None,
    }
    assert not hasattr(field, "bogus")


def test_no_state_shared_between_instances() -> None:
    a, b = dsync.Field(), dsync.Field()
    a.functions.append("trim")
    assert b.functions == []
    e1, e2 = dsync.Endpoint(), dsync.Endpoint()
    e1.add_field(dsync.Field())
    assert e2.fields == []
    l1, l2 = dsync.DataLayout(), dsync.DataLayout()
    l1.add_endpoint(dsync.Endpoint())
    assert l2.endpoints == []
    functions = ["x"]
    f = dsync.Field({"treekey": "a.b", "type": "text", "name": "b", "functions": functions})
    functions.append("y")
    assert f.functions == ["x"]


def test_field_messages_in_order() -> None:
    with pytest.raises(dsync.ValidationException) as info:
        dsync.Field().generate()
    assert str(info.value) == (
        "Treekey is required for this field. Field type is required. Name of field is required. "
    )
    assert isinstance(info.value, InvalidArgumentError)
    with pytest.raises(dsync.ValidationException, match=r"^Name of field is required. $"):
        dsync.Field({"treekey": "a.b", "type": "text", "name": ""}).validate()


def test_field_type_is_checked() -> None:
    with pytest.raises(dsync.ValidationException, match="'bogus' is not one of: text, number"):
        dsync.Field({"treekey": "a.b", "type": "bogus", "name": "b"}).generate()
    for ftype in dsync.FIELD_TYPES:
        dsync.Field({"treekey": "a.b", "type": ftype, "name": "b"}).validate()
    assert len(dsync.FIELD_TYPES) == 11
    assert dsync.Field.TYPE_DATETIME == dsync.TYPE_DATETIME == "datetime"


def test_endpoint_messages_in_order() -> None:
    with pytest.raises(dsync.ValidationException) as info:
        dsync.Endpoint().generate()
    assert str(info.value) == (
        "Treekey is required for this endpoint. Entity name is required. "
        "The endpoint url is required. The entity token is required. "
    )


def test_add_methods_reject_wrong_objects() -> None:
    endpoint = dsync.Endpoint()
    with pytest.raises(TypeError, match="add_field\\(\\) needs a Field, got dict"):
        endpoint.add_field({"treekey": "x"})  # type: ignore[arg-type]
    with pytest.raises(dsync.ValidationException, match="item 1 is str"):
        endpoint.add_fields([dsync.Field(), "nope"])  # type: ignore[list-item]
    assert endpoint.fields == []  # nothing half-added
    with pytest.raises(TypeError, match="needs a list, got Field"):
        endpoint.add_fields(dsync.Field())  # type: ignore[arg-type]
    layout = dsync.DataLayout()
    with pytest.raises(TypeError, match="needs an Endpoint, got Field"):
        layout.add_endpoint(dsync.Field())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="item 0 is int"):
        layout.add_endpoints([1])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="Field attributes must be a dict"):
        dsync.Field(["treekey"])  # type: ignore[arg-type]


def test_nested_object_fields() -> None:
    inventory = dsync.Field({"treekey": "product.inventory", "type": "object", "name": "inventory"})
    inventory.add_field(
        dsync.Field({"treekey": "product.inventory.qty", "type": "number", "name": "qty"})
    )
    out = inventory.generate()
    assert list(out)[-1] == "fields"
    assert out["fields"][0]["treekey"] == "product.inventory.qty"
    assert len(out["fields"][0]) == 13
    # built from loaded JSON too
    again = dsync.Field(json.loads(json.dumps(out)))
    assert again.generate() == out
    # nesting is only for object fields
    text = dsync.Field({"treekey": "product.sku", "type": "text", "name": "sku"})
    text.add_field(dsync.Field({"treekey": "product.sku.x", "type": "text", "name": "x"}))
    with pytest.raises(dsync.ValidationException, match="Only fields of type object"):
        text.generate()
    # a child's own problems surface
    inventory.add_field(dsync.Field({"treekey": "product.inventory.bad", "name": "bad"}))
    with pytest.raises(dsync.ValidationException, match="Field type is required"):
        inventory.generate()


def test_empty_layout_generates_but_does_not_validate() -> None:
    layout = dsync.DataLayout()
    assert layout.generate() == {"data_layout": []}
    with pytest.raises(dsync.ValidationException, match="at least one entity"):
        layout.validate()


def test_whole_layout_rules() -> None:
    good = readme_layout().validate()
    assert dsync.layout_problems(good) == []

    def mutated(change: object) -> list[str]:
        data = json.loads(json.dumps(good))
        change(data)  # type: ignore[operator]
        return dsync.layout_problems(data)

    assert mutated(lambda d: d["data_layout"][0].update(fields=[])) == [
        "data_layout[0] (product): an entity needs at least one field"
    ]
    dup = mutated(lambda d: d["data_layout"].append(dict(d["data_layout"][0])))
    assert any("already used by data_layout[0]" in p for p in dup)
    twice = mutated(
        lambda d: d["data_layout"][0]["fields"].append(dict(d["data_layout"][0]["fields"][0]))
    )
    assert any("the treekey is used twice" in p for p in twice)
    outside = mutated(lambda d: d["data_layout"][0]["fields"][0].update(treekey="order.sku"))
    assert any("must start with 'product.'" in p for p in outside)
    nopk = mutated(lambda d: d["data_layout"][0]["fields"][0].update(primary_key=False))
    assert any("no field is marked primary_key" in p for p in nopk)
    badtype = mutated(lambda d: d["data_layout"][0]["fields"][0].update(type="bogus"))
    assert any("type 'bogus' is not one of" in p for p in badtype)
    nested_on_text = mutated(
        lambda d: d["data_layout"][0]["fields"][0].update(
            fields=[{"treekey": "product.sku.x", "type": "text", "name": "x"}]
        )
    )
    assert any("only fields of type object" in p for p in nested_on_text)
    # the blueprint's form, null keys omitted, is accepted
    sparse = {
        "data_layout": [
            {
                "entity_name": "p",
                "treekey": "p",
                "endpoint_url": "http://dsync.connector.example/entity/p",
                "entity_token": "t",
                "fields": [
                    {"treekey": "p.id", "type": "number", "name": "id", "primary_key": True},
                    {
                        "treekey": "p.inv",
                        "type": "object",
                        "name": "inv",
                        "fields": [{"treekey": "p.inv.qty", "type": "number", "name": "qty"}],
                    },
                ],
            }
        ]
    }
    assert dsync.layout_problems(sparse) == []
    assert dsync.layout_problems([]) == [
        'the layout must be a JSON object with a "data_layout" list'
    ]


def test_layout_envelope() -> None:
    envelope = dsync.layout_envelope(readme_layout())
    assert list(envelope) == ["status", "message", "detail", "data"]
    assert envelope["status"] == 200 and envelope["message"] == "OK" and envelope["detail"] == {}
    assert json.dumps(envelope["data"]) == README_JSON
    assert dsync.envelope_problems(envelope) == []
    with pytest.raises(dsync.ValidationException):
        dsync.layout_envelope(dsync.DataLayout())


def test_entity_token_format() -> None:
    token = dsync.generate_entity_token("Big Product")
    assert re.fullmatch(r"python-sdk-bigproduct-[0-9a-f]{32}", token)
    assert dsync.generate_entity_token("x", prefix="ferrolink").startswith("ferrolink-x-")
    assert len({dsync.generate_entity_token("product") for _ in range(1000)}) == 1000


def test_entity_token_is_not_derived_from_the_clock() -> None:
    # The original hashed the clock's microseconds: a frozen clock gave equal tokens.
    with mock.patch("time.time", return_value=1.0), mock.patch("time.time_ns", return_value=1):
        assert dsync.generate_entity_token("a") != dsync.generate_entity_token("a")


@pytest.mark.parametrize("bad", [None, 3, "", "   "])
def test_entity_token_bad_names(bad: object) -> None:
    with pytest.raises(InvalidArgumentError, match="entity_name"):
        dsync.generate_entity_token(bad)  # type: ignore[arg-type]


def test_repr_masks_entity_token() -> None:
    endpoint = readme_layout().endpoints[0]
    assert TOKEN not in repr(endpoint)
    assert "product" in repr(endpoint)
