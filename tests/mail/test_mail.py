"""Digest e-mails: structure, headers, header safety, escaping, layout and the subject rule.

Every message is built for real and read back from its bytes, as a mail client would.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from typing import Any

import jinja2
import pytest
from bs4 import BeautifulSoup

from tests.support.browser import valid_markup
from tests.support.services import NuChecker
from worker.mail.digest import Digest, Item, Undelivered
from worker.mail.message import build_digest_message, one_line, subject_counts, subject_line
from worker.templating import html_environment, long_date, text_environment

PARTNERSHIP = "Norfolk Safeguarding Children Partnership"
SENDER = "Safeguarding Partnership <reminders@example.org>"
MESSAGE_ID = "<digest-2017-06-19-42@reminders.example.org>"
LIST_ID = "Reminders <digests.reminders.example.org>"
SENT_AT = datetime(2017, 6, 19, 8, 0, tzinfo=timezone(timedelta(hours=1)))
SCRIPT = "<script>alert(1)</script>"
EXPECTED_HEADERS = {
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Auto-Submitted",
    "List-Id",
    "X-Auto-Response-Suppress",
    "MIME-Version",
    "Content-Type",
}
LONG_ACTION = (
    "Ensure that practitioners in every agency challenge parents' and carers' accounts of "
    "injuries to non-mobile babies, record the challenge and its outcome on the child's file, "
    "and seek a second opinion from a paediatrician whenever the explanation does not fit the "
    "injury or the child's developmental stage."
)


def make_item(**changes: Any) -> Item:
    item = Item(
        key="cap:4.6",
        ref="4.6",
        source="Composite Action Plan (March 2017)",
        text="Deliver professional curiosity training to all frontline staff.",
        theme="Professional curiosity",
        owner="Health",
        target_date="2017-06-01",
        stage=1,
        stage_name="Practitioner",
        working_days_overdue=3,
        progress="",
        why="named against the action",
    )
    return replace(item, **changes)


def make_digest(*items: Item, **changes: Any) -> Digest:
    digest = Digest(
        name="Alex Morgan",
        email="alex.morgan@example.org",
        period="2017-06-19",
        partnership=PARTNERSHIP,
        items=items,
    )
    return replace(digest, **changes)


def build(digest: Digest) -> EmailMessage:
    return build_digest_message(
        digest, sender=SENDER, message_id=MESSAGE_ID, list_id=LIST_ID, sent_at=SENT_AT
    )


def reparsed(message: EmailMessage) -> EmailMessage:
    """The message as a receiving client sees it: parsed back from the bytes on the wire."""
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def bodies(message: EmailMessage) -> tuple[str, str]:
    """The (plain text, HTML) bodies, decoded."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    # Content comes back with the wire's CRLF line endings; compare with plain newlines.
    return text.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


def header_lines(message: EmailMessage) -> list[bytes]:
    head = message.as_bytes().split(b"\r\n\r\n", 1)[0]
    return head.split(b"\r\n")


def full_digest() -> Digest:
    """One item at each kind of stage, in two themes, plus resolved and undelivered news."""
    return make_digest(
        make_item(ref="2.1", stage=2, stage_name="Line manager", theme="Fora for discussion"),
        make_item(
            ref="4.6",
            stage=4,
            stage_name="Partnership",
            working_days_overdue=17,
            progress="Training plan agreed.\nFirst sessions booked for July.",
            why="copied as Business Manager",
        ),
        make_item(
            ref="MI 3/17",
            stage=0,
            stage_name="Due soon",
            theme="MI sheets",
            working_days_overdue=0,
            target_date="2017-06-23",
            source="MI sheet 3/17",
        ),
        make_item(
            ref="7.2",
            stage=-1,
            stage_name="No target date",
            unassigned=True,
            owner="DASVB partners",
            target_date=None,
            working_days_overdue=0,
        ),
        resolved=(make_item(ref="1.3", text="Publish the revised escalation policy."),),
        undelivered=(
            Undelivered("pat.lee@example.org", "2017-06-12", "550 5.1.1 mailbox unavailable"),
        ),
    )


# ---------------------------------------------------------------------------------------------
# Structure and headers


