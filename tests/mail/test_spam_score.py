"""The digests as the relay receives them, DKIM-signed, scored by SpamAssassin with its local
rules (Debian's spamassassin; no network tests): 0 or less, as mail a public body sends
should be. GTUBE, the standard test spam, is scored too, so the check can fail."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.console import partnership
from tests.support.services import Recorder
from worker.app import App
from worker.cli import main

SCORE = re.compile(rb"^X-Spam-Status: \w+, score=(-?[\d.]+)", re.MULTILINE)
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def score(message: bytes, home: Path) -> float:
    """SpamAssassin's score with its local rules only, and nothing learnt between runs (no
    Bayes, no auto-learning, a home of its own)."""
    found = shutil.which("spamassassin")
    if found is None:
        raise RuntimeError("spamassassin is missing: scripts/test installs Debian's package")
    prefs = home / "user_prefs"
    prefs.touch()
    command = [found, "-L", "-t", "-p", str(prefs), "--cf", "use_bayes 0",
               "--cf", "bayes_auto_learn 0"]  # fmt: skip
    done = subprocess.run(command, input=message, capture_output=True, timeout=120,
                          check=True, env={**os.environ, "HOME": str(home)})  # fmt: skip
    matched = SCORE.search(done.stdout)
    assert matched, done.stdout[:2000]
    if float(matched[1]) > 0:  # which rules: the report SpamAssassin appends
        print(done.stdout.decode(errors="replace")[-3000:])
    return float(matched[1])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # scoring, not storage
def test_digests_score_zero_or_less_and_test_spam_far_more(
    app: App, relay: Recorder, signing: Path, tmp_path: Path
) -> None:
    partnership(app)
    period = app.rules().calendar().next_working_day(app.today())
    result = CliRunner().invoke(main, ["send", "--on", period.isoformat()])
    assert result.exit_code == 0, result.output
    digests = [raw for _, raw in relay.messages]
    assert len(digests) >= 3
    scores = [score(raw, tmp_path) for raw in digests[:3]]
    print(f"\nSPAMASSASSIN local rules, three digests: {scores}")
    assert all(s <= 0 for s in scores), scores
    spam = EmailMessage(policy=policy.SMTP)
    spam["From"], spam["To"], spam["Subject"] = "a@example.org", "b@example.org", "Offer"
    spam.set_content(GTUBE)
    assert score(spam.as_bytes(), tmp_path) >= 1000
