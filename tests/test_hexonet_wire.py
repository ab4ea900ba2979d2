"""HEXONET request encoding: the documented POST bodies, masking, flattening, sessions, UA, IDN."""

from __future__ import annotations

import platform
import re
import types
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrolink import _core
from ferrolink.hexonet import apiclient
from ferrolink.hexonet.apiclient import APIClient
from ferrolink.hexonet.idn import to_ascii
from ferrolink.hexonet.socketconfig import SocketConfig
from ferrolink.redact import is_secret_key

CMD = "s_command=COMMAND%3DStatusAccount"


def client() -> APIClient:
    return APIClient()


def test_constants_and_defaults() -> None:
    assert apiclient.ISPAPI_CONNECTION_URL_LIVE == "https://api.ispapi.net/api/call.cgi"
    assert apiclient.ISPAPI_CONNECTION_URL_OTE == "https://api-ote.ispapi.net/api/call.cgi"
    assert apiclient.ISPAPI_CONNECTION_URL_PROXY == "http://127.0.0.1/api/call.cgi"
    cl = client()
    assert cl.getURL() == apiclient.ISPAPI_CONNECTION_URL_LIVE
    assert cl.getVersion() == "4.0.2"
    assert cl.getProxy() is None and cl.getReferer() is None and cl.getSession() is None
    assert cl.getTimeout() == 300.0


@pytest.mark.parametrize(
    ("setup", "body"),
    [
        (
            lambda c: c.setCredentials("myaccountid", "mypassword"),
            "s_entity=54cd&s_login=myaccountid&s_pw=mypassword&" + CMD,
        ),
        (
            lambda c: c.setRoleCredentials("myaccountid", "myroleid", "mypassword"),
            "s_entity=54cd&s_login=myaccountid%21myroleid&s_pw=mypassword&" + CMD,
        ),
        (
            lambda c: c.setRoleCredentials("myaccountid", "", "mypassword"),
            "s_entity=54cd&s_login=myaccountid&s_pw=mypassword&" + CMD,
        ),
        (lambda c: c.setOTP("12345678"), "s_entity=54cd&s_otp=12345678&" + CMD),
        (
            lambda c: c.setCredentials("a", "b").setSession("12345678"),
            "s_entity=54cd&s_session=12345678&" + CMD,
        ),
        (
            lambda c: c.setRemoteIPAddress("10.10.10.10"),
            "s_entity=54cd&s_remoteaddr=10.10.10.10&" + CMD,
        ),
        (lambda c: c.setUserView("sub").resetUserView(), "s_entity=54cd&" + CMD),
        (lambda c: c.setUserView("sub"), "s_entity=54cd&s_user=sub&" + CMD),
        (lambda c: c.useOTESystem(), "s_entity=1234&" + CMD),
        (lambda c: c.setCredentials("", ""), "s_entity=54cd&" + CMD),
        (
            lambda c: c.setCredentials("u/s+r", "p w"),
            "s_entity=54cd&s_login=u/s%2Br&s_pw=p%20w&" + CMD,
        ),
    ],
)
def test_connection_fields(setup: object, body: str) -> None:
    cl = client()
    setup(cl)  # type: ignore[operator]
    assert cl.getPOSTData({"COMMAND": "StatusAccount"}) == body


def test_command_vectors() -> None:
    cl = client()
    assert cl.getPOSTData("gregergege") == "s_entity=54cd&s_command=gregergege"
    assert cl.getPOSTData({"COMMAND": "ModifyDomain", "AUTH": None}) == (
        "s_entity=54cd&s_command=COMMAND%3DModifyDomain"
    )
    assert cl.getPOSTData({"COMMAND": "ModifyDomain", "AUTH": "gwrgwqg%&\\44t3*"}) == (
        "s_entity=54cd&s_command=AUTH%3Dgwrgwqg%25%26%5C44t3%2A%0ACOMMAND%3DModifyDomain"
    )
    assert (
        cl.getPOSTData({"COMMAND": "X", "V": ["a"]})
        == "s_entity=54cd&s_command=COMMAND%3DX%0AV%3D%5B%27a%27%5D"
    )
    assert cl.getPOSTData({"COMMAND": "X", "E": "", "N": "a\r\nb"}) == (
        "s_entity=54cd&s_command=COMMAND%3DX%0AE%3D%0AN%3Dab"
    )
    assert cl.getPOSTData("A=1\n\n") == "s_entity=54cd&s_command=A%3D1"


