"""What may be a mistake in rules that are otherwise valid, said before they are saved.

Errors stop a version from being saved (worker/config/versions.py); warnings do not, because
each may be meant: a partnership may want an agency without a line manager to hear nothing at
stage 2.
Each warning starts with its key path, as the errors do, and says what will happen.
"""

from __future__ import annotations

from datetime import time
from typing import get_args

from worker.directory.entries import AgencyRole, Directory
from worker.rules.ladder import Rules
from worker.workdays import WorkingCalendar

AGENCY_ROLES = frozenset(get_args(AgencyRole))
WORKING_HOURS = (time(7, 0), time(18, 0))


def rule_warnings(rules: Rules, directory: Directory) -> list[str]:
    """Every warning about `rules` beside `directory`, in key-path order."""
    return [
        *unreached(rules, directory),
        *roles_nobody_holds(rules, directory),
        *closures_not_working_days(rules),
        *digest_times(rules),
    ]


def tells(rules: Rules) -> list[tuple[str, list[str]]]:
    """Each step of the ladder by key path, with the roles it tells."""
    steps = [("due_soon.tell", list(rules.due_soon.tell))]
    return steps + [(f"stages[{i}].tell", list(s.tell)) for i, s in enumerate(rules.stages)]


def unreached(rules: Rules, directory: Directory) -> list[str]:
    """Steps that tell only agency roles, for agencies that have none of them."""
    found = []
    for path, roles in tells(rules):
        if not set(roles) <= AGENCY_ROLES:
            continue  # it tells the business manager, the chair or LA contacts as well
        for agency in directory.agencies:
            if not {c.role for c in agency.contacts} & set(roles):
                wanted = " or ".join(roles)
                found.append(f"{path}: tells nobody at {agency.name}, which has no {wanted}")
    return found


def roles_nobody_holds(rules: Rules, directory: Directory) -> list[str]:
    held = {c.role for agency in directory.agencies for c in agency.contacts}
    found = []
    for path, roles in tells(rules):
        for role in roles:
            if role in AGENCY_ROLES and role not in held:
                found.append(f"{path}: no agency has a {role}, so that role tells nobody")
    return found


def closures_not_working_days(rules: Rules) -> list[str]:
    calendar = WorkingCalendar()
    return [
        f"closure_days[{i}]: {day.isoformat()} is a weekend day or bank holiday already"
        for i, day in enumerate(rules.closure_days)
        if not calendar.is_working_day(day)
    ]


def digest_times(rules: Rules) -> list[str]:
    found = []
    start, end = WORKING_HOURS
    send_at = rules.digests.send_at
    if not start <= send_at <= end:
        found.append(
            f"digests.send_at: {send_at:%H:%M} is outside working hours "
            f"({start:%H:%M} to {end:%H:%M}); digests will arrive when nobody reads them"
        )
    top = rules.stages[-1].stage
    if rules.digests.daily_from_stage > top:
        found.append(
            f"digests.daily_from_stage: {rules.digests.daily_from_stage} is above the last "
            f"stage ({top}), so that stage is never reached and nobody hears daily"
        )
    return found
