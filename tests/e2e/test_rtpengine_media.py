"""`[media] engine = "rtpengine"`: a SIPp caller and a SIPp agent phone talk through a real
rtpengine (Debian's rtpengine-daemon, userspace, loopback), started with deploy/rtpengine;
the call is recorded (rtpengine's pcap, turned into the stereo WAV the embedded engine
writes) and a held caller hears music played by rtpengine."""

from __future__ import annotations

import asyncio
import math
import re
import shutil
import signal
import socket
import struct
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from hotline.models import Call, Recording
from telephony.announcements import PROMPTS_DIR, PromptLibrary
from telephony.events import RecordingFinished
from telephony.ng import NgClient, NgError
from telephony.sdp import PCMA, SessionDescription
from tests.conftest import RunningHotline
from tests.e2e.test_caller_media import AGENT_TONE, CALLER_TONE, tone_frames
from tests.e2e.test_console_call_buttons import IN_FLIGHT, until
from tests.e2e.test_dialog_routes import answered, in_dialog
from tests.e2e.test_gateway_robustness import SipProbe, invite, status_of
from tests.e2e.test_phone_registration import header
from tests.support.dialling import traced_messages
from tests.support.event_watch import EventWatch
from tests.support.media_audio import decode, goertzel, write_tone_pcap
from tests.support.peers import (
    CALLER_NUMBER,
    open_console,
    register_phones,
    start_agent_phones,
    start_caller,
)
from tests.support.rtp_audio import RtpTap, caller_payloads
from tests.support.sipp import free_ports, start_sipp

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "rtpengine" / "rtpengine.conf"
PORTS = 40


@dataclass
class Rtpengine:
    ng: tuple[str, int]
    port_min: int
    port_max: int
    client: NgClient
    spool: Path  # its recording-dir

    def owns(self, port: int) -> bool:
        return self.port_min <= port <= self.port_max


@pytest.fixture
async def rtpengine(tmp_path: Path) -> AsyncIterator[Rtpengine]:
    binary = shutil.which("rtpengine")
    if binary is None:
        pytest.fail("rtpengine is not installed (tools/install-test-deps.sh installs it)")
    ng_port, cli_port, port_min = free_ports(1), free_ports(1), free_ports(PORTS)
    spool = tmp_path / "rtpengine-spool"
    spool.mkdir()
    log = (tmp_path / "rtpengine.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        binary,
        f"--config-file={CONFIG}",
        f"--listen-ng=127.0.0.1:{ng_port}",
        # Its own CLI port: the default one is taken by any other rtpengine on the machine.
        f"--listen-cli=127.0.0.1:{cli_port}",
        f"--port-min={port_min}",
        f"--port-max={port_min + PORTS - 1}",
        f"--recording-dir={spool}",
        "--log-stderr",
        stdout=log,
        stderr=log,
        stdin=asyncio.subprocess.DEVNULL,
    )
    client = NgClient(("127.0.0.1", ng_port), timeout_seconds=10.0)
    try:
        await client.command("ping")  # retransmitted until the daemon listens, 10 s at most
        yield Rtpengine(("127.0.0.1", ng_port), port_min, port_min + PORTS - 1, client, spool)
    finally:
        client.close()
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        log.close()


def media_through(rtpengine: Rtpengine, tmp_path: Path) -> dict[str, object]:
    """[media] for calls through `rtpengine`, recorded under `tmp_path`."""
    host, port = rtpengine.ng
    return {
        "engine": "rtpengine",
        "rtpengine": f"{host}:{port}",
        "recordings_dir": str(tmp_path / "recordings"),
        "rtpengine_recording_dir": str(rtpengine.spool),
    }


@pytest.fixture
def hotline_overrides(rtpengine: Rtpengine, tmp_path: Path) -> dict[str, dict[str, object]]:
    return {"media": media_through(rtpengine, tmp_path)}


def sdp_media(message_log: str, first_line: str) -> tuple[str, int]:
    """The c= address and m=audio port of the first traced message starting `first_line`."""
    for message in re.split(r"^-{10,}.*$", message_log, flags=re.M):
        # Each traced message: SIPp's "UDP message sent/received" line, then the message.
        text = message.strip().partition("\n")[2].lstrip()
        if text.startswith(first_line):
            address = re.search(r"^c=IN IP4 (\S+)", text, re.M)
            port = re.search(r"^m=audio (\d+)", text, re.M)
            assert address and port, text
            return address.group(1), int(port.group(1))
    raise AssertionError(f"no {first_line!r} in {message_log[-2000:]}")


