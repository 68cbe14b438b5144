"""Login throttling: too many wrong passwords for an agent id or from an address locks it out
for a while (pure; takes `now`)."""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass
class LoginThrottle:
    """At most `limit` failures per key within `window`; then refused until the window passes."""

    limit: int = 5
    window: timedelta = timedelta(minutes=5)
    _failures: dict[str, deque[datetime]] = field(default_factory=lambda: defaultdict(deque))

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        failures = self._failures[key]
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return deque()
        return failures

    def retry_after(self, keys: list[str], now: datetime) -> float | None:
        """Seconds until a login for these keys may be tried again, or None if it may now."""
        waits = []
        for key in keys:
            failures = self._recent(key, now)
            if len(failures) >= self.limit:
                waits.append((failures[0] + self.window - now).total_seconds())
        return max(waits) if waits else None

    def failed(self, keys: list[str], now: datetime) -> None:
        for key in keys:
            self._failures[key].append(now)

    def succeeded(self, keys: list[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)


@dataclass
class LoginThrottles:
    """Per agent id: few tries, against guessing one password. Per address: many more, since a
    whole centre's consoles may reach the server from one office address."""

    agent: LoginThrottle = field(default_factory=lambda: LoginThrottle(limit=5))
    address: LoginThrottle = field(default_factory=lambda: LoginThrottle(limit=50))


@dataclass
class MessageRate:
    """A token bucket: `rate` messages a second on average, bursts of up to `burst` (pure;
    `now` is any monotonic time in seconds). A rate of 0 allows everything."""

    rate: float
    burst: int
    _tokens: float = field(init=False)
    _at: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._tokens = float(self.burst)

    def allow(self, now: float) -> bool:
        if self.rate <= 0:
            return True
        if self._at is not None:
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
