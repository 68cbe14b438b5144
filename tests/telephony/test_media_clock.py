"""The shared 20 ms media clock: one leg's failure stays with that leg (issue 10).

Real UDP sockets on loopback: two legs play the prompt to two listeners; one leg's writes are
made to fail, and the other listener must go on receiving audio.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from telephony.media import MediaEngine, Prompt, RtpLeg
from telephony.rtp import RtpPacket
from telephony.sdp import PCMU

SILENCE = Prompt(pcmu=b"\xff" * 1600, pcma=b"\xd5" * 1600)


class Listener:
    """A far end: a UDP socket that counts the RTP packets reaching it."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.address: tuple[str, int] = self.sock.getsockname()

    async def packets(self, count: int, timeout: float = 10.0) -> list[RtpPacket]:
        """The next `count` packets; TimeoutError (a failure) if they do not come."""
        loop = asyncio.get_running_loop()
        got: list[RtpPacket] = []
        async with asyncio.timeout(timeout):
            while len(got) < count:
                got.append(RtpPacket.parse(await loop.sock_recv(self.sock, 2048)))
        return got

    def close(self) -> None:
        self.sock.close()


class Broken:
    """Stands in for a leg's socket whose every write raises, as a forged address did."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def sendto(self, data: bytes, address: Any) -> None:
        raise self.error

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass


async def two_playing_legs(engine: MediaEngine) -> tuple[RtpLeg, RtpLeg, Listener, Listener]:
    good_far, bad_far = Listener(), Listener()
    good, bad = await engine.open_leg(PCMU), await engine.open_leg(PCMU)
    good.set_remote(good_far.address)
    bad.set_remote(bad_far.address)
    engine.play_prompt(good)
    engine.play_prompt(bad)
    await good_far.packets(3)
    await bad_far.packets(3)
    return good, bad, good_far, bad_far


async def test_an_error_in_one_legs_write_leaves_the_other_legs_audio_flowing() -> None:
    engine = MediaEngine("127.0.0.1", 42000, 42100, SILENCE)
    good, bad, good_far, bad_far = await two_playing_legs(engine)
    try:
        # What a NUL byte in an address raises from sendto, on the clock's path.
        broken = Broken(ValueError("embedded null character"))
        bad.transport = broken  # type: ignore[assignment]
        bad.use_socket(broken)  # type: ignore[arg-type]  # the leg sends on its socket directly
        await good_far.packets(25)  # half a second more of audio for the good leg
        assert engine.errors.send >= 20
        assert engine.errors.clock_restarts == 0
        sent_before = good.sent
        await good_far.packets(5)
        assert good.sent > sent_before
    finally:
        await engine.close()
        good_far.close()
        bad_far.close()


async def test_an_error_making_one_legs_frame_is_counted_and_isolated() -> None:
    engine = MediaEngine("127.0.0.1", 42100, 42200, SILENCE)
    _good, bad, good_far, bad_far = await two_playing_legs(engine)

    def fails(now: float = 0.0) -> None:
        raise RuntimeError("programme broke")

    try:
        bad.play_frame = fails  # type: ignore[method-assign]
        await good_far.packets(25)
        assert engine.errors.frame >= 20
    finally:
        await engine.close()
        good_far.close()
        bad_far.close()


class ExplodingOnce(set[RtpLeg]):
    """The engine's playing set, made to fail once where no leg is to blame."""

    def __init__(self, legs: set[RtpLeg]) -> None:
        super().__init__(legs)
        self.armed = True

    def __iter__(self) -> Any:
        if self.armed:
            self.armed = False
            raise RuntimeError("clock bug")
        return super().__iter__()


async def test_a_clock_that_dies_is_restarted() -> None:
    engine = MediaEngine("127.0.0.1", 42200, 42300, SILENCE)
    _good, _bad, good_far, bad_far = await two_playing_legs(engine)
    try:
        engine._playing = ExplodingOnce(engine._playing)
        await good_far.packets(25)
        await bad_far.packets(25)
        assert engine.errors.clock_restarts == 1
    finally:
        await engine.close()
        good_far.close()
        bad_far.close()
