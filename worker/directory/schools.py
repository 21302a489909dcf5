"""The schools in bulk: the local authority's list, or the DfE's "Get Information about
Schools" (GIAS) extract filtered to the authority, read into the directory's establishments.

Schools are matched by URN (by name for an entry that has none yet), so a renamed school stays
the same establishment with the same items. A school whose GIAS status is Closed, or that is
missing from the list, is marked closed, never deleted: it leaves its groups, and its open
MI obligations end saying so. The DSL's name and e-mail come from columns of the same file or
from a second file keyed by URN. `compare` is the preview; `apply` writes exactly that into
the directory's text, which is then saved as a version like any other.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from worker.directory.entries import Directory, EstablishmentEntry
from worker.directory.names import fold
from worker.yaml_files import round_trip

# Column names as written (case, spaces and punctuation ignored) -> what they hold.
COLUMNS = {
    "urn": "urn",
    "establishmentname": "name", "schoolname": "name", "name": "name",
    "establishmentstatusname": "status", "establishmentstatus": "status", "status": "status",
    "closedate": "closed",
    "dslname": "contact", "designatedsafeguardinglead": "contact", "contact": "contact",
    "dslemail": "email", "dslemailaddress": "email", "email": "email",
    "groups": "groups", "group": "groups",
}  # fmt: skip
NEEDED = {"urn": "URN", "name": "EstablishmentName (or School name)", "email": "DSL email"}
DATE_FORMATS = ("%d-%m-%Y", "%d/%m/%Y", "%Y-%m-%d")


class SchoolsError(Exception):
    """A schools list that cannot be used: every problem, each with its file, line, column
    and value. Nothing is changed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class School:
    """One row of the list, as the directory will hold it."""

    urn: str
    name: str
    closed: date | None  # closed on (GIAS status Closed); None while open
    email: str | None
    contact: str | None
    groups: tuple[str, ...] | None  # None: not given, so kept as they are


@dataclass
class SchoolChanges:
    """The preview: what applying the list would change in the directory."""

    added: list[School] = field(default_factory=list)
    renamed: list[tuple[str, str, str]] = field(default_factory=list)  # urn, old, new
    changed: list[tuple[str, str, str, str]] = field(default_factory=list)  # name, field, old, new
    closed: list[tuple[str, date, str]] = field(default_factory=list)  # name, on, why
    reopened: list[str] = field(default_factory=list)  # closed, and open in the list again
    unchanged: int = 0

    @property
    def nothing(self) -> bool:
        return not (self.added or self.renamed or self.changed or self.closed or self.reopened)


def read_schools(path: Path, dsl: Path | None, today: date) -> list[School]:
    """The schools in `path`, with their DSLs from `dsl` when given; SchoolsError listing
    every problem (a school with no DSL e-mail anywhere is one)."""
    problems: list[str] = []
    rows = rows_of(path, problems)
    contacts = {row.get("urn", ""): row for _, row in rows_of(dsl, problems, ("urn", "email"))
                } if dsl else {}  # fmt: skip
    found = []
    for line, row in rows:
        theirs = contacts.get(row.get("urn", ""), {})
        merged = {**row, **{k: theirs[k] for k in ("contact", "email", "groups") if theirs.get(k)}}
        school = school_of(path, line, merged, today, problems)
        if school is not None:
            found.append(school)
    if problems:
        raise SchoolsError(problems)
    return found


def rows_of(path: Path, problems: list[str], needs: tuple[str, ...] = ("urn", "name")
            ) -> list[tuple[int, dict[str, str]]]:  # fmt: skip
    """Each data row (line number, {what: value}), the header mapped through COLUMNS."""
    text = decoded(path.read_bytes())
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    names = [COLUMNS.get(re.sub(r"[^a-z0-9]", "", h.lower())) for h in header]
    if not set(needs) <= set(names):
        wanted = " and ".join(NEEDED[n] for n in needs)
        problems.append(f"{path}: line 1: the header needs {wanted} columns; it has "
                        f"{', '.join(header) or 'none'}")  # fmt: skip
        return []
    found = []
    for line, cells in enumerate(reader, start=2):
        if any(c.strip() for c in cells):
            found.append((line, {k: v.strip() for k, v in zip(names, cells, strict=False) if k}))
    return found


