"""Call indicators (GB/T 33358-2016 政务热线): one definition of each, over typed call rows.

A call is classified once (`outcome`) and counted into an additive `CallTally`; every figure
of a report, of the live statistics and of /metrics is a function of tallies, so the same
calls always give the same numbers whether they are summed per hour, per agent or per month.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime
from enum import StrEnum
from operator import add, attrgetter

from reports.indicators import Indicator, calls, mean, rate


class CallOutcome(StrEnum):
    ANSWERED = "answered"  # an agent took it
    ABANDONED = "abandoned"  # the caller hung up (or the call was lost) before an agent
    REFUSED = "refused"  # turned away by the gateway: queue full (486), draining, no ports (503)
    VOICEMAIL = "voicemail"  # the caller left a message (nobody on duty, after hours)
    CALLBACK = "callback"  # the caller asked to be called back instead of waiting
    WAITING = "waiting"  # no outcome yet


# end_reason values the call log writes for calls that never reached an agent on purpose.
CALLBACK_REASON = "callback"
VOICEMAIL_REASON = "voicemail"
REFUSED_PREFIX = "refused-"  # "refused-queue-full", "refused-draining" …
# The post-call survey's answers that rate the call (the caller pressed 1, 2 or 3; no_answer
# does not), and those that count as satisfied for 通话满意率.
SURVEY_RATINGS = frozenset({"satisfied", "fairly_satisfied", "unsatisfied"})
SURVEY_PLEASED = frozenset({"satisfied", "fairly_satisfied"})


@dataclass(frozen=True)
class CallRow:
    """What a report needs of one call."""

    call_id: str
    queue: str
    agent_id: str | None
    arrived_at: datetime
    connected_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None = None
    hotline: str = ""  # the number dialled (12319, 96198, a 12345 transfer line); "" = queue
    survey: str | None = None  # the post-call survey (好差评): one of SURVEY_RATINGS, no_answer

    @property
    def line(self) -> str:
        return self.hotline or self.queue


@dataclass(frozen=True)
class CallOptions:
    # Answered within this many seconds counts for the 15 s 接通率 and the service level.
    answer_seconds: float = 15.0
    # Callers who hang up sooner are short abandons (misdials): out of the service level and
    # the abandon rate, still offered calls for 接通率.
    short_abandon_seconds: float = 5.0

    @property
    def answer_label(self) -> str:
        return f"{self.answer_seconds:g}秒"


def outcome(call: CallRow) -> CallOutcome:
    """The one classification of a call every indicator uses."""
    if call.connected_at is not None:
        return CallOutcome.ANSWERED
    reason = call.end_reason or ""
    if reason.startswith(REFUSED_PREFIX):
        return CallOutcome.REFUSED
    if reason == VOICEMAIL_REASON:
        return CallOutcome.VOICEMAIL
    if reason == CALLBACK_REASON:
        return CallOutcome.CALLBACK
    if call.ended_at is None:
        return CallOutcome.WAITING
    return CallOutcome.ABANDONED


@dataclass(frozen=True)
class CallTally:
    """Counts and sums that add up across calls, hours, agents and days."""

    offered: int = 0
    answered: int = 0
    answered_in_time: int = 0
    abandoned: int = 0
    short_abandons: int = 0
    refused: int = 0
    voicemails: int = 0
    callbacks: int = 0
    waiting: int = 0
    wait_seconds: float = 0.0  # caller's wait before an agent answered, answered calls
    talk_seconds: float = 0.0  # answered calls that have ended
    talked: int = 0
    surveyed: int = 0  # calls the caller rated in the post-call survey (1–3)
    survey_pleased: int = 0  # of which 满意 or 基本满意

    def __add__(self, other: CallTally) -> CallTally:
        return CallTally(*map(add, _CALL_VALUES(self), _CALL_VALUES(other)))

    @property
    def decided(self) -> int:
        """Offered calls with an outcome: the denominator of 接通率."""
        return self.offered - self.waiting

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(CallTally)}

    @classmethod
    def from_dict(cls, values: dict[str, float]) -> CallTally:
        return cls(**{f.name: values.get(f.name, 0) for f in fields(CallTally)})  # type: ignore[arg-type]


_CALL_VALUES = attrgetter(*(f.name for f in fields(CallTally)))


def tally_call(call: CallRow, options: CallOptions) -> CallTally:
    """One call's contribution."""
    tally = _tally_outcome(call, options)
    if call.survey in SURVEY_RATINGS:
        tally = replace(tally, surveyed=1, survey_pleased=int(call.survey in SURVEY_PLEASED))
    return tally


