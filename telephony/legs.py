"""What the gateway keeps of a call: its SIP dialogs, its legs (one per party) and the call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from telephony.caller_media import CallerMedia
from telephony.media import RtpLeg
from telephony.routeset import RouteSet, first_hop, uac_route_set
from telephony.sip import NameAddr, SipRequest, SipResponse


@dataclass
class Dialog:
    """Our view of one SIP dialog: what we put in From/To and where requests go."""

    sip_call_id: str
    local: NameAddr  # carries our tag
    remote: NameAddr  # carries their tag once known
    remote_target: str
    destination: tuple[str, int]
    local_cseq: int = 0
    route_set: RouteSet = ()  # the proxies that record-routed, in the order we route through

    def follow_record_route(self, response: SipResponse) -> None:
        """The 2xx to our INVITE fixes the route set; requests go to its first hop from now."""
        routes = uac_route_set(response)
        if routes:
            self.route_set = routes
            self.destination = first_hop(routes, self.destination)


@dataclass(eq=False)  # one object per leg: kept in sets by identity
class Leg:
    role: str  # caller | agent | department | lead
    call: HotlineCall
    dialog: Dialog
    media: RtpLeg
    local_sdp: bytes = b""
    answered: bool = False
    ended: bool = False
    # A caller's leg answered and not yet ACKed: what starts once the ACK comes.
    on_ack: Callable[[], None] | None = None
    invite: SipRequest | None = None
    ack: bytes | None = None
    handles: list[asyncio.TimerHandle] = field(default_factory=list)
    # department legs: the number called and blind | three_way; lead legs: who and the mode
    target: str = ""
    mode: str = ""
    held: bool = False  # this party put the call on hold
    session_watch: asyncio.TimerHandle | None = None  # RFC 4028: lapse or refresh due

    def cancel_timers(self) -> None:
        for handle in self.handles:
            handle.cancel()
        self.handles.clear()


@dataclass
class HotlineCall:
    id: str
    caller: str
    dialled: str
    queue: str
    codec: int
    caller_leg: Leg | None = None
    agent_leg: Leg | None = None
    department_leg: Leg | None = None  # a transfer target being called or in a three-way
    monitor_leg: Leg | None = None  # a shift lead's phone (telephony/monitor.py)
    agent_id: str | None = None
    ended: bool = False
    urgent: bool = False
    media: CallerMedia | None = None
    # The caller ACKed our 200: the call was offered to the switchboard (CallArrived or a
    # voicemail). An answer never ACKed ends without a word to it.
    started: bool = False
    # A click-to-call (telephony/outbound.py) hears of its end here instead of CallEnded.
    on_end: Callable[[HotlineCall, str], None] | None = None
    # Under rtpengine: the call's media runs through the embedded engine again (a transfer,
    # a three-way or a lead listening in; telephony/media_home.py), and the lock that moves it.
    media_home: bool = False
    media_moving: asyncio.Lock = field(default_factory=asyncio.Lock)
