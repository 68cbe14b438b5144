"""A call's media back in the embedded engine, under rtpengine.

With `[media] engine = "rtpengine"` the caller's and the agent's RTP meet in rtpengine and
never pass this process. A blind transfer, a three-way call, a consulted transfer and a lead
listening in need the parties' audio here, where legs are bridged and mixed: rtpengine's
callee side goes back to the embedded caller leg (`take_back`: rtpengine keeps anchoring
the caller, who needs no re-INVITE), and, where the agent stays on the call, the agent's phone
gets a re-INVITE moving its media to the embedded agent leg (`bring_home`), the two legs that
have been bridged since the agent answered. From then on the call's media is the embedded
engine's, as without rtpengine; rtpengine still records what the caller hears and says.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from telephony import sdp, uac
from telephony.legs import HotlineCall
from telephony.media_relay import MediaRelayError
from telephony.sip import SipResponse

if TYPE_CHECKING:
    from telephony.gateway import SipGateway

log = logging.getLogger(__name__)


async def take_back(gw: SipGateway, call: HotlineCall) -> bool:
    """rtpengine sends the caller's audio to the embedded caller leg, and takes what that
    leg sends; False (logged) when rtpengine refuses."""
    caller = call.caller_leg
    if gw._relay.direct or call.media_home or caller is None:
        return True
    try:
        where = await gw._relay.take_back(call.id)
    except MediaRelayError as exc:
        log.error("media relay would not give the call back", extra={"error": str(exc)[:200]})
        return False
    if where is not None and not caller.ended:
        caller.media.set_remote(where)
    call.media_home = True
    log.info("call media back in the embedded engine", extra={"call": call.id})
    return True


async def bring_home(gw: SipGateway, call: HotlineCall) -> bool:
    """The agent's phone and the caller both to the embedded engine (once a call; a second
    caller waits for the first). False when the phone or rtpengine would not move."""
    if gw._relay.direct:
        return True
    async with call.media_moving:
        if call.media_home:
            return True
        agent = call.agent_leg
        if agent is None or not agent.answered or agent.ended or call.ended:
            return False
        # The phone's session goes on: what it got last (rtpengine's SDP), one version up.
        offer = sdp.next_in_session(agent.local_sdp, uac.own_offer(gw, agent, [call.codec]))
        answered: asyncio.Future[SipResponse | None] = asyncio.get_running_loop().create_future()

        def settle(response: SipResponse | None) -> None:
            if not answered.done():
                answered.set_result(response)

        uac.reinvite(gw, agent, offer, settle, lambda: settle(None))
        response = await answered
        if response is None or agent.ended or call.ended:
            log.warning("agent phone kept its media at the relay", extra={"call": call.id})
            return False
        agent.local_sdp = offer
        if not uac.take_answer(agent, response):
            log.warning("agent phone answered a re-INVITE without usable SDP")
            return False
        return await take_back(gw, call)
