"""Who is calling from a phone: digest authentication of an INVITE (RFC 3261 §22.3).

A phone that calls out through the gateway (to consult a department before an attended
transfer, or to take a call over with Replaces) proves which agent it is with the same SIP
password it registers with; the gateway challenges with 407 like a proxy. The source address
is never enough: on a shared network the trunk and the phones may come from one host.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from telephony.digest import DigestCredentials, NonceIssuer, challenge_header, verify
from telephony.lockout import RegisterLockout
from telephony.sip import SipRequest, SipResponse, response_for

log = logging.getLogger(__name__)

Reply = Callable[[SipResponse], None]


class PhoneAuthenticator:
    """Checks a phone's Proxy-Authorization; answers 407 (or 400) itself when it fails."""

    def __init__(
        self,
        realm: str,
        nonce_secret: bytes,
        credentials: Callable[[str], Awaitable[str | None]],
        lockout: RegisterLockout | None = None,
    ) -> None:
        self._realm = realm
        self._nonces = NonceIssuer(nonce_secret)
        self._credentials = credentials
        self._lockout = lockout

    def _challenge(self, request: SipRequest, stale: bool = False) -> SipResponse:
        nonce = self._nonces.issue(asyncio.get_running_loop().time())
        header = challenge_header(self._realm, nonce, stale=stale)
        return response_for(request, 407, extra=[("Proxy-Authenticate", header)])

    async def agent(self, request: SipRequest, source: tuple[str, int], reply: Reply) -> str | None:
        """The agent whose password signed `request`, or None once it has been answered."""
        now = asyncio.get_running_loop().time()
        value = request.headers.get("Proxy-Authorization")
        if value is None or not value.strip().lower().startswith("digest"):
            reply(self._challenge(request))
            return None
        try:
            creds = DigestCredentials.parse(value)
        except ValueError:
            reply(response_for(request, 400, "Bad Request - malformed Proxy-Authorization"))
            return None
        if creds.realm != self._realm:
            reply(self._challenge(request))
            return None
        state = self._nonces.check(creds.nonce, now)
        if state != "ok":
            reply(self._challenge(request, stale=state == "stale"))
            return None
        lockout = self._lockout
        if lockout is not None and lockout.locked(creds.username, source[0], now):
            reply(self._challenge(request))
            return None
        ha1_hex = await self._credentials(creds.username)
        if ha1_hex is None or not verify(creds, request.method, ha1_hex):
            log.info("phone call refused: credentials", extra={"source": source[0]})
            if lockout is not None:
                lockout.failed(creds.username, source[0], now)
            reply(self._challenge(request))
            return None
        return creds.username
