"""DKIM: digests sent through the test relay carry a signature that verifies against the
record `reminders mail dns` prints (the record handed to the verifier: no network)."""

from __future__ import annotations

import re
from pathlib import Path

import dkim
import pytest
from click.testing import CliRunner

from tests.mail.conftest import BOUNCES, DOMAIN, SELECTOR, key_file
from tests.support.console import partnership
from tests.support.services import Recorder
from worker.app import App
from worker.cli import main

ZONE_LINE = re.compile(r"^(\S+)\. IN TXT (.+)$", re.MULTILINE)


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def printed_records() -> dict[str, str]:
    """`reminders mail dns`, read as a resolver would: name → the TXT strings joined."""
    return {name: "".join(re.findall(r'"([^"]*)"', value))
            for name, value in ZONE_LINE.findall(cli("mail", "dns"))}  # fmt: skip


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # signing is the same on both
def test_every_digest_sent_is_signed_and_verifies_against_the_printed_record(
    app: App, relay: Recorder, signing: Path
) -> None:
    partnership(app)
    cli("send", "--on", app.rules().calendar().next_working_day(app.today()).isoformat())
    records = printed_records()
    assert records[f"_dmarc.{DOMAIN}"].startswith("v=DMARC1; p=none")
    assert records[DOMAIN].startswith("v=spf1 ")
    name = f"{SELECTOR}._domainkey.{DOMAIN}"

    def resolver(asked: bytes, timeout: int = 5) -> bytes | None:
        return records[name].encode() if asked.decode().rstrip(".") == name else None

    assert len(relay.messages) >= 3
    assert set(relay.senders) == {BOUNCES}  # late bounces come back to the bounce mailbox
    for _, raw in relay.messages:
        header = raw.split(b"\r\n\r\n", 1)[0].decode()
        assert header.startswith("DKIM-Signature:")
        signed = re.search(r"h=([^;]+);", header.replace("\r\n", "").replace(" ", ""))
        assert signed is not None
        assert {"from", "to", "subject", "date", "message-id"} <= set(signed[1].lower().split(":"))
        assert "c=relaxed/relaxed" in header.replace(" ", "")
        assert dkim.verify(raw, dnsfunc=resolver)
        altered = raw.replace(b"Subject: ", b"Subject: Re: ", 1)
        assert not dkim.verify(altered, dnsfunc=resolver)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # signing is the same on both
def test_a_key_too_short_is_refused_naming_its_file(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "short"
    folder.mkdir()
    monkeypatch.setenv("REMINDERS_DKIM__DOMAIN", DOMAIN)
    monkeypatch.setenv("REMINDERS_DKIM__KEY_FILE", str(key_file(folder, bits=1024)))
    result = CliRunner().invoke(main, ["mail", "dns"])
    assert result.exit_code == 1
    assert f"{folder / 'dkim.pem'}: a DKIM key is RSA of at least 2048 bits" in result.output
