"""HEXONET response grammar: documented vectors, edge cases, templates, properties, bad input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrolink.hexonet import responseparser
from ferrolink.hexonet.response import Response
from ferrolink.hexonet.responsetemplate import ResponseTemplate
from ferrolink.hexonet.responsetemplatemanager import ResponseTemplateManager

SPEC_EXAMPLE = (
    "[RESPONSE]\nCODE = 200\nDESCRIPTION = Command completed successfully\n"
    "PROPERTY[DOMAIN][0] = example.com\nPROPERTY[DOMAIN][1] = example.net\n"
    "PROPERTY[TOTAL][0] = 2\nQUEUETIME = 0\nRUNTIME = 0.004\nEOF\n"
)


def test_spec_example() -> None:
    assert responseparser.parse(SPEC_EXAMPLE) == {
        "CODE": "200",
        "DESCRIPTION": "Command completed successfully",
        "PROPERTY": {"DOMAIN": ["example.com", "example.net"], "TOTAL": ["2"]},
        "QUEUETIME": "0",
        "RUNTIME": "0.004",
    }


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("CODE=200", {"CODE": "200"}),
        ("code = 200", {"CODE": "200"}),
        ("CODE\t=\t200 \t", {"CODE": "200"}),
        ("  code = 200", {"  CODE": "200"}),  # leading blanks kept, so not CODE
        ("A = x = y", {"A": "x = y"}),
        ("EMPTY =", {"EMPTY": ""}),
        ("=x", {}),
        (" \t=x", {}),
        ("[RESPONSE]", {}),
        ("EOF", {}),
        ("", {}),
        ("garbage without equals", {}),
        ("CODE=200\r", {"CODE": "200\r"}),  # a lone CR stays in the value
        ("ß=1", {"SS": "1"}),
        ("PROPERTY=x", {}),  # documented deviation: the original crashed or broke here
    ],
)
def test_line_grammar(line: str, expected: dict[str, str]) -> None:
    assert responseparser.parse(line) == expected


def test_property_rules() -> None:
    text = (
        "property[expiration date][0] = a\n"
        "PROPERTY[X] = no index\n"
        "Property[Dom\u00e4in][7] = seven\n"
        "PROPERTY[DOM\u00c4IN][0] = zero\n"
        "PROPERTY[\x1cA\u2003B][0] = sep\n"
        "property[a=b\n"
        "PROPERTY[CLASS][1] =\n"
    )
    parsed = responseparser.parse(text)
    assert parsed["PROPERTY"] == {
        "EXPIRATIONDATE": ["a"],
        "X": ["no index"],
        "DOM\u00c4IN": ["seven", "zero"],  # index ignored: order of appearance
        "AB": ["sep"],
        "CLASS": [""],
    }
    assert parsed["PROPERTY[A"] == "b"


def test_duplicates_crlf_and_order() -> None:
    parsed = responseparser.parse(
        "CODE=1\r\nX=a\r\nCODE=2\r\r\nPROPERTY[A][0]=1\r\nPROPERTY[A][0]=1"
    )
    assert list(parsed) == ["CODE", "X", "PROPERTY"]
    assert parsed["CODE"] == "2\r"
    assert parsed["PROPERTY"]["A"] == ["1", "1"]


def test_serialize_spec_vector() -> None:
    h = {
        "CODE": "200",
        "DESCRIPTION": "Command completed successfully",
        "RUNTIME": "0.12",
        "QUEUETIME": "0",
        "EXTRA": "dropped",
        "PROPERTY": {"RATING": ["1"], "DOMAIN": ["a.com"]},
    }
    assert responseparser.serialize(h) == (
        "[RESPONSE]\r\nPROPERTY[DOMAIN][0]=a.com\r\nPROPERTY[RATING][0]=1\r\nCODE=200\r\n"
        "DESCRIPTION=Command completed successfully\r\nQUEUETIME=0\r\nRUNTIME=0.12\r\nEOF\r\n"
    )
    assert responseparser.serialize({}) == "[RESPONSE]\r\nEOF\r\n"
    assert responseparser.serialize({"CODE": 200, "DESCRIPTION": "x"}).count("CODE=200") == 1


def test_parse_rejects_non_str() -> None:
    with pytest.raises(TypeError, match="expects str"):
        responseparser.parse(b"CODE=200")  # type: ignore[arg-type]


# -- templates -------------------------------------------------------------------------

EMPTY = "Empty API response. Probably unreachable API end point {CONNECTION_URL}"
INVALID = "Invalid API response. Contact Support"


@pytest.mark.parametrize(
    ("raw", "code", "description"),
    [
        ("", 423, EMPTY),
        (None, 423, EMPTY),
        (b"", 423, INVALID),  # empty bytes are not caught by the empty check
        ("[RESPONSE]\nEOF", 423, INVALID),
        ("<html>garbage</html>", 423, INVALID),
        ("CODE=200", 423, INVALID),
        ("DESCRIPTION=x", 423, INVALID),
        (b"CODE=200\nDESCRIPTION=\xe4rger", 200, "\u00e4rger"),  # latin-1 fallback
        (b"CODE=200\nDESCRIPTION=ok", 200, "ok"),
    ],
)
def test_response_template_inputs(raw: object, code: int, description: str) -> None:
    rt = ResponseTemplate(raw)  # type: ignore[arg-type]
    assert rt.getCode() == code
    assert rt.getDescription() == description


def test_response_template_rejects_dict() -> None:
    with pytest.raises(TypeError, match='Type "dict" is not allowed'):
        ResponseTemplate({"CODE": "200"})  # type: ignore[arg-type]


def test_code_classes_and_numbers() -> None:
    rt = ResponseTemplate("CODE=421\nDESCRIPTION=x\nQUEUETIME=0.5\nRUNTIME=1.25\nPENDING=1")
    assert (rt.isSuccess(), rt.isTmpError(), rt.isError(), rt.isPending()) == (
        False,
        True,
        False,
        True,
    )
    assert (rt.getQueuetime(), rt.getRuntime()) == (0.5, 1.25)
    assert ResponseTemplate("CODE=200\nDESCRIPTION=x").getRuntime() == 0.0
    odd = ResponseTemplate("CODE=abc\nDESCRIPTION=x")
    assert not (odd.isSuccess() or odd.isTmpError() or odd.isError())
    with pytest.raises(ValueError):
        odd.getCode()
    empty = ResponseTemplate("CODE=\nDESCRIPTION=x")  # the original raised IndexError
    assert empty.isError() and not (empty.isSuccess() or empty.isTmpError())
    assert ResponseTemplate("CODE= 200 \nDESCRIPTION=x").getCode() == 200


def test_template_manager_defaults_and_reset() -> None:
    rtm = ResponseTemplateManager()
    expected = {
        "404": (421, "Page not found"),
        "500": (500, "Internal server error"),
        "empty": (423, EMPTY),
        "error": (421, "Command failed due to server error. Client should try again"),
        "expired": (530, "SESSION NOT FOUND"),
        "httperror": (421, "Command failed due to HTTP communication error"),
        "invalid": (423, INVALID),
        "unauthorized": (530, "Unauthorized"),
    }
    templates = rtm.getTemplates()
    assert {k: (t.getCode(), t.getDescription()) for k, t in templates.items()} == expected
    assert rtm.getTemplate("nope").getDescription() == "Response Template not found"
    assert rtm.getTemplate("nope").getCode() == 500
    assert rtm.addTemplate("custom", rtm.generateTemplate("599", "mine")) is rtm
    assert rtm.hasTemplate("custom")
    assert rtm.isTemplateMatchPlain("CODE=599\nDESCRIPTION=mine", "custom")
    assert rtm.isTemplateMatchHash({"CODE": "599", "DESCRIPTION": "mine"}, "custom")
    assert not rtm.isTemplateMatchHash({"CODE": "599", "DESCRIPTION": "x"}, "custom")
    # The original's singleton semantics: a new handle resets custom templates.
    assert ResponseTemplateManager.getInstance() is rtm
    assert not rtm.hasTemplate("custom")
    assert (
        rtm.generateTemplate("200", "ok") == "[RESPONSE]\r\nCODE=200\r\nDESCRIPTION=ok\r\nEOF\r\n"
    )


# -- bad input ---------------------------------------------------------------------------


def test_nul_bytes_and_control_characters() -> None:
    r = Response(b"CODE=200\nDESCRIPTION=a\x00b\nPROPERTY[X\x00][0]=\x00\x01")
    assert r.getDescription() == "a\x00b"
    assert r.getColumnKeys() == ["X\x00"]
    assert r.getRecord(0) is not None


def test_ten_megabyte_single_line() -> None:
    value = "x" * (10 * 1024 * 1024)
    r = Response(f"CODE=200\nDESCRIPTION=ok\nPROPERTY[BIG][0]={value}\n".encode())
    column = r.getColumn("BIG")
    assert column is not None and len(column.getData()[0]) == len(value)
    line_only = Response(("y" * (10 * 1024 * 1024)).encode())
    assert line_only.getCode() == 423


def test_hundred_thousand_properties() -> None:
    lines = ["CODE=200", "DESCRIPTION=ok"]
    lines += [f"PROPERTY[P{i}][0]={i}" for i in range(100_000)]
    r = Response("\n".join(lines))
    assert len(r.getColumnKeys()) == 100_000
    assert r.getRecordsCount() == 1
    record = r.getRecord(0)
    assert record is not None and record.getDataByKey("P99999") == "99999"
    many = Response(
        "CODE=200\nDESCRIPTION=ok\n" + "".join(f"PROPERTY[D][{i}]=v{i}\n" for i in range(100_000))
    )
    assert many.getRecordsCount() == 100_000
    assert many.getRecords()[-1].getData() == {"D": "v99999"}


# -- properties ----------------------------------------------------------------------------

KEYISH = st.text(alphabet="PROPERTYprtycodeCODE[]=_ \t\r\n\u00e4\u00df0123456789", max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_response_never_raises_on_bytes(data: bytes) -> None:
    r = Response(data)
    r.getListHash()
    assert isinstance(r.getCode(), int) or r.getHash()["CODE"]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), KEYISH))
def test_parse_never_raises_on_text(text: str) -> None:
    parsed = responseparser.parse(text)
    assert all(isinstance(v, str) for k, v in parsed.items() if k != "PROPERTY")


VALUE = st.text(
    alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=12
).map(lambda s: s.strip(" \t"))
NAME = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
@given(
    code=st.from_regex(r"[245][0-9]{2}", fullmatch=True),
    description=VALUE,
    properties=st.dictionaries(NAME, st.lists(VALUE, min_size=1, max_size=4), max_size=5),
)
def test_serialize_parse_round_trip(
    code: str, description: str, properties: dict[str, list[str]]
) -> None:
    h: dict[str, object] = {"CODE": code, "DESCRIPTION": description}
    if properties:
        h["PROPERTY"] = properties
    assert responseparser.parse(responseparser.serialize(h)) == h


def test_many_columns_interleaved() -> None:
    """Past 16 columns names are looked up by index: same table as the scan gives."""
    names = [f"C{i}" for i in range(40)]
    lines = ["CODE=200", "DESCRIPTION=ok"]
    lines += [f"PROPERTY[{n}][{row}]=v{n}-{row}" for row in range(3) for n in names]
    lines.append("property[ c7 ][3]=late")
    h = responseparser.parse("\n".join(lines))
    assert list(h["PROPERTY"]) == names
    assert h["PROPERTY"]["C0"] == ["vC0-0", "vC0-1", "vC0-2"]
    assert h["PROPERTY"]["C7"] == ["vC7-0", "vC7-1", "vC7-2", "late"]
