"""A shift lead on a live call (监听 / 密语 / 强插): who hears whom in each mode.

The pure part of supervision: the three parties of a supervised call, the modes, and for each
mode the parties each one hears. The media engine mixes by this table (telephony/conference.py);
the SIP leg to the lead's phone lives in telephony/monitor.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

CALLER, AGENT, LEAD = "caller", "agent", "lead"
PARTIES = (CALLER, AGENT, LEAD)
MODES = ("listen", "whisper", "barge")

_HEARS: Mapping[str, Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        # 监听: the lead hears both; nobody hears the lead.
        "listen": MappingProxyType(
            {
                CALLER: frozenset({AGENT}),
                AGENT: frozenset({CALLER}),
                LEAD: frozenset({CALLER, AGENT}),
            }
        ),
        # 密语: the lead coaches the agent; the caller hears only the agent.
        "whisper": MappingProxyType(
            {
                CALLER: frozenset({AGENT}),
                AGENT: frozenset({CALLER, LEAD}),
                LEAD: frozenset({CALLER, AGENT}),
            }
        ),
        # 强插: a full three-way call.
        "barge": MappingProxyType(
            {
                CALLER: frozenset({AGENT, LEAD}),
                AGENT: frozenset({CALLER, LEAD}),
                LEAD: frozenset({CALLER, AGENT}),
            }
        ),
    }
)


class MonitorError(ValueError):
    """A supervision request the call cannot take; `error_id` is stable for the API."""

    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id


def check_mode(mode: object) -> str:
    """The mode if it is one of MODES (MonitorError `invalid-mode` otherwise)."""
    if not isinstance(mode, str) or mode not in MODES:
        raise MonitorError("invalid-mode", f"mode must be one of {', '.join(MODES)}")
    return mode


def who_hears_whom(mode: str) -> Mapping[str, frozenset[str]]:
    """For each party, the parties whose audio reaches it in `mode`."""
    return _HEARS[check_mode(mode)]
