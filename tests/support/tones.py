"""Tones for telling parties apart in a mixed call: pcaps SIPp plays, Goertzel to find them."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

from telephony import g711
from tests.support.rtp_audio import write_rtp_pcap
from tests.support.sipp import SippRun, start_sipp

FRAME = 160  # one 20 ms packet at 8 kHz; tone frequencies are multiples of 50 Hz (its bins)


def tone_payloads(frequency: float, seconds: float, payload_type: int = 8) -> list[bytes]:
    """A steady sine tone as G.711 frames, phase continuous across frames."""
    encode = g711.linear_to_alaw if payload_type == 8 else g711.linear_to_ulaw
    frames = []
    for index in range(int(seconds * 50)):
        start = index * FRAME
        pcm = struct.pack(
            f"<{FRAME}h",
            *(
                int(6000 * math.sin(2 * math.pi * frequency * (start + n) / 8000))
                for n in range(FRAME)
            ),
        )
        frames.append(encode(pcm))
    return frames


def _goertzel(samples: tuple[int, ...], frequency: float) -> float:
    coefficient = 2 * math.cos(2 * math.pi * frequency / 8000)
    previous = before = 0.0
    for sample in samples:
        previous, before = sample + coefficient * previous - before, previous
    return previous * previous + before * before - coefficient * previous * before


def frames_with_tone(
    payloads: list[bytes], frequency: float, reference: float, payload_type: int = 8
) -> int:
    """How many 20 ms frames carry `frequency` at 100× the power of the `reference` bin."""
    decode = g711.alaw_to_linear if payload_type == 8 else g711.ulaw_to_linear
    frames = [
        struct.unpack(f"<{FRAME}h", decode(payload))
        for payload in payloads
        if len(payload) == FRAME
    ]
    return pcm_frames_with_tone(frames, frequency, reference)


def pcm_frames_with_tone(frames: list[tuple[int, ...]], frequency: float, reference: float) -> int:
    """The same test on linear PCM frames of 160 samples (a recording's channel)."""
    count = 0
    for samples in frames:
        tone = _goertzel(samples, frequency)
        if tone > 1e9 and tone > 100 * _goertzel(samples, reference):
            count += 1
    return count


def wav_channel_frames(path: Path) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
    """A stereo 16-bit WAV's left and right channels as 20 ms frames."""
    with wave.open(str(path), "rb") as wav:
        assert wav.getnchannels() == 2 and wav.getframerate() == 8000
        data = wav.readframes(wav.getnframes())
    samples = struct.unpack(f"<{len(data) // 2}h", data)
    left, right = samples[0::2], samples[1::2]
    count = len(left) // FRAME
    return (
        [left[i * FRAME : (i + 1) * FRAME] for i in range(count)],
        [right[i * FRAME : (i + 1) * FRAME] for i in range(count)],
    )


async def start_party(
    name: str, tmp: Path, sip_port: int, media_port: int, payloads: list[bytes]
) -> SippRun:
    """SIPp answering one call on `sip_port` and playing `payloads` once it is answered."""
    workdir = tmp / name
    workdir.mkdir(parents=True, exist_ok=True)
    write_rtp_pcap(workdir / "party.pcap", payloads, 8)
    return await start_sipp(
        name,
        "party_answer_play.xml",
        cwd=workdir,
        local_port=sip_port,
        calls=1,
        extra=["-mp", str(media_port), "-mi", "127.0.0.1"],
        timeout_s=90,
    )