def test_message_is_multipart_alternative_with_text_then_html_in_utf8() -> None:
    message = reparsed(build(full_digest()))

    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert [p.get_content_charset() for p in parts] == ["utf-8", "utf-8"]


def test_every_header_is_present_and_survives_the_wire() -> None:
    digest = full_digest()
    message = reparsed(build(digest))

    assert set(message.keys()) == EXPECTED_HEADERS
    sender = message["From"].addresses
    assert [(a.display_name, a.addr_spec) for a in sender] == [
        ("Safeguarding Partnership", "reminders@example.org")
    ]
    recipient = message["To"].addresses
    assert [(a.display_name, a.addr_spec) for a in recipient] == [
        ("Alex Morgan", "alex.morgan@example.org")
    ]
    assert message["Subject"] == subject_line(digest)
    assert message["Date"].datetime == SENT_AT
    assert message["Message-ID"] == MESSAGE_ID
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Id"] == LIST_ID
    assert message["X-Auto-Response-Suppress"] == "All"


def test_bare_sender_address_and_non_ascii_names_round_trip() -> None:
    digest = make_digest(make_item(), name="Siân Ó Briain")
    message = build_digest_message(
        digest,
        sender="reminders@example.org",
        message_id=MESSAGE_ID,
        list_id=LIST_ID,
        sent_at=datetime(2017, 6, 19, 7, 0, tzinfo=UTC),
    )
    parsed = reparsed(message)

    assert parsed["From"].addresses[0].addr_spec == "reminders@example.org"
    assert parsed["To"].addresses[0].display_name == "Siân Ó Briain"
    assert parsed["Date"] == "Mon, 19 Jun 2017 07:00:00 +0000"
    assert message.as_bytes().isascii()  # encoded words and quoted-printable, nothing raw


def test_wire_format_keeps_lines_short() -> None:
    raw = build(full_digest()).as_bytes()

    assert max(len(line) for line in raw.split(b"\r\n")) <= 78


# ---------------------------------------------------------------------------------------------
# Header safety

INJECTIONS = [
    "\r\nBcc: x@evil.example",
    "\nBcc: x@evil.example",
    "\rBcc: x@evil.example",
    "\x85Bcc: x@evil.example",
    "\u2028Bcc: x@evil.example",
    "\u2029Bcc: x@evil.example",
    "\x0bBcc: x@evil.example",
    "\x00\x1b\tBcc: x@evil.example",
]


def assert_no_extra_headers(message: EmailMessage) -> None:
    parsed = reparsed(message)
    assert set(parsed.keys()) == EXPECTED_HEADERS
    assert [a.addr_spec for a in parsed["To"].addresses] == ["eve@example.org"]
    for line in header_lines(message):
        name = line.split(b":", 1)[0].decode()
        assert line[:1] in (b" ", b"\t") or name in EXPECTED_HEADERS, line
    for name in ("To", "Subject"):
        assert str(parsed[name]).isprintable(), parsed[name]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_line_breaks_in_a_name_add_no_header(payload: str) -> None:
    digest = make_digest(make_item(), name=f"Eve{payload}", email="eve@example.org")

    message = build(digest)

    assert_no_extra_headers(message)
    assert reparsed(message)["To"].addresses[0].display_name == "Eve Bcc: x@evil.example"


@pytest.mark.parametrize("payload", INJECTIONS)
def test_line_breaks_in_the_partnership_add_no_header(payload: str) -> None:
    digest = make_digest(make_item(), partnership=f"Norfolk{payload}", email="eve@example.org")

    message = build(digest)

    assert_no_extra_headers(message)
    assert reparsed(message)["Subject"] == "Norfolk Bcc: x@evil.example actions: 1 overdue"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Alex  Morgan", "Alex Morgan"),
        ("  Alex\r\n\tMorgan  ", "Alex Morgan"),
        ("A\x85B\u2028C\u2029D\x00E\x7fF\u202eG", "A B C D E F G"),
        ("Siân Ó Briain", "Siân Ó Briain"),
    ],
)
def test_one_line_collapses_breaks_and_control_characters(value: str, expected: str) -> None:
    assert one_line(value) == expected


