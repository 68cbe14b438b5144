"""The caller-facing options of the gateway, built from the [media] and [admission] config."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hotline.config import HotlineConfig
from hotline.switchboard import Switchboard
from telephony.admission import Admission, OpeningHours, decide
from telephony.announcements import PROMPTS_DIR, PromptLibrary
from telephony.caller_media import CallerMediaOptions


def caller_media_options(
    config: HotlineConfig, switchboard: Switchboard, clock: Callable[[], datetime]
) -> CallerMediaOptions:
    """Prompts, announcements, callback offer, recording and admission, from the config."""
    media = config.media
    hours = OpeningHours.parse(config.admission.opening_hours)
    zone = ZoneInfo(config.centre.timezone)

    def admission(queue: str) -> Admission:
        return decide(
            clock().astimezone(zone).time(),
            hours,
            switchboard.agents_on_duty(queue),
            len(switchboard.routing.waiting(queue)),
            config.admission.max_waiting_per_queue,
        )

    prompts_dir = Path(media.prompts_dir) if media.prompts_dir else PROMPTS_DIR
    greeting = Path(config.sip.greeting) if config.sip.greeting else None
    return CallerMediaOptions(
        prompts=PromptLibrary.load(prompts_dir, greeting),
        announce_seconds=media.announce_seconds,
        queue_status=switchboard.queue_status,
        callback_above_seconds=media.callback_offer_above_seconds or None,
        recordings_dir=Path(media.recordings_dir) if media.recordings_dir else None,
        admission=admission,
        voicemail_dir=Path(media.voicemail_dir) if media.voicemail_dir else None,
        voicemail_max_seconds=media.voicemail_max_seconds,
        menu=key_menu(media.menu),
        menu_wait_seconds=media.menu_wait_seconds,
    )


def key_menu(entries: tuple[str, ...]) -> dict[str, str]:
    """["1=12319", "2=12319-query"] → {"1": "12319", "2": "12319-query"}; ValueError if bad."""
    menu: dict[str, str] = {}
    for entry in entries:
        key, equals, queue = entry.partition("=")
        key, queue = key.strip(), queue.strip()
        if not equals or key not in set("0123456789*#") or len(key) != 1 or not queue:
            raise ValueError(f"[media] menu entries look like 1=12319, got {entry!r}")
        menu[key] = queue
    return menu
