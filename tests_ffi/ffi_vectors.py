"""Inputs shared by the ferrolink_ffi tests and the cross-check against ferrolink: the
documented wire vectors (docs/protocols/), malformed frames, and HEXONET/MyQttHub texts. Plain
data, no ferrolink import, so the PyPy run can use it."""

from __future__ import annotations

import json
import zlib


def h(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


def publish(
    block_id: int, data: bytes, compression: int = 0, fmt: int = 1, count: int = 1
) -> bytes:
    """A PublishMessage carrying ``data`` as is (already compressed when ``compression`` is 1)."""
    size = 10 + len(data)
    header = (3).to_bytes(2, "big") + size.to_bytes(4, "big")
    prefix = block_id.to_bytes(2, "big") + count.to_bytes(2, "big") + bytes([compression, fmt])
    return header + prefix + len(data).to_bytes(4, "big") + data


CONNECT_REQUESTS = [
    ("pepsi", "cola", 0x104, "0001 00000013 0001 0005 7065707369 0004 636f6c61 00000104"),
    ("pepsi", "cola", 10, "0001 00000013 0001 0005 7065707369 0004 636f6c61 0000000a"),
    ("user", "pass", 99850, "0001 00000012 0001 0004 75736572 0004 70617373 0001860a"),
    ("jürgen", "pw", 1, "0001 00000013 0001 0007 6ac3bc7267656e 0002 7077 00000001"),
]

ACKS = [(0x01A7, "0004 00000004 01a7 00c8"), (300, "0004 00000004 012c 00c8")]

DOCS_XML = (
    b"<Document>"
    + b'<Msg topic="42/DeviceCore/1001/3" operation="update">'
    + b"<DeviceCore><id><devId>1001</devId></id></DeviceCore></Msg>" * 2
    + b"</Document>"
).ljust(517)

# The docs print size 0x215 for PayloadSize 0x205, counting the header; the size field
# follows the documented rule (10 + PayloadSize).
DOCS_PUBLISH = h("0003 0000020f 01a7 0002 00 00 00000205") + DOCS_XML

JAVA_JSON = json.dumps({"Document": {"Msg": {"topic": "42/DeviceCore/1001/3"}}}).encode().ljust(508)
JAVA_STREAM = b"".join(h(f"0003 00000206 000{i} 0001 00 01 000001fc") + JAVA_JSON for i in (0, 1))

BIG_JSON = json.dumps([{"i": i, "v": "x" * (i % 7)} for i in range(300)]).encode()

# Every message type, an unknown type with and without a body, zlib and raw deflate payloads.
MIXED_STREAM = b"".join(
    [
        h(CONNECT_REQUESTS[3][3]),
        h("0002 00000004 00c8 0001"),
        publish(1, zlib.compress(BIG_JSON), compression=1),
        h("0009 00000003 aabbcc"),
        publish(2, b"<Document/>", fmt=0),
        h("0007 00000000"),
        publish(3, zlib.compress(BIG_JSON)[2:-4], compression=1),
        h(ACKS[0][1]),
    ]
)

MALFORMED = {
    "payload size mismatch": (
        h("0003 0000000f 0001 0001 00 01 00000006 0102030405"),
        "PayloadSize",
    ),
    "unknown compression": (h("0003 0000000b 0001 0001 07 01 00000001 00"), "compression byte 7"),
    "unknown format": (h("0003 0000000b 0001 0001 00 05 00000001 00"), "format byte 5"),
    "corrupt zlib": (h("0003 00000010 0001 0001 01 01 00000006 789cffffffff"), "corrupt"),
    "truncated zlib": (publish(1, zlib.compress(b"hello world" * 50)[:-8], 1), "truncated"),
    "ack with wrong size": (h("0004 00000002 0001"), "impossible size"),
    "response too long": (h("0002 00000006 00c8 0001 0000"), "impossible size"),
    "publish shorter than its prefix": (h("0003 00000004 00010001"), "impossible size"),
    "oversized frame": (h("0003 ffffffff"), "maximum frame size"),
    "request lengths inconsistent": (
        h("0001 0000000c 0001 0009 0000 0000 00000001"),
        "ConnectRequest",
    ),
    "request user not utf-8": (h("0001 0000000c 0001 0001 ff 0000 00000001 00"), "ConnectRequest"),
    "the originals' 6-byte ack": (h("0004 0102 00c8 00000000"), "impossible size"),
}

HEXONET_SPEC = (
    "[RESPONSE]\nCODE = 200\nDESCRIPTION = Command completed successfully\n"
    "PROPERTY[DOMAIN][0] = example.com\nPROPERTY[DOMAIN][1] = example.net\n"
    "PROPERTY[TOTAL][0] = 2\nQUEUETIME = 0\nRUNTIME = 0.004\nEOF\n"
)

HEXONET_TEXTS = [
    HEXONET_SPEC,
    "CODE=200",
    "  code = 200",
    "CODE\t=\t200 \t",
    "A = x = y\nEMPTY =\n=x\n \t=x\n[RESPONSE]\nEOF\ngarbage without equals",
    "CODE=200\r",
    "ß=1\nPROPERTY=x",
    "property[expiration date][0] = a\nPROPERTY[X] = no index\nProperty[Domäin][7] = seven\n"
    "PROPERTY[DOMÄIN][0] = zero\nPROPERTY[\x1cA\u2003B][0] = sep\nproperty[a=b\n"
    "PROPERTY[CLASS][1] =\n",
    "CODE=1\r\nX=a\r\nCODE=2\r\r\nPROPERTY[A][0]=1\r\nPROPERTY[A][0]=1",
    "CODE=200\nDESCRIPTION=a\x00b\nPROPERTY[X\x00][0]=\x00\x01",
    "\n".join(f"PROPERTY[C{i % 40}][{i // 40}]=v{i}" for i in range(200)),
    "co\udc80de=\ud800\nproperty[\udfff x][0]=1\nproperty[é\ud800][0]=2",
    "",
]

PULL_REPLIES = [
    b'[{"topic":"a/b","payload":"AAH/","qos":1,"extra":{"x":[1,2.5,null,true]}},{"payload":null}]',
    b"[]",
    b'[{"topic":"\\u00e9t\\u00e9","payload":"","big":123456789012345678901234567890}]',
]

BAD_PULL_REPLIES = [
    b'[{"payload":"!!"}]',
    b"{}",
    b"[1]",
    b'[{"payload":5}]',
    b"[] x",
    b"Service denied",
]
