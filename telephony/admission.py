"""Whether a new call may join its queue: the decision taken before a caller is answered (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from enum import StrEnum


class Admission(StrEnum):
    OPEN = "open"
    NOBODY_ON_DUTY = "nobody-on-duty"
    AFTER_HOURS = "after-hours"
    FULL = "full"


@dataclass(frozen=True)
class OpeningHours:
    """Daily opening hours in the centre's local time; may run past midnight (22:00-06:00)."""

    opens: time
    closes: time

    @classmethod
    def parse(cls, text: str) -> OpeningHours | None:
        """ "08:00-20:00" → hours; "" → None (open day and night); ValueError otherwise."""
        text = text.strip()
        if not text:
            return None
        opens, dash, closes = text.partition("-")
        if not dash:
            raise ValueError(f"opening hours must look like 08:00-20:00, got {text!r}")
        try:
            return cls(time.fromisoformat(opens.strip()), time.fromisoformat(closes.strip()))
        except ValueError:
            raise ValueError(f"opening hours must look like 08:00-20:00, got {text!r}") from None

    def is_open(self, local: time) -> bool:
        if self.opens <= self.closes:
            return self.opens <= local < self.closes
        return local >= self.opens or local < self.closes


def decide(
    local: time,
    hours: OpeningHours | None,
    agents_on_duty: int,
    waiting: int,
    max_waiting: int,
) -> Admission:
    """After hours first, then nobody logged in, then the queue cap (0 = no cap)."""
    if hours is not None and not hours.is_open(local):
        return Admission.AFTER_HOURS
    if agents_on_duty == 0:
        return Admission.NOBODY_ON_DUTY
    if max_waiting > 0 and waiting >= max_waiting:
        return Admission.FULL
    return Admission.OPEN
