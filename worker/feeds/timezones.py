"""The feeds' VTIMEZONE, written as Outlook and Google publish theirs: one STANDARD and one
DAYLIGHT observance, each a yearly `RRULE` ("the last Sunday of October"), whenever the zone
database's changes over the years the events fall in follow such a rule.

icalendar's own `Timezone.from_tzinfo` lists the changes as one comma-separated RDATE, of
which ical.js (Thunderbird's and Nextcloud's parser) reads only the first: a session a year
later was placed an hour out. It also dates the change to summer time at the wall-clock time
after it (02:00) where RFC 5545 takes the time before it (01:00). Here each change is found
from the zone database to the minute, dated in the offset it leaves (RFC 5545 §3.6.5), and
grouped by kind; a group that follows no yearly rule (a zone that changed its rules within
those years) keeps its dates, one RDATE each, its DTSTART among them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Change:
    """One change of a zone's offset: when (local time in the offset it leaves), and to what."""

    local: datetime  # naive, in `before`
    before: timedelta
    after: timedelta
    name: str
    summer: bool


def vtimezone(tz: tzinfo, key: str, first: int, last: int) -> Timezone:
    """VTIMEZONE `key` for events in the years `first` to `last`. Its observances start in
    the year before `first`, so that every moment of `first` falls after one of them."""
    end = datetime(last + 2, 1, 1, tzinfo=UTC)
    found = list(changes(tz, datetime(first - 1, 1, 1, tzinfo=UTC), end))
    zone = Timezone()
    zone.add("tzid", key)
    if not found:  # no change in those years: one observance, from long before
        start = datetime(first - 1, 1, 1, tzinfo=UTC).astimezone(tz)
        zone.add_component(observance(standing(start), [], None))
        return zone
    groups: dict[tuple[timedelta, timedelta, str, bool], list[Change]] = defaultdict(list)
    for change in found:
        groups[(change.before, change.after, change.name, change.summer)].append(change)
    for group in groups.values():
        rule = yearly_rule(group, end.year - 1)
        zone.add_component(observance(group[0], [c.local for c in group], rule))
    return zone


def changes(tz: tzinfo, start: datetime, end: datetime) -> Iterator[Change]:
    """Every change of `tz`'s offset between `start` and `end` (UTC), to the minute."""
    day, offset = start, start.astimezone(tz).utcoffset()
    while day < end:
        following = day + timedelta(days=1)
        if following.astimezone(tz).utcoffset() != offset:
            moment = first_moment_after(tz, day, following, offset)
            after = moment.astimezone(tz)
            assert offset is not None
            local = (moment + offset).replace(tzinfo=None)
            now_in = after.utcoffset() or timedelta()
            yield Change(local, offset, now_in, after.tzname() or "", bool(after.dst()))
            offset = now_in
        day = following


def first_moment_after(
    tz: tzinfo, low: datetime, high: datetime, offset: timedelta | None
) -> datetime:
    """The first minute in (low, high] whose offset is not `offset` (a binary search)."""
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) / 2
        middle = middle.replace(second=0, microsecond=0)
        if middle.astimezone(tz).utcoffset() == offset:
            low = middle
        else:
            high = middle
    return high


def standing(moment: datetime) -> Change:
    """The offset in force at `moment` as an observance that never changes."""
    offset = moment.utcoffset() or timedelta()
    return Change(
        moment.replace(tzinfo=None), offset, offset, moment.tzname() or "", bool(moment.dst())
    )


def yearly_rule(group: list[Change], last_year: int) -> dict[str, object] | None:
    """The RRULE every change of `group` follows: the same month, time and weekday, and the
    same week of the month (the last, or the first to fourth), ending (UNTIL, in UTC) with
    the group's last change if that came before `last_year`; None when there is none."""
    first = group[0].local
    years = [c.local.year for c in group]
    if len(group) < 2 or years != list(range(years[0], years[0] + len(years))):
        return None
    for week in weeks_of(first):
        if all(c.local.month == first.month and c.local.time() == first.time()
               and c.local.weekday() == first.weekday() and week in weeks_of(c.local)
               for c in group):  # fmt: skip
            rule: dict[str, object] = {"FREQ": "YEARLY", "BYMONTH": first.month,
                                       "BYDAY": f"{week}{WEEKDAYS[first.weekday()]}"}  # fmt: skip
            final = group[-1]
            if final.local.year < last_year:  # the zone stopped following it
                rule["UNTIL"] = (final.local - final.before).replace(tzinfo=UTC)
            return rule
    return None


def weeks_of(day: datetime) -> list[int]:
    """The weeks of its month `day` is in, as RRULE counts them: -1 if it is among the
    month's last seven days, then 1 to 4 counted from the start (a fifth is never a rule)."""
    following = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    last = [-1] if (following - day.date()).days <= 7 else []
    start = (day.day - 1) // 7 + 1
    return last + ([start] if start <= 4 else [])


def observance(change: Change, onsets: list[datetime], rule: dict[str, object] | None
               ) -> TimezoneStandard | TimezoneDaylight:  # fmt: skip
    part = TimezoneDaylight() if change.summer else TimezoneStandard()
    part.add("dtstart", change.local)
    if rule is not None:
        part.add("rrule", rule)
    elif len(onsets) > 1:
        # One value a line, as every parser reads them all; the first is DTSTART again,
        # which ical.js otherwise leaves out of an observance that has RDATEs.
        for moment in onsets:
            part.add("rdate", moment)
    part.add("tzname", change.name)
    part.add("tzoffsetfrom", change.before)
    part.add("tzoffsetto", change.after)
    return part
