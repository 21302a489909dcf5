"""The record classes, and what every table and kept file holds.

A record class is what a retention schedule gives a period to: each table belongs to one,
so that nothing the service keeps is outside the schedule. `Held.personal` says which
personal data a table holds (empty: none), `Held.seen_by` who can see it in the service
(the operator, who runs the database, sees everything and is not listed).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecordClass:
    name: str
    records: str  # what records of the partnership it covers
    suggested: str  # a period partnerships commonly set; the schedule is theirs


@dataclass(frozen=True)
class Held:
    record_class: str
    personal: str  # the personal data in it, in words; "" for none
    seen_by: str
    # Where a person is found in it, for subject access (`worker/privacy/subject_access.py`):
    addresses: tuple[str, ...] = ()  # columns holding an address mail may go to
    actors: tuple[str, ...] = ()  # columns holding the address of who did something
    names: tuple[str, ...] = ()  # columns holding a person's name
    mentions: tuple[str, ...] = ()  # free text that may name them: only those lines are given
    also: tuple[str, ...] = ()  # what goes with them in a row of theirs (a phone, a browser)
    # Of `mentions`, the words of the partnership's documents as imported: an erasure leaves
    # them as the document and its original have them (`worker/privacy/erasure.py`).
    documents: tuple[str, ...] = ()


CLASSES = {c.name: c for c in (
    RecordClass("directory", "who is who: agencies, contacts, schools and their DSLs",
                "while in force; a leaver's entries erased after their period"),
    RecordClass("configuration", "versions of the directory and the rules, column maps, "
                "agency feed tokens", "ten years after replaced"),
    RecordClass("plans", "plans, their actions and leads, reviews' recommendations, the "
                "items made of them and their field history", "ten years after closure"),
    RecordClass("mi_sheets", "MI sheets and the items made of them",
                "six years after their deadline"),
    RecordClass("sessions", "briefing sessions", "two years after the session"),
    RecordClass("stage_history", "events on items, stage changes and the daily runs that "
                "made them", "as long as the item's plan or sheet"),
    RecordClass("digests", "the ledger of digests sent (bodies included), refused "
                "addresses, digest preferences", "bodies one year; the ledger six years"),
    RecordClass("sign_in", "sign-in links, console sessions, uses of digest links",
                "one year"),
    RecordClass("console_actions", "who did what in the console, when and from where",
                "six years"),
    RecordClass("imports", "the import history and the original documents",
                "as long as what they imported"),
    RecordClass("backups", "backups of everything above", "the newest `backups_kept`"),
)}  # fmt: skip

MANAGERS = "the business manager and the chair"
OWN = f"{MANAGERS}; the people named, their own"

TABLES = {
    "agencies": Held("directory", "", f"{MANAGERS}; everyone signed in"),
    "agency_aliases": Held("directory", "", MANAGERS),
    "contacts": Held(
        "directory",
        "name, e-mail address, phone, role, line manager",
        MANAGERS,
        addresses=("email",),
        names=("name",),
        also=("phone",),
    ),
    "establishments": Held(
        "directory",
        "the DSL's name and e-mail address",
        MANAGERS,
        addresses=("email",),
        names=("contact_name",),
    ),
    "establishment_groups": Held("directory", "", MANAGERS),
    "group_members": Held("directory", "", MANAGERS),
    "config_versions": Held(
        "configuration",
        "the directory's names, addresses and phones in each version; who saved it, from where",
        MANAGERS,
        actors=("made_by",),
        mentions=("content", "reason"),
    ),
    "column_maps": Held("configuration", "who saved it", MANAGERS, actors=("saved_by",)),
    "agency_feeds": Held("configuration", "", f"{MANAGERS}; the agency's own people"),
    "plans": Held("plans", "", f"{MANAGERS}; lead agencies, their own actions"),
    "actions": Held(
        "plans",
        "names written in actions and progress notes",
        OWN,
        mentions=("text", "progress"),
        documents=("text", "progress"),
    ),
    "action_leads": Held("plans", "a lead's name when a person is the lead", OWN, names=("name",)),
    "recommendations": Held("plans", "who linked it", MANAGERS, actors=("linked_by",)),
    "obligations": Held("plans", "a lead's name", OWN, names=("lead_name",)),
    "changes": Held(
        "plans",
        "names in the changed fields (leads, MI sheets' contacts)",
        MANAGERS,
        mentions=("old_value", "new_value"),
    ),
    "mi_sheets": Held(
        "mi_sheets",
        "the LA contact's name, phone and e-mail address",
        f"{MANAGERS}; schools and LA contacts",
        addresses=("contact_email",),
        names=("contact_name",),
        also=("contact_phone",),
    ),
    "briefing_sessions": Held("sessions", "", "anyone with the public calendar"),
    "obligation_events": Held(
        "stage_history",
        "who recorded it, and their note",
        OWN,
        actors=("by",),
        mentions=("note",),
    ),
    "stage_changes": Held("stage_history", "", OWN),
    "daily_runs": Held("stage_history", "", "the operator"),
    "document_syncs": Held("stage_history", "", "the operator"),
    "deliveries": Held(
        "digests",
        "recipient's address, the digest's whole text (names, duties, items), the relay's replies",
        MANAGERS,
        addresses=("recipient",),
        mentions=("payload", "last_error"),
    ),
    "plan_runs": Held("digests", "", "the operator"),
    "job_runs": Held("digests", "", "the operator"),
    "digest_watch": Held("digests", "", "the operator"),
    "undeliverable_addresses": Held(
        "digests",
        "the refused address, the relay's reply, who corrected it",
        MANAGERS,
        addresses=("address", "corrected_to"),
        actors=("corrected_by",),
        mentions=("reply",),
    ),
    "digest_preferences": Held(
        "digests", "an address and its choice", "the person", addresses=("email",)
    ),
    "sign_in_links": Held(
        "sign_in", "the address a link was sent to", "the operator", addresses=("email",)
    ),
    "sign_in_flows": Held("sign_in", "", "the operator"),
    "console_sessions": Held(
        "sign_in",
        "address, network address, browser",
        f"{MANAGERS} (who is signed in); the person, their own",
        addresses=("email",),
        also=("client", "user_agent"),
    ),
    "link_uses": Held(
        "sign_in",
        "recipient's address, network address, browser",
        MANAGERS,
        addresses=("recipient",),
        also=("client", "user_agent"),
    ),
    "console_actions": Held(
        "console_actions",
        "address, network address, browser, what they did",
        MANAGERS,
        actors=("email",),
        mentions=("subject",),
        also=("client", "user_agent"),
    ),
    "imports": Held("imports", "who imported each document", MANAGERS, actors=("by",)),
    "retention_reviews": Held(
        "configuration",
        "who reviewed and who applied, and why",
        MANAGERS,
        actors=("made_by", "applied_by"),
        mentions=("reason",),
    ),
}

FILES = {
    "imports_dir": Held("imports", "whatever the documents hold (names, contacts)", MANAGERS),
    "outbox_dir": Held("digests", "digests as sent, when no relay is set", "the operator"),
    "feeds_dir": Held("sessions", "agencies' deadlines (no names)", "feed subscribers"),
    "backup_dir": Held("backups", "everything above, as of each backup", "the operator"),
}
