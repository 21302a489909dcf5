"""Organisation sign-ins under way: begun when a person chooses a provider, taken once when
the provider sends the browser back.

Each flow has a random `state` (sent to the provider and back) and a random browser token
(in a cookie of this browser only); both are kept as SHA-256. The nonce and the PKCE
verifier are made from the browser token, so a flow can be finished only by the browser that
began it, once, within `FLOW_LIFE`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from worker.models import SignInFlow
from worker.signin.oidc import FlowSecrets
from worker.tokens import hash_token, new_token, plausible

FLOW_LIFE = timedelta(minutes=10)


def begin_flow(session: Session, provider: str, now: datetime) -> tuple[str, str]:
    """A new flow with `provider`: its state, and the token for the browser's cookie."""
    state, browser = new_token(), new_token()
    session.add(
        SignInFlow(state_hash=hash_token(state), browser_hash=hash_token(browser),
                   provider=provider, created_at=now, expires_at=now + FLOW_LIFE)
    )  # fmt: skip
    return state, browser


def take_flow(session: Session, provider: str, state: str, browser: str, now: datetime) -> bool:
    """Finish the flow of `state` begun by `browser` with `provider`: True once, within its
    life; False for any other state, browser, provider, or a second try."""
    if not (plausible(state) and plausible(browser)):
        return False
    taken = session.execute(
        update(SignInFlow)
        .where(SignInFlow.state_hash == hash_token(state),
               SignInFlow.browser_hash == hash_token(browser), SignInFlow.provider == provider,
               SignInFlow.taken_at.is_(None), SignInFlow.expires_at > now)
        .values(taken_at=now)
    )  # fmt: skip
    return getattr(taken, "rowcount", 0) == 1


def secrets_of(browser: str) -> FlowSecrets:
    """The nonce and PKCE verifier of the flow begun by `browser` (43 characters each)."""
    return FlowSecrets(derived(browser, b"nonce"), derived(browser, b"pkce verifier"))


def derived(browser: str, purpose: bytes) -> str:
    digest = hmac.new(browser.encode(), purpose, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
