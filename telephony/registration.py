"""REGISTER handling for agent phones: digest auth, expiry, several contacts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from hotline.tasks import BackgroundTasks
from telephony.digest import DigestCredentials, NonceIssuer, challenge_header, verify
from telephony.events import PhoneRegistered, TelephonyEvent
from telephony.lockout import RegisterLockout
from telephony.registrar import Registrar, granted_expiry
from telephony.sip import NameAddr, SipParseError, SipRequest, SipResponse, response_for

log = logging.getLogger(__name__)


class RegistrationHandler:
    """Answers REGISTER; an unknown agent and a wrong password get the same 401, and so does
    any attempt while its account or source address is locked out for failed ones."""

    def __init__(
        self,
        *,
        registrar: Registrar,
        realm: str,
        nonce_secret: bytes,
        credentials: Callable[[str], Awaitable[str | None]],
        on_event: Callable[[TelephonyEvent], None],
        clock: Callable[[], datetime],
        tasks: BackgroundTasks,
        lockout: RegisterLockout | None = None,
    ) -> None:
        self._registrar = registrar
        self._realm = realm
        self._nonces = NonceIssuer(nonce_secret)
        self._credentials = credentials
        self._emit = on_event
        self._clock = clock
        self._tasks = tasks
        self._lockout = lockout

    def handle(
        self,
        request: SipRequest,
        source: tuple[str, int],
        reply: Callable[[SipResponse], None],
    ) -> None:
        self._tasks.spawn(self._handle(request, source, reply), name="register")

    def _challenge(self, request: SipRequest, stale: bool = False) -> SipResponse:
        nonce = self._nonces.issue(asyncio.get_running_loop().time())
        header = challenge_header(self._realm, nonce, stale=stale)
        return response_for(request, 401, extra=[("WWW-Authenticate", header)])

    async def _handle(
        self,
        request: SipRequest,
        source: tuple[str, int],
        reply: Callable[[SipResponse], None],
    ) -> None:
        now = asyncio.get_running_loop().time()
        authorization = request.headers.get("Authorization")
        if authorization is None or not authorization.strip().lower().startswith("digest"):
            # No credentials, or a scheme we do not speak (RFC 4475 regaut01): challenge.
            reply(self._challenge(request))
            return
        try:
            creds = DigestCredentials.parse(authorization)
        except ValueError:
            reply(response_for(request, 400, "Bad Request - malformed Authorization"))
            return
        agent_id = request.to.uri.user or ""
        if creds.realm != self._realm:
            reply(self._challenge(request))
            return
        nonce_state = self._nonces.check(creds.nonce, now)
        if nonce_state != "ok":
            reply(self._challenge(request, stale=nonce_state == "stale"))
            return
        lockout = self._lockout
        if lockout is not None and lockout.locked(creds.username, source[0], now):
            # Refused unchecked, with the answer a wrong password gets: a guesser learns
            # neither that it is locked out nor whether this guess was right.
            reply(self._challenge(request))
            return
        ha1_hex = await self._credentials(creds.username)
        if ha1_hex is None or not verify(creds, "REGISTER", ha1_hex):
            log.info("phone registration refused", extra={"source": source[0]})
            if lockout is not None:
                for begun in lockout.failed(creds.username, source[0], now):
                    log.warning(
                        "phone registration locked out",
                        extra={
                            "account": creds.username,
                            "source": source[0],
                            "scope": str(begun.scope),
                            "failures": begun.failures,
                            "window_seconds": begun.window_seconds,
                            "lockout_seconds": lockout.policy.lockout_seconds,
                        },
                    )
            reply(self._challenge(request))
            return
        if creds.username != agent_id:
            reply(response_for(request, 403, "Forbidden - register your own number"))
            return
        expires_header = request.headers.get("Expires")
        default = (
            int(expires_header) if expires_header and expires_header.strip().isdigit() else None
        )
        contacts = request.headers.get_all("Contact")
        now = asyncio.get_running_loop().time()
        if contacts == ["*"]:
            if default != 0:
                reply(response_for(request, 400, "Bad Request - wildcard needs Expires: 0"))
                return
            self._registrar.unregister_all(agent_id)
            self._emit(PhoneRegistered(self._clock(), agent_id, "*", 0))
        for value in contacts if contacts != ["*"] else []:
            try:
                contact = NameAddr.parse(value)
            except SipParseError:
                reply(response_for(request, 400, "Bad Request - malformed Contact"))
                return
            requested = contact.params.get("expires")
            wanted = int(requested) if requested and requested.isdigit() else default
            expires = granted_expiry(wanted)
            self._registrar.register(agent_id, str(contact.uri), source, expires, now)
            self._emit(PhoneRegistered(self._clock(), agent_id, str(contact.uri), expires, source))
        extra = [
            ("Contact", f"<{b.contact}>;expires={max(0, int(b.expires_at - now))}")
            for b in self._registrar.bindings(agent_id, now)
        ]
        reply(response_for(request, 200, extra=extra))
