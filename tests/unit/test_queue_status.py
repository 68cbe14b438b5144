"""Estimated wait from recent handle times."""

from __future__ import annotations

from hotline.queue_status import DEFAULT_HANDLE_SECONDS, WaitEstimator


def test_without_history_the_default_handle_time_is_used() -> None:
    status = WaitEstimator().status(position=2, agents_on_duty=1)
    assert status.position == 2
    assert status.estimated_wait_seconds == 2 * DEFAULT_HANDLE_SECONDS


def test_the_wait_follows_recent_calls_and_the_agents_on_duty() -> None:
    estimator = WaitEstimator(recent=2)
    for seconds in (1000.0, 60.0, 120.0):  # the oldest falls out
        estimator.handled(seconds)
    estimator.handled(-5)  # a clock step: ignored
    assert estimator.mean_handle_seconds == 90.0
    assert estimator.status(position=4, agents_on_duty=2).estimated_wait_seconds == 180.0
    assert estimator.status(position=1, agents_on_duty=0).estimated_wait_seconds == 90.0
