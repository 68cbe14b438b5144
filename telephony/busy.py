"""Refusing a caller when the queue is full: the message as early media, then 486 Busy Here."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable

from telephony import sdp
from telephony.announcements import OneMessage, PromptLibrary
from telephony.media import MediaEngine
from telephony.sip import SipRequest, SipResponse, new_tag, response_for

log = logging.getLogger(__name__)


async def refuse_busy(
    engine: MediaEngine,
    prompts: PromptLibrary | None,
    request: SipRequest,
    reply: Callable[[SipResponse], None],
    offer: sdp.SessionDescription,
    codec: int,
    advertised: str,
    contact: str,
) -> None:
    """The `queue_full` message in a 183 early dialog, then 486 with the same To tag."""
    tag = new_tag()
    busy = response_for(request, 486, to_tag=tag, extra=[("Retry-After", "60")])
    try:
        media = await engine.open_leg(codec)
    except RuntimeError:
        reply(busy)
        return
    try:
        answer = sdp.build_answer(offer, advertised, media.port, codec, secrets.randbelow(2**31))
        media.payload_type = answer.payload_types[0]
        media.set_remote((offer.connection_address, offer.audio_port))
        if prompts is not None:
            message = OneMessage(prompts.clip("queue_full"))
            reply(
                response_for(
                    request,
                    183,
                    to_tag=tag,
                    extra=[("Contact", contact)],
                    body=bytes(answer),
                    content_type="application/sdp",
                )
            )
            engine.play_programme(media, message)
            await asyncio.sleep(message.seconds + 0.2)  # the message plays out
        log.info("queue full; caller refused", extra={"call": request.call_id})
        reply(busy)
    finally:
        engine.close_leg(media)
