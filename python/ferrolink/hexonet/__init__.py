"""``ferrolink.hexonet``: drop-in, faster ``hexonet.apiconnector`` (4.0.2) for the HEXONET API.

Switch by changing the import prefix::

    from ferrolink.hexonet.apiclient import APIClient   # was hexonet.apiconnector.apiclient

and for asyncio programs, ``ferrolink.hexonet.AsyncAPIClient`` (the same API with coroutines).
"""

from __future__ import annotations

from .apiclient import APIClient
from .async_apiclient import AsyncAPIClient
from .response import Response
from .responsetemplate import InvalidNumberError

__version__ = "4.0.2"  # the SDK version this package is a drop-in for
name = "ferrolink.hexonet"

__all__ = ["APIClient", "AsyncAPIClient", "InvalidNumberError", "Response"]
