"""How long a call spent on hold, and how many times, from its hold and resume events (pure).

The call is on hold while any party holds it (the agent's phone, the caller's, a department's
after a transfer); overlapping holds count once in the time. A repeated hold from a party
already holding (a session refresh re-INVITE that keeps `sendonly`) is not a new hold. A call
that ends while held is counted on hold until its end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class HoldFigures:
    """What the call record keeps: seconds on hold and how many times a party held."""

    seconds: float
    count: int


@dataclass
class HoldClock:
    """The hold state of one call in progress."""

    _seconds: float = 0.0
    _count: int = 0
    _holders: set[str] = field(default_factory=set)
    _since: datetime | None = None

    def change(self, by: str, held: bool, at: datetime) -> None:
        """Party `by` put the call on hold (`held`) or took it off at `at`."""
        if held:
            if by in self._holders:
                return
            self._count += 1
            if not self._holders:
                self._since = at
            self._holders.add(by)
            return
        if by not in self._holders:
            return
        self._holders.discard(by)
        if not self._holders and self._since is not None:
            self._seconds += max(0.0, (at - self._since).total_seconds())
            self._since = None

    @property
    def held(self) -> bool:
        return bool(self._holders)

    def figures(self, now: datetime) -> HoldFigures:
        """The totals at `now`, a hold still running counted up to it (a call ending held)."""
        running = 0.0
        if self._since is not None:
            running = max(0.0, (now - self._since).total_seconds())
        return HoldFigures(round(self._seconds + running, 3), self._count)
