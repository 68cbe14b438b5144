"""Who called recently: a caller back within N days is served one level higher (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta


class RecentCallers:
    """The last arrival of each number, filled from the call log at start and kept current."""

    def __init__(self, days: float, calls: Iterable[tuple[str, datetime]] = ()) -> None:
        self._window = timedelta(days=days)
        self._last: dict[str, datetime] = {}
        for number, at in calls:
            self.seen(number, at)

    @property
    def window(self) -> timedelta:
        return self._window

    def is_repeat(self, number: str, now: datetime) -> bool:
        if self._window <= timedelta(0) or not number:
            return False
        last = self._last.get(number)
        return last is not None and now - last <= self._window

    def seen(self, number: str, at: datetime) -> None:
        if number and (number not in self._last or self._last[number] < at):
            self._last[number] = at

    def forget_before(self, now: datetime) -> None:
        """Drop numbers outside the window, so the map stays the size of the window."""
        self._last = {n: t for n, t in self._last.items() if now - t <= self._window}
