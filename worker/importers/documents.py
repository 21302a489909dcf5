"""What the parsers read out of a document, before anything touches the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time


@dataclass(frozen=True)
class ParsedAction:
    ref: str
    theme: str
    scr_refs: tuple[str, ...]
    text: str
    lead_agency: str
    target_date: date | None
    progress: str
    line: int
    rag: str | None = None  # the tracker's own RAG or Status; None: it keeps none
    date_to_set: str = ""  # "TBC" or "TBA": no date yet, the business manager to set one


@dataclass(frozen=True)
class ParsedPlan:
    title: str
    actions: tuple[ParsedAction, ...]
    unread_columns: tuple[str, ...] = ()  # headings of its tables that no field reads
    mapped: bool = False  # read with a column map, whose other headings are left by choice
    # Where its name came from: "title" (its own), "given" (--plan or the preview), or a
    # guess: "its first heading", "its file's name".
    named_from: str = "title"
    numbered: tuple[str, ...] = ()  # references the importer gave rows that had none


@dataclass(frozen=True)
class ParsedSession:
    reference: str
    date: date
    start: time
    end: time
    venue: str
    line: int
    delegate_limit: int | None = None
    booking_url: str | None = None


@dataclass(frozen=True)
class ParsedSheet:
    number: str
    title: str
    sheet_type: str
    due_date: date | None
    published_at: datetime | None
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None
    audience: str | None
    links: tuple[str, ...]
    delegate_limit: int | None
    booking_url: str | None
    sessions: tuple[ParsedSession, ...] = field(default=())
    unread: tuple[str, ...] = ()  # session lines that could not be read ("line 12: …")
    due_line: int | None = None  # where the dates were written, for error messages
    published_line: int | None = None

    @property
    def notes(self) -> tuple[str, ...]:
        """What the business manager should know of a sheet that imports as it is written."""
        published = self.published_at.date() if self.published_at else None
        found = []
        if self.due_date and published and self.due_date < published:
            found.append(f"To Be Completed By {self.due_date:%d/%m/%Y} is before the sheet's "
                         f"publication date {published:%d/%m/%Y}: kept as written")  # fmt: skip
        if self.due_date and self.sheet_type == "Information":
            found.append("an Information sheet with a To Be Completed By date: followed as "
                         "an Action sheet is")  # fmt: skip
        return tuple(found)


@dataclass(frozen=True)
class ParsedSessionList:
    """Sessions kept in a spreadsheet, each naming the MI sheet that announces it."""

    sessions: tuple[tuple[str, ParsedSession], ...]


@dataclass(frozen=True)
class ParsedRecommendation:
    number: int
    text: str
    line: int


@dataclass(frozen=True)
class ParsedBriefing:
    """A review's recommendations, from its learning briefing."""

    review: str  # "Case A1": as the plans' SCR Ref column names the case
    recommendations: tuple[ParsedRecommendation, ...]


Parsed = ParsedPlan | ParsedSheet | ParsedSessionList | ParsedBriefing
