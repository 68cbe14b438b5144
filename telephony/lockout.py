"""REGISTER brute-force defence: failed digest answers counted per account and per source
address, lockout past a limit (pure; takes `now`).

As fail2ban's asterisk jail does (`maxretry` failures within `findtime` ban for `bantime`),
with two windows: a short one that stops a fast guesser, and a long one that stops a slow
sweep kept just under the short limit and under the SIP guard's flood limit. Unknown accounts
are counted and locked exactly like real ones, so a lockout tells a guesser nothing about
which accounts exist. Memory is bounded: at most `max_tracked` keys are remembered, the least
recently failed forgotten first.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    ACCOUNT = "account"
    SOURCE = "source"


@dataclass(frozen=True)
class LockoutPolicy:
    """Limits; a zero count turns that check off."""

    account_failures: int = 10  # per account, within window_seconds
    source_failures: int = 20  # per source address (any accounts), within window_seconds
    window_seconds: float = 600.0
    # The slow sweep: per account and per source address, within long_window_seconds.
    account_long_failures: int = 30
    source_long_failures: int = 100
    long_window_seconds: float = 86400.0
    lockout_seconds: float = 1800.0
    max_tracked: int = 10_000

    def __post_init__(self) -> None:
        counts = (
            "account_failures", "source_failures", "account_long_failures", "source_long_failures"
        )  # fmt: skip
        for name in counts:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        for name in ("window_seconds", "long_window_seconds", "lockout_seconds"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.long_window_seconds < self.window_seconds:
            raise ValueError("long_window_seconds must not be shorter than window_seconds")
        if self.max_tracked < 1:
            raise ValueError("max_tracked must be at least 1")


@dataclass(frozen=True)
class Lockout:
    """A lockout that has just begun: the one moment worth a log line."""

    scope: Scope
    key: str  # the account name or the source address
    failures: int  # failures counted in the window that tripped
    window_seconds: float
    until: float


class RegisterLockout:
    """Failure history and current lockouts of accounts and source addresses."""

    def __init__(self, policy: LockoutPolicy) -> None:
        self.policy = policy
        self._failures: OrderedDict[tuple[Scope, str], deque[float]] = OrderedDict()
        self._locked: dict[tuple[Scope, str], float] = {}
        self.lockouts = 0  # lockouts begun since start

    def locked(self, account: str, source: str, now: float) -> bool:
        """Whether a REGISTER for `account` from `source` is refused without a look at its
        credentials."""
        return any(self._is_locked(key, now) for key in self._keys(account, source))

    def failed(self, account: str, source: str, now: float) -> list[Lockout]:
        """Count one failed digest answer; the lockouts it begins (logged by the caller)."""
        begun: list[Lockout] = []
        policy = self.policy
        limits = {
            Scope.ACCOUNT: (policy.account_failures, policy.account_long_failures),
            Scope.SOURCE: (policy.source_failures, policy.source_long_failures),
        }
        for key in self._keys(account, source):
            times = self._record(key, now)
            if self._is_locked(key, now):
                continue
            limit, long_limit = limits[key[0]]
            short = sum(1 for t in times if t > now - policy.window_seconds)
            if limit and short >= limit:
                begun.append(self._lock(key, short, policy.window_seconds, now))
            elif long_limit and len(times) >= long_limit:
                begun.append(self._lock(key, len(times), policy.long_window_seconds, now))
        return begun

    def tracked(self) -> int:
        return len(self._failures) + len(self._locked)

    @staticmethod
    def _keys(account: str, source: str) -> tuple[tuple[Scope, str], tuple[Scope, str]]:
        return ((Scope.ACCOUNT, account), (Scope.SOURCE, source))

    def _is_locked(self, key: tuple[Scope, str], now: float) -> bool:
        until = self._locked.get(key)
        if until is None:
            return False
        if until <= now:
            del self._locked[key]
            return False
        return True

    def _record(self, key: tuple[Scope, str], now: float) -> deque[float]:
        policy = self.policy
        times = self._failures.get(key)
        if times is None:
            # Enough history for either limit; older failures fall off the left.
            keep = max(
                policy.account_failures if key[0] is Scope.ACCOUNT else policy.source_failures,
                policy.account_long_failures
                if key[0] is Scope.ACCOUNT
                else policy.source_long_failures,
                1,
            )
            times = self._failures[key] = deque(maxlen=keep)
            while len(self._failures) > policy.max_tracked:
                self._failures.popitem(last=False)
        else:
            self._failures.move_to_end(key)
        times.append(now)
        while times and times[0] <= now - policy.long_window_seconds:
            times.popleft()
        return times

    def _lock(self, key: tuple[Scope, str], failures: int, window: float, now: float) -> Lockout:
        until = now + self.policy.lockout_seconds
        self._locked[key] = until
        if len(self._locked) > self.policy.max_tracked:
            # Forget ended lockouts, or else the oldest one (all last lockout_seconds).
            ended = [k for k, u in self._locked.items() if u <= now]
            for stale in ended or [next(iter(self._locked))]:
                del self._locked[stale]
        self._failures.pop(key, None)  # a fresh count after the lockout ends
        self.lockouts += 1
        return Lockout(key[0], key[1], failures, window, until)
