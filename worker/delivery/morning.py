"""The morning after an import: who would hear what on the next working morning, and what
to put right before anyone does.

Worked out in the preview's own transaction, after the documents are written and before it
is rolled back: the items brought up to date as the next morning's daily run would, the
digests planning would write for it (as `reminders preview` writes them), and every warning
in one place, each saying what to do and where. Nothing of it is kept.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from worker.app import App
from worker.delivery.planning import deliveries_due
from worker.delivery.tick import cover_on
from worker.directory.names import fold
from worker.directory.recipients import Partnership, unknown_la_contacts
from worker.mail.digest import Digest
from worker.mail.links import digest_links
from worker.models import Agency, AgencyAlias, MISheet, Obligation
from worker.obligations import bring_up_to_date
from worker.workdays import local_date

DIRECTORY, RULES = "/console/directory", "/console/rules"
FORMS = f"{DIRECTORY}/forms"  # a warning's fix: its form filled in (worker/web/directory_forms)
SHOWN = 8  # names listed in one warning, at most


@dataclass(frozen=True)
class Warning:
    """Something the import leaves that the business manager should put right."""

    what: str  # "“KA” matches no agency in the directory (3 items)"
    fix: str  # what to do about it
    href: str = ""  # the page that does it


@dataclass(frozen=True)
class Told:
    """One person's digest that morning."""

    name: str
    email: str
    items: int
    top_stage: int


@dataclass(frozen=True)
class Morning:
    day: date
    stages: tuple[tuple[str, int], ...]  # "stage 1 Practitioner", open items at it, lowest first
    told: tuple[Told, ...]
    warnings: tuple[Warning, ...]
    ladder: tuple[tuple[int, str], ...] = ()  # its stages from 1, and their names


def previewed_digests(session: Session, app: App, period: date) -> list[Digest]:
    """The digests planning would write for `period`, in `session` (which the caller rolls
    back), with preview links that show the page but never act."""
    links = digest_links(app.settings, app.now(), preview=True)
    rows = deliveries_due(session, app.rules(), app.timezone, period, app.partnership_label(),
                          links, cover=cover_on(app, period))  # fmt: skip
    return [Digest.from_json(r.payload) for r in rows]


def morning_after(session: Session, app: App, today: date) -> Morning:
    """The next working morning after `today`, as the documents in `session` would make it."""
    rules = app.rules()
    bring_up_to_date(session, rules, app.timezone, today)  # as the import itself would
    day = rules.calendar().next_working_day(today)
    digests = previewed_digests(session, app, day)
    told = tuple(Told(d.name, d.email, len(d.items), max((i.stage for i in d.items), default=-1))
                 for d in digests if d.items)  # fmt: skip
    ladder = tuple((s, n) for s, n in rules.ladder().stage_names().items() if s >= 1)
    return Morning(day, stage_counts(session, app), told, tuple(warnings(session, app)), ladder)


def stage_counts(session: Session, app: App) -> tuple[tuple[str, int], ...]:
    names = app.rules().ladder().stage_names()
    query = select(Obligation.stage, func.count()).where(Obligation.resolved_on.is_(None))
    found = {stage: n for stage, n in session.execute(query.group_by(Obligation.stage))}
    named = {s: name if s == 0 else f"stage {s} {name}" for s, name in names.items()}
    return tuple((named.get(s, f"stage {s}"), found[s]) for s in sorted(found) if s >= 0)


def warnings(session: Session, app: App) -> Iterable[Warning]:
    yield from unmatched_leads(session)
    partnership = Partnership.load(session)
    for unknown in unknown_la_contacts(session, partnership, app.timezone):
        yield Warning(f"{unknown.sheet}: its LA contact {unknown.name} is in no directory entry.",
                      "Add them to the directory, or their sheet's reminders reach nobody.",
                      la_contact_form(unknown.name))  # fmt: skip
    yield from unmapped_audiences(session, app)
    yield from dated_before_publication(session, app)


def unmatched_leads(session: Session) -> Iterable[Warning]:
    """Lead names no agency answers to, with the directory's names they might be."""
    query = select(Obligation.lead_name, func.count()).where(
        Obligation.kind == "unassigned", Obligation.resolved_on.is_(None))  # fmt: skip
    found = session.execute(query.group_by(Obligation.lead_name).order_by(Obligation.lead_name))
    known = directory_names(session)
    for name, count in found:
        close = difflib.get_close_matches(fold(name or ""), list(known), n=3, cutoff=0.6)
        might = f" It might be {' or '.join(sorted({known[c] for c in close}))}." if close else ""
        items = "item" if count == 1 else "items"
        chosen = known[close[0]] if close else ""
        yield Warning(f"“{name}” matches no agency in the directory ({count} {items}).{might}",
                      "Add it as a name of its agency; until then the business manager is "
                      "told of it.", alias_form(name or "", chosen))  # fmt: skip


def alias_form(lead: str, agency: str) -> str:
    """The form that adds `lead` as a name of `agency` (the closest, chosen for them)."""
    return f"{FORMS}/alias?" + urlencode({"alias": lead, **({"agency": agency} if agency else {})})


def la_contact_form(name: str) -> str:
    """The form that adds an LA contact called `name` (their address is typed, never taken
    from the sheet)."""
    return f"{FORMS}/la-contact?" + urlencode({"name": name})


def audience_form(audience: str) -> str:
    """The rules page with an audience row filled in, its group to choose."""
    return f"{RULES}?" + urlencode({"audience": audience}) + "#audiences"


def directory_names(session: Session) -> dict[str, str]:
    """Every agency's name and alias, folded, to the agency's name."""
    names = {fold(a.name): a.name for a in session.scalars(select(Agency))}
    aliases = select(AgencyAlias.alias, Agency.name).join(Agency)
    names.update({fold(alias): name for alias, name in session.execute(aliases)})
    return names


def unmapped_audiences(session: Session, app: App) -> Iterable[Warning]:
    mapped = app.rules().audiences
    query = select(MISheet.number, MISheet.audience).where(MISheet.due_date.is_not(None))
    for number, audience in session.execute(query.order_by(MISheet.number)):
        if audience and audience not in mapped:
            yield Warning(f"MI {number}: its audience “{audience}” is in no audience map, so no "
                          "school is told; its LA contact is.",
                          "Map the audience to a group of schools on the rules page.",
                          audience_form(audience))  # fmt: skip


def dated_before_publication(session: Session, app: App) -> Iterable[Warning]:
    query = select(MISheet).where(MISheet.due_date.is_not(None), MISheet.published_at.is_not(None))
    for sheet in session.scalars(query.order_by(MISheet.number)):
        published = local_date(sheet.published_at, app.timezone) if sheet.published_at else None
        if published and sheet.due_date and sheet.due_date < published:
            yield Warning(f"MI {sheet.number}: to be completed by {sheet.due_date.isoformat()}, "
                          f"before it was published ({published.isoformat()}).",
                          "Correct the date on the sheet and import it again.")  # fmt: skip
