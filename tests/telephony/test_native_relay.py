"""The native relay does what the Python relay does: the same packets reach the far end, the
same recording is written, the same key presses are heard, and each leg's stream goes on
unbroken when relaying passes between Python and the native thread.

Real sockets on loopback; every step waits for the datagram it caused, never for time.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from telephony import native_relay
from telephony.media import MediaEngine, Prompt, RtpLeg
from telephony.recording import CallRecorder, RecordingWorker
from telephony.rtp import RtpPacket
from telephony.sdp import PCMA, PCMU

# Skipped only on a machine that could not compile it; CI compiles it, and fails without it.
pytestmark = pytest.mark.skipif(
    not native_relay.available() and not os.environ.get("CI"),
    reason="the native relay is not compiled here (no C compiler or Python headers)",
)

EVENT = 101
RECEIVE_SECONDS = 5.0


@dataclass
class Phone:
    """A far end: a socket that sends RTP of its own to a leg and reads what the leg sends."""

    sock: socket.socket
    ssrc: int
    codec: int
    sequence: int = 1000
    timestamp: int = 50_000
    heard: list[RtpPacket] = field(default_factory=list)

    @classmethod
    def open(cls, ssrc: int, codec: int) -> Phone:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        return cls(sock, ssrc, codec)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()
        return host, port

    def send(self, leg: RtpLeg, data: bytes) -> None:
        self.sock.sendto(data, ("127.0.0.1", leg.port))

    def audio(self, step: int = 1, payload: bytes | None = None) -> bytes:
        self.sequence = (self.sequence + step) & 0xFFFF
        self.timestamp = (self.timestamp + 160 * step) & 0xFFFFFFFF
        body = payload if payload is not None else self.body()
        return bytes(RtpPacket(self.codec, self.sequence, self.timestamp, self.ssrc, body))

    def body(self) -> bytes:
        """The latest frame's audio: every G.711 code turns up within two frames."""
        return bytes((self.sequence + i) & 0xFF for i in range(160))

    async def hear(self) -> RtpPacket:
        loop = asyncio.get_running_loop()
        data, _ = await asyncio.wait_for(loop.sock_recvfrom(self.sock, 4096), RECEIVE_SECONDS)
        packet = RtpPacket.parse(data)
        self.heard.append(packet)
        return packet


def key_press(phone: Phone, digit: int, end: bool) -> bytes:
    """An RFC 4733 telephone-event packet for `digit`."""
    phone.sequence = (phone.sequence + 1) & 0xFFFF
    payload = struct.pack("!BBH", digit, 0x80 if end else 0, 800)
    return bytes(RtpPacket(EVENT, phone.sequence, phone.timestamp, phone.ssrc, payload))


def with_csrc_extension_and_padding(phone: Phone) -> bytes:
    """A packet a PBX may send: one CSRC, a header extension and padding around 160 bytes."""
    phone.sequence = (phone.sequence + 1) & 0xFFFF
    phone.timestamp = (phone.timestamp + 160) & 0xFFFFFFFF
    first = 0x80 | 0x20 | 0x10 | 1  # version 2, padding, extension, one CSRC
    header = struct.pack("!BBHII", first, phone.codec, phone.sequence, phone.timestamp, phone.ssrc)
    header += struct.pack("!I", 0xCAFE)  # the CSRC
    extension = struct.pack("!HH", 0xBEDE, 1) + b"\x10\xaa\x00\x00"
    return header + extension + b"\x7e" * 160 + b"\x00\x00\x03"


def shape(heard: list[RtpPacket]) -> list[tuple[int, bool, int, int, bytes]]:
    """What the far end can compare between two runs: relative numbering, not random SSRCs
    or starting points."""
    first = heard[0]
    assert {p.ssrc for p in heard} == {first.ssrc}, "one stream, one SSRC"
    return [
        (
            p.payload_type,
            p.marker,
            (p.sequence - first.sequence) & 0xFFFF,
            (p.timestamp - first.timestamp) & 0xFFFFFFFF,
            p.payload,
        )
        for p in heard
    ]


@dataclass
class Call:
    """What one run of the scenario left: heard by each phone, key presses, the recording."""

    agent_heard: list[RtpPacket]
    caller_heard: list[RtpPacket]
    digits: list[str]
    wav: bytes
    caller_received: int
    agent_sent: int
    natively_forwarded: bool


