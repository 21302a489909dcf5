"""A real OpenID Connect provider for the tests: oidc-provider-mock (Authlib's authorisation
server on Flask) on loopback, its sign-in form answered as a person would answer it.

What a provider that misbehaves, or an attacker in its place, would send is switched on by a
test: ID tokens whose claims are changed (another issuer, audience, tenant, an expiry in the
past, an old nonce), signed with a key the provider publishes or with one it does not, and a
discovery document naming another issuer. The token endpoint, keys and codes stay the
provider's own; the changed tokens are signed anew after the change.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey
from oidc_provider_mock import app as provider_app

from tests.support.services import wsgi_server

Environ = dict[str, Any]
CLIENT_SECRET = "not-a-real-secret-but-long-enough"  # the console's, as the tests set it


@dataclass
class Faults:
    """What the provider does wrong, until a test puts it right."""

    claims: dict[str, Any] = field(default_factory=dict)  # set in every ID token
    unpublished_key: bool = False  # sign with a key the JWKS does not list
    issuer: str | None = None  # what the discovery document says the issuer is
    algorithm: str | None = None  # "none", or "HS256" with the client's secret as the key


@dataclass
class Provider:
    url: str
    faults: Faults = field(default_factory=Faults)
    issued: list[dict[str, Any]] = field(default_factory=list)  # each ID token's claims
    own: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "signed-again"}))
    stray: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "stray"}))

    def person(self, sub: str, **claims: Any) -> None:
        """A user of the provider, with the claims its ID tokens carry."""
        answer = httpx.put(f"{self.url}/users/{quote(sub, safe='')}", json=claims, timeout=10)
        assert answer.status_code == 204, answer.text

    def authorise(self, url: str, sub: str, *, deny: bool = False) -> str:
        """Answer the provider's sign-in form at `url` as `sub` (or deny it): where it
        sends the browser."""
        fields = {"sub": sub, **({"action": "deny"} if deny else {})}
        answer = httpx.post(url, data=fields, timeout=10)
        assert answer.status_code == 302, answer.text
        return answer.headers["location"]

    def changed(self, token: str) -> str:
        """`token` with the faults' claims, signed again with a key named in its header (the
        provider's own tokens name none, which OpenID Connect allows only while one key is
        published): one in the published set, or with the faults, one that is not."""
        claims = json.loads(b64(token.split(".")[1]))
        claims.update(self.faults.claims)
        self.issued.append(claims)
        if self.faults.algorithm == "none":
            header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
            return f"{header}.{token.split('.')[1]}."
        if self.faults.algorithm == "HS256":
            secret = OctKey.import_key(CLIENT_SECRET.encode())
            return jwt.encode({"alg": "HS256"}, claims, secret, algorithms=["HS256"])
        key = self.stray if self.faults.unpublished_key else self.own
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class Misbehaving:
    """WSGI: the provider's app, with the faults applied to its answers."""

    def __init__(self, provider: Provider) -> None:
        self.inner, self.provider = provider_app(), provider

    def __call__(self, environ: Environ, start: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path not in ("/oauth2/token", "/jwks", "/.well-known/openid-configuration"):
            answer: Iterable[bytes] = self.inner(environ, start)
            return answer
        kept: dict[str, Any] = {}

        def keep(status: str, headers: list[tuple[str, str]], exc: Any = None) -> Any:
            kept.update(status=status, headers=headers)
            return lambda data: None

        data = b"".join(self.inner(environ, keep))
        if kept["status"].startswith("200"):
            data = json.dumps(self.change(path, json.loads(data))).encode()
        headers = [(k, v) for k, v in kept["headers"] if k.lower() != "content-length"]
        start(kept["status"], [*headers, ("Content-Length", str(len(data)))])
        return [data]

    def change(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        provider = self.provider
        if path == "/oauth2/token" and "id_token" in body:
            body["id_token"] = provider.changed(body["id_token"])
        elif path == "/jwks":
            body["keys"].append(provider.own.as_dict(private=False))
        elif provider.faults.issuer is not None:
            body["issuer"] = provider.faults.issuer
        return body


@contextmanager
def oidc_provider() -> Iterator[Provider]:
    """The provider on http://localhost:<port>, stopped afterwards."""
    provider = Provider("")
    with wsgi_server(Misbehaving(provider), "localhost") as url:
        provider.url = url
        yield provider


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def path_of(location: str) -> str:
    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}"


def keys_of(provider: Provider) -> KeySet:
    return KeySet.import_key_set(httpx.get(f"{provider.url}/jwks", timeout=10).json())
