"""Statutory holidays in mainland China (法定节假日), from the maintained `chinesecalendar` data."""

from __future__ import annotations

from datetime import date

import chinese_calendar


def holiday_name(day: date) -> str | None:
    """The holiday's name, "weekend" for an ordinary rest day, None for a working day.

    Years the package has no data for fall back to Saturday and Sunday as rest days.
    """
    try:
        resting, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return "weekend" if day.weekday() >= 5 else None
    if not resting:
        return None  # includes the weekend days swapped into working days (调休)
    return str(name) if name else "weekend"
