"""The official client's functions, as thin wrappers over :class:`~ferrolink.myqtthub.Client`.

``create_myqtthub_session(host, port, client_id, user_name, password)`` returns
``(status, message, session)`` like the ASPL tutorial; ``session`` is the tutorial's dict
(``login_data``, ``conn``, ``client_id``, ``user_name``). ``conn`` is an
``http.client``-compatible :class:`~ferrolink.myqtthub.connection.Connection`, so the
tutorial's raw ``conn.request(...)`` / ``conn.getresponse()`` code runs as written; the
:class:`Client` behind it is ``conn.client``. The tutorial's progress lines are INFO records
on the ``ferrolink.myqtthub`` logger, with the token masked. The helpers report failures as
``(False, message)`` instead of raising, as that style expects; the messages never contain
the password or the token.
"""

from __future__ import annotations

import logging
from typing import Any, Optional, Union

from ..errors import FerrolinkError
from ..redact import redact_mapping
from .client import DEFAULT_HOST, Client, Payload
from .connection import Connection

__all__ = ["create_myqtthub_session", "logout", "publish", "pull", "subscribe"]

log = logging.getLogger("ferrolink.myqtthub")

Session = dict[str, Any]


def create_myqtthub_session(
    host: str,
    port: Union[int, str],
    client_id: str,
    user_name: str,
    password: str,
    **options: Any,
) -> tuple[bool, str, Optional[Session]]:
    """Log in; ``(True, "Login ok", session)`` or ``(False, "LOGIN ERROR: ...", None)``.

    ``host=""`` means the default host; ``port`` may be a str (``"443"``). ``options`` go to
    :class:`Client` (``ca_file``, ``base_url``, ``clean_session``, ``timeout`` ...); without
    ``ca_file`` the system trust store and ``SSL_CERT_FILE`` are trusted.
    """
    host = host or DEFAULT_HOST
    log.info(
        "MYQTT CONNECT: connecting to %s:%s (clientId=%s, userName=%s)",
        host,
        port,
        client_id,
        user_name,
    )
    client = Client(client_id, user_name, password, host, port or 443, **options)
    try:
        login_data = client.login()
    except FerrolinkError as exc:
        client.close()
        return False, f"LOGIN ERROR: {exc}", None
    log.info("MYQTT CONNECT: login request ok :: %s", redact_mapping(login_data))
    session = {
        "login_data": login_data,
        "conn": Connection(client),
        "client_id": client_id,
        "user_name": user_name,
    }
    return True, "Login ok", session


def _client(session: Session) -> Client:
    conn = session.get("conn") if isinstance(session, dict) else None
    if isinstance(conn, Connection):
        return conn.client
    if isinstance(conn, Client):  # a session dict built by hand around a Client
        return conn
    raise TypeError("session must be the dict create_myqtthub_session returned")


def publish(
    session: Session, topic: str, qos: int, msg: Payload, retain: bool = False, dup: bool = False
) -> tuple[bool, str]:
    """Publish ``msg``; ``(True, "Publish ok")`` or ``(False, "PUBLISH ERROR: ...")``."""
    try:
        _client(session).publish(topic, msg, qos=qos, retain=retain, dup=dup)
    except FerrolinkError as exc:
        return False, f"PUBLISH ERROR: {exc}"
    return True, "Publish ok"


def subscribe(session: Session, subscriptions: list[tuple[str, int]]) -> tuple[bool, Any]:
    try:
        return True, _client(session).subscribe(subscriptions)
    except FerrolinkError as exc:
        return False, f"SUBSCRIBE ERROR: {exc}"


def pull(session: Session) -> tuple[bool, Any]:
    try:
        return True, _client(session).pull()
    except FerrolinkError as exc:
        return False, f"PULL ERROR: {exc}"


def logout(session: Session) -> tuple[bool, str]:
    """Log out and close the connection; ``(True, "Logout completed")`` or ``(False, ...)``."""
    client = _client(session)
    try:
        text = client.logout()
    except FerrolinkError as exc:
        return False, f"LOGOUT ERROR: {exc}"
    finally:
        client.close()
    return True, text or "Logout completed"
