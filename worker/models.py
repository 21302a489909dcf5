"""The partnership's records: directory, plans and actions, MI sheets, briefing sessions.

Typed SQLAlchemy 2.0 models. The schema itself is owned by the Alembic migrations in
`worker/migrations/`; a test checks that the two never drift apart. The times a row was made
are stamped from the application's clock by the session (`worker.db`), never the machine's.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as UTC, so SQLite and PostgreSQL read back the same instant."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def str_enum(cls: type[enum.Enum]) -> Enum:
    return Enum(
        cls,
        native_enum=False,
        length=30,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class Role(enum.StrEnum):
    NAMED_CONTACT = "named_contact"
    LINE_MANAGER = "line_manager"
    SENIOR_SAFEGUARDING_LEAD = "senior_safeguarding_lead"
    BUSINESS_MANAGER = "business_manager"
    INDEPENDENT_CHAIR = "independent_chair"
    LA_CONTACT = "la_contact"


class ActionStatus(enum.StrEnum):
    OPEN = "open"
    COMPLETE = "complete"
    WITHDRAWN = "withdrawn"


class SheetType(enum.StrEnum):
    ACTION = "Action"
    CPD = "CPD"
    INFORMATION = "Information"


class SessionStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    aliases: Mapped[list[AgencyAlias]] = relationship(
        back_populates="agency", cascade="all, delete-orphan"
    )
    contacts: Mapped[list[Contact]] = relationship(back_populates="agency")


class AgencyAlias(Base):
    """A string that names the agency in documents, stored folded for matching."""

    __tablename__ = "agency_aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(200), unique=True)
    agency: Mapped[Agency] = relationship(back_populates="aliases")


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    line_manager_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    agency: Mapped[Agency | None] = relationship(back_populates="contacts")
    line_manager: Mapped[Contact | None] = relationship(remote_side=[id])


group_members = Table(
    "group_members",
    Base.metadata,
    Column("group_id", ForeignKey("establishment_groups.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "establishment_id", ForeignKey("establishments.id", ondelete="CASCADE"), primary_key=True
    ),
)


class Establishment(Base):
    """A school or setting that MI sheets are sent to."""

    __tablename__ = "establishments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    # The DfE's unique reference number: a school renamed stays the same establishment.
    urn: Mapped[str | None] = mapped_column(String(10), unique=True)
    closed_on: Mapped[date | None]  # closed: in no group, its open MI obligations ended
    groups: Mapped[list[EstablishmentGroup]] = relationship(
        secondary=group_members, back_populates="members"
    )


class EstablishmentGroup(Base):
    __tablename__ = "establishment_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    members: Mapped[list[Establishment]] = relationship(
        secondary=group_members, back_populates="groups"
    )


class Plan(Base):
    """A Composite Action Plan (or a spreadsheet of actions), named by its title."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300), unique=True)
    source_file: Mapped[str] = mapped_column(String(500))
    imported_at: Mapped[datetime] = mapped_column()
    # How the latest import started the ladder of actions already overdue: None as dated;
    # N from the import day, its first step entering stage N.
    ladder_start_stage: Mapped[int | None]
    actions: Mapped[list[Action]] = relationship(back_populates="plan", order_by="Action.id")


