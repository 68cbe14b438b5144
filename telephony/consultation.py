"""A consulted (attended) transfer from the console: the caller waits on music on hold while
the gateway calls the target through the outbound proxy and bridges the agent to it; the
agent then hands the caller over (转接: caller and target bridged, the agent's leg hung up and
the agent released to wrap-up) or takes the caller back (取回: the target's leg hung up or
cancelled, caller and agent bridged again).

The target is called by telephony/transfer.py as for blind and three-way transfers (mode
`attended`); this module holds what differs: the music while it rings, the consultation once
it answers, and the two ways out of it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from telephony import hold
from telephony.events import CallTransferred, TransferConsulting, TransferFailed
from telephony.transfer import TransferError

if TYPE_CHECKING:
    from telephony.gateway import SipGateway
    from telephony.legs import HotlineCall, Leg

log = logging.getLogger(__name__)

ACTIONS = ("complete", "cancel")


def hold_caller(gw: SipGateway, call: HotlineCall) -> None:
    """The caller hears music on hold and no longer hears the agent (nor the agent them)."""
    caller_leg, agent_leg = call.caller_leg, call.agent_leg
    if caller_leg is None or agent_leg is None:
        return
    caller_leg.media.partner = agent_leg.media.partner = None
    library = gw._caller_media.prompts
    if library is not None:
        gw._media.play_programme(caller_leg.media, hold.Music(library.clip("moh")))
    else:
        gw._media.play_prompt(caller_leg.media)


def back_to_caller(gw: SipGateway, call: HotlineCall) -> None:
    """Caller and agent hear each other again (the consultation is over or never started)."""
    caller_leg, agent_leg = call.caller_leg, call.agent_leg
    if call.ended or caller_leg is None or caller_leg.ended:
        return
    if agent_leg is not None and agent_leg.answered and not agent_leg.ended:
        gw._media.bridge(caller_leg.media, agent_leg.media)


def consulted(gw: SipGateway, leg: Leg) -> None:
    """The target answered: the agent talks with it; the caller stays on music."""
    call = leg.call
    agent_leg = call.agent_leg
    if agent_leg is not None:
        gw._media.bridge(agent_leg.media, leg.media)
    log.info("consulting transfer target", extra={"call": call.id, "target": leg.target})
    gw._emit(TransferConsulting(gw._clock(), call.id, call.agent_id or "", leg.target))


def consultation(gw: SipGateway, call_id: str) -> tuple[HotlineCall, Leg]:
    """The call and its consulted target's leg (TransferError when there is none)."""
    call = gw._calls.get(call_id)
    if call is None or call.ended:
        raise TransferError("unknown-call", f"no call {call_id}")
    leg = call.department_leg
    if leg is None or leg.ended or leg.mode != "attended":
        raise TransferError("no-consultation", "no consulted transfer on this call")
    return call, leg


def finish(gw: SipGateway, call_id: str, action: str) -> None:
    """转接 (`complete`) or 取回 (`cancel`) a consulted transfer (raises TransferError)."""
    if action not in ACTIONS:
        raise TransferError("invalid-action", "action must be complete or cancel")
    call, leg = consultation(gw, call_id)
    agent_id = call.agent_id or ""
    if action == "cancel":
        if leg.answered:
            gw._hang_up_leg(leg)
        else:
            gw._cancel_ringing(leg)
        call.department_leg = None
        back_to_caller(gw, call)
        log.info("consulted transfer cancelled", extra={"call": call.id, "target": leg.target})
        gw._emit(TransferFailed(gw._clock(), call.id, agent_id, leg.target, "cancelled"))
        return
    if not leg.answered:
        raise TransferError("consultation-ringing", "the target has not answered yet")
    agent_leg, caller_leg = call.agent_leg, call.caller_leg
    call.agent_leg, call.department_leg = leg, None
    if caller_leg is not None:
        gw._media.bridge(caller_leg.media, leg.media)
    if agent_leg is not None and not agent_leg.ended:
        gw.session_timers.stop(agent_leg)
        gw._hang_up_leg(agent_leg)
    log.info("consulted transfer completed", extra={"call": call.id, "target": leg.target})
    gw._emit(CallTransferred(gw._clock(), call.id, agent_id, leg.target, "attended"))


def target_left(gw: SipGateway, leg: Leg) -> bool:
    """The consulted target hung up: the agent is back with the caller. False if `leg` is
    not a consulted target."""
    call = leg.call
    if leg is not call.department_leg or leg.mode != "attended":
        return False
    gw._close_leg(leg)
    call.department_leg = None
    back_to_caller(gw, call)
    gw._emit(TransferFailed(gw._clock(), call.id, call.agent_id or "", leg.target, "target-hangup"))
    return True