def test_masked_body() -> None:
    cl = client().setCredentials("test.user", "test.passw0rd")
    cmd = {"COMMAND": "CheckAuthentication", "PASSWORD": "test.passw0rd", "SUBUSER": "test.user"}
    assert cl.getPOSTData(cmd, True) == (
        "s_entity=54cd&s_login=test.user&s_pw=***&s_command=COMMAND%3DCheckAuthentication"
        "%0APASSWORD%3D%2A%2A%2A%0ASUBUSER%3Dtest.user"
    )
    masked = cl.getPOSTData({"COMMAND": "X", "NEWPASSWORD": "n1", "OLDPASSWORD": "o1"}, True)
    assert "n1" not in masked and "o1" not in masked
    assert "test.passw0rd" not in repr(cl)


def _flatten(cmd: dict[str, Any]) -> Any:
    return APIClient().setIDNConversion("off")._command(cmd)[0]


def test_flatten() -> None:
    flat = _flatten(
        {
            "command": "X",
            "Domain": ["a.com", None, 3],
            "auth": None,
            "n": 60,
            "b": True,
            "t": (1, 2),
            "x": "a\r\nb",
        }
    )
    assert flat == {
        "COMMAND": "X",
        "DOMAIN0": "a.com",
        "DOMAIN1": "None",
        "DOMAIN2": "3",
        "N": "60",
        "B": "True",
        "T": "(1, 2)",
        "X": "ab",
    }
    assert _flatten({"a": "1", "A": "2"}) == {"A": "2"}


def test_command_flattening_edge_cases() -> None:
    """What the original's flattening did with any mapping, key and value type."""

    class Rows(list[Any]):
        pass

    class Loud(str):
        def __str__(self) -> str:
            return "LOUD"

    proxy = types.MappingProxyType({"command": "X", "Domain": Rows(["a", 1])})
    assert _flatten(proxy) == {"COMMAND": "X", "DOMAIN0": "a", "DOMAIN1": "1"}
    assert _flatten({"COMMAND": Loud("x"), "ß": "1", "k": ("a\n",)}) == {
        "COMMAND": "LOUD",
        "SS": "1",
        "K": "('a\\n',)",
    }
    with pytest.raises(AttributeError):
        _flatten({1: "x"})
    assert _flatten({1: None}) == {}  # dropped before its key is looked at


def test_idn_keys_and_values_follow_the_original_rule() -> None:
    cl = APIClient()
    command, body, keys = cl._command(
        {"COMMAND": "X", "domain": "dömäin.example", "DNSZONE1": "\u212a.com", "OWNER": "ö"}
    )
    assert command["DOMAIN"] == "xn--dmin-moa0i.example" and keys == []
    assert command["DNSZONE1"] == "\u212a.com"  # the Kelvin sign matched [a-z] in its regex
    assert command["OWNER"] == "ö" and b"xn--dmin-moa0i.example" in body
    cl.setIDNConversion("server")
    keys = cl._command({"COMMAND": "X", "NAMESERVER": ["a.com", "ä.com"], "DOMAIN": "ü.de"})[2]
    assert keys == ["NAMESERVER1", "DOMAIN"]  # the command's order: ConvertIDN lists them so
    with pytest.raises(KeyError):
        cl._command({"DOMAIN": "x.com"})


def test_session_rules() -> None:
    sc = SocketConfig()
    assert sc.getPOSTData() == ""
    sc.setSystemEntity("54cd").setLogin("l").setPassword("p").setOTP("o")
    assert sc.getPOSTData() == "s_entity=54cd&s_login=l&s_otp=o&s_pw=p&"
    sc.setSession("s")
    assert sc.getPOSTData() == "s_entity=54cd&s_session=s&"
    sc.setLogin("l")
    assert sc.getSession() is None and sc.getPOSTData() == "s_entity=54cd&s_login=l&"
    sc.setSession("s").setOTP("o")
    assert sc.getSession() is None
    cl = client().setSession("abc")
    store: dict[str, object] = {}
    cl.saveSession(store)
    assert store == {"socketcfg": {"entity": "54cd", "session": "abc"}}
    other = client().useOTESystem().setCredentials("x", "y")
    other.reuseSession({"socketcfg": {"entity": "1234", "session": "s2"}})
    assert other.getPOSTData("") == "s_entity=1234&s_session=s2&s_command="


