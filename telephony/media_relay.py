"""Where a call's RTP flows between the citizen and the agent: straight through the embedded
engine, or through rtpengine (`[media] engine = "rtpengine"`).

The gateway asks the relay at four points of a call, the way a SIP proxy drives rtpengine:
the caller's INVITE (`caller_offer`: the SDP that goes back in the 200), the agent's INVITE
(`agent_offer`: the SDP offered to the phone), the agent's 200 (`agent_answer`) and the end
(`delete`). With rtpengine, one media session per call has two sides: "caller" and "callee".
Until an agent answers, the callee side is the embedded engine's leg, so the greeting, the
menu's keys (RFC 4733), announcements and music reach the caller as they do without
rtpengine; the agent's answer moves the callee side to the phone, and from then on RTP goes
caller ↔ rtpengine ↔ agent without passing through this process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from telephony.ng import NgClient, NgError, NgValue

log = logging.getLogger(__name__)

CALLER_TAG = "caller"
CALLEE_TAG = "callee"


class MediaRelayError(Exception):
    """The relay could not take the call's media (rtpengine refused or did not answer)."""


@dataclass(frozen=True)
class CallerPath:
    """The caller's media path once set up: what each end is told."""

    to_caller: bytes  # the SDP answered to the caller's INVITE
    to_player: bytes  # where the embedded leg sends greeting and music (the caller or relay)


class MediaRelay(Protocol):
    """The SDP rewriting of one call's media path (the gateway keeps the SIP)."""

    # True when the agent's RTP goes straight to the embedded engine (which then bridges,
    # records and plays hold music); False when it goes through the relay.
    direct: bool

    async def caller_offer(self, call_id: str, caller_sdp: bytes, player_sdp: bytes) -> CallerPath:
        """The caller's INVITE offered `caller_sdp`; `player_sdp` is our own leg's answer."""
        ...

    async def agent_offer(self, call_id: str, player_sdp: bytes) -> bytes:
        """The SDP to offer the agent's phone; `player_sdp` is the embedded offer."""
        ...

    async def agent_answer(self, call_id: str, agent_sdp: bytes) -> None:
        """The agent's phone answered with `agent_sdp`: its media joins the caller's."""
        ...

    async def delete(self, call_id: str) -> None:
        """The call ended: its media session goes."""
        ...

    def close(self) -> None: ...


class DirectMedia:
    """The embedded engine's own path: the SDP is what the engine built, unchanged."""

    direct = True

    async def caller_offer(self, call_id: str, caller_sdp: bytes, player_sdp: bytes) -> CallerPath:
        return CallerPath(to_caller=player_sdp, to_player=caller_sdp)

    async def agent_offer(self, call_id: str, player_sdp: bytes) -> bytes:
        return player_sdp

    async def agent_answer(self, call_id: str, agent_sdp: bytes) -> None:
        return None

    async def delete(self, call_id: str) -> None:
        return None

    def close(self) -> None:
        return None


class RtpengineRelay:
    """A call's media through rtpengine, driven by its ng protocol."""

    direct = False

    def __init__(self, client: NgClient) -> None:
        self._client = client
        self._caller_sdp: dict[str, bytes] = {}  # call → the caller's offer, until delete

    async def _sdp(self, command: str, call_id: str, sdp: bytes, **tags: str) -> bytes:
        try:
            params: dict[str, NgValue] = {"call-id": call_id, "sdp": sdp, **tags}
            answer = await self._client.command(command, **params)
        except NgError as exc:
            raise MediaRelayError(f"rtpengine {command}: {exc}") from exc
        body = answer.body.get(b"sdp")
        if not isinstance(body, bytes):
            raise MediaRelayError(f"rtpengine {command}: answer without SDP")
        return body

    async def caller_offer(self, call_id: str, caller_sdp: bytes, player_sdp: bytes) -> CallerPath:
        to_player = await self._sdp("offer", call_id, caller_sdp, **{"from-tag": CALLER_TAG})
        self._caller_sdp[call_id] = caller_sdp
        to_caller = await self._sdp(
            "answer", call_id, player_sdp, **{"from-tag": CALLER_TAG, "to-tag": CALLEE_TAG}
        )
        return CallerPath(to_caller=to_caller, to_player=to_player)

    async def agent_offer(self, call_id: str, player_sdp: bytes) -> bytes:
        caller_sdp = self._caller_sdp.get(call_id)
        if caller_sdp is None:
            raise MediaRelayError(f"no media session for call {call_id}")
        # The caller's offer again: rtpengine hands back the callee side's address, the same
        # ports the embedded leg has been using, now to be offered to the phone.
        return await self._sdp("offer", call_id, caller_sdp, **{"from-tag": CALLER_TAG})

    async def agent_answer(self, call_id: str, agent_sdp: bytes) -> None:
        await self._sdp(
            "answer", call_id, agent_sdp, **{"from-tag": CALLER_TAG, "to-tag": CALLEE_TAG}
        )

    async def delete(self, call_id: str) -> None:
        self._caller_sdp.pop(call_id, None)
        try:
            await self._client.command("delete", **{"call-id": call_id})
        except NgError as exc:
            # Already gone (its RTP timed out) or the daemon restarted: nothing left to free.
            log.warning("rtpengine delete failed", extra={"call": call_id, "error": str(exc)})

    def close(self) -> None:
        self._client.close()
