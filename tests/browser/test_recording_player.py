"""The recordings play in headless Chromium: a ticket's call recording, its 回拨 attempts (with
the click-to-call's recording) and a voicemail draft, each an <audio> player that loads the WAV
from the server (duration known), seeks through a byte range, and leaves an audit row."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Locator, Page, expect

from hotline.voicemail import draft_from_voicemail
from telephony.events import VoicemailLeft
from tests.browser import test_console_page as console
from tests.conftest import RunningHotline
from tests.integration.test_console_api import call
from tests.integration.test_recording_playback import (
    NOW,
    audit_rows,
    dialled,
    recorded_call,
    write_wav,
)
from tests.integration.test_ticket_access import FORM

browser, page, log_in = console.browser, console.page, console.log_in  # the same fixtures

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

# Muted playback needs no user gesture; resolves with the duration once the metadata is in.
PLAY = """async (audio) => {
  audio.muted = true;
  await audio.play();
  if (!(audio.duration > 0)) {
    await new Promise((done) => audio.addEventListener("durationchange", done, { once: true }));
  }
  return audio.duration;
}"""
SEEK = """(audio) => new Promise((resolve) => {
  audio.pause();
  audio.addEventListener("seeked", () => resolve(audio.currentTime), { once: true });
  audio.currentTime = 2.5;
})"""


async def played(player: Locator) -> float:
    await expect(player).to_be_visible()
    return float(await player.evaluate(PLAY))


async def test_the_ticket_view_and_the_voicemails_play_their_recordings(
    hotline: RunningHotline, page: Page, tmp_path: Path
) -> None:
    await hotline.add_agent("1001")
    write_wav(tmp_path / "talk.wav", seconds=3.0)
    await recorded_call(hotline, "talk", "1001", tmp_path / "talk.wav")
    write_wav(tmp_path / "vm.wav", seconds=1.0)
    left = VoicemailLeft(
        NOW, "vm", "13700001111", "12319", "12319", "after-hours", str(tmp_path / "vm.wav"), 1.0
    )
    async with hotline.system.sessions.begin() as db:
        await draft_from_voicemail(left, "Asia/Shanghai")(db)
    async with aiohttp.ClientSession() as http:
        token = await hotline.login(http, "1001")
        status, saved = await call(
            http, hotline, "POST", "/api/tickets", token, {**FORM, "call_id": "talk"}
        )
        assert status == 201, saved
    number = str(saved["number"])
    write_wav(tmp_path / "visit.wav", seconds=2.0)
    await dialled(hotline, "visit-1", ("visit", number), "1001", 60, tmp_path / "visit.wav")

    await log_in(page, hotline, "1001", "pw-1001-secret")
    await expect(page.get_by_test_id("case-panel")).to_be_visible()
    await page.get_by_test_id("case-number").fill(number)
    await page.get_by_test_id("case-lookup").click()
    await expect(page.get_by_test_id("case-dial")).to_have_count(1)
    await expect(page.get_by_test_id("case-dial-outcome")).to_have_text("已通话")
    await expect(page.get_by_test_id("case-dial")).to_contain_text("坐席 1001")
    # The inbound call's time on hold (recorded_call: held twice, 12.34 s in all).
    await expect(page.get_by_test_id("case-call-hold")).to_contain_text("保持 2 次，共 12.3 秒")

    # Nothing is fetched until play is pressed: a ticket viewed is not a recording heard.
    assert await audit_rows(hotline, "call", "talk") == []
    recording = page.get_by_test_id("case-recording")
    assert abs(await played(recording) - 3.0) < 0.05
    # The player seeks (the server answers byte ranges, which Chromium asks for).
    assert abs(float(await recording.evaluate(SEEK)) - 2.5) < 0.05
    assert abs(await played(page.get_by_test_id("case-dial-recording")) - 2.0) < 0.05
    assert abs(await played(page.get_by_test_id("voicemail-recording")) - 1.0) < 0.05

    for kind, ref in (("call", "talk"), ("outbound-call", "visit-1"), ("call", "vm")):
        rows = await audit_rows(hotline, kind, ref)
        assert rows and {(r.actor_id, r.action) for r in rows} == {("1001", "recording.play")}
        assert all(r.detail["range"].startswith("bytes=") for r in rows), kind
