"""Hostile names and text through the real SMTP path, and a relay with a self-signed
certificate.

`reminders send` runs in this process against a real SMTP server (aiosmtpd); the assertions
are on the raw bytes the server received and on the delivery ledger.
"""

from __future__ import annotations

import email
import email.policy
import json
import shutil
import smtplib
import ssl
import subprocess
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select

from tests.conftest import ROOT, new_version, seed
from tests.support.helpers import records, run_import
from tests.support.services import Recorder, smtp_server
from worker.app import App
from worker.cli import main
from worker.config.versions import DIRECTORY
from worker.models import Delivery, DeliveryState

PERIOD = "2017-02-16"  # a Thursday: 1.1 and 1.2 below have reached the partnership stage
ATTACKER = "evil@attacker.example"
BREAKS = ("\r", "\n", "\x85", "\u2028", "\u2029")
# Every header a digest has, at the top and in its parts; anything else was injected.
HEADERS = {"from", "to", "subject", "date", "message-id", "auto-submitted", "list-id",
           "x-auto-response-suppress", "mime-version", "content-type",
           "content-transfer-encoding"}  # fmt: skip
# The directory refuses CR and LF in a person's name; these are the line breaks it lets
# through, each followed by what a careless mailer would turn into a header.
NURSE = f"Designated\x85Bcc: {ATTACKER}\u2028Nurse\u2029X-Injected: nurse"
MANAGER = f"Business\u2028Cc: {ATTACKER}\x85Manager"
CHAIR = "Independent\u2029Chair\u2028Subject: forged"
# The partnership's short name starts every Subject.
SHORT_NAME = f"NS\u2029CP\u2028Bcc: {ATTACKER}\x85X-Injected: subject"
SCRIPT = "<script>alert(1)</script>"
CAP = (
    "Hostile Composite Action Plan\n\n"
    "Professional curiosity\t\t\t\t\t\n"
    "Ref\tSCR Ref\tAction\tLead agency\tTarget date\tProgress\n"
    f"1.1\tA\tCheck {SCRIPT}\u2028now\tHealth\t01/01/17\tStarted {SCRIPT}\n"
    f"1.2\tB\tReview {SCRIPT}\u2028the plan\t{SCRIPT}\u2028Agency\t01/01/17\t\n"
)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def config_copy(folder: Path, edit: dict[str, str]) -> Path:
    """A copy of config/ with people's names (by e-mail address) and the short name edited."""
    target = folder / "config"
    shutil.copytree(ROOT / "config", target)
    path = target / "directory.yaml"
    directory: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    partnership = directory["partnership"]
    people = [partnership["business_manager"], partnership["independent_chair"]]
    people += [c for agency in directory["agencies"] for c in agency.get("contacts", [])]
    for person in people:
        person["name"] = edit.get(person["email"], person["name"])
    partnership["short_name"] = edit.get("short_name", partnership["short_name"])
    partnership["name"] = edit.get("partnership_name", partnership["name"])
    path.write_text(yaml.safe_dump(directory, allow_unicode=False), encoding="utf-8")
    return target


def header_block(raw: bytes) -> list[bytes]:
    """The raw header lines of the top-level message, as received."""
    head, separator, _ = raw.partition(b"\r\n\r\n")
    assert separator, "no blank line after the headers"
    return head.split(b"\r\n")


def parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def assert_no_injected_header(raw: bytes, recipient: str) -> EmailMessage:
    lines = header_block(raw)
    # 7-bit headers: no raw NEL, U+2028 or U+2029 bytes for a client to break a line on.
    assert all(line.isascii() for line in lines)
    assert all(b"\r" not in line and b"\n" not in line for line in lines)
    names = [line.split(b":", 1)[0].decode().lower() for line in lines if line[:1] not in b" \t"]
    assert set(names) <= HEADERS, names
    assert sorted(names) == sorted(set(names)), names  # each header once
    message = parsed(raw)
    assert len(message.get_all("To", [])) == 1
    assert message.get_all("Bcc") is None
    assert message.get_all("Cc") is None
    [to] = message["To"].addresses
    assert to.addr_spec == recipient
    for name, value in message.items():
        assert not any(b in str(value) for b in BREAKS), (name, value)
        assert ATTACKER not in str(value) or name.lower() in {"to", "subject"}, (name, value)
    for part in message.iter_parts():
        assert {k.lower() for k in part} <= HEADERS
    return message


