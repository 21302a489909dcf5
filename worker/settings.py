"""Settings: `config/settings.yaml`, overridden by `REMINDERS_*` environment variables.

Secrets (the SMTP password, the link-signing key, the backups' origin key and identity) are
read from the environment only; a settings file that contains one is refused, so that a secret
never lands in version control.
"""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from limits import parse
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from worker.importers.columns import DEFAULT_NAMES, merged_names
from worker.importers.limits import Limits
from worker.paths import CONFIG_DIR, VAR_DIR
from worker.yaml_files import ConfigError, describe_errors, mapping, read_yaml

# Keys that hold a secret however they are spelt: "SIGNING_KEY", "Smtp: {Password: …}".
SECRET_NAMES = frozenset({"smtppassword", "signingkey", "password", "passwd", "secret", "token",
                          "backuporiginkey", "backupidentity"})  # fmt: skip
SECRET_ENDINGS = ("password", "secret", "secrets", "token", "apikey")
URL_KEYS = ("database_url", "broker_url")


LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class KnownIssue(BaseModel):
    """Content that does not meet the regulations: what, which WCAG 2.2 success criteria it
    fails, and by when it will be fixed (the sample statement asks for both)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1)
    criteria: tuple[str, ...] = ()  # e.g. "1.4.10 Reflow"
    fix_by: date | None = None


class Accessibility(BaseModel):
    """What the accessibility statement (/accessibility) says that differs between
    installations, in the parts of GOV.UK's sample statement that the Public Sector Bodies
    Accessibility Regulations 2018 expect."""

    model_config = ConfigDict(extra="forbid")

    # Who runs the service ("This website is run by ..."); default: the privacy notice's
    # controller.
    run_by: str | None = None
    # Who answers a report of an accessibility problem, and within how many working days.
    contact_email: str = "business.manager@example.org"
    reply_days: int = Field(default=5, ge=1, le=60)
    # How far the service meets WCAG 2.2 AA, in the regulations' words.
    status: Literal["fully", "partially", "not"] = "partially"
    status_text: str = (
        "This service is partially compliant with the Web Content Accessibility Guidelines "
        "version 2.2 AA standard, due to the non-compliances listed below."
    )
    # Non-compliance with the regulations: each a sentence or two (or text, criteria, fix_by).
    known_issues: tuple[KnownIssue, ...] = (
        KnownIssue(
            text="Some wide tables (the preview of a rules change, the preview of an import, "
            "the directory) scroll sideways on a small screen instead of reflowing.",
            criteria=("1.4.10 Reflow",),
            fix_by=date(2027, 6, 30),
        ),
        KnownIssue(
            text="The Word and Excel reports the console makes have not been checked with "
            "assistive technology.",
            fix_by=date(2027, 6, 30),
        ),
    )
    # Content the partnership judges a disproportionate burden to fix, and content outside
    # the regulations' scope (each a sentence or two; none by default).
    disproportionate_burden: tuple[str, ...] = ()
    not_in_scope: tuple[str, ...] = (
        "The partnership's own documents (action plans and MI sheets) that the import history "
        "keeps are given back exactly as they were uploaded; they are the partnership's "
        "publications, and their accessibility is answered for where they are published.",
    )
    last_tested: date = date(2026, 12, 4)
    how_tested: str = (
        "Every page of the service is checked automatically on every change, in the Chromium "
        "browser, with axe-core and the Nu HTML Checker; the pages were also used with the "
        "keyboard alone and at 400% zoom by the team that builds the service."
    )
    prepared: date = date(2026, 12, 4)
    last_reviewed: date = date(2026, 12, 8)

    @field_validator("known_issues", mode="before")
    @classmethod
    def _issues(cls, value: object) -> object:
        """A known issue may be written as its text alone."""
        if isinstance(value, list | tuple):
            return tuple({"text": v} if isinstance(v, str) else v for v in value)
        return value


class Privacy(BaseModel):
    """Who answers for the personal data the service keeps (the privacy notice, /privacy)."""

    model_config = ConfigDict(extra="forbid")

    controller: str = (
        "The safeguarding partnership: the local authority, the integrated care board and the "
        "chief officer of police for the area, as its safeguarding partners"
    )
    # Whom people write to about their data: a subject access request, a correction, erasure.
    contact_email: str = "business.manager@example.org"
    # The data protection officer, where the partnership names one.
    dpo_email: str | None = None


class Smtp(BaseModel):
    """A mail relay. STARTTLS with certificate verification for any relay but one on this
    machine, unless explicitly turned off; never a login without TLS."""

    model_config = ConfigDict(extra="forbid")

    host: str
    port: int = Field(default=587, ge=1, le=65535)
    username: str | None = None
    starttls: bool | None = None  # None: on, except for a relay on this machine
    # A CA bundle to trust in addition to the system's, e.g. for a relay with its own CA.
    ca_file: Path | None = None
    timeout_seconds: float = Field(default=30.0, gt=0)

    @property
    def uses_tls(self) -> bool:
        return self.starttls if self.starttls is not None else self.host not in LOCAL_HOSTS

    @model_validator(mode="after")
    def _no_login_in_clear(self) -> Smtp:
        if self.username and not self.uses_tls:
            raise ValueError(
                "a username with STARTTLS off would send the password in clear: "
                "turn starttls on (the relay must offer it)"
            )
        return self


SIGN_IN_KINDS = ("business manager", "independent chair", "agency contact", "school DSL")
SignInKind = Literal["business manager", "independent chair", "agency contact", "school DSL"]


class OidcProvider(BaseModel):
    """An organisation's accounts (OpenID Connect), shown as "Sign in with <name>". Its client
    secret comes from the environment only: REMINDERS_OIDC_CLIENT_SECRETS__<KEY>."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    # Exactly as the provider's discovery document spells it. For a Microsoft Entra ID
    # registration open to several tenants: https://login.microsoftonline.com/{tenantid}/v2.0
    # with `tenants` listing the tenant ids allowed, and `discovery_url` set.
    issuer: str
    client_id: str = Field(min_length=1)
    discovery_url: str | None = None  # default: issuer + /.well-known/openid-configuration
    tenants: tuple[str, ...] = ()
    # Take preferred_username or upn as the address when no verified e-mail is given (Entra
    # ID, whose user principal names are the staff's addresses): only with `domains`.
    trust_username: bool = False
    # The mail domains whose addresses this provider may vouch for (its organisation's own,
    # subdomains included); an address outside them is refused. Empty: any.
    domains: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _tenants_with_template(self) -> OidcProvider:
        template = TENANT in self.issuer
        if template and not (self.tenants and self.discovery_url):
            raise ValueError(f"an issuer with {TENANT} needs tenants and discovery_url")
        if self.tenants and not template:
            raise ValueError(f"tenants are for an issuer with {TENANT} in it")
        if self.trust_username and not self.domains:
            raise ValueError("trust_username needs domains: the mail domains it speaks for")
        for url in (self.issuer, self.discovery_url or self.issuer):
            if urlsplit(url).scheme != "https" and urlsplit(url).hostname not in LOCAL_HOSTS:
                raise ValueError(f"{url}: an issuer is reached over https")
        return self

    @property
    def discovery(self) -> str:
        return self.discovery_url or self.issuer.rstrip("/") + "/.well-known/openid-configuration"


