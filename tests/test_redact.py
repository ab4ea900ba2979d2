"""ferrolink.redact: one list of secret names, masking of structured data only."""

from __future__ import annotations

import pytest

import ferrolink.sandbox
from ferrolink import dsync, myqtthub
from ferrolink.redact import (
    MASK,
    is_secret_key,
    mask_issued,
    redact_form,
    redact_headers,
    redact_mapping,
    redact_url,
)


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "PASSWORD",
        "NEWPASSWORD",
        "old_password",
        "s_pw",
        "s_otp",
        "s_session",
        "SESSION",
        "AUTH",
        "authCode",
        "tokenId",
        "X-Auth-Token",
        "Authorization",
        "Cookie",
        "client_secret",
        "X-API-KEY-SECRET",
        "api_key",
        "apiKey",
        "PASS",
    ],
)
def test_secret_names(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "username",
        "s_login",
        "otp_login",
        "token_ttl",
        "COMMAND",
        "DOMAIN",
        "AUTHOR",
        "FOOTPRINT",
        "description",
    ],
)
def test_ordinary_names(key: str) -> None:
    assert not is_secret_key(key)


def test_structured_places_are_masked() -> None:
    assert redact_form("s_login=bob&s_pw=hunter2&s_otp=123456&s_command=x") == (
        f"s_login=bob&s_pw={MASK}&s_otp={MASK}&s_command=x"
    )
    assert redact_url("https://alice:pw123@h.example/p?api_key=K3Y&x=1&token=t%2Fk") == (
        f"https://{MASK}@h.example/p?api_key={MASK}&x=1&token={MASK}"
    )
    assert redact_url("GET /api/things?name=a HTTP/1.1") == "GET /api/things?name=a HTTP/1.1"
    headers = [("Authorization", "Bearer eyJhbGciOi.x.y"), ("Accept", "*/*")]
    assert redact_headers(headers) == [("Authorization", MASK), ("Accept", "*/*")]
    nested = redact_mapping({"user": "bob", "password": "x", "inner": {"tokenId": "y", "n": 1}})
    assert nested == {"user": "bob", "password": MASK, "inner": {"tokenId": MASK, "n": 1}}


def test_free_text_is_never_rewritten() -> None:
    for text in (
        "Unknown entity token: no registered entity",
        "wrong password",
        "password: see the manual",
        "session expired, token rejected",
    ):
        assert redact_url(text) == text
        assert mask_issued(text, ()) == text


def test_issued_credentials_are_masked_raw_and_quoted() -> None:
    token = "tok/3n+x=="
    text = f"bad key {token} (sent as tok%2F3n%2Bx%3D%3D)"
    assert mask_issued(text, (token, None)) == f"bad key {MASK} (sent as {MASK})"


def test_dsync_server_text_keeps_its_words() -> None:
    with ferrolink.sandbox.start(["dsync"]) as sb:
        creds = sb.credentials("dsync")
        with (
            dsync.RealtimeRequest(
                creds["auth_token"], "no-such-entity", base_url=sb.url("dsync"), ca_file=sb.ca_file
            ) as request,
            pytest.raises(dsync.RealtimeRequestException) as info,
        ):
            request.create({"sku": "x"})
    assert str(info.value).endswith("Unknown entity token: no registered data layout has it")


def test_myqtthub_denial_keeps_its_words() -> None:
    with ferrolink.sandbox.start(["myqtthub"]) as sb:
        c = sb.credentials("myqtthub")
        hub = myqtthub.Client(
            c["client_id"], c["user_name"], "wrong", base_url=sb.url("myqtthub"), ca_file=sb.ca_file
        )
        with pytest.raises(myqtthub.AuthenticationError) as info:
            hub.login()
        hub.close()
    assert "wrong password" in str(info.value) and MASK not in str(info.value)