@pytest.mark.parametrize(
    "address",
    [
        "",
        "not an address",
        "alex.morgan@",
        "@example.org",
        "alex morgan@example.org",
        "alex..morgan@example.org",
        "alex@example.org, eve@evil.example",
        "alex@example.org\r\nBcc: x@evil.example",
        "alex@example.org\u2028",
        "siân@example.org",
    ],
)
def test_recipient_address_that_does_not_parse_is_refused(address: str) -> None:
    with pytest.raises(ValueError, match="recipient 'Alex Morgan'"):
        build(make_digest(make_item(), email=address))


@pytest.mark.parametrize(
    "sender",
    ["Safeguarding Partnership", "Partnership <reminders@>", "a@example.org, b@example.org"],
)
def test_sender_that_does_not_parse_is_refused(sender: str) -> None:
    with pytest.raises(ValueError, match="sender"):
        build_digest_message(
            make_digest(make_item()),
            sender=sender,
            message_id=MESSAGE_ID,
            list_id=LIST_ID,
            sent_at=SENT_AT,
        )


def test_sender_display_name_with_a_period_is_accepted() -> None:
    message = build_digest_message(
        make_digest(make_item()),
        sender="N.S.C.P. Reminders <reminders@example.org>",
        message_id=MESSAGE_ID,
        list_id=LIST_ID,
        sent_at=SENT_AT,
    )

    assert reparsed(message)["From"].addresses[0].display_name == "N.S.C.P. Reminders"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("message_id", "<a@b>\r\nBcc: x@evil.example"),
        ("list_id", "Reminders\n<x>"),
        ("list_id", ""),
    ],
)
def test_identifiers_with_line_breaks_are_refused(field: str, value: str) -> None:
    arguments = {"message_id": MESSAGE_ID, "list_id": LIST_ID, field: value}
    with pytest.raises(ValueError, match=field):
        build_digest_message(make_digest(make_item()), sender=SENDER, sent_at=SENT_AT, **arguments)


def test_naive_sent_at_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_digest_message(
            make_digest(make_item()),
            sender=SENDER,
            message_id=MESSAGE_ID,
            list_id=LIST_ID,
            sent_at=datetime(2017, 6, 19, 8, 0),  # the mistake under test
        )


# ---------------------------------------------------------------------------------------------
# Bodies


def test_markup_in_action_and_owner_is_escaped_in_html_and_verbatim_in_text() -> None:
    digest = make_digest(make_item(text=f"Review {SCRIPT} now", owner=SCRIPT))

    text, html = bodies(reparsed(build(digest)))

    assert f"Review {SCRIPT} now" in text
    assert f"Lead: {SCRIPT}" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html


def test_css_is_inlined_and_the_style_block_removed() -> None:
    _, html = bodies(reparsed(build(full_digest())))

    assert "<style" not in html
    page = BeautifulSoup(html, "html.parser")
    assert page.find_all("h2")
    assert all(h2.get("style") for h2 in page.find_all("h2"))
    assert page.find_all("th", scope="row")
    assert all(th.get("style") for th in page.find_all("th", scope="row"))
    assert "background-color: #0b3d6e" in html


def test_html_is_plain_accessible_markup() -> None:
    _, html = bodies(reparsed(build(full_digest())))

    assert '<html lang="en">' in html
    assert "<img" not in html
    assert "<caption" in html
    assert 'scope="col"' in html


def test_sections_run_from_the_highest_stage_down_in_both_parts() -> None:
    headings = [
        "Partnership (stage 4)",
        "Line manager (stage 2)",
        "Due soon",
        "Not yet due",
        "Resolved since your last digest",
        "Undelivered digests",
    ]

    for body in bodies(reparsed(build(full_digest()))):
        positions = [body.index(heading) for heading in headings]
        assert positions == sorted(positions), body


def test_items_are_grouped_by_theme_within_a_stage() -> None:
    digest = make_digest(
        make_item(ref="1.1", theme="Professional curiosity"),
        make_item(ref="3.2", theme="Ownership and accountability: management grip"),
        make_item(ref="1.4", theme="Professional curiosity"),
    )

    text, html = bodies(reparsed(build(digest)))

    for body in (text, html):
        assert body.count("Professional curiosity") == 1
        curiosity = body.index("Professional curiosity")
        ownership = body.index("Ownership and accountability")
        assert curiosity < body.index("1.1") < body.index("1.4") < ownership < body.index("3.2")


