"""Link tokens never hold a word SpamAssassin takes for a bitcoin address, so no digest scores
for its links; and links sent in the earlier format work until they expire."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeSerializer

import worker.mail.links
from worker.mail.links import (
    ACKNOWLEDGE,
    COMPLETE,
    PURPOSES,
    ExpiredLinkError,
    Grant,
    Links,
    PreviewLinkError,
    TamperedLinkError,
    WrongPurposeError,
    spaced,
    unspaced,
)

# SpamAssassin 4.0.1's rule, as Debian's spamassassin installs it in
# /usr/share/spamassassin/72_active.cf:
#   body __BITCOIN_ID /\b(?<!=)(?:[13](?:(?:[-_=\s][a-km-zA-HJ-NP-Z1-9]){29,34}|...)\b/
# PDS_BTC_ID is `__BITCOIN_ID && !__URL_BTC_ID && ...`: a word in the body text (a link in the
# plain-text part is body text) that is not a whole segment of a URI's path. Perl's \b and
# \s under the (?aa) SpamAssassin compiles it with are Python's under re.ASCII.
BTC_ID = re.compile(
    r"\b(?<!=)(?:[13](?:(?:[-_=\s][a-km-zA-HJ-NP-Z1-9]){29,34}|[a-km-zA-HJ-NP-Z1-9]{29,34})"
    r"|bc1[acdefghjklmnpqrstuvwxyz234567890]{30,90}"
    r"|b[-_=\s]c[-_=\s]1(?:[-_=\s][acdefghjklmnpqrstuvwxyz234567890]){30,90})\b",
    re.ASCII,
)
BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
UNRESERVED = set(BASE64URL + ".~")  # RFC 3986, section 2.3
KEY = b"a-test-key-that-is-long-enough-to-use!"
BASE = "https://r.example.org"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
LINKS = Links(KEY, BASE, timedelta(days=30))
RULES = [Path("/usr/share/spamassassin"), Path("/var/lib/spamassassin")]


def test_the_rule_copied_here_is_the_one_spamassassin_has() -> None:
    """Where SpamAssassin's rules are installed (scripts/test installs them), an update that
    changes the rule fails here: the token format may have to change with it."""
    found = [line.split(None, 2)[2].strip() for folder in RULES if folder.is_dir()
             for cf in sorted(folder.rglob("*.cf"))
             for line in cf.read_text(encoding="utf-8", errors="replace").splitlines()
             if line.split()[:2] == ["body", "__BITCOIN_ID"]]  # fmt: skip
    if not found:
        pytest.skip("SpamAssassin's rules are not installed")
    assert set(found) == {f"/{BTC_ID.pattern}/"}


@contextmanager
def nonce_drawn(nonce: str) -> Iterator[None]:
    """Links made inside get `nonce` where they would get a random one."""
    with mock.patch.object(worker.mail.links, "secrets",
                           SimpleNamespace(token_urlsafe=lambda _: nonce)):  # fmt: skip
        yield


@settings(max_examples=300, deadline=None)
# In the earlier format this link read .../links/acknowledge/.eJwtyUEKg0AMRuG7ZF0kowU1K68yjD9D
# UUwn2Ttu6gmnAc03uAHKZojoPXDlNdM07XMiBNmZFCKv-NAUi7FNNm9GITq5MyWyeIm6eEV63AYPZaQuykR-zyFk...,
# and SpamAssassin reads its word 1AhoZgWtWPFnEEPWm7ZX6YSJGZouqR1r as a bitcoin address.
@example(KEY, ACKNOWLEDGE, False, "action:1:agency:2", "someone@example.org",
         "nonce00000000304", NOW)  # fmt: skip
@given(
    key=st.binary(min_size=32, max_size=64),
    purpose=st.sampled_from(PURPOSES),
    preview=st.booleans(),
    obligation=st.text(max_size=60),
    recipient=st.emails() | st.text(max_size=60),
    nonce=st.text(alphabet=BASE64URL, min_size=16, max_size=16),
    now=st.datetimes(datetime(2001, 1, 1), datetime(2099, 1, 1), timezones=st.just(UTC)),
)
def test_no_link_holds_a_word_spamassassin_takes_for_a_bitcoin_address(
    key: bytes,
    purpose: str,
    preview: bool,
    obligation: str,
    recipient: str,
    nonce: str,
    now: datetime,
) -> None:
    links = Links(key, BASE, timedelta(days=30))
    with nonce_drawn(nonce):
        url = links.url(purpose, obligation, recipient, now, preview)
    assert BTC_ID.search(url) is None, url
    assert BTC_ID.search(f"{url}.") is None, url  # at the end of a sentence too
    token = url.removeprefix(f"{BASE}/links/{purpose}/")
    assert set(token) <= UNRESERVED, token
    if preview:
        try:
            links.verify(token, purpose, now)
        except PreviewLinkError:
            return
        raise AssertionError("a preview link verified")
    expires = datetime.fromtimestamp(int((now + timedelta(days=30)).timestamp()), UTC)
    grant = Grant(purpose, obligation, recipient.lower(), nonce, expires)
    assert links.verify(token, purpose, now) == grant


SIGNED = st.text(alphabet=BASE64URL + ".", max_size=400)


@example("1" + "z" * 34)  # a bitcoin address to SpamAssassin, whole and at every length
@example("x-3" + "2" * 29 + "-y")
@example("1" + "-2" * 34)
@example("bc1" + "q" * 90)
@given(SIGNED)
def test_no_word_of_a_token_can_be_a_bitcoin_address_whatever_the_serializer_writes(
    signed: str,
) -> None:
    token = spaced(signed)
    for text in (token, f"/{token}.", f"{token}\n{token}"):
        assert BTC_ID.search(text) is None, text
    assert max(map(len, re.findall(r"\w+", token, re.ASCII)), default=0) <= 20
    assert unspaced(token) == signed


def test_a_token_is_the_serializers_output_with_a_tilde_before_every_20_characters() -> None:
    with nonce_drawn("wxzUGAqtuvCahz2T"):
        token = LINKS.token(ACKNOWLEDGE, "action:1:agency:2", "someone@example.org", NOW)
    signed = token.replace("~", "")
    assert token == "".join(f"~{signed[at : at + 20]}" for at in range(0, len(signed), 20))
    assert LINKS._serializer().loads(signed)["n"] == "wxzUGAqtuvCahz2T"
    assert len(token) - len(signed) == -(-len(signed) // 20)  # 10 characters on 187


def old_token(nonce: str, key: bytes = KEY) -> str:
    """A link as digests carried it before the tokens were spaced: the serializer's output."""
    serializer = URLSafeSerializer(key, salt="reminders.digest-link",
                                   signer_kwargs={"digest_method": hashlib.sha256})  # fmt: skip
    expires = int((NOW + timedelta(days=30)).timestamp())
    payload = {"p": ACKNOWLEDGE, "k": "action:1:agency:2", "r": "someone@example.org",
               "n": nonce, "e": expires}  # fmt: skip
    token: str = serializer.dumps(payload)
    return token


