"""`[media] engine`: embedded by default, rtpengine only with its ng address, and recording
with rtpengine only where its captures can be read."""

from __future__ import annotations

import pytest

from hotline.config import ConfigError, MediaConfig


def test_the_embedded_engine_is_the_default() -> None:
    media = MediaConfig()
    assert media.engine == "embedded"
    assert media.rtpengine_address is None


def test_rtpengine_needs_its_ng_address() -> None:
    media = MediaConfig(engine="rtpengine", rtpengine="127.0.0.1:22222")
    assert media.rtpengine_address == ("127.0.0.1", 22222)
    with pytest.raises(ConfigError, match=r"\[media\] rtpengine"):
        MediaConfig(engine="rtpengine")
    with pytest.raises(ConfigError, match=r"\[media\] rtpengine: expected host:port"):
        MediaConfig(engine="rtpengine", rtpengine="127.0.0.1:notaport")


@pytest.mark.parametrize("engine", ["", "freeswitch", "RTPENGINE"])
def test_an_unknown_engine_is_refused(engine: str) -> None:
    with pytest.raises(ConfigError, match=r"\[media\] engine"):
        MediaConfig(engine=engine)


def test_recording_with_rtpengine_needs_its_recording_dir() -> None:
    # The bridged audio no longer passes through this process: rtpengine's captures are read.
    with pytest.raises(ConfigError, match=r"\[media\] rtpengine_recording_dir"):
        MediaConfig(engine="rtpengine", rtpengine="127.0.0.1:22222", recordings_dir="var/rec")
    media = MediaConfig(
        engine="rtpengine",
        rtpengine="127.0.0.1:22222",
        recordings_dir="var/rec",
        rtpengine_recording_dir="/var/spool/rtpengine",
    )
    assert media.rtpengine_recording_dir == "/var/spool/rtpengine"