def test_text_part_shortens_a_long_action_and_html_keeps_it_whole() -> None:
    text, html = bodies(reparsed(build(make_digest(make_item(text=LONG_ACTION)))))

    flat_text = " ".join(text.split())
    assert LONG_ACTION not in flat_text
    shortened = flat_text.split("Action: ", 1)[1].split(" Lead:", 1)[0]
    assert shortened.endswith("…")
    assert 100 < len(shortened) <= 160
    assert LONG_ACTION.startswith(shortened.removesuffix("…"))
    assert LONG_ACTION in html


def test_each_item_shows_what_the_reader_needs() -> None:
    digest = make_digest(
        make_item(
            ref="4.6",
            source="Composite Action Plan (March 2017)",
            owner="Children's Services",
            target_date="2017-06-01",
            working_days_overdue=12,
            progress="Audit under way.",
            paused_until="2017-06-23",
            why="copied as line manager of Practice Lead",
        ),
        make_item(ref="5.1", target_date=None, working_days_overdue=0, unassigned=True),
    )

    for body in bodies(reparsed(build(digest))):
        assert "Alex Morgan" in body
        assert "Resolving Professional Disagreements" in body
        for expected in (
            "4.6",
            "Composite Action Plan (March 2017)",
            "Children",
            "1 June 2017",
            "12 working days",
            "Audit under way.",
            "paused until 23 June 2017",
            "copied as line manager of Practice Lead",
            "no target date",
            "lead agency not in the directory",
            "Replies are not read",
            "business manager",
        ):
            assert expected in body, expected


def test_no_overdue_line_when_not_overdue_and_no_progress_line_when_empty() -> None:
    digest = make_digest(make_item(stage=0, stage_name="Due soon", working_days_overdue=0))

    text, html = bodies(reparsed(build(digest)))

    for body in (text, html):
        assert "Overdue" not in body
        assert "Latest progress" not in body
        assert "paused" not in body


def test_one_working_day_is_singular() -> None:
    text, _ = bodies(reparsed(build(make_digest(make_item(working_days_overdue=1)))))

    assert "Overdue: 1 working day\n" in text


def test_resolved_and_undelivered_sections() -> None:
    text, html = bodies(reparsed(build(full_digest())))

    for body in (text, html):
        resolved = body.index("Resolved since your last digest")
        assert body.index("Publish the revised escalation policy.") > resolved
        undelivered = body.index("Undelivered digests")
        for detail in ("pat.lee@example.org", "12 June 2017", "550 5.1.1 mailbox unavailable"):
            assert body.index(detail) > undelivered


def test_sections_absent_when_empty() -> None:
    text, html = bodies(reparsed(build(make_digest(make_item()))))

    for body in (text, html):
        assert "Resolved since" not in body
        assert "Undelivered" not in body
        assert "Due soon" not in body


def test_line_breaks_in_progress_become_br_after_escaping() -> None:
    digest = make_digest(make_item(progress=f"March: agreed.\nJune: {SCRIPT}"))

    text, html = bodies(reparsed(build(digest)))

    assert "March: agreed.<br>June: &lt;script&gt;" in html
    assert "Latest progress: March: agreed.\n    June: <script>" in text


# ---------------------------------------------------------------------------------------------
# The subject rule


def at(stage: int, name: str = "", **changes: Any) -> Item:
    names = {
        -1: "Not yet due",
        0: "Due soon",
        1: "Practitioner",
        2: "Line manager",
        3: "Senior manager / designated safeguarding lead",
        4: "Partnership",
    }
    return make_item(stage=stage, stage_name=name or names[stage], **changes)


