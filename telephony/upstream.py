"""Keeps the hotline's trunk numbers registered at the upstream registrar (the carrier SBC or
PBX), so that it delivers their calls here: the asyncio side of telephony/trunk_binding.py.

Each number has its own Call-ID and CSeq sequence. A REGISTER goes out as one of the gateway's
client transactions (retransmitted over UDP, Timer F after 32 s), and its response comes back
by the branch of its Via, as for any request the gateway sends; no other datagram can be taken
for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass

from telephony.sip import Headers, SipRequest, SipResponse, new_branch, new_call_id, new_tag
from telephony.transactions import ClientTransactions
from telephony.trunk_binding import (
    RegisterRequest,
    TrunkAccount,
    TrunkBinding,
    TrunkState,
    TrunkStatus,
)

log = logging.getLogger(__name__)

UNREGISTER_SECONDS = 5.0  # how long a stop waits for the registrar to confirm the removal


@dataclass(frozen=True)
class UpstreamTrunk:
    """Where to register, and which numbers."""

    registrar: tuple[str, int]
    accounts: tuple[TrunkAccount, ...]


class UpstreamRegistration:
    """One trunk number: sends the REGISTER its TrunkBinding asks for, when it asks."""

    def __init__(
        self,
        binding: TrunkBinding,
        registrar: tuple[str, int],
        clients: ClientTransactions,
        user_agent: str,
    ) -> None:
        self.binding = binding
        self._registrar = registrar
        self._clients = clients
        self._user_agent = user_agent
        self._sent_by = ""
        self._contact = ""
        self._call_id = ""
        self._tag = new_tag()
        self._wake = asyncio.Event()
        self._attempted = asyncio.Condition()  # notified after each answered or failed attempt
        self._task: asyncio.Task[None] | None = None

    def start(self, host: str, port: int) -> None:
        """Register now and keep refreshing; `host:port` is where the gateway listens."""
        loop = asyncio.get_running_loop()
        self._sent_by = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._contact = f"sip:{self.binding.account.number}@{self._sent_by}"
        self._call_id = new_call_id(host)
        self.binding.start(loop.time(), self._contact)
        self._task = loop.create_task(self._run(), name=f"register-{self.binding.account.aor}")

    async def stop(self, timeout: float = UNREGISTER_SECONDS) -> None:
        """Remove the binding upstream (Expires: 0), waiting at most `timeout` for the answer."""
        task = self._task
        if task is None or task.done():
            return
        self.binding.stop(asyncio.get_running_loop().time())
        self._wake.set()
        try:
            await asyncio.wait_for(task, timeout)  # cancels it when the time is up
        except TimeoutError:
            log.warning("trunk unregistration unconfirmed", extra={"aor": self.binding.account.aor})

    def status(self) -> TrunkStatus:
        return self.binding.status(asyncio.get_running_loop().time())

    async def wait_until(self, predicate: Callable[[TrunkStatus], bool]) -> TrunkStatus:
        """The status once `predicate` holds, looked at now and after every attempt."""
        async with self._attempted:
            await self._attempted.wait_for(lambda: predicate(self.status()))
        return self.status()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self.binding.finished:
            at = self.binding.next_at
            if at is None or at > loop.time():
                # Until the next REGISTER is due, or stop() asks for the last one sooner.
                with contextlib.suppress(TimeoutError):
                    wait = None if at is None else at - loop.time()
                    await asyncio.wait_for(self._wake.wait(), wait)
                self._wake.clear()
                continue
            try:
                await self._attempt(loop)
            except Exception:
                # A bug in one attempt must not end the registration: count it and retry.
                log.exception("trunk registration attempt failed")
                self.binding.on_failure(loop.time(), "internal error")
            async with self._attempted:
                self._attempted.notify_all()

    async def _attempt(self, loop: asyncio.AbstractEventLoop) -> None:
        address = await self._resolve(loop)
        if address is None:
            self.binding.on_failure(loop.time(), f"cannot resolve {self._registrar[0]}")
            return
        before = self.binding.state
        message = self._message(self.binding.request(loop.time()))
        answered: asyncio.Future[SipResponse | None] = loop.create_future()

        def on_response(response: SipResponse) -> None:
            if response.status >= 200 and not answered.done():
                answered.set_result(response)

        def on_timeout() -> None:
            if not answered.done():
                answered.set_result(None)

        branch = message.vias[0].branch or ""
        self._clients.start(branch, "REGISTER", bytes(message), address, on_response, on_timeout)
        response = await answered
        if response is None:
            self.binding.on_failure(loop.time(), "408 Request Timeout (no answer, Timer F)")
        else:
            self.binding.on_response(loop.time(), response)
        self._report(before, loop.time())

    async def _resolve(self, loop: asyncio.AbstractEventLoop) -> tuple[str, int] | None:
        host, port = self._registrar
        try:
            ipaddress.ip_address(host)
            return (host, port)
        except ValueError:
            pass
        family = socket.AF_INET6 if self._sent_by.startswith("[") else socket.AF_INET
        try:
            found = await loop.getaddrinfo(host, port, family=family, type=socket.SOCK_DGRAM)
        except OSError:
            return None
        return (str(found[0][4][0]), port) if found else None

    def _message(self, request: RegisterRequest) -> SipRequest:
        account = self.binding.account
        headers = Headers(
            [
                ("Via", f"SIP/2.0/UDP {self._sent_by};branch={new_branch()};rport"),
                ("Max-Forwards", "70"),
                ("From", f"<{account.aor}>;tag={self._tag}"),
                ("To", f"<{account.aor}>"),
                ("Call-ID", self._call_id),
                ("CSeq", f"{request.cseq} REGISTER"),
                ("Contact", f"<{self._contact}>"),
                ("Expires", str(request.expires)),
                ("User-Agent", self._user_agent),
            ]
        )
        if request.authorization is not None:
            headers.add(*request.authorization)
        return SipRequest("REGISTER", account.registrar_uri, headers)

    def _report(self, before: TrunkState, now: float) -> None:
        status = self.binding.status(now)
        details = {"aor": status.aor, "error": status.last_error, "next": status.next_register_in}
        if status.state is TrunkState.FAILING:
            log.warning("trunk registration failed; retrying", extra=details)
        elif status.state is TrunkState.REGISTERED and before is not TrunkState.REGISTERED:
            log.info("trunk registered upstream", extra=details)
        elif status.state is TrunkState.UNREGISTERED and before is not TrunkState.UNREGISTERED:
            log.info("trunk unregistered upstream", extra={"aor": status.aor})
