"""Working-day arithmetic for England: weekends, bank holidays and partnership closures.

Everything here is pure: it takes dates and returns dates. The only state is a cache of the
non-working weekdays of each year, filled the first time a year is needed.

The arithmetic counts weekdays with a closed formula and then corrects for the (few) bank
holidays and closure days in the range, so `add` and `working_days_between` cost a handful of
bisections rather than a walk day by day.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

__all__ = ["WorkingCalendar", "local_date"]

MEMO = 1 << 16  # `add` results kept per calendar: items share a few thousand target dates


BEYOND_CALENDAR = "a date past the calendar's end (9999-12-31)"


def _day(ordinal: int) -> date:
    """The day of `ordinal`; OverflowError, in our words, past either end of the calendar."""
    if not 1 <= ordinal <= date.max.toordinal():
        raise OverflowError(BEYOND_CALENDAR)
    return date.fromordinal(ordinal)


def local_date(now: datetime, tz: ZoneInfo) -> date:
    """The calendar date of the aware datetime `now` in the time zone `tz`."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"local_date needs an aware datetime, got naive {now.isoformat()}")
    return now.astimezone(tz).date()


def _weekdays_upto(ordinal: int) -> int:
    """Number of weekdays with ordinals 1..ordinal (ordinal 1, 0001-01-01, is a Monday)."""
    weeks, rest = divmod(ordinal, 7)
    return 5 * weeks + min(rest, 5)


def _weekday_numbered(count: int) -> int:
    """The ordinal of the `count`-th weekday (the inverse of `_weekdays_upto` on weekdays)."""
    weeks, rest = divmod(count - 1, 5)
    return 7 * weeks + rest + 1


class WorkingCalendar:
    """Working days: Monday to Friday, minus England & Wales bank holidays and closure days."""

    def __init__(self, closures: Iterable[date] = ()) -> None:
        self._closures = frozenset(closures)
        self._sorted: dict[int, list[int]] = {}
        self._sets: dict[int, frozenset[int]] = {}
        self._added: dict[tuple[date, int], date] = {}  # `add`, remembered: few distinct calls

    def _excluded(self, year: int) -> list[int]:
        """Sorted ordinals of the weekdays of `year` that are not working days."""
        found = self._sorted.get(year)
        if found is None:
            bank = holidays.country_holidays("GB", subdiv="ENG", years=year)
            days = {d for d in bank if d.year == year}
            days |= {d for d in self._closures if d.year == year}
            found = sorted(d.toordinal() for d in days if d.weekday() < 5)
            self._sorted[year] = found
            self._sets[year] = frozenset(found)
        return found

    def _excluded_between(self, low: int, high: int) -> int:
        """Non-working weekdays with ordinals in (low, high]; 0 when high <= low."""
        if high <= low:
            return 0
        first, last = _day(low + 1).year, _day(high).year
        total = 0
        for year in range(first, last + 1):
            days = self._excluded(year)
            total += bisect_right(days, high) - bisect_right(days, low)
        return total

    def is_working_day(self, d: date) -> bool:
        """True on a weekday that is neither a bank holiday nor a closure day."""
        if d.weekday() >= 5:
            return False
        self._excluded(d.year)
        return d.toordinal() not in self._sets[d.year]

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; negative (minus those in (b, a]) when b is before a."""
        if b < a:
            return -self.working_days_between(b, a)
        low, high = a.toordinal(), b.toordinal()
        weekdays = _weekdays_upto(high) - _weekdays_upto(low)
        return weekdays - self._excluded_between(low, high)

    def add(self, d: date, n: int) -> date:
        """The n-th working day after `d` (n > 0) or before it (n < 0); `d` itself when n == 0."""
        found = self._added.get((d, n))
        if found is None:
            if len(self._added) >= MEMO:
                self._added.clear()
            found = self._added[d, n] = self._add(d, n)
        return found

    def _add(self, d: date, n: int) -> date:
        if n > 0:
            return _day(self._forward(d.toordinal(), n))
        if n < 0:
            return _day(self._backward(d.toordinal(), -n))
        return d

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after `d`."""
        return self.add(d, 1)

    def _forward(self, ordinal: int, n: int) -> int:
        # Step n weekdays; each skipped holiday in that stretch needs one more weekday, and so on.
        while n > 0:
            landed = _weekday_numbered(_weekdays_upto(ordinal) + n)
            n = self._excluded_between(ordinal, landed)
            ordinal = landed
        return ordinal

    def _backward(self, ordinal: int, n: int) -> int:
        while n > 0:
            landed = _weekday_numbered(_weekdays_upto(ordinal - 1) - n + 1)
            n = self._excluded_between(landed - 1, ordinal - 1)
            ordinal = landed
        return ordinal

    def working_days(self, start: date, end: date) -> list[date]:
        """The working days from `start` to `end`, both included, in order."""
        days = (start + timedelta(days=i) for i in range((end - start).days + 1))
        return [d for d in days if self.is_working_day(d)]
