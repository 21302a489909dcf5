"""Synthetic partnerships in the shape of the seeds, written with bulk inserts.

Agencies with their three contacts, establishments in the `schools` group, CAP actions across
plans (one lead agency each), MI sheets sent to every establishment, briefing sessions, and
the obligations the importers would derive from them, with a few acknowledgements. Dates are
spread around TODAY so that every stage of the ladder is represented.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Table, func, select

from benchmarks.scales import TODAY
from worker.app import App
from worker.db import transaction
from worker.models import (
    Action,
    ActionLead,
    Agency,
    Base,
    BriefingSession,
    Contact,
    DailyRun,
    DocumentSync,
    Establishment,
    EstablishmentGroup,
    MISheet,
    Obligation,
    ObligationEvent,
    Plan,
    group_members,
)
from worker.obligations.documents import signature
from worker.obligations.stages import fingerprint
from worker.rules import engine
from worker.rules.ladder import Rules

CHUNK = 5_000
STAMP = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
Row = dict[str, Any]


def table(model: type[Base]) -> Table:
    found = model.__table__
    assert isinstance(found, Table)
    return found


def insert(connection: Connection, table: Table, rows: Iterable[Row]) -> int:
    """Insert in chunks of CHUNK rows (one executemany each); returns how many."""
    count, source = 0, iter(rows)
    while chunk := list(islice(source, CHUNK)):
        connection.execute(table.insert(), chunk)
        count += len(chunk)
    return count


def next_id(connection: Connection, table: Table) -> int:
    return int(connection.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1


def target(i: int) -> date:
    """From 30 days ahead to 59 days late: due soon, every stage, and not yet due."""
    return TODAY + timedelta(days=30 - i % 90)


def agencies(connection: Connection, count: int) -> list[int]:
    first, contact = next_id(connection, table(Agency)), next_id(connection, table(Contact))
    ids = list(range(first, first + count))
    insert(connection, table(Agency), ({"id": a, "name": f"Agency {a}"} for a in ids))
    insert(connection, table(Contact), contacts(ids, contact))
    return ids


def contacts(agency_ids: list[int], first: int) -> Iterator[Row]:
    for n, agency in enumerate(agency_ids):
        manager, named, lead = first + 3 * n, first + 3 * n + 1, first + 3 * n + 2
        for cid, role, boss in (
            (manager, "line_manager", None),
            (named, "named_contact", manager),
            (lead, "senior_safeguarding_lead", None),
        ):
            yield {
                "id": cid,
                "name": f"{role} {agency}",
                "email": f"{role}.{agency}@bench.test",
                "phone": None,
                "role": role,
                "agency_id": agency,
                "line_manager_id": boss,
            }


def establishments(connection: Connection, count: int) -> list[int]:
    first = next_id(connection, table(Establishment))
    ids = list(range(first, first + count))
    rows = (
        {
            "id": e,
            "name": f"School {e}",
            "email": f"head.{e}@school.test",
            "contact_name": f"Head {e}",
        }
        for e in ids
    )
    insert(connection, table(Establishment), rows)
    group = connection.scalar(
        select(EstablishmentGroup.id).where(EstablishmentGroup.name == "schools")
    )
    insert(connection, group_members, ({"group_id": group, "establishment_id": e} for e in ids))
    return ids


def plans(connection: Connection, count: int) -> list[int]:
    first = next_id(connection, table(Plan))
    ids = list(range(first, first + count))
    rows = (
        {
            "id": p,
            "title": f"Composite Action Plan {p}",
            "source_file": "generated",
            "imported_at": STAMP,
        }
        for p in ids
    )
    insert(connection, table(Plan), rows)
    return ids


def actions(
    connection: Connection, plan_ids: list[int], agency_ids: list[int], count: int
) -> list[tuple[int, int]]:
    """`count` actions spread over the plans, each led by one agency: (action, agency)."""
    first = next_id(connection, table(Action))
    pairs = [(first + i, agency_ids[i % len(agency_ids)]) for i in range(count)]
    rows = (
        {
            "id": a,
            "plan_id": plan_ids[i % len(plan_ids)],
            "ref": f"{i // len(plan_ids)}.1",
            "theme": "Professional curiosity",
            "scr_refs": ["A"],
            "text": f"Action {a}",
            "lead_agency_text": f"Agency {agency}",
            "target_date": target(i),
            "progress": "",
            "status": "open",
            "updated_at": STAMP,
        }
        for i, (a, agency) in enumerate(pairs)
    )
    insert(connection, table(Action), rows)
    leads = (
        {"action_id": a, "position": 0, "name": f"Agency {agency}", "agency_id": agency}
        for a, agency in pairs
    )
    insert(connection, table(ActionLead), leads)
    return pairs


LA_CONTACT = {"name": "LA Contact", "email": "la.contact@example.org"}


def la_contact(connection: Connection) -> None:
    """The sheets' LA contact, in the directory as a partnership would list them."""
    contacts = table(Contact)
    if connection.scalar(select(contacts.c.id).where(contacts.c.email == LA_CONTACT["email"])):
        return
    row = {**LA_CONTACT, "id": next_id(connection, contacts), "phone": None,
           "role": "la_contact", "agency_id": None, "line_manager_id": None}  # fmt: skip
    insert(connection, contacts, [row])


def sheets(connection: Connection, count: int, due: Callable[[int], date] = target
           ) -> list[int]:  # fmt: skip
    la_contact(connection)
    first = next_id(connection, table(MISheet))
    ids = list(range(first, first + count))
    rows: Iterator[Row] = (
        {
            "id": s,
            "number": f"{s}/26",
            "title": f"Briefing {s}",
            "sheet_type": "Action",
            "due_date": due(s),
            "published_at": STAMP,
            "contact_name": LA_CONTACT["name"],
            "contact_phone": None,
            "contact_email": LA_CONTACT["email"],
            "audience": "All Staff",
            "links": [],
            "delegate_limit": 40,
            "booking_url": None,
            "source_file": "generated",
            "updated_at": STAMP,
        }
        for s in ids
    )
    insert(connection, table(MISheet), rows)
    return ids