def _tally_outcome(call: CallRow, options: CallOptions) -> CallTally:
    kind = outcome(call)
    if kind is CallOutcome.ANSWERED:
        assert call.connected_at is not None
        wait = max(0.0, (call.connected_at - call.arrived_at).total_seconds())
        talk = (
            max(0.0, (call.ended_at - call.connected_at).total_seconds())
            if call.ended_at is not None
            else 0.0
        )
        return CallTally(
            offered=1,
            answered=1,
            answered_in_time=int(wait <= options.answer_seconds),
            wait_seconds=wait,
            talk_seconds=talk,
            talked=int(call.ended_at is not None),
        )
    if kind is CallOutcome.ABANDONED:
        assert call.ended_at is not None
        waited = (call.ended_at - call.arrived_at).total_seconds()
        return CallTally(
            offered=1, abandoned=1, short_abandons=int(waited < options.short_abandon_seconds)
        )
    return CallTally(
        offered=1,
        refused=int(kind is CallOutcome.REFUSED),
        voicemails=int(kind is CallOutcome.VOICEMAIL),
        callbacks=int(kind is CallOutcome.CALLBACK),
        waiting=int(kind is CallOutcome.WAITING),
    )


def tally_calls(calls: Iterable[CallRow], options: CallOptions) -> CallTally:
    from reports.sums import total

    return total((tally_call(call, options) for call in calls), CallTally)


# The definitions. Each takes a tally and returns one Indicator.


def answer_rate_in_time(t: CallTally, options: CallOptions) -> Indicator:
    """15秒接通率: answered within the answer time ÷ offered calls with an outcome."""
    return rate(
        "answer_rate_in_time", f"{options.answer_label}接通率", t.answered_in_time, t.decided
    )


def answer_rate(t: CallTally) -> Indicator:
    """接通率: answered ÷ offered calls with an outcome (refused, abandoned, voicemail,
    callback requests and short abandons all count as offered and not answered)."""
    return rate("answer_rate", "接通率", t.answered, t.decided)


def service_level(t: CallTally, options: CallOptions) -> Indicator:
    """服务水平: answered within the answer time ÷ (decided − short abandons)."""
    return rate(
        "service_level",
        f"服务水平（{options.answer_label}）",
        t.answered_in_time,
        t.decided - t.short_abandons,
    )


def abandon_rate(t: CallTally) -> Indicator:
    """放弃率: abandoned but not short ÷ (decided − short abandons)."""
    return rate(
        "abandon_rate", "放弃率", t.abandoned - t.short_abandons, t.decided - t.short_abandons
    )


def average_speed_of_answer(t: CallTally) -> Indicator:
    return mean("asa_seconds", "平均应答时长（秒）", t.wait_seconds, t.answered)


def average_talk_time(t: CallTally) -> Indicator:
    return mean("talk_seconds", "平均通话时长（秒）", t.talk_seconds, t.talked)


def call_satisfaction(t: CallTally) -> Indicator:
    """通话满意率 (好差评): (满意 + 基本满意) ÷ calls the caller rated (no answer is none)."""
    return rate("call_satisfaction_rate", "通话满意率", t.survey_pleased, t.surveyed)


def call_indicators(t: CallTally, options: CallOptions) -> list[Indicator]:
    """The call side of a report, in the order the report shows it."""
    return [
        calls("calls_offered", "呼入量", t.offered),
        calls("calls_answered", "接通量", t.answered),
        answer_rate_in_time(t, options),
        answer_rate(t),
        service_level(t, options),
        calls("calls_abandoned", "放弃量", t.abandoned),
        calls("short_abandons", "短时放弃量", t.short_abandons),
        abandon_rate(t),
        calls("calls_refused", "忙线拒接量", t.refused),
        calls("voicemails", "留言量", t.voicemails),
        calls("callback_requests", "预约回拨量", t.callbacks),
        average_speed_of_answer(t),
        average_talk_time(t),
        calls("calls_surveyed", "通话评价量", t.surveyed),
        call_satisfaction(t),
    ]
