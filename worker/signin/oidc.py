"""Organisation sign-in: OpenID Connect's authorisation code flow, with PKCE, state and nonce.

What a provider says is believed only as far as it is checked:
* its discovery document must name exactly the issuer it was configured with;
* the ID token must be signed by a key the provider publishes, with an asymmetric algorithm
  (never `none`, never a shared secret), name that issuer, name our client among its
  audiences (and as `azp` when there are several), not have expired, and carry the nonce
  made for this browser's sign-in;
* for a Microsoft Entra ID registration open to several tenants the issuer is a template,
  so the token's tenant (`tid`) must be one allowed and the issuer that tenant's.
The address is the `email` claim when the provider says it is verified, else (when the
provider is trusted for it) `preferred_username` or `upn`; when the ID token vouches for no
address, UserInfo's claims of the same subject are read (`worker.signin.endpoints`, which also
authenticates to the token endpoint as discovery says). The answer that brings the browser
back must name the provider as its issuer (RFC 9207) when it names one, and must name one
when the provider says it does (`authorization_response_iss_parameter_supported`).
Discovery documents and keys are fetched once an hour per process, and the keys again when a
token names one not yet seen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwa import EdDSAAlgorithm
from joserfc.jwk import GuestProtocol, Key, KeySet
from joserfc.jws import JWSRegistry

from worker.settings import TENANT, OidcProvider, Settings
from worker.signin.endpoints import (
    DEFAULT_METHODS,
    EndpointRefusedError,
    Tokens,
    auth_methods,
    client_authentication,
    exchange,
    userinfo,
    with_userinfo,
)

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
              "EdDSA", "Ed25519")  # fmt: skip
LEEWAY = 120  # seconds the provider's clock and ours may differ
KEEP_SECONDS = 3600.0  # how long a discovery document and its keys are used
AGAIN_SECONDS = 60.0  # and the least time between fetches for a key not yet seen
SCOPE = "openid email profile"


class NamedEdDSA(EdDSAAlgorithm):
    """`EdDSA`, the name providers still give their Ed25519 signatures (RFC 9864 names them
    `Ed25519` now), taken knowingly: without the warning joserfc gives for the old name."""

    security_warning = ""


def registry() -> JWSRegistry:
    """The algorithms an ID token may be signed with, `EdDSA` without its warning."""
    chosen = JWSRegistry(algorithms=ALGORITHMS)
    chosen.algorithms = {**JWSRegistry.algorithms, "EdDSA": NamedEdDSA()}
    return chosen


REGISTRY = registry()


class SignInRefusedError(Exception):
    """Why a sign-in cannot go on, in words for the log (the person sees a plain page)."""


@dataclass(frozen=True)
class Expected:
    """What the ID token of one sign-in must say."""

    issuer: str  # with {tenantid} for a registration open to several tenants
    client_id: str
    nonce: str
    tenants: tuple[str, ...] = ()


def verify_id_token(token: str, keys: KeySet, expected: Expected, now: datetime) -> dict[str, Any]:
    """The claims of `token` once every check holds; SignInRefusedError saying which did not."""
    try:
        claims = jwt.decode(token, signer(keys), registry=REGISTRY).claims
    except (JoseError, ValueError) as exc:
        raise SignInRefusedError(f"the ID token's signature does not verify: {exc}") from exc
    issuer = issuer_for(claims, expected)
    registry = jwt.JWTClaimsRegistry(
        now=int(now.timestamp()),
        leeway=LEEWAY,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": expected.client_id},
        exp={"essential": True},
        nonce={"essential": True, "value": expected.nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise SignInRefusedError(f"the ID token is not for this sign-in: {exc}") from exc
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != expected.client_id:
        raise SignInRefusedError("the ID token was issued to another client (azp)")
    return claims


def signer(keys: KeySet) -> Callable[[GuestProtocol], Key]:
    """The key a token names (`kid`); with none named, the provider's only key (OpenID
    Connect Core 10.1: with several keys, a token must name its own)."""

    def choose(token: GuestProtocol) -> Key:
        kid = token.headers().get("kid")
        if kid is None and len(keys.keys) == 1:
            return keys.keys[0]
        return keys.get_by_kid(kid)

    return choose


def issuer_for(claims: dict[str, Any], expected: Expected) -> str:
    """The issuer the token must name: the configured one, or the template's for its tenant."""
    if TENANT not in expected.issuer:
        return expected.issuer
    tenant = claims.get("tid")
    if not isinstance(tenant, str) or tenant not in expected.tenants:
        raise SignInRefusedError(f"the tenant {tenant!r} is not one allowed")
    return expected.issuer.replace(TENANT, tenant)


