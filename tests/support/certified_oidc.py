"""panva's oidc-provider (npm; OpenID Certified), run by Node on loopback with its defaults
(tests/support/oidc_provider.mjs), and its development login and consent pages answered as a
person would answer them.

Nothing here changes what the provider says: a test that wants another configuration (a
signing key, the client authentication it takes) starts a provider of its own with it.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx

from tests.support.services import ROOT, free_port, kill_hard, wait_for

SCRIPT = ROOT / "tests" / "support" / "oidc_provider.mjs"
FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*>.*?name="prompt" value="(\w+)"', re.S)


@dataclass(frozen=True)
class Certified:
    """A running oidc-provider: its issuer, and the client it knows."""

    url: str
    client_id: str
    secret: str

    def authorise(self, url: str, login: str) -> str:
        """Sign in at `url` (the authorisation request) as `login` and consent: where the
        provider then sends the browser."""
        with httpx.Client(timeout=10) as browser:
            answer = browser.get(url)
            for _ in range(8):
                where = urljoin(str(answer.url), str(answer.headers.get("location", "")))
                if answer.is_redirect and not where.startswith(self.url):
                    return str(where)
                answer = self.step(browser, answer, login)
        raise AssertionError(f"oidc-provider never sent the browser back: {answer.text[:500]}")

    def step(self, browser: httpx.Client, answer: httpx.Response, login: str) -> httpx.Response:
        """The provider's next page: a redirect followed, or its form filled in and sent."""
        if answer.is_redirect:
            return browser.get(urljoin(str(answer.url), answer.headers["location"]))
        found = FORM.search(answer.text)
        assert found, f"no login or consent form: {answer.status_code} {answer.text[:500]}"
        action, prompt = html.unescape(found[1]), found[2]
        fields = {"prompt": prompt, "login": login, "password": "any"}
        if prompt != "login":
            fields = {"prompt": prompt}
        return browser.post(urljoin(str(answer.url), action), data=fields)


@contextmanager
def certified_provider(
    redirect_uri: str,
    accounts: dict[str, dict[str, Any]],
    *,
    client: dict[str, Any] | None = None,
    configuration: dict[str, Any] | None = None,
    ed25519: bool = False,
) -> Iterator[Certified]:
    """oidc-provider on http://localhost:<port>, knowing one client (its metadata updated by
    `client`) and `accounts` (id: claims); stopped afterwards."""
    port, secret = free_port(), "a-secret-for-oidc-provider-tests-only"
    metadata = {"client_id": "partnership-console", "client_secret": secret,
                "redirect_uris": [redirect_uri], **(client or {})}  # fmt: skip
    asked = {"port": port, "client": metadata, "accounts": accounts,
             "configuration": configuration or {}, "ed25519": ed25519}  # fmt: skip
    process = subprocess.Popen(["node", str(SCRIPT), json.dumps(asked)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    url = f"http://localhost:{port}"
    try:
        wait_for(lambda: answers(url, process), 30, "oidc-provider to answer")
        yield Certified(url, metadata["client_id"], secret)
    finally:
        kill_hard(process)


def answers(url: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"oidc-provider stopped ({process.returncode}); scripts/test: npm ci")
    try:
        return httpx.get(f"{url}/.well-known/openid-configuration", timeout=2).is_success
    except httpx.HTTPError:
        return False
