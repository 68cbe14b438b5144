"""What the caller hears and what is recorded, with SIPp as trunk caller and agent phone."""

from __future__ import annotations

import struct
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from agent_console.app import services_key
from hotline.models import Call, MissedCall, Recording, Ticket
from telephony.announcements import PROMPTS_DIR, read_prompt
from telephony.events import (
    CallArrived,
    CallbackRequested,
    CallEnded,
    CallRefused,
    DigitPressed,
    RecordingFinished,
    VoicemailLeft,
)
from telephony.sdp import PCMA, PCMU
from tests.conftest import RunningHotline
from tests.support.event_watch import EventWatch
from tests.support.media_audio import (
    decode,
    encode,
    frames,
    goertzel,
    tone_pcm,
    write_keys_pcap,
    write_tone_pcap,
)
from tests.support.peers import CALLER_NUMBER, open_console, register_phones
from tests.support.rtp_audio import RtpTap
from tests.support.sipp import SippRun, free_ports, start_sipp

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

CALLER_TONE = 440.0
AGENT_TONE = 1000.0
CODEC_NAMES = {PCMA: "PCMA", PCMU: "PCMU"}


@pytest.fixture
def hotline_overrides(
    request: pytest.FixtureRequest, tmp_path: Path
) -> dict[str, dict[str, object]]:
    extra = dict(getattr(request, "param", {}))
    if "voicemail_dir" in extra:
        extra["voicemail_dir"] = str(tmp_path / str(extra["voicemail_dir"]))
    # A short greeting so the announcement (and the callback offer) comes at once.
    greeting = tmp_path / "greeting.wav"
    with wave.open(str(greeting), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(tone_pcm(600, 0.2))
    return {
        "sip": {"greeting": str(greeting)},
        "media": {
            "recordings_dir": str(tmp_path / "recordings"),
            "callback_offer_above_seconds": 60.0,
            **extra,
        },
        "admission": {"max_waiting_per_queue": 1},
    }


async def start_caller(
    hotline: RunningHotline,
    workdir: Path,
    scenario: str,
    codec: int,
    media_port: int,
    talk_ms: int = 4000,
) -> SippRun:
    return await start_sipp(
        "caller",
        scenario,
        cwd=workdir,
        local_port=free_ports(1),
        remote=hotline.sip_address,
        calls=1,
        extra=[
            *("-key", "caller", CALLER_NUMBER),
            *("-key", "codec", str(codec)),
            *("-key", "codec_name", CODEC_NAMES[codec]),
            *("-s", "12319", "-d", str(talk_ms), "-l", "1", "-r", "1"),
            *("-mp", str(media_port), "-mi", "127.0.0.1"),
        ],
        timeout_s=90,
    )


def tone_frames(payloads: list[bytes], codec: int, frequency: float, other: float) -> int:
    """How many 20 ms payloads carry `frequency` loudly and far above `other`."""
    count = 0
    for payload in payloads:
        samples = decode(payload, codec)
        wanted, unwanted = goertzel(samples, frequency), goertzel(samples, other)
        if wanted > 1_000_000 and wanted > 50 * unwanted:
            count += 1
    return count


@pytest.mark.parametrize("codec", [PCMA, PCMU], ids=["alaw", "ulaw"])
async def test_a_bridged_call_carries_each_sides_tone_and_is_recorded_in_stereo(
    hotline: RunningHotline, tmp_path: Path, codec: int
) -> None:
    watch = EventWatch(hotline)
    await hotline.add_agent("1001")
    await hotline.add_agent("1002")
    await hotline.add_agent("9000", role="lead")
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
        extra=["-mp", str(phone_media), "-mi", "127.0.0.1"],
        timeout_s=90,
    )
    async with aiohttp.ClientSession() as http:
        await register_phones(hotline, tmp_path, ["1001"], phone_port)
        console = await open_console(hotline, http, "1001")
        await console.go_ready()
        with RtpTap({phone_media, caller_media}) as tap:
            caller = await start_caller(
                hotline, caller_dir, "caller_codec.xml", codec, caller_media
            )
            offer = await console.next_message("call.offered")
            await console.next_message("call.connected")
            await console.next_message("call.ended")
            code, output = await caller.wait(60)
            assert code == 0, output
            code, output = await phone.wait(60)
            assert code == 0, output
        await console.ws.close()
        finished = await watch.first(RecordingFinished)
        assert isinstance(finished, RecordingFinished)

        # The gateway relayed each side's tone to the other, decodable in the call's codec.
        assert tone_frames(tap.payloads.get(phone_media, []), codec, CALLER_TONE, AGENT_TONE) >= 50
        assert tone_frames(tap.payloads.get(caller_media, []), codec, AGENT_TONE, CALLER_TONE) >= 50

        # The recording: stereo, 8 kHz 16-bit, the caller on the left and the agent on the right.
        path = Path(finished.path)
        with wave.open(str(path), "rb") as wav:
            assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
            stereo = wav.readframes(wav.getnframes())
        samples = struct.unpack(f"<{len(stereo) // 2}h", stereo)
        left, right = list(samples[0::2]), list(samples[1::2])
        assert finished.duration_seconds == pytest.approx(len(left) / 8000)
        assert goertzel(left, CALLER_TONE) > 50 * goertzel(left, AGENT_TONE)
        assert goertzel(right, AGENT_TONE) > 50 * goertzel(right, CALLER_TONE)
        assert goertzel(left, CALLER_TONE) > 100_000 and goertzel(right, AGENT_TONE) > 100_000

        await hotline.system.switchboard.synced()
        async with hotline.system.sessions() as db:
            recording = await db.scalar(
                select(Recording).where(Recording.call_id == offer["call_id"])
            )
        assert recording is not None and recording.path == str(path)

        # The agent who took the call and a shift lead may download it; another agent may not.
        url = hotline.url(f"/api/calls/{offer['call_id']}/recording")
        for agent_id, status in (("1001", 200), ("9000", 200), ("1002", 404)):
            token = await hotline.login(http, agent_id)
            async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
                assert response.status == status, agent_id
                if status == 200:
                    assert await response.read() == path.read_bytes()
        async with http.get(url) as response:
            assert response.status == 401


