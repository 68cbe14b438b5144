"""Shift leads on live calls (监听 / 密语 / 强插): who may, what the pages are told.

A lead posts a mode for a connected call; the gateway rings the lead's registered phone into
the call (or switches the mode of the lead already on it: telephony/monitor.py). What the
gateway then reports (MonitorChanged: ringing, connected, ended, failed) goes into the call's
log, to every lead's page (the wallboard's calls show it) and, where the centre's policy says
so (`[wallboard] monitor_shown_to_agent`), to the agent on the call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent_console.notifier import Notifier
from hotline.switchboard import Switchboard
from telephony.events import CallEnded, MonitorChanged
from telephony.supervision import MonitorError, check_mode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Monitoring:
    """A lead on (or being rung into) a call."""

    call_id: str
    lead_id: str
    mode: str  # listen | whisper | barge
    state: str  # ringing | connected
    since: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "lead_id": self.lead_id,
            "mode": self.mode,
            "state": self.state,
            "since": self.since.isoformat(),
        }


@dataclass(frozen=True)
class MonitorStarted:
    call_id: str
    agent_id: str  # the agent on the call
    mode: str
    state: str  # ringing | connected


class CallMonitoring:
    """Checks leads' supervision requests, carries them out, and tells the pages."""

    def __init__(
        self,
        switchboard: Switchboard,
        notifier: Notifier,
        start: Callable[[str, str, str], str],
        stop: Callable[[str, str], bool],
        shown_to_agent: bool,
    ) -> None:
        self._switchboard = switchboard
        self._notifier = notifier
        self._start = start
        self._stop = stop
        self.shown_to_agent = shown_to_agent
        self._active: dict[str, Monitoring] = {}
        self._watchers: list[Callable[[], None]] = []

    @property
    def active(self) -> Mapping[str, Monitoring]:
        """Calls with a lead on them (or being rung in), by call id."""
        return self._active

    def watch(self, changed: Callable[[], None]) -> None:
        self._watchers.append(changed)

    def monitor(self, call_id: str, lead_id: str, mode: object) -> MonitorStarted:
        """Ring `lead_id`'s phone into the call in `mode`, or switch mode; MonitorError
        (invalid-mode, unknown-call, not-connected, no-phone, monitored, on-hold,
        transfer-in-progress) when it cannot be done. The caller checks the role."""
        checked = check_mode(mode)
        live = self._switchboard.calls.get(call_id)
        if live is None:
            raise MonitorError("unknown-call", f"no call {call_id}")
        if live.state != "connected" or live.agent_id is None:
            raise MonitorError("not-connected", "the call is not connected to an agent")
        state = self._start(call_id, lead_id, checked)
        self._switchboard.log_call_event(
            call_id, "monitor", live.agent_id, {"lead": lead_id, "mode": checked}
        )
        return MonitorStarted(call_id, live.agent_id, checked, state)

    def stop(self, call_id: str, lead_id: str) -> str:
        """Take the lead off the call; returns the agent on it. MonitorError not-monitoring."""
        live = self._switchboard.calls.get(call_id)
        if live is None:
            raise MonitorError("unknown-call", f"no call {call_id}")
        if not self._stop(call_id, lead_id):
            raise MonitorError("not-monitoring", "this lead is not on the call")
        return live.agent_id or ""

    def on_event(self, event: MonitorChanged | CallEnded) -> None:
        """What the gateway reports (synchronously, from its event sink)."""
        if isinstance(event, CallEnded):
            gone = self._active.pop(event.call_id, None)
            if gone is not None:
                self._tell(gone, "ended", "call-ended")
            return
        if event.state in ("ringing", "connected"):
            watched = Monitoring(event.call_id, event.lead_id, event.mode, event.state, event.at)
            self._set(watched)
            return
        gone = self._active.pop(event.call_id, None)
        self._switchboard.log_call_event(
            event.call_id,
            "monitor-ended",
            None,
            {"lead": event.lead_id, "reason": event.reason or event.state},
        )
        log.info(
            "supervision over",
            extra={"call": event.call_id, "lead": event.lead_id, "reason": event.reason},
        )
        self._tell(
            gone or Monitoring(event.call_id, event.lead_id, event.mode, event.state, event.at),
            event.state,
            event.reason,
        )

    def _set(self, watched: Monitoring) -> None:
        if self._active.get(watched.call_id) == watched:
            return
        self._active[watched.call_id] = watched
        self._tell(watched, watched.state, "")

    def _tell(self, watched: Monitoring, state: str, reason: str) -> None:
        message = {
            "type": "call.monitor",
            "call_id": watched.call_id,
            "lead_id": watched.lead_id,
            "mode": watched.mode,
            "state": state,
            "reason": reason,
        }
        self._notifier.to_leads(message)
        live = self._switchboard.calls.get(watched.call_id)
        if self.shown_to_agent and live is not None and live.agent_id:
            self._notifier.to_agent(live.agent_id, message)
        for changed in self._watchers:
            changed()
