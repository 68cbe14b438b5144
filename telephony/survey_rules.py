"""The post-call survey's rules (好差评): which key means what, and when asking is over.

Pure: every decision takes `now` (the event loop's clock, in seconds) and returns an outcome
or nothing; telephony/survey.py plays the prompts and acts on the outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SurveyOutcome(StrEnum):
    """What the caller said about the call; the values are stored on the call and ticket."""

    SATISFIED = "satisfied"  # 满意, key 1
    FAIRLY_SATISFIED = "fairly_satisfied"  # 基本满意, key 2
    UNSATISFIED = "unsatisfied"  # 不满意, key 3
    NO_ANSWER = "no_answer"  # 未评价: no key in time

    @property
    def label(self) -> str:
        return OUTCOME_LABELS[self]


OUTCOME_LABELS = {
    SurveyOutcome.SATISFIED: "满意",
    SurveyOutcome.FAIRLY_SATISFIED: "基本满意",
    SurveyOutcome.UNSATISFIED: "不满意",
    SurveyOutcome.NO_ANSWER: "未评价",
}
KEYS = {
    "1": SurveyOutcome.SATISFIED,
    "2": SurveyOutcome.FAIRLY_SATISFIED,
    "3": SurveyOutcome.UNSATISFIED,
}


def outcome_label(value: str | None) -> str | None:
    """The Chinese label of a stored outcome (None when the caller was never asked)."""
    if value is None:
        return None
    try:
        return SurveyOutcome(value).label
    except ValueError:
        return None


@dataclass
class SurveyBallot:
    """One caller being asked: keys count from the start of the prompt (a caller who knows
    the question need not wait for it) until `timeout` seconds after it ends; the first key
    of 1–3 decides, any other key is ignored, and nothing changes a decided ballot."""

    started: float
    prompt_seconds: float
    timeout: float
    outcome: SurveyOutcome | None = None

    @property
    def deadline(self) -> float:
        return self.started + self.prompt_seconds + self.timeout

    @property
    def decided(self) -> bool:
        return self.outcome is not None

    def press(self, key: str, now: float) -> SurveyOutcome | None:
        """A key the caller pressed: the outcome if it decides the ballot, else None."""
        if self.decided or now > self.deadline:
            return None
        chosen = KEYS.get(key)
        if chosen is not None:
            self.outcome = chosen
        return chosen

    def expire(self, now: float) -> SurveyOutcome | None:
        """Past the deadline with no key: 未评价. None while still open or already decided."""
        if self.decided or now < self.deadline:
            return None
        self.outcome = SurveyOutcome.NO_ANSWER
        return self.outcome