async def test_a_waiting_caller_hears_the_announcement_and_books_a_callback_with_key_1(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    watch = EventWatch(hotline)
    caller_dir = tmp_path / "caller"
    caller_dir.mkdir()
    write_keys_pcap(caller_dir / "caller.pcap", "1", PCMA, lead_in_seconds=1.0)
    caller_media = free_ports(4)
    with RtpTap({caller_media}) as tap:
        caller = await start_caller(hotline, caller_dir, "caller_keys.xml", PCMA, caller_media)
        code, output = await caller.wait(60)  # ends when the gateway hangs up
        assert code == 0, output
    digit = await watch.first(DigitPressed)
    callback = await watch.first(CallbackRequested)
    assert isinstance(digit, DigitPressed) and digit.digit == "1"
    assert isinstance(callback, CallbackRequested) and callback.number == CALLER_NUMBER
    assert callback.call_id == digit.call_id
    assert [e.digit for e in watch.events if isinstance(e, DigitPressed)] == ["1"]  # pressed once

    def heard(prompt: str) -> int:
        silence = encode(b"\x00" * 320, PCMA)
        known = {encode(f, PCMA) for f in frames(read_prompt(PROMPTS_DIR / f"{prompt}.wav"), 320)}
        return tap.matching(caller_media, known - {silence})

    assert heard("position_before") >= 10  # "您前面还有" before the key interrupted it
    assert heard("callback_confirmed") >= 50  # the confirmation played to the end

    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        call = await db.get(Call, callback.call_id)
    assert call is not None and call.end_reason == "callback"


async def test_a_full_queue_plays_its_message_then_answers_486(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    watch = EventWatch(hotline)
    await hotline.add_agent("1001")
    waiting_dir, refused_dir = tmp_path / "waiting", tmp_path / "refused"
    waiting_dir.mkdir()
    refused_dir.mkdir()
    write_tone_pcap(waiting_dir / "caller.pcap", CALLER_TONE, 1.0, PCMA)
    async with aiohttp.ClientSession() as http:
        console = await open_console(hotline, http, "1001")
        # On duty but paused: the one caller allowed (cap 1) waits, the next is refused.
        status, body = await console.post(
            "/api/agents/1001/state", {"state": "paused", "reason": "会议"}
        )
        assert status == 200, body
        waiting = await start_caller(
            hotline, waiting_dir, "caller_codec.xml", PCMA, free_ports(4), talk_ms=8000
        )
        queued = await watch.first(CallArrived)
        refused_media = free_ports(4)
        with RtpTap({refused_media}) as tap:
            refused = await start_caller(
                hotline, refused_dir, "caller_busy.xml", PCMA, refused_media
            )
            code, output = await refused.wait(60)
            assert code == 0, output  # 183, then 486 Busy Here
        code, output = await waiting.wait(60)
        assert code == 0, output
        await console.ws.close()
    arrived = [e for e in watch.events if isinstance(e, CallArrived)]
    assert arrived == [queued]  # the refused caller never joined the queue
    silence = encode(b"\x00" * 320, PCMA)
    message = {encode(f, PCMA) for f in frames(read_prompt(PROMPTS_DIR / "queue_full.wav"), 320)}
    assert tap.matching(refused_media, message - {silence}) >= 50
    # The refused caller was offered and not answered: counted, not abandoned, and on the
    # missed-call list to be called back.
    refusals = [e for e in watch.events if isinstance(e, CallRefused)]
    assert [(r.reason, r.status, r.queue) for r in refusals] == [("queue-full", 486, queued.queue)]
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        row = await db.get(Call, refusals[0].call_id)
        missed = await db.get(MissedCall, refusals[0].call_id)
    assert row is not None and row.end_reason == "refused-queue-full" and row.connected_at is None
    assert missed is not None and missed.kind == "refused" and missed.number == CALLER_NUMBER
    end = datetime.now(UTC)
    queues, _ = await hotline.system.app[services_key].statistics.figures(
        end - timedelta(hours=1), end + timedelta(seconds=1)
    )
    figures = queues[queued.queue]
    assert (figures.offered, figures.refused, figures.answered) == (2, 1, 0)
    assert figures.abandoned == 1  # the caller who waited and hung up; the refused one is not
    assert figures.answer_rate == 0.0


@pytest.mark.parametrize(
    "hotline_overrides",
    [{"voicemail_dir": "voicemail", "voicemail_max_seconds": 30.0}],
    indirect=True,
)
async def test_with_nobody_on_duty_the_caller_leaves_a_voicemail_that_becomes_a_draft_ticket(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    watch = EventWatch(hotline)
    await hotline.add_agent("1001")  # exists, but nobody is logged in
    caller_dir = tmp_path / "caller"
    caller_dir.mkdir()
    write_keys_pcap(caller_dir / "caller.pcap", "#", PCMA, lead_in_seconds=2.0, lead_in_tone=440)
    caller_media = free_ports(4)
    with RtpTap({caller_media}) as tap:
        caller = await start_caller(hotline, caller_dir, "caller_keys.xml", PCMA, caller_media)
        code, output = await caller.wait(60)  # "#" ends the message; the gateway hangs up
        assert code == 0, output
    left = await watch.first(VoicemailLeft)
    assert isinstance(left, VoicemailLeft)
    assert left.reason == "nobody-on-duty" and left.caller == CALLER_NUMBER
    assert not [e for e in watch.events if isinstance(e, CallArrived)]  # never queued
    silence = encode(b"\x00" * 320, PCMA)
    message = {
        encode(f, PCMA) for f in frames(read_prompt(PROMPTS_DIR / "nobody_on_duty.wav"), 320)
    }
    assert tap.matching(caller_media, message - {silence}) >= 20

    with wave.open(left.path, "rb") as wav:
        stereo = wav.readframes(wav.getnframes())
    samples = struct.unpack(f"<{len(stereo) // 2}h", stereo)
    assert goertzel(list(samples[0::2]), CALLER_TONE) > 100_000  # the caller's words

    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        ticket = await db.scalar(select(Ticket).where(Ticket.call_id == left.call_id))
        recording = await db.scalar(select(Recording).where(Recording.call_id == left.call_id))
        call = await db.get(Call, left.call_id)
    assert ticket is not None and ticket.status == "draft" and ticket.created_by is None
    assert ticket.phone == CALLER_NUMBER and ticket.hotline == "12319"
    assert recording is not None and recording.path == left.path
    assert call is not None and call.end_reason == "voicemail"

    async with aiohttp.ClientSession() as http:
        token = await hotline.login(http, "1001")
        auth = {"Authorization": f"Bearer {token}"}
        async with http.get(hotline.url("/api/voicemails"), headers=auth) as response:
            assert response.status == 200
            listed = (await response.json())["voicemails"]
        assert [v["number"] for v in listed] == [ticket.number]
        assert listed[0]["phone"] != CALLER_NUMBER and listed[0]["phone"].endswith("8000")
        async with http.get(hotline.url(listed[0]["recording"]), headers=auth) as response:
            assert response.status == 200  # any agent may listen to a voicemail
            assert await response.read() == Path(left.path).read_bytes()


@pytest.mark.parametrize(
    "hotline_overrides", [{"menu": ("1=12319", "2=12319-query")}], indirect=True
)
async def test_with_the_optional_menu_key_2_puts_the_caller_in_the_query_queue(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    watch = EventWatch(hotline)
    caller_dir = tmp_path / "caller"
    caller_dir.mkdir()
    write_keys_pcap(caller_dir / "caller.pcap", "2", PCMA, lead_in_seconds=1.0)
    caller_media = free_ports(4)
    with RtpTap({caller_media}) as tap:
        caller = await start_caller(
            hotline, caller_dir, "caller_codec.xml", PCMA, caller_media, talk_ms=3000
        )
        arrived = await watch.first(CallArrived)
        code, output = await caller.wait(60)
        assert code == 0, output
    assert isinstance(arrived, CallArrived) and arrived.queue == "12319-query"
    silence = encode(b"\x00" * 320, PCMA)
    menu = {encode(f, PCMA) for f in frames(read_prompt(PROMPTS_DIR / "menu.wav"), 320)}
    assert tap.matching(caller_media, menu - {silence}) >= 10  # "举报投诉请按一…"
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        call = await db.get(Call, arrived.call_id)
    assert call is not None and call.queue == "12319-query"


@pytest.mark.parametrize(
    "hotline_overrides",
    [{"voicemail_dir": "voicemail", "voicemail_max_seconds": 1.0}],
    indirect=True,
)
async def test_a_voicemail_ends_at_its_time_limit_without_a_key(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    watch = EventWatch(hotline)
    caller_dir = tmp_path / "caller"
    caller_dir.mkdir()
    write_tone_pcap(caller_dir / "caller.pcap", CALLER_TONE, 2.0, PCMA)
    caller = await start_caller(hotline, caller_dir, "caller_keys.xml", PCMA, free_ports(4))
    code, output = await caller.wait(60)  # the gateway hangs up after message + 1 s
    assert code == 0, output
    left = await watch.first(VoicemailLeft)
    assert isinstance(left, VoicemailLeft) and left.caller == CALLER_NUMBER
    ended = await watch.first(CallEnded)
    assert isinstance(ended, CallEnded) and ended.reason == "voicemail"  # the limit, not a hang-up