def test_links_sent_in_the_earlier_format_work_until_they_expire() -> None:
    plain, compressed = old_token("wxzUGAqtuvCahz2T"), old_token("nonce00000000304")
    assert plain.startswith("ey")
    assert compressed.startswith(".")  # zlib-compressed: a repetitive payload is shorter so
    assert BTC_ID.search(compressed)  # the fault: SpamAssassin scored a digest for this link
    for token, nonce in ((plain, "wxzUGAqtuvCahz2T"), (compressed, "nonce00000000304")):
        grant = LINKS.verify(token, ACKNOWLEDGE, NOW + timedelta(days=29, hours=23))
        assert (grant.key, grant.recipient, grant.nonce) == (
            "action:1:agency:2", "someone@example.org", nonce)  # fmt: skip
        with pytest.raises(WrongPurposeError):
            LINKS.verify(token, COMPLETE, NOW)
        with pytest.raises(ExpiredLinkError):
            LINKS.verify(token, ACKNOWLEDGE, NOW + timedelta(days=30))
    forged = old_token("wxzUGAqtuvCahz2T", key=b"another-key-that-is-also-long-enough!!")
    with pytest.raises(TamperedLinkError):
        LINKS.verify(forged, ACKNOWLEDGE, NOW)


def tampered(token: str) -> bool:
    try:
        LINKS.verify(token, ACKNOWLEDGE, NOW)
    except TamperedLinkError:
        return True
    return False


def test_a_changed_token_is_refused() -> None:
    with nonce_drawn("wxzUGAqtuvCahz2T"):
        token = LINKS.token(ACKNOWLEDGE, "action:1:agency:2", "someone@example.org", NOW)
    assert LINKS.verify(token, ACKNOWLEDGE, NOW).nonce == "wxzUGAqtuvCahz2T"
    second = token.index("~", 1)
    other = "B" if token[5] == "A" else "A"
    changed = {
        "a character of the payload": token[:5] + other + token[6:],
        "the signature cut short": token[:-5],
        "a tilde taken out": token[:second] + token[second + 1 :],
        "a tilde moved": token[:second] + token[second + 1] + "~" + token[second + 2 :],
        "a tilde added at the end": token + "~",
        "a tilde doubled": token[:second] + "~" + token[second:],
        "the first tilde taken out": token[1:],
        "the tildes alone": "~~~",
        "a tilde alone": "~",
    }
    assert [what for what, bad in changed.items() if not tampered(bad)] == []
    other_installation = Links(b"another-key-that-is-also-long-enough!!", BASE, timedelta(30))
    with pytest.raises(TamperedLinkError):
        other_installation.verify(token, ACKNOWLEDGE, NOW)
