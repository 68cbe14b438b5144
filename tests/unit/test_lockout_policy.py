"""The REGISTER lockout core: fast guessing, slow sweeps, sources, expiry, bounded memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.config import ConfigError, RegisterLockoutConfig, load_config
from hotline.guard_setup import register_lockout
from telephony.lockout import LockoutPolicy, RegisterLockout, Scope

POLICY = LockoutPolicy()
DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.toml"


def test_the_tenth_failure_for_an_account_locks_it_for_lockout_seconds() -> None:
    lockout = RegisterLockout(POLICY)
    for n in range(9):
        assert lockout.failed("1001", f"10.0.0.{n}", float(n)) == []
    assert not lockout.locked("1001", "10.0.0.99", 9.0)
    [begun] = lockout.failed("1001", "10.0.0.9", 9.0)
    assert (begun.scope, begun.key, begun.failures) == (Scope.ACCOUNT, "1001", 10)
    assert lockout.locked("1001", "10.0.0.99", 10.0)  # from any address
    assert not lockout.locked("1002", "10.0.0.99", 10.0)  # other accounts are not
    assert lockout.locked("1001", "10.0.0.99", 9.0 + POLICY.lockout_seconds - 1)
    assert not lockout.locked("1001", "10.0.0.99", 9.0 + POLICY.lockout_seconds)


def test_failures_outside_the_window_do_not_add_up() -> None:
    lockout = RegisterLockout(POLICY)
    for n in range(30):  # 5 an hour: never 10 in 600 s, 29 in the long window ...
        assert lockout.failed("1001", f"10.0.{n}.1", n * 720.0) == [] or n == 29
    # ... and the 30th within 24 hours is the slow sweep caught.
    assert lockout.locked("1001", "10.9.9.9", 29 * 720.0 + 1)


def test_a_slow_sweep_from_one_source_over_many_accounts_is_caught() -> None:
    lockout = RegisterLockout(POLICY)
    begun = []
    # A guess every 33 s (19 per 10 minutes, just under source_failures), each for another
    # account.
    for n in range(100):
        begun += lockout.failed(f"{2000 + n}", "203.0.113.7", n * 33.0)
    assert [(b.scope, b.key, b.failures) for b in begun] == [(Scope.SOURCE, "203.0.113.7", 100)]
    assert begun[0].window_seconds == POLICY.long_window_seconds
    assert lockout.locked("1001", "203.0.113.7", 100 * 33.0)


def test_a_fast_source_is_locked_after_source_failures() -> None:
    lockout = RegisterLockout(POLICY)
    begun = [b for n in range(20) for b in lockout.failed(f"{3000 + n}", "198.51.100.1", n)]
    assert [(b.scope, b.failures) for b in begun] == [(Scope.SOURCE, 20)]
    assert lockout.locked("any", "198.51.100.1", 20.0)


def test_failures_while_locked_do_not_begin_a_second_lockout() -> None:
    lockout = RegisterLockout(POLICY)
    begun = [b for n in range(31) for b in lockout.failed("1001", f"10.1.0.{n}", float(n))]
    assert len(begun) == 1 and lockout.lockouts == 1


def test_memory_is_bounded() -> None:
    lockout = RegisterLockout(LockoutPolicy(max_tracked=100))
    for n in range(10_000):
        lockout.failed(f"u{n}", f"10.{n // 256 % 256}.{n % 256}.1", float(n))
    assert lockout.tracked() <= 200


@pytest.mark.parametrize(
    "changes",
    [
        {"account_failures": -1},
        {"window_seconds": 0},
        {"long_window_seconds": 60.0},
        {"lockout_seconds": -5},
        {"max_tracked": 0},
    ],
)
def test_bad_policies_are_refused(changes: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        LockoutPolicy(**changes)  # type: ignore[arg-type]


def test_config_defaults_are_the_policy_defaults_and_the_demo_keeps_them() -> None:
    config = load_config(DEMO, environ={})
    assert register_lockout(config).policy == POLICY
    assert config.register_lockout == RegisterLockoutConfig()


def test_every_key_can_be_set_from_the_environment() -> None:
    environ = {
        "HOTLINE_REGISTER_LOCKOUT_ACCOUNT_FAILURES": "5",
        "HOTLINE_REGISTER_LOCKOUT_SOURCE_FAILURES": "8",
        "HOTLINE_REGISTER_LOCKOUT_WINDOW_SECONDS": "300",
        "HOTLINE_REGISTER_LOCKOUT_ACCOUNT_LONG_FAILURES": "12",
        "HOTLINE_REGISTER_LOCKOUT_SOURCE_LONG_FAILURES": "40",
        "HOTLINE_REGISTER_LOCKOUT_LONG_WINDOW_SECONDS": "3600",
        "HOTLINE_REGISTER_LOCKOUT_LOCKOUT_SECONDS": "900",
        "HOTLINE_REGISTER_LOCKOUT_MAX_TRACKED": "500",
    }
    policy = register_lockout(load_config(DEMO, environ=environ)).policy
    assert policy == LockoutPolicy(5, 8, 300.0, 12, 40, 3600.0, 900.0, 500)


def test_an_impossible_setting_stops_the_start() -> None:
    config = load_config(None, environ={"HOTLINE_REGISTER_LOCKOUT_LOCKOUT_SECONDS": "0"})
    with pytest.raises(ConfigError, match=r"\[register_lockout\] lockout_seconds"):
        register_lockout(config)