@pytest.fixture
def hostile_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = config_copy(
        tmp_path,
        {
            "designated.nurse@example.org": NURSE,
            "business.manager@example.org": MANAGER,
            "independent.chair@example.org": CHAIR,
            "short_name": SHORT_NAME,
        },
    )
    monkeypatch.setenv("REMINDERS_CONFIG_DIR", str(folder))
    return folder


@pytest.mark.parametrize(
    ("what", "name", "key"),
    [
        (
            "designated.nurse@example.org",
            f"Designated\r\nBcc: {ATTACKER}",
            "agencies[1].contacts[0].name",
        ),
        ("business.manager@example.org", "Business\nManager", "partnership.business_manager.name"),
        (
            "independent.chair@example.org",
            "Independent\rChair",
            "partnership.independent_chair.name",
        ),
        ("short_name", f"NSCP\r\nBcc: {ATTACKER}", "partnership.short_name"),
        ("partnership_name", "Norfolk Safeguarding\nChildren Partnership", "partnership.name"),
    ],
)
def test_config_check_refuses_cr_and_lf_in_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, what: str, name: str, key: str
) -> None:
    monkeypatch.setenv("REMINDERS_CONFIG_DIR", str(config_copy(tmp_path, {what: name})))
    monkeypatch.setenv("REMINDERS_DATABASE_URL", f"sqlite:///{tmp_path / 'unused.db'}")
    code, output = run("config", "check")
    assert code == 1
    assert "directory.yaml" in output
    assert key in output


def test_config_check_accepts_the_other_line_breaks(hostile_config: Path, app: App) -> None:
    code, output = run("config", "check")
    assert code == 0, output
    assert f"{hostile_config / 'directory.yaml'}: ok" in output


def test_no_header_injected_and_markup_escaped_on_the_wire(
    app: App, hostile_config: Path, relay: Recorder, tmp_path: Path
) -> None:
    new_version(app, DIRECTORY, (hostile_config / "directory.yaml").read_text(encoding="utf-8"))
    document = tmp_path / "hostile-cap.txt"
    document.write_text(CAP, encoding="utf-8")
    [result] = run_import(app, document)
    assert result.error is None
    stored = {a["ref"]: a for a in records(app, "actions")}
    # The importer made each cell one line; the markup is kept as the plan's words.
    assert stored["1.1"]["action"] == f"Check {SCRIPT} now"
    assert stored["1.2"]["action"] == f"Review {SCRIPT} the plan"
    assert stored["1.2"]["unassigned"] is True
    assert stored["1.2"]["lead_agencies"] == ["<script>alert(1)<", "script> Agency"]  # split on "/"
    assert not any(b in json.dumps(stored, ensure_ascii=False) for b in BREAKS)

    code, output = run("send", "--on", PERIOD)
    assert code == 0, output
    with app.sessions() as session:
        rows = list(session.scalars(select(Delivery)))
    assert rows
    assert all(r.state is DeliveryState.SENT for r in rows), [
        (r.recipient, r.last_error) for r in rows
    ]
    # Every message went to its one recipient and to nobody named in a header value.
    assert sorted(rcpts for rcpts, _ in relay.messages) == sorted([r.recipient] for r in rows)

    for recipients, raw in relay.messages:
        message = assert_no_injected_header(raw, recipients[0])
        assert message["Subject"].startswith(f"NS CP Bcc: {ATTACKER} X-Injected: subject actions: ")
        html_part, text_part = message.get_body(("html",)), message.get_body(("plain",))
        assert html_part is not None
        assert text_part is not None
        html, text = html_part.get_content(), text_part.get_content()
        assert "<script" not in html.lower()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert SCRIPT in text

    nurse = parsed(relay.to("designated.nurse@example.org")[0])
    assert nurse["To"].addresses[0].display_name == (
        f"Designated Bcc: {ATTACKER} Nurse X-Injected: nurse"
    )
    assert "    Action: Check <script>alert(1)</script> now\n" in body(nurse, "plain")
    assert "Check &lt;script&gt;alert(1)&lt;/script&gt; now" in body(nurse, "html")
    assert "    Latest progress: Started <script>alert(1)</script>\n" in body(nurse, "plain")
    assert "Started &lt;script&gt;alert(1)&lt;/script&gt;" in body(nurse, "html")
    manager = parsed(relay.to("business.manager@example.org")[0])
    assert manager["To"].addresses[0].display_name == f"Business Cc: {ATTACKER} Manager"
    assert "    Action: Review <script>alert(1)</script> the plan\n" in body(manager, "plain")
    assert "&lt;script&gt;alert(1)&lt;" in body(manager, "html")  # the lead agency cell
    chair = parsed(relay.to("independent.chair@example.org")[0])
    assert chair["To"].addresses[0].display_name == "Independent Chair Subject: forged"
    assert len(chair.get_all("Subject", [])) == 1


