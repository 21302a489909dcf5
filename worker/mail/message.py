"""E-mail messages built from digests: one template set per kind, one message per person.

Everything that reaches a header passes through `one_line` or `parse_address` first. The
standard library already refuses CR and LF in `Address`, but it lets other line breaks (NEL,
U+2028, U+2029) and control characters through, and mail clients differ in how they read them.
"""

from __future__ import annotations

import binascii
import email.policy
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.errors import HeaderParseError, ObsoleteHeaderDefect
from email.headerregistry import Address, AddressHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime

import css_inline

from worker.mail.digest import KIND, Digest, Item
from worker.templating import render_html, render_text

# The action text in the plain-text part is cut to about this many characters; the HTML part
# carries it whole, so nothing is lost for someone who needs the full wording.
TEXT_ACTION_LENGTH = 160

# From this stage up the subject names the stage: these are the senior stages that people
# must not miss in a crowded inbox.
NAMED_STAGE_FROM = 3

# Unicode categories that must never reach a header: control and format characters, and the
# line and paragraph separators (Zl, Zp), which some clients treat as line breaks.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

_HEADERS = HeaderRegistry()

# The inliner never fetches anything: a digest must not depend on, or leak to, another server.
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False)


@dataclass(frozen=True)
class Theme:
    name: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Section:
    """The items at one stage, headed as readers know the stage, grouped by theme."""

    heading: str
    stage: int
    themes: tuple[Theme, ...]


def _unsafe(character: str) -> bool:
    return unicodedata.category(character) in _UNSAFE_CATEGORIES


def one_line(value: str) -> str:
    """`value` with every line break, control character and run of spaces made one space."""
    spaced = "".join(" " if _unsafe(c) else c for c in value)
    return " ".join(spaced.split())


def parse_address(value: str, *, what: str) -> Address:
    """The single mailbox in `value` ("Name <user@example.org>" or "user@example.org").

    Raises ValueError, naming `what`, for anything else: no address, several addresses,
    control characters, a malformed or non-ASCII address.
    """
    problem = f"{what}: {value!r} is not a single valid e-mail address"
    if any(_unsafe(c) for c in value):
        raise ValueError(f"{what}: {value!r} contains line breaks or control characters")
    found = _mailboxes(value, problem)
    if len(found) != 1 or not found[0].username or not found[0].domain:
        raise ValueError(problem)
    # Plain SMTP cannot carry a non-ASCII address; better refused here than by the relay.
    if not found[0].addr_spec.isascii():
        raise ValueError(problem)
    return Address(one_line(found[0].display_name), found[0].username, found[0].domain)


def _mailboxes(value: str, problem: str) -> tuple[Address, ...]:
    try:
        header = _HEADERS("To", value)
    except (HeaderParseError, IndexError, ValueError) as error:  # the parser's ways of failing
        raise ValueError(problem) from error
    if not isinstance(header, AddressHeader):  # pragma: no cover - "To" is always an address
        raise TypeError("the header registry did not return an address header")
    # Obsolete syntax (a period in a display name, as in "Dr. Who") is common and harmless;
    # any other defect means the parser guessed, and a guessed address may be someone else's.
    if any(not isinstance(d, ObsoleteHeaderDefect) for d in header.defects):
        raise ValueError(problem)
    return header.addresses


def recipient_address(digest: Digest) -> Address:
    """The digest's reader, named as the directory names them, on one line."""
    mailbox = parse_address(digest.email, what=f"recipient {digest.name!r}")
    return Address(one_line(digest.name), mailbox.username, mailbox.domain)


def subject_counts(digest: Digest) -> list[str]:
    """The parts of the subject after "<partnership> actions: ", most serious first.

    The rule, counting `digest.items` unless said otherwise (zero counts are left out). The
    first three parts count each item once:
      1. "N overdue at <stage name> stage": if the highest stage among the items is 3 or
         more, the number of items at that stage, named after the first of them;
      2. "M overdue", or "M more overdue" after part 1: the other items at stage 1 or above;
      3. "K due soon": items at stage 0;
      4. "R resolved": the digest's resolved items;
      5. "U unassigned": items flagged unassigned (lead agency not in the directory);
      6. "D digest(s) undelivered": the digest's undelivered list (business manager only);
      7. "A need(s) attention": the digest's attention list (business manager only);
    and "nothing outstanding" if every count is zero.
    """
    items = digest.items
    named = _named_stage_items(items)
    parts = [f"{len(named)} overdue at {named[0].stage_name} stage" if named else ""]
    others = sum(i.stage >= 1 for i in items) - len(named)
    parts.append(_count(others, "more overdue" if named else "overdue"))
    parts.append(_count(sum(i.stage == 0 for i in items), "due soon"))
    parts.append(_count(len(digest.resolved), "resolved"))
    parts.append(_count(sum(i.unassigned for i in items), "unassigned"))
    undelivered = len(digest.undelivered)
    parts.append(
        _count(undelivered, "digest undelivered" if undelivered == 1 else "digests undelivered")
    )
    attention = len(digest.attention)
    parts.append(_count(attention, "needs attention" if attention == 1 else "need attention"))
    return [part for part in parts if part] or ["nothing outstanding"]


