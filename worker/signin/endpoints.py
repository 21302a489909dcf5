"""The provider's token and UserInfo endpoints: how this service authenticates to the token
endpoint, what it takes from the answers, and which UserInfo claims it believes.

* The client authenticates as the provider's discovery document says it may
  (`token_endpoint_auth_methods_supported`; `client_secret_basic` when it says nothing, as
  OpenID Connect Discovery has it): `client_secret_basic` when listed, else
  `client_secret_post`; a public client (no secret configured) sends only its id.
* Claims requested by scope, `email` and `email_verified` among them, are returned from the
  UserInfo endpoint (OpenID Connect Core 5.4), not always in the ID token. UserInfo's answer
  is used only when its `sub` is the ID token's (Core 5.3.2), and only for the claims that
  name an address, which replace the ID token's as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx
from pydantic import SecretStr

BASIC, POST = "client_secret_basic", "client_secret_post"
DEFAULT_METHODS = (BASIC,)  # OpenID Connect Discovery 1.0, section 3, when none are listed
ADDRESS_CLAIMS = ("email", "email_verified", "preferred_username", "upn")


class EndpointRefusedError(Exception):
    """What the provider's endpoint answered that cannot be used, in words for the log."""


@dataclass(frozen=True)
class Tokens:
    """What the token endpoint gave for a code."""

    id_token: str
    access_token: str | None


def auth_methods(document: dict[str, Any]) -> tuple[str, ...]:
    """The client authentication methods a discovery document says the token endpoint takes."""
    listed = document.get("token_endpoint_auth_methods_supported")
    if not isinstance(listed, list) or not listed:
        return DEFAULT_METHODS
    return tuple(str(m) for m in listed)


def client_authentication(
    methods: tuple[str, ...], client_id: str, secret: SecretStr | None
) -> tuple[dict[str, str], httpx.BasicAuth | None]:
    """The fields to add to the token request and the HTTP authentication to send with it."""
    if secret is None:
        return {}, None  # a public client: its id, in the fields already
    if BASIC in methods:  # RFC 6749 2.3.1: both form-urlencoded before Basic encodes them
        return {}, httpx.BasicAuth(quote_plus(client_id), quote_plus(secret.get_secret_value()))
    if POST in methods:
        return {"client_secret": secret.get_secret_value()}, None
    raise EndpointRefusedError(
        f"the token endpoint takes neither {BASIC} nor {POST}, only {', '.join(methods)}"
    )


def exchange(
    http: httpx.Client, url: str, fields: dict[str, str], auth: httpx.BasicAuth | None
) -> Tokens:
    """The tokens the token endpoint at `url` gives for `fields` (the code and its verifier)."""
    try:
        response = http.post(url, data=fields, auth=auth) if auth else http.post(url, data=fields)
        response.raise_for_status()
        answer = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise EndpointRefusedError(f"the code could not be exchanged: {exc}") from exc
    if not isinstance(answer, dict) or not isinstance(answer.get("id_token"), str):
        raise EndpointRefusedError("the provider's answer has no ID token")
    access = answer.get("access_token")
    return Tokens(answer["id_token"], access if isinstance(access, str) else None)


def userinfo(http: httpx.Client, url: str, access_token: str) -> dict[str, Any]:
    """The claims the UserInfo endpoint at `url` returns for `access_token` (as JSON)."""
    try:
        response = http.get(url, headers={"authorization": f"Bearer {access_token}",
                                          "accept": "application/json"})  # fmt: skip
        response.raise_for_status()
        claims = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise EndpointRefusedError(f"UserInfo could not be read: {exc}") from exc
    if not isinstance(claims, dict):
        raise EndpointRefusedError("UserInfo's answer is not a JSON object")
    return claims


def with_userinfo(claims: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    """The ID token's `claims` with UserInfo's address claims in place of its own, when
    UserInfo speaks of the same person."""
    if not isinstance(info.get("sub"), str) or info["sub"] != claims.get("sub"):
        raise EndpointRefusedError("UserInfo speaks of another subject than the ID token")
    kept = {k: v for k, v in claims.items() if k not in ADDRESS_CLAIMS}
    return kept | {k: info[k] for k in ADDRESS_CLAIMS if k in info}
