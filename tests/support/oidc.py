"""A real OpenID Connect provider for the tests: oidc-provider-mock (Authlib's authorisation
server on Flask) on loopback, its sign-in form answered as a person would answer it.

What a provider that misbehaves, or an attacker in its place, would send is switched on by a
test: ID tokens whose claims are changed (another issuer, audience, tenant, an expiry in the
past, an old nonce) or left out (for UserInfo to give), signed with a key the provider
publishes or with one it does not; UserInfo's claims changed; a discovery document naming
another issuer, promising RFC 9207's `iss` in its answers, or listing the only ways a client
may authenticate to its token endpoint (which then refuses any other); and authorisation
responses naming an issuer. The token endpoint, keys and codes stay the provider's own; the
changed tokens are signed anew after the change.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey
from oidc_provider_mock import app as provider_app

from tests.support.services import wsgi_server

Environ = dict[str, Any]
CLIENT_SECRET = "not-a-real-secret-but-long-enough"  # the console's, as the tests set it
AUTHORIZE, TOKEN, USERINFO = "/oauth2/authorize", "/oauth2/token", "/userinfo"
CHANGED = (AUTHORIZE, TOKEN, USERINFO, "/jwks", "/.well-known/openid-configuration")


@dataclass
class Faults:
    """What the provider does wrong, until a test puts it right."""

    claims: dict[str, Any] = field(default_factory=dict)  # set in every ID token
    unpublished_key: bool = False  # sign with a key the JWKS does not list
    issuer: str | None = None  # what the discovery document says the issuer is
    algorithm: str | None = None  # "none", or "HS256" with the client's secret as the key
    without: set[str] = field(default_factory=set)  # left out of every ID token
    userinfo: dict[str, Any] = field(default_factory=dict)  # set in every UserInfo answer
    names_issuer: bool = False  # discovery promises RFC 9207's `iss` in authorisation answers
    answer_iss: str | None = None  # the `iss` put in each authorisation answer
    auth_methods: list[str] | None = None  # all the token endpoint takes, and discovery lists


@dataclass
class Provider:
    url: str
    faults: Faults = field(default_factory=Faults)
    issued: list[dict[str, Any]] = field(default_factory=list)  # each ID token's claims
    authenticated_with: list[str] = field(default_factory=list)  # each token request's method
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
        claims = {k: v for k, v in claims.items() if k not in self.faults.without}
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
        if path == TOKEN and not self.authenticated_as_listed(environ):
            start("401 Unauthorized", [("Content-Type", "application/json")])
            return [b'{"error": "invalid_client"}']
        if path not in CHANGED:
            answer: Iterable[bytes] = self.inner(environ, start)
            return answer
        kept: dict[str, Any] = {}

        def keep(status: str, headers: list[tuple[str, str]], exc: Any = None) -> Any:
            kept.update(status=status, headers=headers)
            return lambda data: None

        data = b"".join(self.inner(environ, keep))
        headers = [(k, v) for k, v in kept["headers"] if k.lower() != "content-length"]
        if path == AUTHORIZE:
            headers = [(k, self.naming(v) if k.lower() == "location" else v) for k, v in headers]
        elif kept["status"].startswith("200"):
            data = json.dumps(self.change(path, json.loads(data))).encode()
        start(kept["status"], [*headers, ("Content-Length", str(len(data)))])
        return [data]

    def authenticated_as_listed(self, environ: Environ) -> bool:
        """Note how a token request authenticates the client: False for a way not listed."""
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        basic = environ.get("HTTP_AUTHORIZATION", "").startswith("Basic ")
        posted = "client_secret" in parse_qs(body.decode())
        method = "client_secret_basic" if basic else "client_secret_post" if posted else "none"
        self.provider.authenticated_with.append(method)
        listed = self.provider.faults.auth_methods
        return listed is None or (method in listed and not (basic and posted))

    def naming(self, location: str) -> str:
        """The authorisation answer's `location`, with the faults' issuer added."""
        if self.provider.faults.answer_iss is None:
            return location
        return f"{location}&{urlencode({'iss': self.provider.faults.answer_iss})}"

    def change(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        provider, faults = self.provider, self.provider.faults
        if path == TOKEN and "id_token" in body:
            body["id_token"] = provider.changed(body["id_token"])
        elif path == USERINFO:
            body.update(faults.userinfo)
        elif path == "/jwks":
            body["keys"].append(provider.own.as_dict(private=False))
        else:
            body["issuer"] = faults.issuer or body["issuer"]
            if faults.names_issuer:
                body["authorization_response_iss_parameter_supported"] = True
            if faults.auth_methods is not None:
                body["token_endpoint_auth_methods_supported"] = faults.auth_methods
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
