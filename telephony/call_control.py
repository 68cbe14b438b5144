"""Call control from the agent's console: hold, resume, mute, unmute and hang up a connected
call. The gateway acts on the media and the SIP dialogs; this module says which actions exist
and which leg of a call they act on."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from telephony.gateway import HotlineCall, Leg

ACTIONS = ("hold", "resume", "mute", "unmute", "hangup")


class CallControlError(ValueError):
    """A console action the call cannot take; `error_id` is stable for the API."""

    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id


def check_action(action: object) -> str:
    if action not in ACTIONS:
        raise CallControlError("invalid-action", f"action must be one of {', '.join(ACTIONS)}")
    return str(action)


def agent_leg(call: HotlineCall | None, call_id: str) -> Leg:
    """The answered agent leg the console acts on (CallControlError otherwise)."""
    if call is None or call.ended:
        raise CallControlError("unknown-call", f"no call {call_id}")
    leg = call.agent_leg
    if leg is None or not leg.answered or leg.ended:
        raise CallControlError("not-connected", "the call is not connected to an agent")
    return leg
