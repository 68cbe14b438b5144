"""Session timers (RFC 4028) for a caller's dialog, pure: what a request asks for, what our
2xx says, and when a session that nobody refreshed is over.

A carrier that asks for a session timer refreshes the session itself (`refresher=uac`, also
our choice when it leaves it to us) or, when it asks us to (`refresher=uas`), we send UPDATEs.
A session not refreshed in time is ended with BYE, so a call whose far end vanished does not
hold an agent and a line for ever."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from telephony.sip import SipRequest, SipResponse

log = logging.getLogger(__name__)

MIN_SE = 90  # seconds; RFC 4028 §4 allows no smaller interval


class TooBrief(ValueError):
    """The requested interval is under our Min-SE: answer 422 with it."""


@dataclass(frozen=True)
class SessionTimer:
    interval: int  # seconds
    refresher: str  # uac (the caller's side refreshes) | uas (we do)
    required: bool  # the caller supports timers: our 2xx says Require: timer

    def headers(self) -> list[tuple[str, str]]:
        headers = [("Session-Expires", f"{self.interval};refresher={self.refresher}")]
        if self.required:
            headers.append(("Require", "timer"))
        return headers

    @property
    def expires_after(self) -> float:
        """When we end a session the other side did not refresh (§10: the interval less the
        smaller of 32 s and a third of it)."""
        return self.interval - min(32.0, self.interval / 3)

    @property
    def refresh_after(self) -> float:
        """When we refresh a session we are the refresher of (§10: half the interval)."""
        return self.interval / 2


def _tokens(request: SipRequest, name: str) -> set[str]:
    return {
        token.strip().lower()
        for value in request.headers.get_all(name)
        for token in value.split(",")
        if token.strip()
    }


def negotiate(request: SipRequest) -> SessionTimer | None:
    """The timer an INVITE or UPDATE asks for, or None; raises TooBrief under MIN_SE and
    ValueError for a Session-Expires that is not `delta-seconds *(;param)`."""
    value = request.headers.get("Session-Expires")
    if value is None:
        return None
    delta, *params = (part.strip() for part in value.split(";"))
    if not delta.isdigit() or len(delta) > 10:
        raise ValueError(f"bad Session-Expires {value[:40]!r}")
    interval = int(delta)
    if interval < MIN_SE:
        raise TooBrief(str(MIN_SE))
    options = dict(param.partition("=")[::2] for param in params)
    refresher = options.get("refresher", "").lower()
    return SessionTimer(
        interval,
        refresher if refresher in ("uac", "uas") else "uac",
        "timer" in _tokens(request, "Supported"),
    )


class SessionTimers:
    """Keeps the session timer of each caller's dialog running: ends a session its refresher
    let lapse, or refreshes with UPDATE one we are the refresher of (an asyncio adapter
    around the pure part above; the gateway is passed in as transfers do)."""

    def __init__(self, gateway: Any) -> None:
        self._gw = gateway

    def start(self, leg: Any, timer: SessionTimer | None) -> None:
        """(Re)start the leg's timer as its latest INVITE, UPDATE or 2xx set it."""
        self.stop(leg)
        if timer is None:
            return
        loop = asyncio.get_running_loop()
        if timer.refresher == "uac":
            leg.session_watch = loop.call_later(timer.expires_after, self._lapsed, leg)
        else:
            leg.session_watch = loop.call_later(timer.refresh_after, self._refresh, leg, timer)

    def stop(self, leg: Any) -> None:
        if leg.session_watch is not None:
            leg.session_watch.cancel()
            leg.session_watch = None

    def _lapsed(self, leg: Any) -> None:
        leg.session_watch = None
        if leg.ended or leg.call.ended:
            return
        log.info("session not refreshed; call ended", extra={"call": leg.call.id})
        self._gw._end_call(leg.call, "session-expired", None)

    def _refresh(self, leg: Any, timer: SessionTimer) -> None:
        leg.session_watch = None
        if leg.ended or leg.call.ended:
            return
        gw = self._gw
        request = gw._request(leg, "UPDATE")
        request.headers.add("Session-Expires", f"{timer.interval};refresher=uas")
        request.headers.add("Supported", "timer")

        def answered(response: SipResponse) -> None:
            if response.status < 200:
                return
            if response.status < 300:
                self.start(leg, timer)
            else:
                log.warning(
                    "session refresh refused; timer stopped",
                    extra={"call": leg.call.id, "status": response.status},
                )

        def unanswered() -> None:
            log.warning("session refresh unanswered; timer stopped", extra={"call": leg.call.id})

        branch = request.vias[0].branch or ""
        gw._clients.start(
            branch, "UPDATE", bytes(request), leg.dialog.destination, answered, unanswered
        )