TENANT = "{tenantid}"


class Notify(BaseModel):
    """GOV.UK Notify as the mail transport (worker/mail/notify.py). The API key comes from
    the environment only (REMINDERS_NOTIFY_API_KEY), as does the token Notify's delivery
    receipts carry (REMINDERS_NOTIFY_CALLBACK_TOKEN)."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = "https://api.notifications.service.gov.uk"
    # One e-mail template per kind of message, each with the subject ((subject)) and the
    # body ((body)): the digest, and the console's sign-in link.
    templates: dict[Literal["digest", "sign_in"], str]
    # Requests a minute (Notify's limit: 3,000 for each type of key of a service, so every
    # key of one type shares it), counted through the broker, when it is Redis, by every
    # worker. The type is the one chosen when the key was made in Notify.
    rate: str = "3000/minute"
    key_type: Literal["live", "team", "test"] = "live"
    timeout_seconds: float = Field(default=30.0, gt=0)

    @field_validator("templates")
    @classmethod
    def _both(cls, value: dict[str, str]) -> dict[str, str]:
        missing = {"digest", "sign_in"} - set(value)
        if missing:
            raise ValueError(f"a template id is needed for {', '.join(sorted(missing))}")
        return value


class Dkim(BaseModel):
    """DKIM signing of the mail sent through SMTP (worker/mail/dkim.py)."""

    model_config = ConfigDict(extra="forbid")

    domain: str = Field(min_length=3)  # d=: the From address's domain, or a parent of it
    selector: str = Field(default="reminders", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    key_file: Path  # an unencrypted PEM RSA key of 2048 bits or more, readable by us only


class Settings(BaseSettings):
    """Everything that differs between installations, with safe embedded defaults."""

    model_config = SettingsConfigDict(
        # An empty variable (docker-compose's `${X:-}`) means "not set": the default holds.
        env_prefix="REMINDERS_",
        env_nested_delimiter="__",
        extra="forbid",
        env_ignore_empty=True,
    )

    database_url: str = f"sqlite:///{VAR_DIR / 'reminders.db'}"
    # The embedded default needs no server: kombu's SQLAlchemy transport on a SQLite file.
    broker_url: str = f"sqla+sqlite:///{VAR_DIR / 'broker.db'}"
    public_base_url: str = "http://localhost:8000"
    partnership_domain: str = "reminders.example.org"
    timezone: str = "Europe/London"
    course_code_pattern: str = r"[A-Z]{3}-\d{4}-[A-Z]\d{3}"
    # Headings an action plan's columns go by, per field; a list given here replaces that
    # field's defaults (worker/importers/columns.py).
    column_names: dict[str, tuple[str, ...]] = Field(default_factory=lambda: dict(DEFAULT_NAMES))
    config_dir: Path = CONFIG_DIR
    # How often the beat asks whether digests are due (seconds, UTC; worker/delivery/planning.py).
    tick_seconds: float = Field(default=60.0, gt=0)
    # First retry delay after a temporary mail failure; it doubles up to 15 minutes.
    retry_first_delay_seconds: float = Field(default=30.0, gt=0)
    # Digests one worker process sends at once. They are threads: sending is mostly waiting
    # on the relay, so more sends in flight, not more processes, keep up with it.
    send_concurrency: int = Field(default=8, ge=1, le=64)
    # How long a worker may hold a claimed digest before another may take it over.
    lease_seconds: float = Field(default=300.0, gt=0)
    # A planned digest still waiting this long is queued again (a lost broker or worker).
    requeue_after_seconds: float = Field(default=600.0, gt=0)
    # Redis re-delivers a task not acknowledged within this time; keep retries far below it.
    visibility_timeout_seconds: float = Field(default=3600.0, gt=0)
    # For demonstrations and tests only: the worker's clock runs this far ahead of (or behind)
    # the real one, so a period in the past or future can be replayed with a real worker.
    clock_offset: timedelta = timedelta(0)
    mail_from: str = "Safeguarding Partnership <reminders@example.org>"
    # Without SMTP settings, mail is written as .eml files into the outbox folder.
    smtp: Smtp | None = None
    dkim: Dkim | None = None
    # GOV.UK Notify instead of SMTP (not both).
    notify: Notify | None = None
    notify_api_key: SecretStr | None = None
    notify_callback_token: SecretStr | None = None
    # The envelope sender (Return-Path): where late bounces go (`reminders mail bounces`).
    # Unset: the From address.
    bounce_address: str | None = None
    # The maildir the mail server delivers bounce_address to; read every bounce_check_seconds.
    bounce_maildir: Path | None = None
    bounce_check_seconds: float = Field(default=300.0, gt=0)
    outbox_dir: Path = VAR_DIR / "outbox"
    # The public feeds and the agencies' feeds, kept as files and served from them.
    feeds_dir: Path = VAR_DIR / "feeds"
    # Every imported document's original, kept owner-only under its SHA-256.
    imports_dir: Path = VAR_DIR / "imports"
    beat_schedule_file: Path = VAR_DIR / "celerybeat-schedule"
    # Where the beat writes the day's backup (worker/backups/scheduled.py); none when unset.
    backup_dir: Path | None = None
    backups_kept: int = Field(default=14, ge=1)
    backup_check_seconds: float = Field(default=600.0, gt=0)  # how often the beat asks
    # Backups are encrypted to this age recipient (a public key, age1…) and their manifests
    # authenticated with the origin key (a secret, from the environment only); both are
    # printed by `reminders backup key`. Without them no backup is made: it would hold
    # personal data in the clear (worker/backups/keys.py).
    backup_recipient: str | None = Field(default=None, pattern=r"^age1[02-9ac-hj-np-z]{58}$")
    backup_origin_key: SecretStr | None = None
    # Where a backup is read (verify, restore): the identity (the private key, AGE-SECRET-
    # KEY-1…) in the environment, or a file holding it. Keep it off the server that makes them.
    backup_identity: SecretStr | None = None
    backup_identity_file: Path | None = None
    # The dead-man alarm (worker/delivery/alarm.py): who is told by e-mail when a day's digests
    # have not all gone out this long after their send time, and an outside monitor's ping
    # address (healthchecks.io's convention: /start, the address itself, /fail), which
    # carries its own secret: give it in the environment (REMINDERS_PING_URL).
    operator_email: str | None = None
    ping_url: SecretStr | None = None
    alarm_grace_minutes: float = Field(default=60.0, gt=0, le=24 * 60)
    smtp_password: SecretStr | None = None
    signing_key: SecretStr | None = None
    # Without REMINDERS_SIGNING_KEY, links are signed with a key generated into this file on
    # first use (mode 0600): right when the worker and the web server share this machine.
    signing_key_file: Path = VAR_DIR / "signing-key"
    # How long the Acknowledge / Mark complete links in a digest keep working.
    link_valid_days: int = Field(default=30, ge=1, le=365)
    # Requests each client address may make to the agency feeds and the digest links.
    rate_limit: str = "60/minute"
    # The console: how long a sign-in link works, how long a signed-in browser may sit idle,
    # and how long any session lasts however busy it is.
    sign_in_valid_minutes: int = Field(default=15, ge=1, le=60)
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_lifetime_hours: int = Field(default=12, ge=1, le=24 * 7)
    # Sign-in links one address may be sent, and sign-in requests one client may make.
    sign_in_rate_per_address: str = "5/15 minutes"
    sign_in_rate_per_client: str = "30/hour"
    # The proxies whose X-Forwarded-For names the real client (comma-separated addresses or
    # networks, or * where nothing but the proxy can reach the server, as in docker-compose).
    # Empty: nobody's is believed, and the client is whoever connected.
    forwarded_allow_ips: str = ""
    # Organisation sign-in: providers by a short key of ours (it is in the callback address),
    # their client secrets from the environment, and the people who must use one (an e-mail
    # link is then refused them).
    oidc: dict[str, OidcProvider] = Field(default_factory=dict)
    oidc_client_secrets: dict[str, SecretStr] = Field(default_factory=dict)
    organisation_sign_in_for: tuple[SignInKind, ...] = ()
    # What reading one uploaded or imported document may cost (worker/importers/limits.py).
    document_limits: Limits = Field(default_factory=Limits)
    # The accessibility statement and the privacy notice (config/settings.yaml says more).
    accessibility: Accessibility = Field(default_factory=Accessibility)
    privacy: Privacy = Field(default_factory=Privacy)

    @field_validator("column_names")
    @classmethod
    def _columns(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        return merged_names(value)

    @model_validator(mode="after")
    def _one_transport(self) -> Settings:
        if self.notify is not None and self.smtp is not None:
            raise ValueError("choose one mail transport: an smtp or a notify section, not both")
        return self

    @model_validator(mode="after")
    def _organisations_name_their_domains(self) -> Settings:
        """Where some places may sign in only with their organisation, a provider that
        vouches for any address could vouch for the business manager's: each must say
        which mail domains it speaks for."""
        loose = [key for key, provider in self.oidc.items() if not provider.domains]
        if self.organisation_sign_in_for and loose:
            raise ValueError(
                f"oidc.{loose[0]}.domains: list the mail domains this provider speaks for; "
                f"with organisation_sign_in_for set, a provider that may vouch for any "
                f"address could sign in as the {self.organisation_sign_in_for[0]}"
            )
        return self

    @field_validator("notify_callback_token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 10:
            raise ValueError("the callback token is at least 10 characters, as Notify asks")
        return value

    @field_validator("oidc")
    @classmethod
    def _provider_keys(cls, value: dict[str, OidcProvider]) -> dict[str, OidcProvider]:
        for key in value:
            if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,30}", key):
                raise ValueError(f"{key!r}: a provider's key is lower-case letters, digits and -")
        return value

    @field_validator("rate_limit", "sign_in_rate_per_address", "sign_in_rate_per_client")
    @classmethod
    def _rate(cls, value: str) -> str:
        try:
            parse(value)
        except ValueError as exc:
            raise ValueError(f"expected a rate such as 60/minute, got {value!r}") from exc
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # `load_settings` merges file, environment and explicit values itself.
        return init_settings, env_settings


def settings_file() -> Path:
    return Path(os.environ.get("REMINDERS_CONFIG_DIR", CONFIG_DIR)) / "settings.yaml"


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    path = path or settings_file()
    values = mapping(
        path, (read_yaml(path) if path.exists() else None) or {}, "a mapping of settings"
    )
    leaked = secrets_in(values)
    if leaked:
        raise ConfigError(path, [f"{k}: secrets come from the environment only" for k in leaked])
    try:
        from_env = Settings().model_dump(exclude_unset=True)
        return Settings(**deep_merge(deep_merge(values, from_env), overrides))
    except ValidationError as exc:
        raise ConfigError(path, describe_errors(exc, Settings)) from exc


def secrets_in(values: dict[str, Any], prefix: str = "") -> list[str]:
    """The key paths in a settings file that hold a secret: a secret-named key in any
    spelling, at any depth, or a password inside a database or broker address."""
    found = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        folded = re.sub(r"[^a-z]", "", str(key).lower())
        if folded in SECRET_NAMES or folded.endswith(SECRET_ENDINGS):
            found.append(path)
        elif isinstance(value, dict):
            found += secrets_in(value, f"{path}.")
        elif folded in {re.sub(r"[^a-z]", "", k) for k in URL_KEYS} and has_password(value):
            found.append(f"{path} (its password)")
    return found


def has_password(url: object) -> bool:
    """A password in the address itself or in its query (`?password=`), as drivers take both."""
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
        query = {k.casefold() for k, _ in parse_qsl(parts.query)}
        return bool(parts.password) or bool(query & {"password", "passwd"})
    except ValueError:  # not an address at all: pydantic names that problem
        return False


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """`top` wins, key by key, also inside nested sections such as `smtp`."""
    merged = dict(base)
    for key, value in top.items():
        below = merged.get(key)
        if isinstance(value, dict) and isinstance(below, dict):
            merged[key] = deep_merge(below, value)
        else:
            merged[key] = value
    return merged