def _music_clip_frames() -> list[list[int]]:
    pcm = PromptLibrary.load(PROMPTS_DIR).clip("moh")
    samples = list(struct.unpack(f"<{len(pcm) // 2}h", pcm))
    return [samples[i : i + 160] for i in range(0, len(samples) - 160, 160)]


MUSIC_CLIP = _music_clip_frames()


def is_music_frame(payload: bytes, codec: int) -> bool:
    """Whether a 20 ms payload is one of the music clip's frames (correlation near 1)."""
    heard = decode(payload, codec)
    heard_energy = sum(x * x for x in heard)
    if heard_energy == 0:
        return False
    for frame in MUSIC_CLIP:
        energy = sum(x * x for x in frame) * heard_energy
        if (
            energy
            and sum(x * y for x, y in zip(heard, frame, strict=True)) / math.sqrt(energy) > 0.99
        ):
            return True
    return False


async def session_gone(client: NgClient, call_id: str, timeout: float = 10.0) -> bool:
    """Whether rtpengine forgets `call_id` within `timeout` (the gateway deletes on BYE)."""

    async def poll() -> None:
        while True:
            try:
                await client.command("query", **{"call-id": call_id})
            except NgError as exc:
                if "Unknown call-id" in str(exc):
                    return
                raise
            await asyncio.sleep(0.1)

    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        return False
    return True


async def test_a_bridged_call_flows_through_rtpengine_is_recorded_and_bye_deletes_it(
    hotline: RunningHotline, rtpengine: Rtpengine, tmp_path: Path
) -> None:
    codec = PCMA
    watch = EventWatch(hotline)
    await hotline.add_agent("1001")
    phone_dir, caller_dir = tmp_path / "phone", tmp_path / "caller"
    phone_dir.mkdir()
    caller_dir.mkdir()
    write_tone_pcap(phone_dir / "agent.pcap", AGENT_TONE, 3.0, codec)
    write_tone_pcap(caller_dir / "caller.pcap", CALLER_TONE, 3.0, codec)
    phone_port, phone_media, caller_media = free_ports(1), free_ports(4), free_ports(4)
    phone = await start_sipp(
        "agent-phone",
        "agent_talks.xml",
        cwd=phone_dir,
        local_port=phone_port,
        calls=1,
        extra=["-mp", str(phone_media), "-mi", "127.0.0.1", "-trace_msg"],
        timeout_s=90,
    )
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        with RtpTap({phone_media, caller_media}) as tap:
            caller = await start_sipp(
                "caller",
                "caller_codec.xml",
                cwd=caller_dir,
                local_port=free_ports(1),
                remote=hotline.sip_address,
                calls=1,
                extra=[
                    *("-key", "caller", CALLER_NUMBER),
                    *("-key", "codec", str(codec)),
                    *("-key", "codec_name", "PCMA"),
                    *("-s", "12319", "-d", "4000", "-l", "1", "-r", "1"),
                    *("-mp", str(caller_media), "-mi", "127.0.0.1", "-trace_msg"),
                ],
                timeout_s=90,
            )
            offer = await console.next_message("call.offered")
            await console.next_message("call.connected")
            # While the call is up rtpengine holds its session, with the two sides named.
            session = await rtpengine.client.command("query", **{"call-id": offer["call_id"]})
            assert set(session.body[b"tags"]) == {b"caller", b"callee"}
            await console.next_message("call.ended")
            code, output = await caller.wait(60)
            assert code == 0, output
            code, output = await phone.wait(60)
            assert code == 0, output
        await console.ws.close()

    # What each side was told to send its RTP to is rtpengine's, not the gateway's.
    caller_sees = sdp_media(traced_messages(caller), "SIP/2.0 200")
    phone_sees = sdp_media(traced_messages(phone), "INVITE ")
    assert caller_sees[0] == phone_sees[0] == "127.0.0.1"
    assert rtpengine.owns(caller_sees[1]), caller_sees
    assert rtpengine.owns(phone_sees[1]), phone_sees
    assert caller_sees[1] != phone_sees[1]

    # Each side's tone reached the other (through rtpengine: nothing else was given their ports).
    assert tone_frames(tap.payloads.get(phone_media, []), codec, CALLER_TONE, AGENT_TONE) >= 50
    assert tone_frames(tap.payloads.get(caller_media, []), codec, AGENT_TONE, CALLER_TONE) >= 50

    # BYE deleted the media session.
    assert await session_gone(rtpengine.client, offer["call_id"])
    listed = await rtpengine.client.command("list")
    assert offer["call_id"].encode() not in listed.body.get(b"calls", [])

    # The recording: where the embedded engine puts it, stereo 8 kHz, caller left, agent right.
    finished = await watch.first(RecordingFinished)
    assert finished.call_id == offer["call_id"]
    path = Path(finished.path)
    day = finished.at.strftime("%Y-%m-%d")
    assert path == tmp_path / "recordings" / day / f"{offer['call_id']}.wav"
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        stereo = wav.readframes(wav.getnframes())
    samples = struct.unpack(f"<{len(stereo) // 2}h", stereo)
    left, right = list(samples[0::2]), list(samples[1::2])
    assert finished.duration_seconds == pytest.approx(len(left) / 8000)
    assert goertzel(left, CALLER_TONE) > 50 * goertzel(left, AGENT_TONE)
    assert goertzel(right, AGENT_TONE) > 50 * goertzel(right, CALLER_TONE)
    assert goertzel(left, CALLER_TONE) > 100_000 and goertzel(right, AGENT_TONE) > 100_000
    # Each side sent 3 s of tone: that much audio, and no more than the call was connected.
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        call = await db.get(Call, offer["call_id"])
        recording = await db.scalar(select(Recording).where(Recording.call_id == offer["call_id"]))
    assert call is not None and call.connected_at is not None and call.ended_at is not None
    connected = (call.ended_at - call.connected_at).total_seconds()
    assert 2.9 <= finished.duration_seconds <= connected + 0.5, (finished, connected)
    # Linked to the call as the embedded engine's recordings are; rtpengine's capture is gone.
    assert recording is not None and recording.path == str(path)
    assert recording.duration_seconds == finished.duration_seconds
    assert not list((rtpengine.spool / "pcaps").iterdir())
    assert not list((rtpengine.spool / "metadata").iterdir())

    # The console plays it back as any other.
    async with aiohttp.ClientSession() as http:
        token = await hotline.login(http, "1001")
        url = hotline.url(f"/api/calls/{offer['call_id']}/recording")
        async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.status == 200
            assert await response.read() == path.read_bytes()