@pytest.mark.parametrize(
    ("items", "changes", "expected"),
    [
        pytest.param(
            (at(4), at(4), at(2), at(0)),
            {},
            "2 overdue at Partnership stage, 1 more overdue, 1 due soon",
            id="top-stage-named",
        ),
        pytest.param(
            (at(3), at(1), at(0), at(0)),
            {},
            "1 overdue at Senior manager / designated safeguarding lead stage, 1 more overdue, 2 due soon",
            id="stage-3-named",
        ),
        pytest.param((at(4),), {}, "1 overdue at Partnership stage", id="one-item-named-once"),
        pytest.param(
            (at(4), at(3), at(3), at(1), at(0), at(-1, unassigned=True)),
            {},
            "1 overdue at Partnership stage, 3 more overdue, 1 due soon, 1 unassigned",
            id="mixed-stages-partitioned",
        ),
        pytest.param((at(2), at(1)), {}, "2 overdue", id="below-stage-3-unnamed"),
        pytest.param((at(0),), {}, "1 due soon", id="only-due-soon"),
        pytest.param((), {"resolved": (at(1), at(2))}, "2 resolved", id="only-resolved"),
        pytest.param(
            (at(2), at(-1, unassigned=True)),
            {"resolved": (at(1),)},
            "1 overdue, 1 resolved, 1 unassigned",
            id="resolved-and-unassigned",
        ),
        pytest.param(
            (at(4, "Independent Chair"),),
            {},
            "1 overdue at Independent Chair stage",
            id="configured-stage-name",
        ),
        pytest.param(
            (),
            {"undelivered": (Undelivered("a@example.org", "2017-06-12", "550"),) * 2},
            "2 digests undelivered",
            id="undelivered-plural",
        ),
        pytest.param(
            (),
            {"undelivered": (Undelivered("a@example.org", "2017-06-12", "550"),)},
            "1 digest undelivered",
            id="undelivered-singular",
        ),
        pytest.param((), {}, "nothing outstanding", id="empty"),
    ],
)
def test_subject_rule(items: tuple[Item, ...], changes: dict[str, object], expected: str) -> None:
    digest = make_digest(*items, **changes)

    assert subject_line(digest) == f"{PARTNERSHIP} actions: {expected}"


@pytest.mark.parametrize(
    "stages",
    [(4,), (3,), (4, 4, 2, 0), (3, 1, 0, 0), (4, 3, 2, 1, 0, 0), (2, 1), (0,), (4, 4, 4)],
)
def test_subject_counts_each_item_once(stages: tuple[int, ...]) -> None:
    """The stage, overdue and due-soon parts partition the items: their numbers add up to the
    number of items, so a single item is never reported as two."""
    counts = subject_counts(make_digest(*(at(stage) for stage in stages)))

    numbers = {part: int(part.split(" ", 1)[0]) for part in counts}
    assert sum(numbers.values()) == len(stages)
    overdue = sum(number for part, number in numbers.items() if "overdue" in part)
    assert overdue == sum(stage >= 1 for stage in stages)


# ---------------------------------------------------------------------------------------------
# Templating


@pytest.mark.parametrize("environment", [html_environment, text_environment])
def test_missing_variable_is_an_error(environment: Callable[[], jinja2.Environment]) -> None:
    template = environment().from_string("Dear {{ missing }},")

    with pytest.raises(jinja2.UndefinedError):
        template.render()


def test_missing_variable_in_a_real_template_is_an_error() -> None:
    with pytest.raises(jinja2.UndefinedError):
        text_environment().get_template("email/digest/subject.txt").render(counts=["1 overdue"])


def test_html_environment_escapes_and_text_environment_does_not() -> None:
    source = "{{ value }}"

    assert html_environment().from_string(source).render(value=SCRIPT) == (
        "&lt;script&gt;alert(1)&lt;/script&gt;"
    )
    assert text_environment().from_string(source).render(value=SCRIPT) == SCRIPT


def test_environments_are_built_once() -> None:
    assert html_environment() is html_environment()
    assert text_environment() is text_environment()
    assert html_environment() is not text_environment()


@pytest.mark.parametrize(
    ("iso", "expected"), [("2017-06-01", "1 June 2017"), ("2018-12-31", "31 December 2018")]
)
def test_long_date(iso: str, expected: str) -> None:
    assert long_date(iso) == expected


def test_the_html_part_is_valid_markup(markup_checker: NuChecker) -> None:
    _, html = bodies(reparsed(build(full_digest())))
    valid_markup(html.encode("utf-8"), "the digest's HTML part")
