"""HEXONET API emulator: ``POST /api/call.cgi`` over TLS (and plain HTTP), as ``call.cgi``.

Systems ``54cd`` (LIVE) and ``1234`` (OT&E) with separate data. Accounts (both systems):

- ``test.user`` / ``test.passw0rd``: full rights; sub-user ``test.subuser`` (``s_user``);
  role ``test.user!readonly`` / ``role.passw0rd`` may only run status/query/check commands.
- ``otp.user`` / ``otp.passw0rd``: 2FA, needs ``s_otp=123456``.
- ``ipfilter.user`` / ``ipfilter.passw0rd``: needs ``s_remoteaddr=10.10.10.10``.

test.user's LIVE portfolio is generated (``portfolio_size`` domains, default 2500, seeded),
so ``QueryDomainList`` paging has real work to do; OT&E has its own smaller one.

Options (``sandbox.start(options={"hexonet": {...}})``): :attr:`HexonetService.OPTIONS`.
Fault injection: :meth:`HexonetService.inject` (HTTP status, empty body, garbage, missing
CODE/DESCRIPTION, temporary 4xx codes) plus the shared :attr:`faults` (delay, truncation,
broken HTTP). :attr:`requests` logs every decoded request; :meth:`reset` restores the data.

One concern per module: :mod:`.data` (accounts and generated portfolios), :mod:`.wire` (the
request and response formats), :mod:`.params` (reading command parameters), :mod:`.sessions`
(authentication, sessions and roles), :mod:`.commands` (the command handlers), :mod:`.faults`
(injected replies), :mod:`.state` (what they share) and :mod:`.service` (dispatch).
"""

from .service import HexonetService

__all__ = ["HexonetService"]