def address_of(claims: dict[str, Any], provider: OidcProvider) -> str:
    """The e-mail address the provider vouches for, in lower case, within its domains."""
    address = vouched(claims, provider.trust_username)
    domain = address.rpartition("@")[2]
    if provider.domains and not any(domain == d or domain.endswith("." + d)
                                    for d in provider.domains):  # fmt: skip
        raise SignInRefusedError(f"{domain} is not a domain this provider speaks for")
    return address


def vouches(claims: dict[str, Any], trust_username: bool) -> bool:
    """Whether `claims` name an address the provider vouches for (see `vouched`)."""
    try:
        vouched(claims, trust_username)
    except SignInRefusedError:
        return False
    return True


def vouched(claims: dict[str, Any], trust_username: bool) -> str:
    email = claims.get("email")
    if isinstance(email, str) and email and claims.get("email_verified") is True:
        return email.strip().lower()
    if trust_username:
        for name in ("preferred_username", "upn"):
            value = claims.get(name)
            if isinstance(value, str) and "@" in value:
                return value.strip().lower()
    raise SignInRefusedError("the provider gave no verified e-mail address")


@dataclass
class Discovered:
    """What this service uses of a provider's discovery document, and its keys."""

    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    keys: KeySet
    userinfo_endpoint: str | None = None
    auth_methods: tuple[str, ...] = DEFAULT_METHODS
    names_issuer: bool = False  # RFC 9207: its answers carry `iss`
    fetched: float = field(default_factory=time.monotonic)