def sessions(connection: Connection, sheet_ids: list[int], count: int) -> int:
    rows = (
        {
            "reference": f"BEN-{i:06d}",
            "mi_sheet_id": sheet_ids[i % len(sheet_ids)],
            "date": TODAY + timedelta(days=i % 200),
            "start_time": time(9, 30),
            "end_time": time(12, 0),
            "venue": f"Venue {i % 50}",
            "delegate_limit": 40,
            "booking_url": f"https://example.org/book/{i}",
            "status": "scheduled",
            "origin": "sheet",
            "sequence": 0,
            "created_at": STAMP,
            "updated_at": STAMP,
        }
        for i in range(count)
    )
    return insert(connection, table(BriefingSession), rows)


class Yesterday:
    """Where each obligation stood after yesterday's sweep, as if it had been recorded.

    Obligations differ only by target date and acknowledgement, so the engine is asked once
    per pair; the measured sweep is then a steady-state working day, not a first import.
    """

    def __init__(self, rules: Rules) -> None:
        self.rules, self.cal = rules, rules.calendar()
        self.day = self.cal.add(TODAY, -1)
        self.known: dict[tuple[date, bool], Row] = {}

    def state(self, target: date, acknowledged: bool) -> Row:
        if (target, acknowledged) not in self.known:
            self.known[target, acknowledged] = self.decide(target, acknowledged)
        return self.known[target, acknowledged]

    def decide(self, target: date, acknowledged: bool) -> Row:
        ack = engine.Event(ACKNOWLEDGED, "acknowledged", None, "on it")
        ob = engine.Obligation("x", target, False, (ack,) if acknowledged else (), None)
        found = engine.decide(ob, self.rules.ladder(), self.cal, self.day)
        ladder = found.ladder_to_copy.to_json() if found.ladder_to_copy else None
        return {"stage": found.stage, "ladder": ladder, "assessed_on": self.day,
                "next_change": found.next_look, "pending": False}  # fmt: skip

    def run(self) -> Row:
        """Yesterday's daily run, as `daily_runs` records it."""
        return {"day": self.day, "rules": fingerprint(self.rules), "full": False,
                "assessed": 0, "changed": 0, "ran_at": STAMP}  # fmt: skip


ACKNOWLEDGED = TODAY - timedelta(days=3)


def acknowledged(n: int) -> bool:
    """One obligation in fifty has been acknowledged a few days ago."""
    return n % 50 == 0


def action_obligations(pairs: list[tuple[int, int]], first: int, then: Yesterday
                       ) -> Iterator[Row]:  # fmt: skip
    for i, (action, agency) in enumerate(pairs):
        n = first + i
        yield {"id": n, "key": f"action:{action}:agency:{agency}", "kind": "action",
               "action_id": action, "agency_id": agency, "target_date": target(i),
               "created_at": STAMP, **then.state(target(i), acknowledged(n))}  # fmt: skip


def sheet_obligations(sheet_ids: list[int], places: list[int], first: int, then: Yesterday,
                      due: Callable[[int], date] = target) -> Iterator[Row]:  # fmt: skip
    n = first
    for sheet in sheet_ids:
        for place in places:
            yield {"id": n, "key": f"mi:{sheet}:establishment:{place}", "kind": "mi_sheet",
                   "mi_sheet_id": sheet, "establishment_id": place, "target_date": due(sheet),
                   "created_at": STAMP, **then.state(due(sheet), acknowledged(n))}  # fmt: skip
            n += 1


def acknowledgements(first: int, count: int) -> Iterator[Row]:
    for n in (n for n in range(first, first + count) if acknowledged(n)):
        yield {
            "obligation_id": n,
            "on": ACKNOWLEDGED,
            "kind": "acknowledged",
            "note": "on it",
            "by": "someone@bench.test",
            "recorded_at": STAMP,
        }


def synced(app: App, then: Yesterday) -> None:
    """Yesterday's sync of the obligations with the documents, as `document_syncs` records it:
    today's plan finds nothing moved since."""
    with transaction(app.sessions) as session:
        session.add(DocumentSync(day=then.day, signature=signature(session, app.rules())))


def partnership(app: App, obligations: int, sheet_count: int = 0, session_count: int = 0) -> int:
    """Write a partnership with about `obligations` open obligations; returns the count.

    Three in ten are CAP actions (200 per plan, one agency per 2,500 obligations), the rest
    MI sheets x establishments (one establishment per 50 obligations, at most 20,000).
    """
    then = Yesterday(app.rules())
    with app.engine.begin() as connection:
        agency_ids = agencies(connection, max(4, obligations // 2_500))
        places = establishments(connection, min(20_000, max(10, obligations // 50)))
        action_count = obligations * 3 // 10
        pairs = actions(
            connection, plans(connection, max(1, action_count // 200)), agency_ids, action_count
        )
        per_place = (obligations - action_count) // len(places)
        sheet_ids = sheets(connection, max(sheet_count, per_place))
        first = next_id(connection, table(Obligation))
        written = insert(connection, table(Obligation), action_obligations(pairs, first, then))
        mi = sheet_obligations(sheet_ids, places, first + written, then)
        written += insert(connection, table(Obligation), mi)
        insert(connection, table(ObligationEvent), acknowledgements(first, written))
        insert(connection, table(DailyRun), [then.run()])
        if session_count:
            sessions(connection, sheet_ids, session_count)
    synced(app, then)
    return written
