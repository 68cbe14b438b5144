"""通话满意率 from the post-call survey (好差评): (满意 + 基本满意) ÷ rated calls; calls whose
caller pressed nothing are not rated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reports import CallOptions, CallRow, tally_calls
from reports.calls import call_indicators

T0 = datetime(2026, 11, 2, 2, tzinfo=UTC)


def answered(n: int, survey: str | None) -> CallRow:
    arrived = T0 + timedelta(minutes=n)
    return CallRow(f"c{n}", "12319", "1001", arrived, arrived + timedelta(seconds=5),
                   arrived + timedelta(minutes=3), "caller-hangup", "12319", survey)  # fmt: skip


def test_satisfied_and_fairly_satisfied_over_rated_calls() -> None:
    rows = [
        answered(1, "satisfied"),
        answered(2, "satisfied"),
        answered(3, "fairly_satisfied"),
        answered(4, "unsatisfied"),
        answered(5, "no_answer"),  # stayed on, pressed nothing: not a rating
        answered(6, None),  # hung up with the agent: no survey
    ]
    tally = tally_calls(rows, CallOptions())
    assert (tally.answered, tally.surveyed, tally.survey_pleased) == (6, 4, 3)
    by_key = {i.key: i for i in call_indicators(tally, CallOptions())}
    rate = by_key["call_satisfaction_rate"]
    assert (rate.name, rate.numerator, rate.denominator) == ("通话满意率", 3, 4)
    assert rate.shown() == "75.00%"
    assert by_key["calls_surveyed"].value == 4


def test_no_rating_leaves_the_rate_undefined() -> None:
    tally = tally_calls([answered(1, "no_answer"), answered(2, None)], CallOptions())
    rate = {i.key: i for i in call_indicators(tally, CallOptions())}["call_satisfaction_rate"]
    assert rate.denominator == 0 and rate.shown() == "—"