def decoded(raw: bytes) -> str:
    """UTF-8 (with or without its mark), else Windows-1252, as GIAS extracts are written."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def school_of(path: Path, line: int, row: Mapping[str, str], today: date,
              problems: list[str]) -> School | None:  # fmt: skip
    where = f"{path}: line {line}"
    urn, name = row.get("urn", ""), row.get("name", "")
    if not re.fullmatch(r"\d{5,7}", urn):
        problems.append(f"{where}: URN: expected the school's 5 to 7 digit number, got {urn!r}")
        return None
    if not name:
        problems.append(f"{where}: EstablishmentName: empty for URN {urn}")
        return None
    closed = closing(row, where, today, problems)
    email = row.get("email") or None
    if email is None and closed is None:
        problems.append(f"{where}: DSL email: none for {name} (URN {urn}); add a DSL email "
                        "column, or a DSL file with URN, DSL name and DSL email")  # fmt: skip
    groups = tuple(g.strip() for g in row["groups"].split(";") if g.strip()) \
        if row.get("groups") else None  # fmt: skip
    return School(urn, name, closed, email, row.get("contact") or None, groups)


def closing(row: Mapping[str, str], where: str, today: date, problems: list[str]) -> date | None:
    """The day the school closed, if its status says Closed (or a close date has passed)."""
    status, written = row.get("status", "").lower(), row.get("closed", "")
    on = None
    if written:
        for form in DATE_FORMATS:
            try:
                on = datetime.strptime(written, form).date()
                break
            except ValueError:
                continue
        else:
            problems.append(f"{where}: CloseDate: {written!r} is not a date like 31-08-2024")
    if status.startswith("closed") or (on is not None and on <= today):
        return on or today
    return None


def compare(directory: Directory, schools: Iterable[School], today: date,
            default_groups: tuple[str, ...]) -> SchoolChanges:  # fmt: skip
    """What the list would change: added, renamed, changed, closed (status, or missing)."""
    changes = SchoolChanges()
    entries = directory.establishments
    by_urn = {e.urn: e for e in entries if e.urn}
    by_name = {fold(e.name): e for e in entries if not e.urn}  # by name only until it has one
    seen: set[str] = set()
    for school in schools:
        entry = by_urn.get(school.urn) or by_name.get(fold(school.name))
        if entry is not None and entry.name in seen:
            entry = None  # matched by an earlier row: this one is another school
        if entry is None:
            if school.closed is None:
                groups = school.groups or default_groups
                changes.added.append(replace(school, groups=groups))
            continue
        seen.add(entry.name)
        if not differences(entry, school, changes):
            changes.unchanged += 1
    for entry in entries:
        if entry.name not in seen and entry.closed is None and entry.urn:
            changes.closed.append((entry.name, today, f"missing from the list of {today}"))
    make_room(entries, changes)
    return changes


def make_room(entries: Iterable[EstablishmentEntry], changes: SchoolChanges) -> None:
    """A school added under the name of one that closed (an academy converting keeps its
    name, with a new URN): the closed one is renamed "… (closed DATE)", shown in the preview,
    so that both stay on record under names of their own."""
    closing = {name: on for name, on, _ in changes.closed}
    for entry in entries:
        on = closing.get(entry.name) or entry.closed
        if on is not None and any(fold(s.name) == fold(entry.name) for s in changes.added):
            changes.renamed.append((entry.urn or "", entry.name, f"{entry.name} (closed {on})"))


def differences(entry: EstablishmentEntry, school: School, changes: SchoolChanges) -> bool:
    """Add what differs between `entry` and `school` to `changes`; whether anything did."""
    if school.closed is not None:
        if entry.closed is None:
            changes.closed.append((entry.name, school.closed, f"closed on {school.closed} (GIAS)"))
            return True
        return False
    found = entry.closed is not None  # missing from an earlier list, open in this one
    if found:
        changes.reopened.append(entry.name)
    if school.name != entry.name:
        changes.renamed.append((school.urn, entry.name, school.name))
        found = True
    wanted = {"urn": school.urn, "email": school.email, "contact": school.contact}
    for name, value in wanted.items():
        old = getattr(entry, name)
        if value and str(old or "").lower() != value.lower():
            changes.changed.append((entry.name, name, str(old or ""), value))
            found = True
    return found


def apply(text: str, changes: SchoolChanges) -> str:
    """The directory's text with exactly `changes` made, everything else as written."""
    yaml = round_trip()
    document = yaml.load(text)
    places = document.setdefault("establishments", CommentedSeq())
    by_name = {str(p["name"]): p for p in places}
    for name, key, _, value in changes.changed:
        by_name[name][key] = value
    for name, on, _ in changes.closed:
        by_name[name]["closed"] = on
    for name in changes.reopened:
        del by_name[name]["closed"]
    for _, old, new in changes.renamed:
        by_name[old]["name"] = new
    for school in changes.added:
        places.append(entry_for(school))
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def entry_for(school: School) -> CommentedMap:
    entry = CommentedMap(name=school.name, email=school.email)
    if school.contact:
        entry["contact"] = school.contact
    entry["groups"] = CommentedSeq(school.groups or ())
    entry["groups"].fa.set_flow_style()
    entry["urn"] = school.urn
    entry.fa.set_flow_style()  # one line a school, as the shipped directory writes them
    return entry
