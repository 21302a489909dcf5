"""Secret tokens in addresses and cookies: made at random, kept only as their SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import secrets

# Long enough for any token we make (43 characters); anything longer is not worth hashing.
MAX_TOKEN_LENGTH = 100


def new_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def plausible(token: str) -> bool:
    """Worth looking up: not empty and not absurdly long."""
    return 0 < len(token) <= MAX_TOKEN_LENGTH


def same(stored_hash: str, token: str) -> bool:
    """`token` hashes to `stored_hash`, compared in constant time."""
    return hmac.compare_digest(stored_hash, hash_token(token))
