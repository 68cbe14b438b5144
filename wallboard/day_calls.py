"""Today's calls as the wallboard keeps them between reads of the call log (pure, takes `now`).

The board's figures for today cover every call since midnight; those for the last hour, and
the abandon-spike alert, need the calls themselves. A large centre takes tens of thousands of
calls a day, so reading and tallying the whole day on every update would grow with the day.
Instead a call is kept as a row while it can still change or counts for a window (open, or
arrived within `window`), and is then added to its queue's tally for today, once; the next read
asks the call log only for calls that can differ from what is kept (`since`/`watermark`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from reports.calls import CallOptions, CallRow, CallTally, tally_call


@dataclass(frozen=True)
class CallLogQuery:
    """Which calls the next read must return. The day's first read (`ended_since` None):
    every call arrived at or after `arrived_since`. Later reads: the open calls, those ended
    at or after `ended_since` and those arrived at or after `recent_since` (each an index
    range of the call log; the others are tallied already)."""

    arrived_since: datetime
    ended_since: datetime | None
    recent_since: datetime


class DayCalls:
    """Rows of the calls that can still change or count in a window, and per queue a tally
    of today's calls no longer kept as rows."""

    def __init__(self, window: timedelta, options: CallOptions) -> None:
        self.window = window
        self._options = options
        self._rows: dict[str, CallRow] = {}
        self._earlier: dict[str, CallTally] = {}
        self._day: datetime | None = None
        self._read_at: datetime | None = None

    @property
    def rows(self) -> list[CallRow]:
        return list(self._rows.values())

    @property
    def earlier(self) -> Mapping[str, CallTally]:
        """Per queue, today's calls that are no longer rows (ended, out of the window)."""
        return self._earlier

    def query(self, now: datetime, day_start: datetime) -> CallLogQuery:
        """What to read from the call log at `now` (after the log has caught up with it)."""
        recent = now - self.window
        ended = self._read_at if self._day == day_start else None
        return CallLogQuery(min(day_start, recent), ended, recent)

    def merge(self, read: Iterable[CallRow], now: datetime, day_start: datetime) -> None:
        """Take what the query of `now` returned; tally the rows that are done with."""
        if self._day != day_start:  # a new day (or the first read): today starts afresh
            self._day, self._earlier, self._rows = day_start, {}, {}
        for row in read:
            self._rows[row.call_id] = row
        recent = now - self.window
        for call_id, row in list(self._rows.items()):
            # Strictly before `now`: a call ending at `now` itself is read again next time.
            if row.ended_at is None or row.ended_at >= now or row.arrived_at >= recent:
                continue
            del self._rows[call_id]
            if row.arrived_at >= day_start:
                before = self._earlier.get(row.queue, CallTally())
                self._earlier[row.queue] = before + tally_call(row, self._options)
        self._read_at = now