class Action(Base):
    __tablename__ = "actions"
    __table_args__ = (UniqueConstraint("plan_id", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    ref: Mapped[str] = mapped_column(String(20))
    theme: Mapped[str] = mapped_column(String(200))
    scr_refs: Mapped[list[str]] = mapped_column(JSON)
    text: Mapped[str] = mapped_column(Text)
    lead_agency_text: Mapped[str] = mapped_column(String(300))
    target_date: Mapped[date | None]
    progress: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ActionStatus] = mapped_column(str_enum(ActionStatus))
    # The tracker's own RAG or Status as written ("Amber", "Completed"); "" when not kept.
    rag: Mapped[str] = mapped_column(String(40), default="", server_default="")
    # "TBC" or "TBA": the plan gives no date yet, and the business manager is to set one.
    date_to_set: Mapped[str] = mapped_column(String(3), default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column()
    plan: Mapped[Plan] = relationship(back_populates="actions")
    leads: Mapped[list[ActionLead]] = relationship(
        back_populates="action", cascade="all, delete-orphan", order_by="ActionLead.position"
    )

    @property
    def unassigned(self) -> bool:
        """No agency in the directory answers to (one of) the lead-agency names."""
        return any(lead.agency_id is None for lead in self.leads)


class ActionLead(Base):
    """One lead agency of an action, as named in the document ("Health/NSCB" gives two)."""

    __tablename__ = "action_leads"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    action: Mapped[Action] = relationship(back_populates="leads")
    agency: Mapped[Agency | None] = relationship()


class MISheet(Base):
    __tablename__ = "mi_sheets"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    sheet_type: Mapped[SheetType] = mapped_column(str_enum(SheetType))
    due_date: Mapped[date | None]
    published_at: Mapped[datetime | None]
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    audience: Mapped[str | None] = mapped_column(String(200))
    links: Mapped[list[str]] = mapped_column(JSON)
    delegate_limit: Mapped[int | None]
    booking_url: Mapped[str | None] = mapped_column(String(500))
    source_file: Mapped[str] = mapped_column(String(500))
    # Lines that announce a session the importer could not read ("line 12: …"), shown to
    # the business manager until a corrected sheet is imported.
    unread_sessions: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # As a plan's: how the latest import started the ladder of items already overdue.
    ladder_start_stage: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column()
    sessions: Mapped[list[BriefingSession]] = relationship(
        back_populates="mi_sheet", order_by="BriefingSession.date"
    )


class BriefingSession(Base):
    """A briefing session; date and times are Europe/London wall-clock values."""

    __tablename__ = "briefing_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(50), unique=True)
    mi_sheet_id: Mapped[int] = mapped_column(ForeignKey("mi_sheets.id"))
    date: Mapped[date]
    start_time: Mapped[time]
    end_time: Mapped[time]
    venue: Mapped[str] = mapped_column(String(300))
    delegate_limit: Mapped[int | None]
    booking_url: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[SessionStatus] = mapped_column(str_enum(SessionStatus))
    # Which document announces it: "sheet" (its MI sheet) or "csv:<file name>". A re-import
    # cancels only the missing sessions that the same document had announced.
    origin: Mapped[str] = mapped_column(String(300), default="sheet")
    sequence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    mi_sheet: Mapped[MISheet] = relationship(back_populates="sessions")


class Recommendation(Base):
    """A recommendation of a review, as its learning briefing gives it. Until a CAP action
    answers it, the business manager owes the partnership one (an obligation)."""

    __tablename__ = "recommendations"
    __table_args__ = (UniqueConstraint("review", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review: Mapped[str] = mapped_column(String(200))  # "Case A1", "Child D"
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    source_file: Mapped[str] = mapped_column(String(500))
    imported_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    withdrawn: Mapped[bool] = mapped_column(default=False)  # gone from its briefing
    # The CAP action that answers it, and who linked the two, when.
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id"), index=True)
    linked_by: Mapped[str | None] = mapped_column(String(320))
    linked_at: Mapped[datetime | None] = mapped_column()
    action: Mapped[Action | None] = relationship()


class ImportRecord(Base):
    """One document imported (or refused): who, when, which file, and what it did. The
    original is kept under its SHA-256 in the imports folder, to be downloaded again."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    by: Mapped[str] = mapped_column(String(320))
    file_name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(60))
    summary: Mapped[str] = mapped_column(Text)
    refused: Mapped[bool] = mapped_column(default=False)


class SavedColumnMap(Base):
    """Which column holds which field in a table whose headings nobody named, chosen by the
    business manager on the imports page and saved with the import: the next document with
    a table under the same heading row is read with it, without asking."""

    __tablename__ = "column_maps"

    id: Mapped[int] = mapped_column(primary_key=True)
    row_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of heading_row
    headings: Mapped[str] = mapped_column(Text)  # the heading row as written, tab-separated
    fields: Mapped[dict[str, str]] = mapped_column(JSON)  # field -> heading, or "none"
    saved_by: Mapped[str] = mapped_column(String(320))
    saved_at: Mapped[datetime] = mapped_column()


class RetentionReview(Base):
    """What the retention schedule made due for destruction when a review was made (class ->
    table -> ids), and, once applied, by whom, why, when and how many of each class went."""

    __tablename__ = "retention_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    made_at: Mapped[datetime] = mapped_column()
    made_by: Mapped[str] = mapped_column(String(320))
    due: Mapped[dict[str, dict[str, list[int]]]] = mapped_column(JSON)
    applied_at: Mapped[datetime | None] = mapped_column()
    applied_by: Mapped[str | None] = mapped_column(String(320))
    reason: Mapped[str | None] = mapped_column(Text)
    destroyed: Mapped[dict[str, int] | None] = mapped_column(JSON)


class Change(Base):
    """The change history: one row per field changed by an import or a person."""

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(20))
    subject_key: Mapped[str] = mapped_column(String(350), index=True)
    field: Mapped[str] = mapped_column(String(50))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column()
    source: Mapped[str] = mapped_column(String(500))


class Obligation(Base):
    """Something someone owes the partnership by a date, escalated when it is late.

    One per lead agency of a dated action, per review cycle of an Ongoing action, per
    establishment that must complete an MI sheet, per unassigned lead-agency name.
    """

    __tablename__ = "obligations"
    # The console's lists and counts: open items by stage, and each lead's items; the daily
    # run's question whether anything is due, asked of open or pending rows only.
    __table_args__ = (
        Index("ix_obligations_resolved_on_stage", "resolved_on", "stage"),
        Index("ix_obligations_due_pending", "id", sqlite_where=text("pending = 1"),
              postgresql_where=text("pending")),
        Index("ix_obligations_due_next_change", "next_change",
              sqlite_where=text("resolved_on IS NULL"),
              postgresql_where=text("resolved_on IS NULL")),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id"), index=True)
    mi_sheet_id: Mapped[int | None] = mapped_column(ForeignKey("mi_sheets.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    establishment_id: Mapped[int | None] = mapped_column(
        ForeignKey("establishments.id"), index=True
    )
    recommendation_id: Mapped[int | None] = mapped_column(
        ForeignKey("recommendations.id"), index=True
    )
    lead_name: Mapped[str | None] = mapped_column(String(200))
    # Which of its action's leads this is, as the document writes it ("DCS"): the item's
    # identity within the action, whichever agency the directory says that lead is.
    document_lead: Mapped[str | None] = mapped_column(String(200))
    target_date: Mapped[date | None]
    stage: Mapped[int] = mapped_column(default=-1)
    # The escalation ladder copied when the obligation entered stage 1 (JSON), so later
    # edits to the rules do not make live items jump; cleared by `escalation reapply`.
    ladder: Mapped[str | None] = mapped_column(Text)
    assessed_on: Mapped[date | None]
    resolved_on: Mapped[date | None]
    # Why the last sweep could not assess it (and since when): skipped, not stopping the
    # others, and reported to the business manager until it assesses again.
    problem: Mapped[str | None] = mapped_column(Text)
    problem_since: Mapped[date | None] = mapped_column(index=True)
    # The next day its stage changes or a due-soon reminder falls due under the engine (None:
    # nothing ahead), and whether something happened to it (an event, a new document) since
    # the daily run last assessed it: the run assesses only rows that are pending or whose
    # next change has come, so every row with a reminder today was assessed today.
    next_change: Mapped[date | None] = mapped_column()
    pending: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column()
    action: Mapped[Action | None] = relationship()
    mi_sheet: Mapped[MISheet | None] = relationship()
    agency: Mapped[Agency | None] = relationship()
    establishment: Mapped[Establishment | None] = relationship()
    recommendation: Mapped[Recommendation | None] = relationship()
    events: Mapped[list[ObligationEvent]] = relationship(
        back_populates="obligation", order_by="ObligationEvent.id", cascade="all, delete-orphan"
    )


class ObligationEvent(Base):
    """An acknowledgement, completion, revised target, reopening or ladder start: who, when
    and why."""

    __tablename__ = "obligation_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    obligation_id: Mapped[int] = mapped_column(
        ForeignKey("obligations.id", ondelete="CASCADE"), index=True
    )
    on: Mapped[date]
    kind: Mapped[str] = mapped_column(String(20))
    new_target: Mapped[date | None]
    stage: Mapped[int | None]  # a ladder start's first step enters it; an escalation goes to it
    # The local moment (the partnership's wall clock, no zone: the engine's time) of an act
    # that takes effect at once: an escalation on request.
    at: Mapped[datetime | None] = mapped_column(DateTime())
    note: Mapped[str] = mapped_column(Text, default="")
    by: Mapped[str] = mapped_column(String(320))
    recorded_at: Mapped[datetime] = mapped_column()
    obligation: Mapped[Obligation] = relationship(back_populates="events")


class StageChange(Base):
    """The written record the RPD policy requires: every move up (or reset of) the ladder."""

    __tablename__ = "stage_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    obligation_id: Mapped[int] = mapped_column(
        ForeignKey("obligations.id", ondelete="CASCADE"), index=True
    )
    on: Mapped[date]
    from_stage: Mapped[int]
    to_stage: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column()
    obligation: Mapped[Obligation] = relationship()


class DailyRun(Base):
    """One day's escalation run: the rules it ran under (a fingerprint of the ladder and the
    closure days), whether it assessed every live item or only those with something due."""

    __tablename__ = "daily_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(unique=True)
    rules: Mapped[str] = mapped_column(String(64))
    full: Mapped[bool]
    assessed: Mapped[int]
    changed: Mapped[int]
    ran_at: Mapped[datetime]


class DocumentSync(Base):
    """A time the obligations were brought in step with the documents, the directory and the
    rules: the signature of what that read, so that the next sync runs only if it moved."""

    __tablename__ = "document_syncs"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]
    signature: Mapped[str] = mapped_column(String(64))
    ran_at: Mapped[datetime]


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    HELD = "held"  # for an address the relay refused for good, until it is corrected


class Delivery(Base):
    """The ledger: one row per (recipient, kind, period), written before anything is sent.

    pending → sending (claimed with a conditional UPDATE: a lease, an attempt, a fixed
    Message-ID, all committed before the SMTP DATA) → sent, or failed with the reason. A
    digest for an address marked undeliverable is held instead of pending, and goes back to
    pending (to the corrected address) when the address is corrected.
    """

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("recipient", "kind", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(20))
    period: Mapped[date]
    state: Mapped[DeliveryState] = mapped_column(str_enum(DeliveryState), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(String(500))
    top_stage: Mapped[int]
    attempts: Mapped[int] = mapped_column(default=0)
    message_id: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    enqueued_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # The period whose business-manager digest reported this row's failure (once).
    reported_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column()
    # The mail service's own id for the message as last sent (Notify's notification id),
    # and the last delivery receipt about it ("delivered", "permanent-failure", ...).
    provider_id: Mapped[str | None] = mapped_column(String(64))
    receipt: Mapped[str | None] = mapped_column(String(40), index=True)


class PlanRun(Base):
    """A send period whose digests have been planned: the unique key stops a second beat."""

    __tablename__ = "plan_runs"
    __table_args__ = (UniqueConstraint("kind", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    period: Mapped[date]
    planned_at: Mapped[datetime] = mapped_column()
    # Who could be told about what when it was planned (a signature of the directory's reach):
    # while it stays the same, the next period need not look at people with nothing new.
    reach: Mapped[str | None] = mapped_column(String(64))
    # The newest stage change when it was planned: one written later, on the same day (an
    # item assessed at once after an import or an event), is still news to the next period.
    changes_upto: Mapped[int | None] = mapped_column()


class JobRun(Base):
    """When a periodic job (the tick, the day's backup, the bounce mailbox) last started,
    last succeeded and last failed, and why: what `reminders status`, the overview and the
    readiness check tell an operator."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    started_at: Mapped[datetime | None]
    succeeded_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    # Failures since the last success: 0 while the job is well.
    failures: Mapped[int] = mapped_column(default=0)


class DigestWatch(Base):
    """What the dead-man alarm did about one period's digests: the outside monitor told the
    planning began and that every digest went, or the operator told that they did not."""

    __tablename__ = "digest_watch"

    period: Mapped[date] = mapped_column(primary_key=True)
    started_pinged_at: Mapped[datetime | None]
    sent_pinged_at: Mapped[datetime | None]
    alarm_at: Mapped[datetime | None]
    alarm: Mapped[str | None] = mapped_column(Text)


class AgencyFeed(Base):
    """The private deadline calendar of one agency. Only a hash of its token is kept: the
    address is shown once, when the token is made, and rotating it stops the old one."""

    __tablename__ = "agency_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), unique=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256, hex
    created_at: Mapped[datetime] = mapped_column()
    # The token is the HMAC of this nonce under the signing key, so the console can show the
    # address to the agency's own people; the database alone cannot make it. Feeds issued
    # before the console have none: their address was shown once and cannot be shown again.
    nonce: Mapped[str | None] = mapped_column(String(64))
    agency: Mapped[Agency] = relationship()


class LinkUse(Base):
    """A digest link (acknowledge or mark complete) that has acted: each acts once."""

    __tablename__ = "link_uses"

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))
    obligation_key: Mapped[str] = mapped_column(String(100))
    recipient: Mapped[str] = mapped_column(String(320))
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("obligation_events.id", ondelete="SET NULL")
    )
    used_at: Mapped[datetime] = mapped_column()
    # Where the confirming request came from, for the written record.
    client: Mapped[str | None] = mapped_column(String(100))
    user_agent: Mapped[str | None] = mapped_column(String(500))


class SignInLink(Base):
    """A one-time console sign-in link: bound to one address, short-lived, used once. Only
    the SHA-256 of its token is kept."""

    __tablename__ = "sign_in_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    # Not "used_at": new rows' *_at times are stamped by the session (worker/db.py).
    redeemed_at: Mapped[datetime | None]
    # Links not used are ended (a sign-out everywhere, the person removed) without use.
    ended_at: Mapped[datetime | None]


class ConsoleSession(Base):
    """A signed-in browser. Only the SHA-256 of the cookie's token is kept; ending a session
    (sign out, sign out everywhere, the business manager, removal from the directory) is
    setting `ended_at`, so the record stays."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    created_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None]
    ended_why: Mapped[str | None] = mapped_column(String(200))
    client: Mapped[str | None] = mapped_column(String(100))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    # The SHA-256 of the form token given with the session: forms carrying another are
    # refused, so a token planted from another browser is worth nothing (None: refused).
    form_token_hash: Mapped[str | None] = mapped_column(String(64))
    # How the person proved who they were: "e-mail link", or the organisation sign-in's key.
    signed_in_with: Mapped[str | None] = mapped_column(String(40))


class SignInFlow(Base):
    """An organisation sign-in under way: made when the person chooses a provider, taken once
    when the provider sends them back. The state, and the browser's cookie it is bound to,
    are kept as SHA-256; the nonce and PKCE verifier are made from the cookie's token, so
    nothing here can finish a sign-in without that browser."""

    __tablename__ = "sign_in_flows"

    id: Mapped[int] = mapped_column(primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    browser_hash: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)
    taken_at: Mapped[datetime | None]


class ConsoleAction(Base):
    """Every change made in the console: who, when, from where, and what it was."""

    __tablename__ = "console_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column()
    email: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str] = mapped_column(String(400))
    client: Mapped[str | None] = mapped_column(String(100))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("obligation_events.id", ondelete="SET NULL")
    )


class ConfigVersion(Base):
    """One version of the directory or of the escalation rules: the whole YAML text as it was
    given (comments and all), who made it, when, why and from where. The newest of each kind
    is in force; going back makes a new version with an old text."""

    __tablename__ = "config_versions"
    __table_args__ = (UniqueConstraint("kind", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # "directory" or "rules"
    number: Mapped[int]  # 1, 2, … for each kind
    content: Mapped[str] = mapped_column(Text)
    made_by: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(Text)
    client: Mapped[str | None] = mapped_column(String(100))  # "command line", or an address
    created_at: Mapped[datetime] = mapped_column()


class UndeliverableAddress(Base):
    """An address the relay refused for good (a 5xx reply), with that reply: digests for it
    are held until it is corrected, when they go to the corrected address (who, when)."""

    __tablename__ = "undeliverable_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(320), index=True)
    reply: Mapped[str] = mapped_column(Text)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))
    created_at: Mapped[datetime] = mapped_column()
    corrected_at: Mapped[datetime | None]
    corrected_to: Mapped[str | None] = mapped_column(String(320))
    corrected_by: Mapped[str | None] = mapped_column(String(320))


class DigestPreference(Base):
    """Someone who asked for a digest every working day they have items, where the rules
    would give them a weekly one (never less often than the rules say)."""

    __tablename__ = "digest_preferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    daily: Mapped[bool]
    changed_at: Mapped[datetime]
    client: Mapped[str | None] = mapped_column(String(100))
