"""The gateway's media side of one call beyond relaying: hold programme, digits, recording.

Kept apart from the SIP logic in gateway.py: the gateway calls `hold`, `digit` and `bridged`,
this module decides what the caller hears and what gets recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from telephony.admission import Admission
from telephony.announcements import HoldProgramme, OneMessage, PromptLibrary, QueueStatus
from telephony.media import MediaEngine, RtpLeg
from telephony.recording import CallRecorder, FinishedRecording

log = logging.getLogger(__name__)

QueueStatusProvider = Callable[[str], QueueStatus | None]


def _no_status(call_id: str) -> QueueStatus | None:
    return None


def _always_open(queue: str) -> Admission:
    return Admission.OPEN


@dataclass(frozen=True)
class CallerMediaOptions:
    """What a caller hears and whether calls are recorded; the defaults keep the plain greeting."""

    prompts: PromptLibrary | None = None
    announce_seconds: float = 30.0
    queue_status: QueueStatusProvider = _no_status
    # Offer "press 1 for a callback" when the estimated wait exceeds this; None = never.
    callback_above_seconds: float | None = None
    recordings_dir: Path | None = None
    # Decides, before answering, whether a caller may join the queue.
    admission: Callable[[str], Admission] = _always_open
    # Nobody on duty / after hours: voicemail here (None: such callers queue as usual).
    voicemail_dir: Path | None = None
    voicemail_max_seconds: float = 120.0
    # Optional key menu (GB/T 33358 discourages forcing one): key → queue; empty = no menu.
    menu: Mapping[str, str] = field(default_factory=dict)
    # How long after the menu prompt a caller who pressed nothing joins the dialled queue.
    menu_wait_seconds: float = 5.0

    def takes_voicemail(self, admission: Admission) -> bool:
        return (
            self.voicemail_dir is not None
            and self.prompts is not None
            and admission in (Admission.NOBODY_ON_DUTY, Admission.AFTER_HOURS)
        )


@dataclass
class CallerMedia:
    """Per call: the hold programme, whether a callback was confirmed, the recorder."""

    call_id: str
    options: CallerMediaOptions
    programme: HoldProgramme | None = None
    recorder: CallRecorder | None = None
    callback_confirmed: bool = False
    voicemail: Admission | None = None  # why the caller is leaving a voicemail
    queued: bool = False
    # With rtpengine: where the relay's recording of the bridged call is to be written.
    relayed_recording: Path | None = None

    def hold(self, engine: MediaEngine, leg: RtpLeg, now: float) -> None:
        """Start what a queued caller hears."""
        library = self.options.prompts
        if library is None:
            engine.play_prompt(leg)
            return
        self.programme = HoldProgramme(
            library,
            lambda: self.options.queue_status(self.call_id),
            self.options.announce_seconds,
            now,
            self.options.callback_above_seconds,
            greet=not self.options.menu,  # the menu began with the greeting
        )
        engine.play_programme(leg, self.programme)

    def offer_menu(self, engine: MediaEngine, leg: RtpLeg) -> float | None:
        """Play the key menu if there is one; seconds until the caller is queued anyway."""
        library = self.options.prompts
        if not self.options.menu or library is None:
            return None
        message = OneMessage(library.clip("greeting") + library.clip("menu"))
        engine.play_programme(leg, message)
        return message.seconds + self.options.menu_wait_seconds

    def leave_voicemail(
        self, engine: MediaEngine, leg: RtpLeg, reason: Admission, at: datetime
    ) -> float:
        """Play why nobody answers, then record the caller; seconds until recording stops."""
        library = self.options.prompts
        directory = self.options.voicemail_dir
        assert library is not None and directory is not None  # see takes_voicemail
        self.voicemail = reason
        message = OneMessage(library.clip(str(reason).replace("-", "_")))
        engine.play_programme(leg, message)
        self.recorder = CallRecorder(directory / at.strftime("%Y-%m-%d") / f"{self.call_id}.wav")
        # Recorded from the answer on: a caller who starts talking over the message is kept.
        leg.recorder, leg.record_side = self.recorder, 0
        return message.seconds + self.options.voicemail_max_seconds

    def digit(self, digit: str) -> float | None:
        """A key the caller pressed while queued; seconds until hang-up if it booked a callback."""
        programme = self.programme
        library = self.options.prompts
        if (
            digit == "1"
            and programme is not None
            and library is not None
            and programme.callback_offered
            and not self.callback_confirmed
        ):
            self.callback_confirmed = True
            confirmation = library.clip("callback_confirmed")
            programme.play(confirmation)
            return len(confirmation) / 16000  # 8 kHz, 2 bytes a sample
        return None

    def recording_path(self, at: datetime) -> Path | None:
        """Where a call bridged at `at` is recorded, or None when recording is off."""
        directory = self.options.recordings_dir
        if directory is None:
            return None
        return directory / at.strftime("%Y-%m-%d") / f"{self.call_id}.wav"

    def bridged(self, engine: MediaEngine, caller: RtpLeg, agent: RtpLeg, at: datetime) -> None:
        """Start recording a just-bridged call, if recording is on."""
        path = self.recording_path(at)
        if path is None:
            return
        self.recorder = CallRecorder(path)
        engine.record(caller, agent, self.recorder)

    async def finish(self) -> FinishedRecording | None:
        """Close the recording (if any); its path and length."""
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return None
        try:
            return await recorder.finish()
        except OSError:
            log.exception("recording could not be written", extra={"call": self.call_id})
            return None
