"""The post-call survey's rules (好差评): keys, deadline and outcomes, without an event loop."""

from __future__ import annotations

import pytest

from telephony.dtmf import digit_from_info
from telephony.survey_rules import SurveyBallot, SurveyOutcome, outcome_label

PROMPT = 6.0
TIMEOUT = 8.0


def ballot() -> SurveyBallot:
    return SurveyBallot(started=100.0, prompt_seconds=PROMPT, timeout=TIMEOUT)


@pytest.mark.parametrize(
    ("key", "outcome", "label"),
    [
        ("1", SurveyOutcome.SATISFIED, "满意"),
        ("2", SurveyOutcome.FAIRLY_SATISFIED, "基本满意"),
        ("3", SurveyOutcome.UNSATISFIED, "不满意"),
    ],
)
def test_keys_one_to_three_decide(key: str, outcome: SurveyOutcome, label: str) -> None:
    asked = ballot()
    assert asked.press(key, 103.0) is outcome
    assert asked.outcome is outcome
    assert outcome.label == label
    assert outcome_label(outcome.value) == label


def test_a_key_during_the_question_counts() -> None:
    asked = ballot()
    assert asked.press("3", 100.5) is SurveyOutcome.UNSATISFIED


def test_other_keys_are_ignored_and_the_caller_may_still_answer() -> None:
    asked = ballot()
    for key in ("0", "4", "9", "*", "#", "A"):
        assert asked.press(key, 104.0) is None
    assert not asked.decided
    assert asked.press("2", 105.0) is SurveyOutcome.FAIRLY_SATISFIED


def test_the_first_answer_stands() -> None:
    asked = ballot()
    asked.press("1", 104.0)
    assert asked.press("3", 104.5) is None
    assert asked.expire(200.0) is None
    assert asked.outcome is SurveyOutcome.SATISFIED


def test_the_deadline_runs_from_the_end_of_the_question() -> None:
    asked = ballot()
    assert asked.deadline == 100.0 + PROMPT + TIMEOUT
    assert asked.expire(asked.deadline - 0.01) is None
    assert asked.press("1", asked.deadline) is SurveyOutcome.SATISFIED


def test_no_key_in_time_is_no_answer_and_a_late_key_changes_nothing() -> None:
    asked = ballot()
    assert asked.expire(asked.deadline) is SurveyOutcome.NO_ANSWER
    assert asked.outcome is SurveyOutcome.NO_ANSWER
    assert outcome_label(asked.outcome.value) == "未评价"
    assert asked.press("1", asked.deadline + 1) is None
    assert asked.outcome is SurveyOutcome.NO_ANSWER


def test_a_late_key_before_expiry_ran_does_not_count() -> None:
    asked = ballot()
    assert asked.press("1", asked.deadline + 0.5) is None
    assert asked.expire(asked.deadline + 0.5) is SurveyOutcome.NO_ANSWER


def test_labels_of_unknown_or_missing_values() -> None:
    assert outcome_label(None) is None
    assert outcome_label("excellent") is None


@pytest.mark.parametrize(
    ("content_type", "body", "key"),
    [
        ("application/dtmf-relay", b"Signal=1\r\nDuration=160\r\n", "1"),
        ("application/dtmf-relay", b"Signal= 3\nDuration= 250\n", "3"),
        ("Application/DTMF-Relay; charset=us-ascii", b"signal=2\r\n", "2"),
        ("application/dtmf-relay", b"Signal=*\r\nDuration=160\r\n", "*"),
        ("application/dtmf-relay", b"Signal=11\r\nDuration=160\r\n", "#"),
        ("application/dtmf", b"2", "2"),
        ("application/dtmf", b"#\r\n", "#"),
        ("application/dtmf-relay", b"Duration=160\r\n", None),
        ("application/dtmf-relay", b"Signal=\r\n", None),
        ("application/dtmf-relay", b"Signal=99\r\n", None),
        ("application/dtmf-relay", b"Signal=\xff\r\n", None),
        ("application/dtmf", b"12", None),
        ("application/sdp", b"v=0\r\n", None),
        ("", b"Signal=1", None),
    ],
)
def test_keys_in_sip_info_bodies(content_type: str, body: bytes, key: str | None) -> None:
    assert digit_from_info(content_type, body) == key
