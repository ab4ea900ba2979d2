"""ferrolink: fast, reliable, typed clients for HEXONET, EXP, iDigi push monitoring, MyQttHub
and DSYNC, with an offline sandbox of each. The hot paths live in a Rust core."""

from __future__ import annotations

from ._core import __version__
from .errors import FerrolinkError

__all__ = ["FerrolinkError", "__version__"]