def body(message: EmailMessage, kind: str) -> str:
    part = message.get_body((kind,))
    assert part is not None
    content: str = part.get_content()
    return content.replace("\r\n", "\n")


# --- A relay with a self-signed certificate ------------------------------------------------


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A key and a self-signed certificate for 127.0.0.1, made with the openssl command."""
    key, cert = folder / "relay.key", folder / "relay.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return key, cert


@pytest.fixture
def tls_smtp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Recorder, Path]]:
    """A real SMTP server that offers STARTTLS with a self-signed certificate and refuses
    mail without it; `send` is pointed at it with STARTTLS on (the default)."""
    key, cert = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with smtp_server(tls_context=context, require_starttls=True) as (recorder, port):
        monkeypatch.setenv("REMINDERS_SMTP__HOST", "127.0.0.1")
        monkeypatch.setenv("REMINDERS_SMTP__PORT", str(port))
        monkeypatch.setenv("REMINDERS_SMTP__STARTTLS", "true")
        monkeypatch.setenv("REMINDERS_RETRY_FIRST_DELAY_SECONDS", "0.05")
        monkeypatch.delenv("REMINDERS_SMTP__CA_FILE", raising=False)
        # The server really insists on TLS: plain MAIL is refused.
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo()
            assert client.has_extn("starttls")
            code, _ = client.mail("someone@example.org")
            assert code == 530
        yield recorder, cert


def ledger(app: App) -> list[Delivery]:
    with app.sessions() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.recipient)))


def test_a_self_signed_relay_is_refused_until_trusted_in_configuration(
    app: App, tls_smtp: tuple[Recorder, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder, cert = tls_smtp
    results = run_import(app, seed("000"), seed("002"))
    assert [r.error for r in results] == [None, None]

    code, output = run("send", "--on", PERIOD)
    assert code == 0, output
    refused = ledger(app)
    assert len(refused) >= 10
    assert f"{len(refused)} retry" in output
    assert recorder.count() == 0
    for row in refused:
        assert row.state is DeliveryState.PENDING
        assert row.attempts == 1
        assert row.sent_at is None
        # Ours, then OpenSSL's reason (its words vary with its version).
        assert (row.last_error or "").startswith("the mail server's certificate was refused: ")
        assert len(row.last_error or "") > len("the mail server's certificate was refused: ")
    message_ids = {r.recipient: r.message_id for r in refused}

    # Explicit trust: the certificate itself as the CA file. The retry delay (at most 0.05 s
    # here) has passed, so the next run takes the same rows and delivers each once.
    monkeypatch.setenv("REMINDERS_SMTP__CA_FILE", str(cert))
    time.sleep(0.2)
    code, output = run("send", "--on", PERIOD)
    assert code == 0, output
    assert f"{len(refused)} sent" in output
    delivered = ledger(app)
    assert [r.state for r in delivered] == [DeliveryState.SENT] * len(refused)
    assert [r.attempts for r in delivered] == [2] * len(refused)
    assert recorder.count() == len(refused)
    for row in delivered:
        [raw] = recorder.to(row.recipient)
        assert parsed(raw)["Message-ID"] == row.message_id == message_ids[row.recipient]

    # Nothing left to send: a third run sends nothing again.
    code, output = run("send", "--on", PERIOD)
    assert code == 0, output
    assert "0 digest(s) to send" in output
    assert recorder.count() == len(refused)
