"""The console's call buttons (保持/恢复, 静音, 挂断): who may press them, and what follows.

Only the agent on the call, or a shift lead, acts on it; the call must be connected. The
gateway does the work (`SipGateway.control`); hold and hang-up reach the log and the console
through the gateway's own CallHeld and CallEnded (end reason `agent-hangup`), mute from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agent_console.notifier import Notifier
from hotline.switchboard import Switchboard
from telephony.call_control import CallControlError, check_action


@dataclass(frozen=True)
class ControlDone:
    call_id: str
    action: str
    agent_id: str  # the agent on the call (a lead may act on someone else's)


class CallControls:
    """Checks and carries out a console action on a live call."""

    def __init__(
        self, switchboard: Switchboard, notifier: Notifier, act: Callable[[str, str], None]
    ) -> None:
        self._switchboard = switchboard
        self._notifier = notifier
        self._act = act

    def act(self, call_id: str, action: object, agent_id: str, lead: bool) -> ControlDone:
        """Carry out `action`; CallControlError (unknown-call, forbidden, not-connected,
        invalid-action) when it may not be done."""
        checked = check_action(action)
        live = self._switchboard.calls.get(call_id)
        if live is None:
            raise CallControlError("unknown-call", f"no call {call_id}")
        if not lead and live.agent_id != agent_id:
            raise CallControlError("forbidden", "only the agent on the call or a shift lead may")
        if live.state != "connected" or live.agent_id is None:
            raise CallControlError("not-connected", "the call is not connected to an agent")
        on_call = live.agent_id
        self._act(call_id, checked)
        if checked in ("mute", "unmute"):
            muted = checked == "mute"
            self._switchboard.log_call_event(call_id, "muted" if muted else "unmuted", agent_id)
            self._notifier.to_agent(
                on_call, {"type": "call.muted", "call_id": call_id, "muted": muted}
            )
        return ControlDone(call_id, checked, on_call)