class Organisations:
    """The configured providers, their discovery documents and keys, in this process."""

    def __init__(self, settings: Settings, http: httpx.Client | None = None) -> None:
        self.settings = settings
        self.http = http or httpx.Client(  # no connection kept: a few requests an hour
            timeout=15, follow_redirects=False, limits=httpx.Limits(max_keepalive_connections=0)
        )
        self.found: dict[str, Discovered] = {}

    def provider(self, key: str) -> OidcProvider:
        if key not in self.settings.oidc:
            raise SignInRefusedError(f"no organisation sign-in is called {key!r}")
        return self.settings.oidc[key]

    def discovered(self, key: str, *, again: bool = False) -> Discovered:
        known = self.found.get(key)
        age = time.monotonic() - known.fetched if known else KEEP_SECONDS + 1
        if known is None or age > KEEP_SECONDS or (again and age > AGAIN_SECONDS):
            known = self.found[key] = self.discover(self.provider(key))
        return known

    def discover(self, provider: OidcProvider) -> Discovered:
        document = self.fetch(provider.discovery)
        if document.get("issuer") != provider.issuer:
            raise SignInRefusedError(
                f"{provider.discovery} names the issuer {document.get('issuer')!r}, "
                f"not {provider.issuer!r} as configured"
            )
        try:
            authorise, token, jwks = (
                str(document[n]) for n in ("authorization_endpoint", "token_endpoint", "jwks_uri")
            )
            keys = KeySet.import_key_set(self.fetch(jwks))  # type: ignore[arg-type]
        except (KeyError, JoseError, ValueError, TypeError) as exc:
            raise SignInRefusedError(f"{provider.discovery}: no usable {exc}") from exc
        info = document.get("userinfo_endpoint")
        return Discovered(
            authorise, token, jwks, keys, info if isinstance(info, str) else None,
            auth_methods(document),
            document.get("authorization_response_iss_parameter_supported") is True,
        )  # fmt: skip

    def fetch(self, url: str) -> dict[str, Any]:
        try:
            response = self.http.get(url, headers={"accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SignInRefusedError(f"{url} could not be read: {exc}") from exc
        if not isinstance(document, dict):
            raise SignInRefusedError(f"{url} is not a JSON object")
        return document

    def authorisation_url(self, key: str, back: str, state: str, secrets: FlowSecrets) -> str:
        """Where to send the browser to sign in with provider `key`."""
        provider, found = self.provider(key), self.discovered(key)
        return str(
            prepare_grant_uri(
                found.authorization_endpoint, provider.client_id, "code", redirect_uri=back,
                scope=SCOPE, state=state, nonce=secrets.nonce,
                code_challenge=create_s256_code_challenge(secrets.verifier),
                code_challenge_method="S256",
            )
        )  # fmt: skip

    def answered_by(self, key: str, iss: str | None) -> None:
        """Refuse an authorisation response not from provider `key` (RFC 9207): one naming
        another issuer, or naming none when the provider says its answers do."""
        provider, found = self.provider(key), self.discovered(key)
        if iss is None and found.names_issuer:
            raise SignInRefusedError("the answer names no issuer, which this provider's do")
        if iss is not None and iss not in issuers_of(provider):
            raise SignInRefusedError(f"the answer names the issuer {iss!r}, not this provider")

    def address(self, key: str, code: str, back: str, secrets: FlowSecrets, now: datetime
                ) -> str:  # fmt: skip
        """The address the provider vouches for in exchange for `code`: from the verified ID
        token, or from UserInfo when the token vouches for none."""
        provider, found = self.provider(key), self.discovered(key)
        try:
            tokens = self.exchange(key, code, back, secrets.verifier)
            claims = self.verified(key, tokens.id_token, secrets, now)
            if not vouches(claims, provider.trust_username):
                claims = with_userinfo(claims, self.userinfo(found, tokens))
        except EndpointRefusedError as exc:
            raise SignInRefusedError(str(exc)) from exc
        return address_of(claims, provider)

    def verified(self, key: str, token: str, secrets: FlowSecrets, now: datetime
                 ) -> dict[str, Any]:  # fmt: skip
        """The claims of ID token `token`, verified with the provider's keys (fetched again
        when it names one not yet seen)."""
        provider = self.provider(key)
        expected = Expected(provider.issuer, provider.client_id, secrets.nonce, provider.tenants)
        found = self.discovered(key)
        if not any(k.kid == kid_of(token) for k in found.keys.keys):
            found = self.discovered(key, again=True)  # the provider has turned its keys over
        return verify_id_token(token, found.keys, expected, now)

    def exchange(self, key: str, code: str, back: str, verifier: str) -> Tokens:
        provider, found = self.provider(key), self.discovered(key)
        fields = {"grant_type": "authorization_code", "code": code, "redirect_uri": back,
                  "code_verifier": verifier, "client_id": provider.client_id}  # fmt: skip
        more, auth = client_authentication(found.auth_methods, provider.client_id,
                                           self.settings.oidc_client_secrets.get(key))  # fmt: skip
        return exchange(self.http, found.token_endpoint, fields | more, auth)

    def userinfo(self, found: Discovered, tokens: Tokens) -> dict[str, Any]:
        """UserInfo's claims, from a provider that has the endpoint and gave an access token."""
        if found.userinfo_endpoint is None or tokens.access_token is None:
            raise SignInRefusedError("the provider gave no verified e-mail address")
        return userinfo(self.http, found.userinfo_endpoint, tokens.access_token)


def issuers_of(provider: OidcProvider) -> set[str]:
    """The issuers provider `provider` answers as: its own, or its template's for each tenant."""
    if TENANT not in provider.issuer:
        return {provider.issuer}
    return {provider.issuer.replace(TENANT, tenant) for tenant in provider.tenants}


@dataclass(frozen=True)
class FlowSecrets:
    """A sign-in's nonce and PKCE verifier (both made from its browser's cookie)."""

    nonce: str
    verifier: str


def kid_of(token: str) -> str | None:
    try:
        kid = jws.extract_compact(token.encode()).headers().get("kid")
    except (JoseError, ValueError):
        return None
    return kid if isinstance(kid, str) else None
