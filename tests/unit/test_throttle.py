"""Login throttling, pure: failures within the window lock a key; time or success unlocks it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hotline.throttle import LoginThrottle

T0 = datetime(2026, 11, 23, tzinfo=UTC)


def test_locks_after_the_limit_and_unlocks_when_the_window_passes() -> None:
    throttle = LoginThrottle(limit=3, window=timedelta(minutes=5))
    keys = ["agent:1001", "address:10.0.0.5"]
    for n in range(3):
        assert throttle.retry_after(keys, T0 + timedelta(seconds=n)) is None
        throttle.failed(keys, T0 + timedelta(seconds=n))
    assert throttle.retry_after(keys, T0 + timedelta(seconds=10)) == 290
    assert throttle.retry_after(["agent:1002"], T0 + timedelta(seconds=10)) is None
    assert throttle.retry_after(["address:10.0.0.5"], T0 + timedelta(seconds=10)) == 290
    assert throttle.retry_after(keys, T0 + timedelta(minutes=5, seconds=1)) is None


def test_success_clears_the_agents_failures() -> None:
    throttle = LoginThrottle(limit=2)
    throttle.failed(["agent:1001"], T0)
    throttle.succeeded(["agent:1001"])
    throttle.failed(["agent:1001"], T0)
    assert throttle.retry_after(["agent:1001"], T0) is None
