"""Per-queue rules: how an agent is chosen, wrap-up, escalation and overflow; caller priority."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class Strategy(StrEnum):
    LONGEST_IDLE = "longest-idle"
    ROUND_ROBIN = "round-robin"
    FEWEST_CALLS = "fewest-calls"
    SKILLS = "skills"  # highest proficiency for the queue, then longest idle


@dataclass(frozen=True)
class QueueSettings:
    """How one queue (a hotline or a skill) is served; None means the engine's default."""

    name: str
    strategy: Strategy = Strategy.LONGEST_IDLE
    wrap_up: timedelta | None = None
    # A call waiting this long in the queue is served one priority level higher (once).
    escalate_after: timedelta | None = None
    # A call waiting this long moves to `overflow_to`, keeping its arrival time and priority.
    overflow_after: timedelta | None = None
    overflow_to: str | None = None

    def __post_init__(self) -> None:
        if (self.overflow_after is None) != (self.overflow_to is None):
            raise ValueError(f"queue {self.name}: overflow_after and overflow_to go together")
        if self.overflow_to == self.name:
            raise ValueError(f"queue {self.name} cannot overflow to itself")


# Priority levels; a higher level is served first, first come first served within a level.
NORMAL = 0
REPEAT_CALLER = 1
TRANSFER_12345 = 2
URGENT = 3


def caller_priority(*, urgent: bool = False, transfer: bool = False, repeat: bool = False) -> int:
    """The caller's level: urgent over a 12345 transfer over a repeat caller over the rest."""
    if urgent:
        return URGENT
    if transfer:
        return TRANSFER_12345
    if repeat:
        return REPEAT_CALLER
    return NORMAL
