"""Transfers and a shift lead on the call under `[media] engine = "rtpengine"`: the tests of
the embedded engine (imported from their modules, unchanged), run again with a real
rtpengine carrying the media. Each needs the call's audio back in the gateway
(telephony/media_home.py): the blind transfer takes the caller's side back from rtpengine,
the three-way call, the consultation and the lead also move the agent's phone with a
re-INVITE."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_console_consulted_transfer import (
    test_the_agent_consults_the_department_takes_the_caller_back_then_hands_over,
)
from tests.e2e.test_lead_monitor import test_listen_whisper_barge_and_leave_on_a_real_call
from tests.e2e.test_rtpengine_media import Rtpengine, media_through, rtpengine
from tests.e2e.test_transfer import (
    DEPARTMENT,
    department_port,
    outbound_password,
    test_blind_transfer_from_the_console_hands_the_caller_to_the_department,
    test_three_way_call_lets_every_party_hear_the_other_two,
)

pytestmark = pytest.mark.sipp

__all__ = [
    "department_port",
    "outbound_password",
    "rtpengine",
    "test_blind_transfer_from_the_console_hands_the_caller_to_the_department",
    "test_listen_whisper_barge_and_leave_on_a_real_call",
    "test_the_agent_consults_the_department_takes_the_caller_back_then_hands_over",
    "test_three_way_call_lets_every_party_hear_the_other_two",
]


@pytest.fixture
def hotline_overrides(
    rtpengine: Rtpengine, tmp_path: Path, department_port: int
) -> dict[str, dict[str, object]]:
    return {
        "media": media_through(rtpengine, tmp_path),
        "sip": {
            "outbound_proxy": f"127.0.0.1:{department_port}",
            "transfer_targets": (f"城管执法={DEPARTMENT}", "12345 热线=12345"),
        },
        "wallboard": {"monitor_shown_to_agent": True},
    }
