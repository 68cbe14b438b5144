"""Keys by SIP INFO from a carrier that offers no telephone-event (issue 12, item 7): they
reach the same path as RFC 4733 keys, with a SIPp caller: the callback offer's "press 1" and
the `#` that ends a voicemail."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import pytest

from hotline.models import Call
from telephony.announcements import PROMPTS_DIR, read_prompt
from telephony.events import (
    CallArrived,
    CallbackRequested,
    CallEnded,
    DigitPressed,
    VoicemailLeft,
)
from telephony.sdp import PCMA
from tests.conftest import RunningHotline
from tests.support.event_watch import EventWatch
from tests.support.media_audio import encode, frames, goertzel, tone_pcm, write_tone_pcap
from tests.support.peers import CALLER_NUMBER
from tests.support.rtp_audio import RtpTap
from tests.support.sipp import SippRun, free_ports, start_sipp

pytestmark = [pytest.mark.sipp, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

CALLER_TONE = 440.0


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
        "media": {"callback_offer_above_seconds": 60.0, **extra},
    }


async def info_caller(
    hotline: RunningHotline, workdir: Path, media_port: int, key_after_ms: int, body: str
) -> SippRun:
    """A SIPp caller without telephone-event that presses one key by INFO."""
    content_type, _, text = body.partition(":")
    return await start_sipp(
        "caller",
        "caller_info_keys.xml",
        cwd=workdir,
        local_port=free_ports(1),
        remote=hotline.sip_address,
        calls=1,
        extra=[
            *("-key", "caller", CALLER_NUMBER),
            *("-key", "codec", str(PCMA)),
            *("-key", "codec_name", "PCMA"),
            *("-key", "info_type", content_type),
            *("-key", "info_body", text),
            *("-s", "12319", "-d", str(key_after_ms), "-l", "1", "-r", "1"),
            *("-mp", str(media_port), "-mi", "127.0.0.1"),
        ],
        timeout_s=90,
    )


def heard(tap: RtpTap, port: int, prompt: str) -> int:
    silence = encode(b"\x00" * 320, PCMA)
    known = {encode(f, PCMA) for f in frames(read_prompt(PROMPTS_DIR / f"{prompt}.wav"), 320)}
    return tap.matching(port, known - {silence})


@pytest.mark.parametrize(
    "body", ["application/dtmf-relay:Signal=1\r\nDuration=160", "application/dtmf:1"]
)
async def test_a_waiting_caller_books_a_callback_with_1_sent_by_info(
    hotline: RunningHotline, tmp_path: Path, body: str
) -> None:
    watch = EventWatch(hotline)
    write_tone_pcap(tmp_path / "caller.pcap", CALLER_TONE, 1.0, PCMA)
    media = free_ports(4)
    with RtpTap({media}) as tap:
        # Nobody ready: the caller waits; "press 1" is offered as the announcement starts.
        caller = await info_caller(hotline, tmp_path, media, 1500, body)
        code, output = await caller.wait(60)  # ends when the gateway hangs up
        assert code == 0, output
    arrived = await watch.first(CallArrived)
    callback = await watch.first(CallbackRequested)
    assert callback.number == CALLER_NUMBER and callback.call_id == arrived.call_id
    assert [(e.call_id, e.digit) for e in watch.of(DigitPressed)] == [(arrived.call_id, "1")]
    assert heard(tap, media, "position_before") >= 10  # the announcement, before the key
    assert heard(tap, media, "callback_confirmed") >= 50  # the confirmation played to the end
    await hotline.system.switchboard.synced()
    async with hotline.system.sessions() as db:
        call = await db.get(Call, callback.call_id)
    assert call is not None and call.end_reason == "callback"


@pytest.mark.parametrize(
    "hotline_overrides",
    [{"voicemail_dir": "voicemail", "voicemail_max_seconds": 30.0}],
    indirect=True,
)
async def test_a_voicemail_ends_with_hash_sent_by_info(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    watch = EventWatch(hotline)
    await hotline.add_agent("1001")  # exists, but nobody is logged in: voicemail
    write_tone_pcap(tmp_path / "caller.pcap", CALLER_TONE, 2.0, PCMA)
    caller = await info_caller(
        hotline, tmp_path, free_ports(4), 2500, "application/dtmf-relay:Signal=#\r\nDuration=250"
    )
    code, output = await caller.wait(60)  # "#" ends the message; the gateway hangs up
    assert code == 0, output
    left = await watch.first(VoicemailLeft)
    ended = await watch.first(CallEnded)
    # Ended by the key (30 s is far off), and what the caller said before it is kept.
    assert ended.reason == "voicemail" and left.reason == "nobody-on-duty"
    assert [e.digit for e in watch.of(DigitPressed)] == ["#"]
    assert left.duration_seconds < 30
    with wave.open(left.path, "rb") as wav:
        stereo = wav.readframes(wav.getnframes())
    samples = struct.unpack(f"<{len(stereo) // 2}h", stereo)
    assert goertzel(list(samples[0::2]), CALLER_TONE) > 100_000