def test_url_switching_order_matters() -> None:
    cl = client().useOTESystem().useHighPerformanceConnectionSetup()
    assert cl.getURL() == apiclient.ISPAPI_CONNECTION_URL_PROXY
    assert cl.getPOSTData("").startswith("s_entity=1234&")
    cl.useDefaultConnectionSetup()
    assert cl.getURL() == apiclient.ISPAPI_CONNECTION_URL_LIVE
    assert cl.getPOSTData("").startswith("s_entity=1234&")  # entity untouched
    cl.useHighPerformanceConnectionSetup().useOTESystem()
    assert cl.getURL() == apiclient.ISPAPI_CONNECTION_URL_OTE
    assert cl.setURL("http://x/y").getURL() == "http://x/y"


def test_user_agent_formats() -> None:
    system, arch, py = platform.system(), platform.architecture()[0], platform.python_version()
    cl = client()
    assert cl.getUserAgent() == f"PYTHON-SDK ({system}; {arch}; rv:4.0.2) python/{py}"
    cl.setUserAgent("WHMCS", "7.7.0", ["reg/2.6.2", "ssl/7.2.2", "dc/8.2.2"])
    assert cl.getUserAgent() == (
        f"WHMCS ({system}; {arch}; rv:7.7.0) reg/2.6.2 ssl/7.2.2 dc/8.2.2 "
        f"python-sdk/4.0.2 python/{py}"
    )
    assert (
        cl.setUserAgent("X", "1").getUserAgent()
        == f"X ({system}; {arch}; rv:1) python-sdk/4.0.2 python/{py}"
    )


def test_setters_chain_and_proxy_referer() -> None:
    cl = client()
    assert cl.setProxy("http://proxy:3128").getProxy() == "http://proxy:3128"
    assert cl.setProxy("").getProxy() is None
    assert cl.setReferer("https://ref").getReferer() == "https://ref"
    assert cl.setReferer("").getReferer() is None
    assert cl.enableDebugMode().disableDebugMode() is cl


@pytest.mark.parametrize(
    ("name", "ace"),
    [
        ("dömäin.example", "xn--dmin-moa0i.example"),
        ("äöütest.com", "xn--test-koa2iub.com"),
        ("faß.de", "xn--fa-hia.de"),
        ("faß.com", "fass.com"),
        ("exämple.com", "xn--exmple-cua.com"),
        ("dömäin.com", "xn--dmin-moa0i.com"),
        ("DÖMÄIN.EXAMPLE", "xn--dmin-moa0i.example"),
        ("*example*", None),
        ("", None),
        ("_dmarc.example.com", None),
    ],
)
def test_idn_vectors(name: str, ace: str) -> None:
    assert to_ascii(name) == ace


def test_bad_text_gives_typed_error() -> None:
    from ferrolink.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="not encodable"):
        client().getPOSTData({"COMMAND": "X", "V": "\udc80"})


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_quote_matches_urllib(text: str) -> None:
    assert _core.hexonet_quote(text) == quote(text)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"[A-Z][A-Z0-9]{0,6}", fullmatch=True),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
        max_size=6,
    )
)
def test_command_block_matches_the_original_rule(cmd: dict[str, str]) -> None:
    lines = [k + "=" + re.sub("[\r\n]", "", v) + "\n" for k, v in sorted(cmd.items())]
    block = "".join(lines).rstrip("\n")
    assert client().getPOSTData(cmd) == "s_entity=54cd&s_command=" + quote(block)
    # Secured: the value of every secret key (the one list in ferrolink.redact) is masked.
    masked = "\n".join(
        f"{k}=***" if v and is_secret_key(k) else line
        for (k, v), line in zip(sorted(cmd.items()), block.split("\n"))
    )
    assert client().getPOSTData(cmd, True) == "s_entity=54cd&s_command=" + quote(masked)
