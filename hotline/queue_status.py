"""Estimated wait for a queued caller, from recent handle times and the agents on duty (pure)."""

from __future__ import annotations

from collections import deque

from telephony.announcements import QueueStatus

# Until calls have been handled, assume a typical 12319 call (about three minutes).
DEFAULT_HANDLE_SECONDS = 180.0
RECENT_CALLS = 50


class WaitEstimator:
    """Mean of the last handle times; a caller at position n waits about n × mean / agents."""

    def __init__(self, recent: int = RECENT_CALLS) -> None:
        self._handle_seconds: deque[float] = deque(maxlen=recent)

    def handled(self, seconds: float) -> None:
        """A connected call ended after `seconds` with the agent."""
        if seconds >= 0:
            self._handle_seconds.append(seconds)

    @property
    def mean_handle_seconds(self) -> float:
        if not self._handle_seconds:
            return DEFAULT_HANDLE_SECONDS
        return sum(self._handle_seconds) / len(self._handle_seconds)

    def status(self, position: int, agents_on_duty: int) -> QueueStatus:
        """Position 1 is next; with nobody on duty the wait is as if one agent were."""
        wait = position * self.mean_handle_seconds / max(1, agents_on_duty)
        return QueueStatus(position, wait)
