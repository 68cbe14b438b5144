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

Recording and hold with rtpengine: the agent's answer carries `record call` when the call is
recorded, and after `delete` the capture rtpengine wrote becomes the same stereo WAV the
embedded engine writes (telephony/rtpengine_recording.py). A held call's music is played by
rtpengine itself (`play media`, the clip sent along in the request) to the party left
waiting, and both parties' own audio is blocked meanwhile. 静音 from the console blocks the
media the agent's phone sends, as the embedded engine silences the agent's leg. A transfer,
a three-way call or a lead listening in take the call's media back into the embedded engine
(`take_back`, driven by telephony/media_home.py).
"""

from __future__ import annotations

import asyncio
import io
import logging
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from telephony.ng import NgClient, NgError, NgValue
from telephony.recording import SAMPLE_RATE, FinishedRecording
from telephony.rtpengine_recording import RecordedPorts, RtpengineRecordings
from telephony.sdp import SessionDescription

log = logging.getLogger(__name__)

CALLER_TAG = "caller"
CALLEE_TAG = "callee"
# The music clip travels inside one ng datagram (UDP): a longer clip is cut to this much,
# which rtpengine then plays round and round.
MAX_MUSIC_BYTES = 60_000
MUSIC_REPEATS = 10_000  # hours of a short clip: as long as any hold


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

    async def agent_answer(self, call_id: str, agent_sdp: bytes, record: bool = False) -> None:
        """The agent's phone answered with `agent_sdp`: its media joins the caller's (and is
        recorded from now on if `record`)."""
        ...

    async def reoffer(self, call_id: str, from_caller: bool, offer_sdp: bytes) -> bytes | None:
        """A party's re-INVITE (or UPDATE) offered `offer_sdp` within the call: its media now
        goes where that offer says. The SDP to answer it with (the relay's side, unchanged),
        or None when the relay does not carry this call's media (the embedded leg does)."""
        ...

    async def hold(self, call_id: str, music_to_caller: bool, music: bytes) -> None:
        """Hold a bridged call: neither party hears the other, and the one left waiting (the
        caller, or the agent if the caller holds) hears `music` (8 kHz PCM) instead."""
        ...

    async def resume(self, call_id: str) -> None:
        """Bridge a held call's parties again (a muted agent stays muted)."""
        ...

    async def mute(self, call_id: str, muted: bool) -> None:
        """静音 from the console: the caller stops (or starts again) hearing the agent, who
        goes on hearing the caller; it lasts through a hold and its resume."""
        ...

    async def take_back(self, call_id: str) -> tuple[str, int] | None:
        """The callee side goes back to the embedded engine's caller leg, which from now on
        carries the caller to whoever the gateway bridges or mixes it with (a department, a
        three-way, a lead listening in); where that leg is to send. None when the embedded
        engine carries the call already."""
        ...

    async def delete(self, call_id: str) -> None:
        """The call ended: its media session goes."""
        ...

    async def finish_recording(self, call_id: str, wav: Path) -> FinishedRecording | None:
        """After `delete`: the recorded call's audio written to `wav`, or None."""
        ...

    def close(self) -> None: ...


class DirectMedia:
    """The embedded engine's own path: the SDP is what the engine built, unchanged."""

    direct = True

    async def caller_offer(self, call_id: str, caller_sdp: bytes, player_sdp: bytes) -> CallerPath:
        return CallerPath(to_caller=player_sdp, to_player=caller_sdp)

    async def agent_offer(self, call_id: str, player_sdp: bytes) -> bytes:
        return player_sdp

    async def agent_answer(self, call_id: str, agent_sdp: bytes, record: bool = False) -> None:
        return None  # the embedded engine records and plays music itself

    async def reoffer(self, call_id: str, from_caller: bool, offer_sdp: bytes) -> bytes | None:
        return None

    async def hold(self, call_id: str, music_to_caller: bool, music: bytes) -> None:
        return None

    async def resume(self, call_id: str) -> None:
        return None

    async def mute(self, call_id: str, muted: bool) -> None:
        return None  # the embedded agent leg is silenced instead

    async def take_back(self, call_id: str) -> tuple[str, int] | None:
        return None

    async def delete(self, call_id: str) -> None:
        return None

    async def finish_recording(self, call_id: str, wav: Path) -> FinishedRecording | None:
        return None

    def close(self) -> None:
        return None


class RtpengineRelay:
    """A call's media through rtpengine, driven by its ng protocol."""

    direct = False

    def __init__(self, client: NgClient, recordings: RtpengineRecordings | None = None) -> None:
        self._client = client
        self._recordings = recordings
        self._caller_sdp: dict[str, bytes] = {}  # call → the caller's offer, until delete
        # call → the callee side's SDP as it stands: the embedded leg's, then the agent's.
        self._callee_sdp: dict[str, bytes] = {}
        # call → rtpengine's caller-facing port (where the caller sends), then its callee-facing
        # port once the agent is offered; kept past delete for the recording, if any.
        self._caller_port: dict[str, int] = {}
        self._ports: dict[str, RecordedPorts] = {}
        self._recorded: set[str] = set()
        self._music_to: dict[str, str] = {}  # held call → the tag hearing the music
        self._muted: set[str] = set()  # calls whose agent is muted from the console
        self._player_sdp: dict[str, bytes] = {}  # call → the embedded caller leg's own SDP
        self._locks: dict[str, asyncio.Lock] = {}

    async def _sdp(
        self, command: str, call_id: str, sdp: bytes, tags: dict[str, str], record: bool = False
    ) -> bytes:
        try:
            params: dict[str, NgValue] = {"call-id": call_id, "sdp": sdp, **tags}
            if record:
                params["record call"] = "yes"
            answer = await self._client.command(command, **params)
        except NgError as exc:
            raise MediaRelayError(f"rtpengine {command}: {exc}") from exc
        body = answer.body.get(b"sdp")
        if not isinstance(body, bytes):
            raise MediaRelayError(f"rtpengine {command}: answer without SDP")
        return body

    async def caller_offer(self, call_id: str, caller_sdp: bytes, player_sdp: bytes) -> CallerPath:
        to_player = await self._sdp("offer", call_id, caller_sdp, {"from-tag": CALLER_TAG})
        self._caller_sdp[call_id] = caller_sdp
        to_caller = await self._sdp(
            "answer", call_id, player_sdp, {"from-tag": CALLER_TAG, "to-tag": CALLEE_TAG}
        )
        self._callee_sdp[call_id] = player_sdp
        self._player_sdp[call_id] = player_sdp
        self._caller_port[call_id] = _audio_port(to_caller)
        return CallerPath(to_caller=to_caller, to_player=to_player)

    async def agent_offer(self, call_id: str, player_sdp: bytes) -> bytes:
        caller_sdp = self._caller_sdp.get(call_id)
        if caller_sdp is None:
            raise MediaRelayError(f"no media session for call {call_id}")
        # The caller's offer again: rtpengine hands back the callee side's address, the same
        # ports the embedded leg has been using, now to be offered to the phone.
        to_phone = await self._sdp("offer", call_id, caller_sdp, {"from-tag": CALLER_TAG})
        caller_port = self._caller_port.get(call_id)
        if caller_port is not None:
            self._ports[call_id] = RecordedPorts(caller_port, _audio_port(to_phone))
        return to_phone

    async def agent_answer(self, call_id: str, agent_sdp: bytes, record: bool = False) -> None:
        if record and self._recordings is None:
            raise MediaRelayError("recording asked for, but no rtpengine recording directory")
        await self._sdp(
            "answer",
            call_id,
            agent_sdp,
            {"from-tag": CALLER_TAG, "to-tag": CALLEE_TAG},
            record=record,
        )
        self._callee_sdp[call_id] = agent_sdp
        if record:
            self._recorded.add(call_id)

    async def reoffer(self, call_id: str, from_caller: bool, offer_sdp: bytes) -> bytes | None:
        # As a proxy drives rtpengine through a re-INVITE: the new offer from its sender's
        # side, then the other side's SDP as it stands as the answer. rtpengine keeps each
        # side's ports, so the other party needs no re-INVITE of its own; its answer is what
        # the sender is told, the same address and port as before.
        async with self._lock(call_id):
            caller_sdp, callee_sdp = self._caller_sdp.get(call_id), self._callee_sdp.get(call_id)
            if caller_sdp is None or callee_sdp is None:
                return None  # not through rtpengine (both are set by caller_offer)
            sender, other = (CALLER_TAG, CALLEE_TAG) if from_caller else (CALLEE_TAG, CALLER_TAG)
            tags = {"from-tag": sender, "to-tag": other}
            await self._sdp("offer", call_id, offer_sdp, tags)
            answer = await self._sdp(
                "answer", call_id, callee_sdp if from_caller else caller_sdp, tags
            )
            if from_caller:
                self._caller_sdp[call_id] = offer_sdp
            else:
                self._callee_sdp[call_id] = offer_sdp
            return answer

    async def hold(self, call_id: str, music_to_caller: bool, music: bytes) -> None:
        listener = CALLER_TAG if music_to_caller else CALLEE_TAG
        async with self._lock(call_id):
            if call_id in self._music_to:
                return  # on hold already
            self._music_to[call_id] = listener
            for tag in (CALLER_TAG, CALLEE_TAG):  # neither hears the other
                await self._command("block media", call_id, tag)
            if music:
                await self._command(
                    "play media",
                    call_id,
                    listener,
                    blob=music_wav(music),
                    **{"repeat-times": MUSIC_REPEATS},
                )

    async def resume(self, call_id: str) -> None:
        async with self._lock(call_id):
            listener = self._music_to.pop(call_id, None)
            if listener is None:
                return  # not on hold
            try:
                await self._command("stop media", call_id, listener)
            except MediaRelayError:
                pass  # no music was playing (none configured, or its repeats ran out)
            for tag in (CALLER_TAG, CALLEE_TAG):
                if tag == CALLER_TAG or call_id not in self._muted:
                    await self._command("unblock media", call_id, tag)

    async def mute(self, call_id: str, muted: bool) -> None:
        async with self._lock(call_id):
            if muted == (call_id in self._muted):
                return
            if muted:
                self._muted.add(call_id)
            else:
                self._muted.discard(call_id)
            if call_id not in self._music_to:  # on hold both are blocked until the resume
                # Media sent by the agent's phone (the callee side) goes nowhere.
                command = "block media" if muted else "unblock media"
                await self._command(command, call_id, CALLEE_TAG)

    async def take_back(self, call_id: str) -> tuple[str, int] | None:
        player = self._player_sdp.get(call_id)
        if player is None:
            return None
        async with self._lock(call_id):
            if call_id in self._muted:  # the embedded leg silences the agent from now on
                self._muted.discard(call_id)
                if call_id not in self._music_to:
                    await self._command("unblock media", call_id, CALLEE_TAG)
        answer = await self.reoffer(call_id, False, player)
        if answer is None:
            return None
        where = SessionDescription.parse(answer)
        return where.connection_address, where.audio_port

    def _lock(self, call_id: str) -> asyncio.Lock:
        # Hold and resume of one call go out in the order they were asked for.
        return self._locks.setdefault(call_id, asyncio.Lock())

    async def _command(self, command: str, call_id: str, tag: str, **params: NgValue) -> None:
        try:
            await self._client.command(command, **params, **{"call-id": call_id, "from-tag": tag})
        except NgError as exc:
            raise MediaRelayError(f"rtpengine {command}: {exc}") from exc

    async def delete(self, call_id: str) -> None:
        self._caller_sdp.pop(call_id, None)
        self._callee_sdp.pop(call_id, None)
        self._caller_port.pop(call_id, None)
        self._music_to.pop(call_id, None)
        self._muted.discard(call_id)
        self._player_sdp.pop(call_id, None)
        self._locks.pop(call_id, None)
        if call_id not in self._recorded:
            self._ports.pop(call_id, None)
        try:
            # At once, whatever the daemon's delete-delay: a recording is closed only then.
            params: dict[str, NgValue] = {"call-id": call_id, "delete delay": 0}
            await self._client.command("delete", **params)
        except NgError as exc:
            # Already gone (its RTP timed out) or the daemon restarted: nothing left to free.
            log.warning("rtpengine delete failed", extra={"call": call_id, "error": str(exc)})

    async def finish_recording(self, call_id: str, wav: Path) -> FinishedRecording | None:
        ports = self._ports.pop(call_id, None)
        self._recorded.discard(call_id)
        if self._recordings is None or ports is None:
            return None
        return await self._recordings.finish(call_id, wav, ports)

    def close(self) -> None:
        self._client.close()


def _audio_port(sdp: bytes) -> int:
    try:
        return SessionDescription.parse(sdp).audio_port
    except ValueError as exc:
        raise MediaRelayError(f"rtpengine answered an SDP without audio: {exc}") from exc


def music_wav(pcm: bytes) -> bytes:
    """8 kHz 16-bit mono PCM as a WAV file small enough for one ng request."""
    header = 44
    pcm = pcm[: (MAX_MUSIC_BYTES - header) // 2 * 2]
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(pcm)
    return buffer.getvalue()
