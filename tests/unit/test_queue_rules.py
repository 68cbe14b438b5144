"""Routing rules from configuration, and who counts as a repeat caller."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hotline.config import ConfigError, RoutingConfig
from hotline.queue_rules import queue_settings
from hotline.recent_callers import RecentCallers
from routing import Strategy

T0 = datetime(2026, 11, 23, tzinfo=UTC)


def test_strategies_escalation_and_overflow_from_config() -> None:
    config = RoutingConfig(
        strategy="fewest-calls",
        queue_strategies=("96198=skills",),
        escalate_after_seconds=60,
        overflow_after_seconds=120,
        overflow_queue="96198",
    )
    rules = {q.name: q for q in queue_settings(config, ["12319", "96198"])}
    assert rules["12319"].strategy is Strategy.FEWEST_CALLS
    assert rules["96198"].strategy is Strategy.SKILLS
    assert rules["12319"].escalate_after == timedelta(seconds=60)
    assert (rules["12319"].overflow_to, rules["12319"].overflow_after) == (
        "96198",
        timedelta(seconds=120),
    )
    assert rules["96198"].overflow_to is None  # the overflow queue does not overflow to itself


@pytest.mark.parametrize(
    "config, fragment",
    [
        (RoutingConfig(strategy="random"), "routing.strategy"),
        (RoutingConfig(queue_strategies=("12319:skills",)), "queue=strategy"),
        (RoutingConfig(queue_strategies=("99999=skills",)), "queue=strategy"),
        (RoutingConfig(overflow_after_seconds=30, overflow_queue="nowhere"), "overflow_queue"),
        (RoutingConfig(roster_pattern="4x6"), "roster_pattern"),
    ],
)
def test_bad_routing_config_is_refused(config: RoutingConfig, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        queue_settings(config, ["12319", "96198"])


def test_a_repeat_caller_is_one_who_called_within_the_window() -> None:
    recent = RecentCallers(3, [("13800000001", T0)])
    assert recent.is_repeat("13800000001", T0 + timedelta(days=3))
    assert not recent.is_repeat("13800000001", T0 + timedelta(days=3, seconds=1))
    assert not recent.is_repeat("13800000002", T0)
    assert not recent.is_repeat("", T0)  # withheld numbers are never repeat callers
    recent.seen("13800000002", T0)
    recent.forget_before(T0 + timedelta(days=4))
    assert not recent.is_repeat("13800000002", T0 + timedelta(days=1))
    assert not RecentCallers(0, [("13800000001", T0)]).is_repeat("13800000001", T0)
