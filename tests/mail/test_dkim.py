"""DKIM: digests sent through the test relay carry a signature that verifies against the
record `reminders mail dns` prints (the record handed to the verifier: no network)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import checkdmarc.dmarc
import dkim
import pytest
from checkdmarc.dmarc import parse_dmarc_record
from checkdmarc.mta_sts import parse_mta_sts_policy, parse_mta_sts_record
from checkdmarc.smtp_tls_reporting import parse_smtp_tls_reporting_record
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


def spf_refusal(record: str) -> str:
    """What Mail::SPF (Debian's libmail-spf-perl, the SPF library of SpamAssassin and many
    MTAs) says of `record`: "" when it parses as SPF v1."""
    script = ("use Mail::SPF::v1::Record; eval { Mail::SPF::v1::Record->new_from_string($ARGV[0]) };"
              " print $@ ? \"$@\" : '';")  # fmt: skip
    return subprocess.run(["perl", "-e", script, record], capture_output=True, text=True,
                          timeout=30, check=True).stdout  # fmt: skip


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # no database in it
@pytest.mark.parametrize(("host", "mechanism"), [
    ("192.0.2.25", "ip4:192.0.2.25"), ("2001:db8::25", "ip6:2001:db8::25"),
    ("127.0.0.1", "a"), ("localhost", "a"), ("relay.example.org", "a:relay.example.org"),
])  # fmt: skip
def test_every_printed_record_passes_a_real_parser(
    app: App, signing: Path, monkeypatch: pytest.MonkeyPatch, host: str, mechanism: str
) -> None:
    monkeypatch.setenv("REMINDERS_SMTP__HOST", host)
    monkeypatch.setenv("REMINDERS_SMTP__STARTTLS", "true")
    printed = cli("mail", "dns", "--mx", "mx1.example.org", "--mx", "mx2.example.org.")
    records = {name: "".join(re.findall(r'"([^"]*)"', value))
               for name, value in ZONE_LINE.findall(printed)}  # fmt: skip
    spf = records[DOMAIN]
    assert spf == f"v=spf1 {mechanism} -all"
    assert spf_refusal(spf) == ""
    assert "EJunkInTerm" in spf_refusal("v=spf1 a:127.0.0.1 -all")  # as it was printed
    # DMARC: the syntax; where its reports go cannot be asked of the NCSC's DNS from here.
    monkeypatch.setattr(checkdmarc.dmarc, "verify_dmarc_report_destination", lambda *a, **k: None)
    dmarc = parse_dmarc_record(records[f"_dmarc.{DOMAIN}"], DOMAIN)
    assert dmarc["tags"]["p"]["value"] == "none"
    tls = parse_smtp_tls_reporting_record(records[f"_smtp._tls.{DOMAIN}"])
    assert tls["tags"]["rua"]["value"] == ["mailto:tls-rua@mailcheck.service.gov.uk"]
    sts = parse_mta_sts_record(records[f"_mta-sts.{DOMAIN}"])
    policy_lines = re.findall(r"^;   (.*)$", printed, re.MULTILINE)
    policy = parse_mta_sts_policy("\r\n".join(policy_lines) + "\r\n")["policy"]
    assert (policy["mode"], policy["mx"]) == ("testing", ["mx1.example.org", "mx2.example.org"])
    again = cli("mail", "dns", "--mx", "mx1.example.org", "--mx", "mx2.example.org.")
    assert again == printed  # the id follows the policy, not the day
    enforced = cli("mail", "dns", "--mx", "mx1.example.org", "--enforce")
    enforced_id = re.search(r"v=STSv1; id=(\w+)", enforced)
    assert enforced_id is not None
    assert enforced_id[1] != sts["tags"]["id"]
    assert "mode: enforce" in enforced


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # no database in it
def test_without_mx_hosts_no_mta_sts_policy_is_printed(app: App, signing: Path) -> None:
    printed = cli("mail", "dns")
    assert "_mta-sts" not in "".join(ZONE_LINE.findall(printed)[i][0] for i in range(3))
    assert "give each MX host of the domain (--mx HOST)" in printed
    assert "<each MX host" not in printed
