"""A shift lead's phone on a live call (监听 / 密语 / 强插).

The gateway calls the lead's registered phone as a third leg of the call (UAC, like the agent's
leg); once it answers, caller, agent and lead are mixed by the table of
telephony/supervision.py for the chosen mode. Posting another mode while the lead is on only
changes the table. The lead hanging up (or the console stopping it) takes the leg out and
bridges caller and agent straight again; the call ending hangs the lead up with the rest.
Each step is a MonitorChanged event.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from telephony import media_home, uac
from telephony.events import MonitorChanged
from telephony.legs import HotlineCall, Leg
from telephony.sip import SipRequest, SipResponse
from telephony.supervision import AGENT, CALLER, LEAD, MonitorError, check_mode, who_hears_whom

if TYPE_CHECKING:
    from telephony.gateway import SipGateway

log = logging.getLogger(__name__)


class Supervisions:
    """Leads' legs on live calls, on behalf of one gateway."""

    def __init__(self, gateway: SipGateway) -> None:
        self._gw = gateway

    def start(self, call_id: str, lead_id: str, mode: object) -> str:
        """Ring the lead's phone into the call, or switch the mode of the lead already on it.
        Returns the leg's state (ringing | connected); MonitorError when it cannot be done."""
        checked = check_mode(mode)
        gw = self._gw
        call = gw._calls.get(call_id)
        if call is None or call.ended:
            raise MonitorError("unknown-call", f"no call {call_id}")
        caller, agent = call.caller_leg, call.agent_leg
        if (
            caller is None
            or agent is None
            or not agent.answered
            or agent.ended
            or caller.ended
            or not caller.answered
        ):
            raise MonitorError("not-connected", "the call is not connected to an agent")
        if call.department_leg is not None and not call.department_leg.ended:
            raise MonitorError("transfer-in-progress", "the call is being transferred")
        if caller.held or agent.held:
            raise MonitorError("on-hold", "the call is on hold")
        leg = call.monitor_leg
        if leg is not None and not leg.ended:
            if leg.target != lead_id:
                raise MonitorError("monitored", "another shift lead is on this call")
            leg.mode = checked
            if leg.answered:
                self._mix(call)
                self._emit(leg, "connected")
                log.info("supervision mode switched", extra={"call": call.id, "mode": checked})
                return "connected"
            return "ringing"
        loop = asyncio.get_running_loop()
        bindings = gw.registrar.bindings(lead_id, loop.time())
        if not bindings:
            raise MonitorError("no-phone", "值班长话机未注册")
        self._ring(call, lead_id, checked, bindings[0].contact, bindings[0].source)
        return "ringing"

    def stop(self, call_id: str, lead_id: str) -> bool:
        """The console takes the lead off the call: CANCEL while ringing, else BYE."""
        call = self._gw._calls.get(call_id)
        leg = call.monitor_leg if call is not None else None
        if leg is None or leg.ended or leg.target != lead_id:
            return False
        if leg.answered:
            self._gw._hang_up_leg(leg)
        else:
            self._gw._cancel_ringing(leg)
        self._left(leg, "stopped")
        return True

    def lead_hung_up(self, leg: Leg) -> None:
        """The lead's phone sent BYE: caller and agent talk on, bridged straight again."""
        self._gw._close_leg(leg)
        self._left(leg, "lead-hangup")

    # --- the lead's leg -------------------------------------------------------------------

    def _ring(
        self, call: HotlineCall, lead_id: str, mode: str, contact: str, source: tuple[str, int]
    ) -> None:
        self._gw._tasks.spawn(self._invite(call, lead_id, mode, contact, source), name="lead")

    async def _invite(
        self, call: HotlineCall, lead_id: str, mode: str, contact: str, source: tuple[str, int]
    ) -> None:
        gw = self._gw
        # Under rtpengine the lead can hear (and be heard) only once the media is here.
        if not await media_home.bring_home(gw, call):
            gw._emit(MonitorChanged(gw._clock(), call.id, lead_id, mode, "failed", "media-relay"))
            return
        try:
            media = await gw._media.open_leg(call.codec)
        except RuntimeError:
            gw._emit(MonitorChanged(gw._clock(), call.id, lead_id, mode, "failed", "no-media-port"))
            return
        if call.ended or (call.monitor_leg is not None and not call.monitor_leg.ended):
            gw._media.close_leg(media)  # the call ended, or a second press raced this one
            return
        # The lead's phone shows whose call it joins: the hotline, not the citizen's number.
        dialog = uac.phone_dialog(gw, call.dialled or "hotline", lead_id, contact, source)
        leg = Leg(LEAD, call, dialog, media, target=lead_id, mode=mode)
        call.monitor_leg = leg
        uac.offer(gw, leg, [call.codec])
        request = uac.send_invite(
            gw,
            leg,
            f"{call.dialled} hotline call (supervision)",
            lambda invite, response: self._on_response(leg, invite, response),
            lambda: self._failed(leg, "unreachable"),
        )
        loop = asyncio.get_running_loop()
        leg.handles.append(loop.call_later(gw._ring_seconds, self._ring_timeout, leg, request))
        self._emit(leg, "ringing")
        log.info("ringing the lead's phone", extra={"call": call.id, "lead": lead_id})

    def _ring_timeout(self, leg: Leg, invite: SipRequest) -> None:
        if leg.answered or leg.ended:
            return
        uac.cancel(self._gw, leg, invite)
        self._failed(leg, "no-answer")

    def _on_response(self, leg: Leg, invite: SipRequest, response: SipResponse) -> None:
        gw = self._gw
        if response.status < 200:
            return
        if response.status >= 300:
            uac.ack_failure(gw, leg, invite, response)
            self._failed(leg, f"rejected-{response.status}")
            return
        if not uac.confirm(gw, leg, invite, response, phone=True):
            return  # a retransmitted 2xx, ACKed again
        if leg.ended or leg.call.ended:
            gw._hang_up_leg(leg)  # stopped, or the call ended, while the phone answered
            return
        if not uac.take_answer(leg, response):
            log.warning("lead's phone answered without usable SDP", extra={"call": leg.call.id})
        leg.answered = True
        leg.cancel_timers()
        self._mix(leg.call)
        self._emit(leg, "connected")
        log.info("lead joined the call", extra={"call": leg.call.id, "mode": leg.mode})

    def _failed(self, leg: Leg, reason: str) -> None:
        if leg.ended:
            return
        self._gw._close_leg(leg)
        if leg.call.monitor_leg is leg:
            leg.call.monitor_leg = None
        self._emit(leg, "failed", reason)

    def _mix(self, call: HotlineCall) -> None:
        """Caller, agent and lead mixed by the table of the lead's mode."""
        caller, agent, lead = call.caller_leg, call.agent_leg, call.monitor_leg
        if caller is None or agent is None or lead is None:
            return
        by_party = {CALLER: caller.media, AGENT: agent.media, LEAD: lead.media}
        hears = {
            by_party[party]: frozenset(by_party[source] for source in sources)
            for party, sources in who_hears_whom(lead.mode).items()
        }
        self._gw._media.conference(list(by_party.values()), hears)

    def _left(self, leg: Leg, reason: str) -> None:
        call = leg.call
        if call.monitor_leg is leg:
            call.monitor_leg = None
        caller, agent = call.caller_leg, call.agent_leg
        if (
            not call.ended
            and caller is not None
            and agent is not None
            and not caller.ended
            and not agent.ended
        ):
            self._gw._media.bridge(caller.media, agent.media)
        self._emit(leg, "ended", reason)
        log.info("lead left the call", extra={"call": call.id, "reason": reason})

    def _emit(self, leg: Leg, state: str, reason: str = "") -> None:
        gw = self._gw
        gw._emit(MonitorChanged(gw._clock(), leg.call.id, leg.target, leg.mode, state, reason))