async def test_a_held_caller_hears_music_played_by_rtpengine(
    hotline: RunningHotline, rtpengine: Rtpengine, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    # The phone answers, holds (a=sendonly) for 1.5 s, resumes, and echoes what it hears.
    phone, phone_port, _ = await start_agent_phones(tmp_path, 1, "agent_hold.xml")
    caller_media = free_ports(4)
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        with RtpTap({caller_media}) as tap:
            caller = await start_caller(hotline, tmp_path, 1, caller_media, talk_ms=5000)
            offer = await console.next_message("call.offered")
            session = await rtpengine.client.command("query", **{"call-id": offer["call_id"]})
            held = await console.next_message("call.held")
            assert (held["held"], held["by"]) == (True, "agent")
            resumed = await console.next_message("call.held")
            assert resumed["held"] is False
            await console.next_message("call.ended")
            code, output = await caller.wait(60)
        await console.ws.close()
    assert code == 0, output
    code, output = await phone.wait(60)
    assert code == 0, output
    assert set(session.body[b"tags"]) == {b"caller", b"callee"}
    # rtpengine played the clip to the caller: its frames, encoded in the caller's codec.
    # rtpengine played the clip to the caller (decoded and encoded again by its own codec, so
    # frames match the clip's by shape, not byte for byte), and only the clip: while it
    # played, neither the caller's audio echoed by the phone nor anything else came between.
    music = [is_music_frame(payload, PCMA) for payload in tap.payloads[caller_media]]
    assert sum(music) > 25, music
    first, last = music.index(True), len(music) - 1 - music[::-1].index(True)
    assert all(music[first : last + 1]), music


async def rtp_sources(sock: socket.socket, count: int) -> set[tuple[str, int]]:
    """Where the next `count` datagrams reaching `sock` came from (20 s at most)."""
    loop = asyncio.get_running_loop()
    sources = set()
    async with asyncio.timeout(20):
        for _ in range(count):
            _, source = await loop.sock_recvfrom(sock, 2048)
            sources.add(source)
    return sources


def media_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def with_offer(request: bytes, port: int, version: int) -> bytes:
    body = (
        f"v=0\r\no=- 1 {version} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0\r\n"
    ).encode()
    head, _, _ = request.partition(b"\r\n\r\n")
    head = re.sub(rb"(?m)^Content-(Length|Type):.*\r\n?", b"", head + b"\r\n")
    return (
        head
        + b"Content-Type: application/sdp\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


async def test_a_reinvite_that_moves_the_callers_media_is_passed_to_rtpengine(
    hotline: RunningHotline, rtpengine: Rtpengine
) -> None:
    """A carrier moves the caller's media mid-call (a re-INVITE with a new port): rtpengine is
    told, so what the caller hears still comes from rtpengine's port, now to the new one, and
    the caller is answered with the same rtpengine address it was given."""
    gateway = hotline.sip_address
    trunk, first, moved = SipProbe(), media_socket(), media_socket()
    try:
        request = with_offer(invite(trunk, gateway, call_id="moving"), first.getsockname()[1], 1)
        ok = await answered(trunk, gateway, request)
        relay = ("127.0.0.1", SessionDescription.parse(ok.partition(b"\r\n\r\n")[2]).audio_port)
        assert rtpengine.owns(relay[1]), ok
        contact = header(ok, "Contact").strip("<>")
        await trunk.send(in_dialog("ACK", contact, "127.0.0.1", ok, 1), gateway)
        # The greeting reaches the caller from rtpengine, never from the gateway itself.
        assert await rtp_sources(first, 25) == {relay}

        reinvite = with_offer(
            in_dialog("INVITE", contact, "127.0.0.1", ok, 2), moved.getsockname()[1], 2
        )
        again = await answered(trunk, gateway, reinvite)
        assert b"CSeq: 2 INVITE" in again
        answer = SessionDescription.parse(again.partition(b"\r\n\r\n")[2])
        assert (answer.connection_address, answer.audio_port) == relay
        await trunk.send(in_dialog("ACK", contact, "127.0.0.1", again, 2), gateway)
        # From now on the caller's audio goes to the new port, still from rtpengine.
        assert await rtp_sources(moved, 50) == {relay}

        bye = await answered(trunk, gateway, in_dialog("BYE", contact, "127.0.0.1", ok, 3))
        assert status_of(bye) == 200
        assert await session_gone(rtpengine.client, "moving")
    finally:
        for sock in (trunk.sock, first, moved):
            sock.close()


async def test_mute_from_the_console_is_applied_by_rtpengine_and_outlasts_a_hold(
    hotline: RunningHotline, rtpengine: Rtpengine, tmp_path: Path
) -> None:
    """Under rtpengine the agent's RTP never passes the gateway: 静音 must be rtpengine's, or
    the citizen goes on hearing an agent whose console says muted. The phone echoes what it
    hears, so the caller hearing its own audio back means it hears the agent."""
    await hotline.add_agent("1001")
    phone, phone_port, phone_media = await start_agent_phones(tmp_path, 1, "agent_answer.xml")
    caller_media = free_ports(4)
    audio = caller_payloads(60, 8)
    spoken = set(audio)
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        with RtpTap({caller_media, phone_media}) as tap:

            def echoed(start: int) -> int:
                return sum(1 for p in tap.payloads.get(caller_media, [])[start:] if p in spoken)

            def heard_by_agent(start: int) -> int:
                return sum(1 for p in tap.payloads.get(phone_media, [])[start:] if p in spoken)

            def marks() -> tuple[int, int]:
                return len(tap.payloads.get(caller_media, [])), len(
                    tap.payloads.get(phone_media, [])
                )

            caller = await start_caller(
                hotline, tmp_path, 1, caller_media, "caller_talks_until_bye.xml", payloads=audio
            )
            call = (await console.next_message("call.offered"))["call_id"]
            await console.next_message("call.connected")
            await until(lambda: echoed(0) > 10, "the agent's audio reaches the caller")

            assert (await console.post(f"/api/calls/{call}/mute", {}))[0] == 200
            assert (await console.next_message("call.muted"))["muted"] is True
            to_caller, to_agent = marks()
            await until(lambda: heard_by_agent(to_agent) > 50, "the muted agent hears the caller")
            assert echoed(to_caller) <= IN_FLIGHT, echoed(to_caller)

            # A hold and its resume leave the agent muted.
            assert (await console.post(f"/api/calls/{call}/hold", {}))[0] == 200
            await console.next_message("call.held")
            assert (await console.post(f"/api/calls/{call}/resume", {}))[0] == 200
            assert (await console.next_message("call.held"))["held"] is False
            to_caller, to_agent = marks()
            await until(lambda: heard_by_agent(to_agent) > 50, "the agent hears the caller again")
            assert echoed(to_caller) <= IN_FLIGHT, echoed(to_caller)

            assert (await console.post(f"/api/calls/{call}/unmute", {}))[0] == 200
            to_caller, _ = marks()
            await until(lambda: echoed(to_caller) > 10, "the agent is heard again after unmute")
            assert (await console.post(f"/api/calls/{call}/hangup", {}))[0] == 200
            await console.next_message("call.ended")
            code, output = await caller.wait(60)
            assert code == 0, output
        await console.ws.close()
    code, output = await phone.wait(60)
    assert code == 0, output