async def run_call(native: bool, port_min: int, recordings: Path, codec: int = PCMU) -> Call:
    engine = MediaEngine("127.0.0.1", port_min, port_min + 20, Prompt(b"", b""), native=native)
    caller_phone, agent_phone = Phone.open(0x1111, codec), Phone.open(0x2222, codec)
    worker = RecordingWorker()
    recorder = CallRecorder(recordings / f"{native}-{codec}.wav", worker)
    digits: list[str] = []
    pressed: asyncio.Queue[str] = asyncio.Queue()
    natively_forwarded = False
    try:
        caller = await engine.open_leg(codec)
        agent = await engine.open_leg(codec)
        caller.set_remote(caller_phone.address)
        agent.set_remote(agent_phone.address)
        caller.event_payload_type = EVENT
        caller.on_digit = pressed.put_nowait

        # The agent's leg plays its own audio first (a prompt, before the bridge).
        for _ in range(2):
            agent.send_frame(b"\x55" * 160)
            await agent_phone.hear()

        engine.bridge(caller, agent)
        engine.record(caller, agent, recorder)
        for round_ in range(60):
            step = 2 if round_ == 20 else 1  # one packet lost on the way in
            caller_phone.send(caller, caller_phone.audio(step))
            await agent_phone.hear()
            agent_phone.send(agent, agent_phone.audio())
            await caller_phone.hear()
            if native and engine._native is not None and engine._native.forwarding(caller):
                natively_forwarded = True

        # Out of order: the later packet first.
        early = caller_phone.audio()
        late = caller_phone.audio()
        caller_phone.send(caller, late)
        await agent_phone.hear()
        caller_phone.send(caller, early)
        await agent_phone.hear()

        caller_phone.send(caller, with_csrc_extension_and_padding(caller_phone))
        await agent_phone.hear()

        for end in (False, False, True, True, True):  # one press of 5, its end sent thrice
            caller_phone.send(caller, key_press(caller_phone, 5, end))
            await agent_phone.hear()
        digits.append(await asyncio.wait_for(pressed.get(), RECEIVE_SECONDS))

        # Muted from the console: the agent's phone hears nothing, the recording goes on. A
        # key press after the muted audio tells when all of it has been taken.
        caller.silenced = True
        for _ in range(3):
            caller_phone.send(caller, caller_phone.audio())
        caller_phone.send(caller, key_press(caller_phone, 7, True))
        digits.append(await asyncio.wait_for(pressed.get(), RECEIVE_SECONDS))
        caller.silenced = False
        caller_phone.send(caller, caller_phone.audio())
        last = await agent_phone.hear()
        assert last.payload == caller_phone.body()

        # Unbridged: the agent's leg plays its own audio again, after what was relayed.
        caller.partner = agent.partner = None
        for _ in range(2):
            agent.send_frame(b"\x66" * 160)
            await agent_phone.hear()
        caller_received, agent_sent = caller.received, agent.sent
    finally:
        await engine.close()
        caller_phone.sock.close()
        agent_phone.sock.close()
    finished = await recorder.finish()
    return Call(
        agent_phone.heard,
        caller_phone.heard,
        digits,
        finished.path.read_bytes(),
        caller_received,
        agent_sent,
        natively_forwarded,
    )


@pytest.mark.parametrize("codec", [PCMU, PCMA])
async def test_the_native_relay_does_what_the_python_relay_does(tmp_path: Path, codec: int) -> None:
    # The native thread decodes recorded audio itself: every code of the law is in this call.
    python = await run_call(False, 43000, tmp_path, codec)
    native = await run_call(True, 43100, tmp_path, codec)

    assert native.natively_forwarded, "the bridged leg was relayed by the native thread"
    assert shape(native.agent_heard) == shape(python.agent_heard)
    assert shape(native.caller_heard) == shape(python.caller_heard)
    assert native.digits == python.digits == ["5", "7"]
    assert native.wav == python.wav
    assert len(native.wav) > 44 + 4 * 160 * 60  # both sides of 60 rounds, in stereo
    assert (native.caller_received, native.agent_sent) == (
        python.caller_received,
        python.agent_sent,
    )


async def test_the_agents_stream_runs_on_unbroken_across_the_handovers(tmp_path: Path) -> None:
    call = await run_call(True, 43200, tmp_path)
    heard = call.agent_heard
    sequences = [p.sequence for p in heard]
    # Own audio, then relayed (with the one loss and the reordering), then own again: the
    # numbers of the last own frames follow the newest relayed one.
    assert heard[2].marker, "the relayed stream starts with a marker"
    relayed = sequences[2:-2]
    newest = max(relayed, key=lambda s: (s - relayed[0]) & 0xFFFF)
    assert sequences[-2] == (newest + 1) & 0xFFFF
    assert sequences[-1] == (sequences[-2] + 1) & 0xFFFF
    assert heard[-1].payload == b"\x66" * 160


async def test_a_closed_leg_is_no_longer_read_and_its_port_is_free_again() -> None:
    engine = MediaEngine("127.0.0.1", 43300, 43304, Prompt(b"", b""), native=True)
    try:
        first = await engine.open_leg(PCMU)
        port = first.port
        engine.close_leg(first)
        # Both ports are taken by open legs again, the closed one among them.
        ports = {(await engine.open_leg(PCMU)).port for _ in range(2)}
        assert port in ports
    finally:
        await engine.close()