def _count(number: int, label: str) -> str:
    return f"{number} {label}" if number else ""


def _named_stage_items(items: Sequence[Item]) -> list[Item]:
    """The items at the highest stage among `items` if that stage is named in the subject."""
    top = max((i.stage for i in items), default=-1)
    if top < NAMED_STAGE_FROM:
        return []
    return [i for i in items if i.stage == top]


def subject_line(digest: Digest) -> str:
    """E.g. "Norfolk Safeguarding Children Partnership actions: 2 overdue at Partnership stage,
    1 more overdue, 1 due soon" (see `subject_counts` for the rule); always a single line."""
    subject = render_text(
        f"email/{KIND}/subject.txt",
        partnership=digest.partnership,
        counts=subject_counts(digest),
    )
    return one_line(subject)


def stage_heading(item: Item) -> str:
    """ "Line manager (stage 2)" for the ladder's stages; "Due soon" and "Not yet due" before."""
    if item.stage >= 1:
        return f"{item.stage_name} (stage {item.stage})"
    return "Due soon" if item.stage == 0 else "Not yet due"


def sections(items: Sequence[Item]) -> tuple[Section, ...]:
    """Items by stage, highest first, then by theme; the digest's worst-first order is kept
    inside each theme, so themes appear in the order of their most pressing item."""
    by_heading: dict[tuple[int, str], list[Item]] = {}
    for item in sorted(items, key=lambda i: -i.stage):  # stable: keeps worst-first order
        by_heading.setdefault((item.stage, stage_heading(item)), []).append(item)
    return tuple(
        Section(heading, stage, _themes(group)) for (stage, heading), group in by_heading.items()
    )


def _themes(items: list[Item]) -> tuple[Theme, ...]:
    by_theme: dict[str, list[Item]] = {}
    for item in items:
        by_theme.setdefault(item.theme, []).append(item)
    return tuple(Theme(name, tuple(group)) for name, group in by_theme.items())


def _checked(value: str, what: str) -> str:
    # Identifiers come from our own code; a line break in one is a bug to stop, not to tidy.
    if any(_unsafe(c) for c in value) or not value.strip():
        raise ValueError(f"{what}: {value!r} must be one non-empty line")
    return value.strip()


def build_digest_message(
    digest: Digest, *, sender: str, message_id: str, list_id: str, sent_at: datetime
) -> EmailMessage:
    """The digest as a multipart/alternative message (plain text, then HTML), ready to send."""
    if sent_at.utcoffset() is None:
        raise ValueError("sent_at must be timezone-aware, so the Date header is unambiguous")
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = parse_address(sender, what="sender")
    message["To"] = recipient_address(digest)
    subject = subject_line(digest)
    message["Subject"] = subject
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = _checked(message_id, "message_id")
    # Tell auto-responders and Exchange not to answer: nobody reads replies.
    message["Auto-Submitted"] = "auto-generated"
    message["List-Id"] = _checked(list_id, "list_id")
    message["X-Auto-Response-Suppress"] = "All"
    _add_bodies(message, digest, subject)
    return message


def _add_bodies(message: EmailMessage, digest: Digest, subject: str) -> None:
    context = {
        "digest": digest,
        "subject": subject,
        "sections": sections(digest.items),
        "text_action_length": TEXT_ACTION_LENGTH,
    }
    text = render_text(f"email/{KIND}/body.txt", **context)
    # Outlook ignores <style> blocks, so the styles are copied onto each element.
    html = _INLINER.inline(render_html(f"email/{KIND}/body.html", **context))
    message["MIME-Version"] = "1.0"
    message.make_alternative()
    message.attach(_text_part(text, "plain"))
    message.attach(_text_part(html, "html"))


def _text_part(body: str, subtype: str) -> EmailMessage:
    """`body` as a quoted-printable part, which keeps it 7-bit and readable whatever the relay
    supports. Encoded by binascii (in C): the email package's own encoder, in Python, took
    longer than rendering the digest."""
    part = EmailMessage(policy=email.policy.SMTP)
    part["Content-Type"] = f"text/{subtype}; charset=utf-8"
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(binascii.b2a_qp(body.encode("utf-8"), istext=True).decode("ascii"))
    return part
