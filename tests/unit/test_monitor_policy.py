"""The centre's policy: the agent's page hears of a lead on the call only where it is set;
leads always do. Ending (the lead's BYE, the call's end) clears the wallboard's mark."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest

from agent_console.notifier import Notifier
from hotline.monitoring import CallMonitoring
from hotline.switchboard import LiveCall, Switchboard
from telephony.events import CallEnded, MonitorChanged
from telephony.supervision import MonitorError

AT = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)


class Recorder(Notifier):
    def __init__(self) -> None:
        super().__init__()
        self.agents: list[tuple[str, dict[str, Any]]] = []
        self.leads: list[dict[str, Any]] = []

    def to_agent(self, agent_id: str, message: dict[str, Any]) -> None:
        self.agents.append((agent_id, message))

    def to_leads(self, message: dict[str, Any]) -> None:
        self.leads.append(message)


class Board:
    def __init__(self) -> None:
        live = LiveCall("c1", "13800138000", "12319", "12319", AT, "1001", "connected", AT)
        self.calls = {"c1": live, "c2": LiveCall("c2", "139", "12319", "12319", AT)}
        self.logged: list[tuple[str, str]] = []

    def log_call_event(
        self, call_id: str, kind: str, agent_id: str | None, detail: dict[str, Any] | None = None
    ) -> None:
        self.logged.append((call_id, kind))


def monitoring(shown: bool) -> tuple[CallMonitoring, Recorder, Board]:
    notifier, board = Recorder(), Board()
    started: list[tuple[str, str, str]] = []
    service = CallMonitoring(
        cast(Switchboard, board),
        notifier,
        lambda call, lead, mode: started.append((call, lead, mode)) or "ringing",
        lambda call, lead: False,
        shown,
    )
    return service, notifier, board


@pytest.mark.parametrize("shown", [True, False])
def test_the_agent_is_told_only_where_the_policy_says(shown: bool) -> None:
    service, notifier, _ = monitoring(shown)
    service.on_event(MonitorChanged(AT, "c1", "9001", "listen", "connected"))
    assert [m["mode"] for m in notifier.leads] == ["listen"]
    assert [(a, m["state"]) for a, m in notifier.agents] == (
        [("1001", "connected")] if shown else []
    )
    assert service.active["c1"].mode == "listen"


def test_the_lead_leaving_or_the_call_ending_clears_the_mark() -> None:
    service, notifier, board = monitoring(True)
    service.on_event(MonitorChanged(AT, "c1", "9001", "barge", "connected"))
    service.on_event(MonitorChanged(AT, "c1", "9001", "barge", "ended", "lead-hangup"))
    assert "c1" not in service.active
    assert notifier.leads[-1]["state"] == "ended" and ("c1", "monitor-ended") in board.logged
    service.on_event(MonitorChanged(AT, "c1", "9001", "listen", "connected"))
    service.on_event(CallEnded(AT, "c1", "caller-hangup", 0, 0))
    assert "c1" not in service.active
    assert notifier.agents[-1][1]["reason"] == "call-ended"


@pytest.mark.parametrize(
    ("call", "mode", "error_id"),
    [
        ("nope", "listen", "unknown-call"),
        ("c2", "listen", "not-connected"),
        ("c1", "x", "invalid-mode"),
    ],
)
def test_refusals_have_stable_ids(call: str, mode: str, error_id: str) -> None:
    service, _, _ = monitoring(True)
    with pytest.raises(MonitorError) as raised:
        service.monitor(call, "9001", mode)
    assert raised.value.error_id == error_id
