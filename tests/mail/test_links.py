"""Signing digest links: the key's sources, expiry by the caller's clock, and what is refused."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from worker.mail.links import (
    ACKNOWLEDGE,
    COMPLETE,
    ExpiredLinkError,
    Links,
    SigningKeyError,
    TamperedLinkError,
    WrongPurposeError,
    digest_links,
    signing_key,
)
from worker.settings import load_settings
from worker.web.http import redact

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
LINKS = Links(b"a-test-key-that-is-long-enough-to-use!", "https://r.example.org", timedelta(30))


def test_without_a_key_in_the_environment_one_is_made_once_with_mode_0600(
    signing_key_file: Path,
) -> None:
    settings = load_settings()
    assert settings.signing_key is None
    first = signing_key(settings)
    assert len(first) >= 32
    assert stat.S_IMODE(signing_key_file.stat().st_mode) == 0o600
    assert signing_key(settings) == first  # read back, not made again
    assert list(signing_key_file.parent.glob(".signing-key.*")) == []  # no temporary left


def test_a_key_from_the_environment_wins_and_must_be_long(signing_key_file: Path) -> None:
    settings = load_settings()
    settings.signing_key = SecretStr("k" * 40)
    assert signing_key(settings) == b"k" * 40
    assert not signing_key_file.exists()
    settings.signing_key = SecretStr("short")
    with pytest.raises(SigningKeyError, match="at least 32 characters"):
        signing_key(settings)


def test_a_key_file_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    settings = load_settings(signing_key_file=blocker / "signing-key")
    with pytest.raises(SigningKeyError, match="set REMINDERS_SIGNING_KEY"):
        signing_key(settings)


def test_a_link_is_valid_until_it_expires() -> None:
    token = LINKS.token(ACKNOWLEDGE, "action:1:agency:2", "Someone@Example.org", NOW)
    grant = LINKS.verify(token, ACKNOWLEDGE, NOW + timedelta(days=29, hours=23))
    assert (grant.key, grant.recipient) == ("action:1:agency:2", "someone@example.org")
    assert grant.expires == NOW + timedelta(days=30)
    with pytest.raises(ExpiredLinkError, match="23 December 2026"):
        LINKS.verify(token, ACKNOWLEDGE, NOW + timedelta(days=30))


def test_tampered_foreign_and_wrong_purpose_tokens_are_refused() -> None:
    token = LINKS.token(COMPLETE, "mi:3:establishment:1", "dsl@example.org", NOW)
    with pytest.raises(WrongPurposeError):
        LINKS.verify(token, ACKNOWLEDGE, NOW)
    payload, signature = token.rsplit(".", 1)
    for bad in (payload + "." + signature[::-1], payload[1:] + "." + signature, "", "...."):
        with pytest.raises(TamperedLinkError):
            LINKS.verify(bad, COMPLETE, NOW)
    other = Links(b"another-key-that-is-also-long-enough!!", LINKS.base_url, LINKS.valid_for)
    with pytest.raises(TamperedLinkError):
        other.verify(token, COMPLETE, NOW)


def test_a_signed_payload_that_is_not_a_link_is_refused() -> None:
    serializer = LINKS._serializer()
    for payload in ({"p": "delete", "k": "x", "r": "y", "n": "z", "e": 1}, ["p"], {"p": 1}):
        with pytest.raises(TamperedLinkError):
            LINKS.verify(serializer.dumps(payload), ACKNOWLEDGE, NOW)


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/feeds/agency/Tvi6Lth2mHRnQ8SbG9jqblfsVqdPvpYCJRyk0VuA6Y8.ics", "/feeds/agency/***.ics"),
        ("/feeds/agency/.ics", "/feeds/agency/***.ics"),
        ("/links/acknowledge/eyJwIjoi.abc", "/links/acknowledge/***"),
        ("/links/complete/a/b/c", "/links/complete/***"),
        ("/feeds/sessions.ics", "/feeds/sessions.ics"),
        ("/", "/"),
        # Unrouted addresses: a doubled slash, a wrong prefix, a token in the query.
        ("//feeds/agency/Tvi6Lth2mHRnQ8SbG9jqblfsVqdPvpYCJRyk0VuA6Y8.ics", "//feeds/agency/***"),
        ("/feed/agency/Tvi6Lth2mHRnQ8SbG9jqblfsVqdPvpYCJRyk0VuA6Y8", "/feed/agency/***"),
        ("venue=Norwich&t=Tvi6Lth2mHRnQ8SbG9jqblfsVqdPvpYCJRyk0VuA6Y8", "venue=Norwich&t=***"),
        ("/feeds/sessions/TLS-0217-T035.ics", "/feeds/sessions/TLS-0217-T035.ics"),
    ],
)
def test_secret_parts_of_addresses_are_never_logged(path: str, shown: str) -> None:
    assert redact(path) == shown


def test_digests_still_go_out_without_links_when_no_key_can_be_had(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    assert digest_links(load_settings(signing_key_file=blocker / "key"), NOW) is None
    assert "digests planned without Acknowledge / Mark complete links" in caplog.text
    assert digest_links(load_settings(), NOW) is not None
