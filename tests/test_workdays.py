"""Working-day arithmetic, checked against a naive day-by-day count."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.workdays import WorkingCalendar, local_date

LONDON = ZoneInfo("Europe/London")
ONE_DAY = timedelta(days=1)
CAL = WorkingCalendar()
BANK = holidays.country_holidays("GB", subdiv="ENG", years=range(2010, 2036))

days = st.dates(min_value=date(2012, 1, 1), max_value=date(2032, 12, 31))
steps = st.integers(min_value=-60, max_value=60)
closures = st.frozensets(st.dates(min_value=date(2016, 1, 1), max_value=date(2018, 12, 31)))


def naive_working(d: date, closed: frozenset[date] = frozenset()) -> bool:
    return d.weekday() < 5 and d not in BANK and d not in closed


def naive_add(d: date, n: int, closed: frozenset[date] = frozenset()) -> date:
    step = ONE_DAY if n > 0 else -ONE_DAY
    left = abs(n)
    while left:
        d += step
        left -= naive_working(d, closed)
    return d


def naive_between(a: date, b: date, closed: frozenset[date] = frozenset()) -> int:
    low, high, sign = (a, b, 1) if a <= b else (b, a, -1)
    count = sum(naive_working(low + ONE_DAY * i, closed) for i in range(1, (high - low).days + 1))
    return sign * count


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2017, 2, 1), True),  # a Wednesday
        (date(2017, 2, 4), False),  # Saturday
        (date(2017, 2, 5), False),  # Sunday
        (date(2017, 4, 14), False),  # Good Friday
        (date(2017, 4, 17), False),  # Easter Monday
        (date(2016, 12, 27), False),  # Christmas Day (observed)
        (date(2017, 1, 2), False),  # New Year's Day (observed)
        (date(2022, 9, 19), False),  # State funeral, a one-off
        (date(2023, 5, 8), False),  # Coronation, a one-off
        (date(2017, 3, 17), True),  # St Patrick's Day: Northern Ireland only
        (date(2017, 8, 7), True),  # Scottish summer holiday, not England's
    ],
)
def test_is_working_day_knows_english_bank_holidays(day: date, working: bool) -> None:
    assert CAL.is_working_day(day) is working


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2017, 2, 1), 1, date(2017, 2, 2)),
        (date(2017, 2, 3), 1, date(2017, 2, 6)),  # Friday -> Monday
        (date(2017, 4, 11), 5, date(2017, 4, 20)),  # over Easter
        (date(2016, 12, 23), 5, date(2017, 1, 4)),  # over Christmas and New Year
        (date(2017, 2, 1), -10, date(2017, 1, 18)),
        (date(2017, 2, 1), -2, date(2017, 1, 30)),
        (date(2017, 2, 4), -1, date(2017, 2, 3)),  # Saturday -> Friday
        (date(2017, 2, 4), 0, date(2017, 2, 4)),
    ],
)
def test_add(start: date, n: int, expected: date) -> None:
    assert CAL.add(start, n) == expected


def test_next_working_day_and_between() -> None:
    assert CAL.next_working_day(date(2017, 4, 13)) == date(2017, 4, 18)
    assert CAL.working_days_between(date(2017, 4, 13), date(2017, 4, 18)) == 1
    assert CAL.working_days_between(date(2017, 4, 18), date(2017, 4, 13)) == -1
    assert CAL.working_days_between(date(2017, 2, 1), date(2017, 2, 1)) == 0


def test_closure_days_are_not_working_days() -> None:
    cal = WorkingCalendar([date(2017, 12, 27), date(2017, 12, 28), date(2017, 12, 30)])
    assert not cal.is_working_day(date(2017, 12, 27))
    assert cal.next_working_day(date(2017, 12, 22)) == date(2017, 12, 29)
    # Christmas and Boxing Day, three closure days (one a Saturday), New Year's Day.
    assert cal.working_days_between(date(2017, 12, 22), date(2018, 1, 2)) == 2
    assert cal.working_days(date(2017, 12, 22), date(2018, 1, 2)) == [
        date(2017, 12, 22),
        date(2017, 12, 29),
        date(2018, 1, 2),
    ]


@given(days)
def test_is_working_day_agrees_with_naive(d: date) -> None:
    assert CAL.is_working_day(d) == naive_working(d)


@given(days, steps)
def test_add_agrees_with_naive_count(d: date, n: int) -> None:
    assert CAL.add(d, n) == naive_add(d, n)


@given(days, days)
def test_between_agrees_with_naive_count(a: date, b: date) -> None:
    if abs((b - a).days) > 400:
        b = a + timedelta(days=(b - a).days % 400)
    assert CAL.working_days_between(a, b) == naive_between(a, b)


@given(days)
def test_next_working_day_agrees_with_naive(d: date) -> None:
    assert CAL.next_working_day(d) == naive_add(d, 1)


@settings(max_examples=50)
@given(closures, st.dates(min_value=date(2016, 1, 1), max_value=date(2018, 12, 31)), steps)
def test_arithmetic_with_closures_agrees_with_naive(
    closed: frozenset[date], d: date, n: int
) -> None:
    cal = WorkingCalendar(closed)
    assert cal.add(d, n) == naive_add(d, n, closed)
    assert cal.working_days_between(d, d + timedelta(days=n)) == naive_between(
        d, d + timedelta(days=n), closed
    )


@given(days, steps)
def test_add_and_between_are_inverse(d: date, n: int) -> None:
    # Going back, (a, b] leaves out the day landed on and counts d only if it is a working day.
    expected = n if n >= 0 or CAL.is_working_day(d) else n + 1
    assert CAL.working_days_between(d, CAL.add(d, n)) == expected


def test_local_date_uses_the_london_calendar() -> None:
    # 23:30 UTC on 30 June is already 1 July in London (BST); in January it is not.
    assert local_date(datetime(2017, 6, 30, 23, 30, tzinfo=UTC), LONDON) == date(2017, 7, 1)
    assert local_date(datetime(2017, 1, 31, 23, 30, tzinfo=UTC), LONDON) == date(2017, 1, 31)


def test_local_date_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2017, 1, 31, 12, 0), LONDON)
