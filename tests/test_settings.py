"""Settings: secrets only from the environment, whatever their spelling, and mail that is
never sent, or logged in to, in clear by default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.support.services import Recorder
from worker.mail.transport import PermanentError, SmtpRelay
from worker.settings import Smtp, load_settings
from worker.yaml_files import ConfigError


def settings_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("signing_key: abcdefghijklmnopqrstuvwxyz0123456789\n", "signing_key"),
        ("SIGNING_KEY: abcdefghijklmnopqrstuvwxyz0123456789\n", "SIGNING_KEY"),
        ("Signing-Key: abcdefghijklmnopqrstuvwxyz0123456789\n", "Signing-Key"),
        ("smtp_password: hunter2\n", "smtp_password"),
        ("SMTP_PASSWORD: hunter2\n", "SMTP_PASSWORD"),
        ("Smtp: {Host: relay.example.org, Password: hunter2}\n", "Smtp.Password"),
        ("smtp:\n  host: relay.example.org\n  pass_word: hunter2\n", "smtp.pass_word"),
        (
            "database_url: postgresql+psycopg://reminders:hunter2@db/reminders\n",
            "database_url (its password)",
        ),
        ("broker_url: redis://:hunter2@redis:6379/0\n", "broker_url (its password)"),
        ("oidc_client_secrets: {entra: hunter2}\n", "oidc_client_secrets"),
        ("oidc:\n  entra:\n    client_secret: hunter2\n", "oidc.entra.client_secret"),
    ],
)
def test_a_secret_in_the_settings_file_is_refused_naming_its_key(
    tmp_path: Path, text: str, key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(settings_file(tmp_path, text))
    assert caught.value.problems == [f"{key}: secrets come from the environment only"]
    assert "hunter2" not in str(caught.value)


def test_addresses_without_passwords_and_passwords_from_the_environment_are_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = settings_file(tmp_path, "database_url: postgresql+psycopg://reminders@db/r\n")
    assert load_settings(path).database_url == "postgresql+psycopg://reminders@db/r"
    monkeypatch.setenv("REMINDERS_DATABASE_URL", "postgresql+psycopg://reminders:pw@db/r")
    assert load_settings(path).database_url.endswith(":pw@db/r")


@pytest.mark.parametrize(
    ("host", "starttls", "uses_tls"),
    [
        ("relay.example.org", None, True),
        ("mail", None, True),
        ("localhost", None, False),
        ("127.0.0.1", None, False),
        ("localhost", True, True),
        ("relay.example.org", False, False),
    ],
)
def test_starttls_is_on_for_any_relay_but_this_machine(
    host: str, starttls: bool | None, uses_tls: bool
) -> None:
    assert Smtp(host=host, starttls=starttls).uses_tls is uses_tls


@pytest.mark.parametrize(
    "smtp",
    [
        "smtp: {host: relay.example.org, username: reminders, starttls: false}\n",
        "smtp: {host: localhost, username: reminders}\n",
    ],
)
def test_a_login_without_tls_is_refused(tmp_path: Path, smtp: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(settings_file(tmp_path, smtp))
    [problem] = caught.value.problems
    assert problem.startswith("smtp: ")
    assert "would send the password in clear" in problem


def test_the_relay_is_never_logged_in_to_over_a_plain_connection(
    smtp: tuple[Recorder, int],
) -> None:
    """Past the settings (built without validation), the transport still refuses."""
    config = Smtp.model_construct(
        host="127.0.0.1", port=smtp[1], username="reminders", starttls=False,
        ca_file=None, timeout_seconds=5.0,
    )  # fmt: skip
    with pytest.raises(PermanentError, match="without TLS"):
        SmtpRelay(config, "hunter2").connect()


def test_docker_compose_publishes_on_this_machine_only_and_keeps_tls_on() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    ports = [p for service in compose["services"].values() for p in service.get("ports", [])]
    assert ports
    assert all(str(p).startswith("127.0.0.1:") for p in ports)
    environment = compose["x-reminders"]["environment"]
    assert environment["REMINDERS_SMTP__STARTTLS"] == "${REMINDERS_SMTP__STARTTLS:-}"
    assert ":?" in environment["REMINDERS_SMTP__HOST"]  # no default relay, least of all plain
    assert compose["services"]["mail"]["profiles"] == ["catcher"]


def test_docker_compose_shares_the_kept_feeds_between_the_worker_and_the_web_server() -> None:
    """The worker's tick and the console's imports write the feeds the web server sends."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for name in ("worker", "web"):
        assert "feeds:/app/var/feeds" in compose["services"][name]["volumes"][0]
    assert "feeds" in compose["volumes"]
    assert "chown -R reminders /app/var" in dockerfile  # the volume starts writable
    assert "--concurrency" not in compose["services"]["worker"]["command"]  # the setting


def test_docker_compose_restarts_every_long_running_service_and_checks_readiness() -> None:
    """A worker that lost Redis, a database that fell over: the runtime starts them again;
    the web server's health check is the readiness endpoint."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    lasting = [name for name, service in services.items() if name not in ("init", "mail")]
    assert set(lasting) == {"db", "redis", "worker", "web", "beat"}
    assert {services[name].get("restart") for name in lasting} == {"unless-stopped"}
    assert "/health/ready" in " ".join(services["web"]["healthcheck"]["test"])


def test_the_image_installs_from_the_lock_and_services_wait_for_init() -> None:
    """The image is built from the hash lock, never from open ranges; the long-running
    services start after `init` has finished; what must survive a recreated container (the
    feeds, the kept originals) is in volumes, shared by the containers that write it."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --no-cache-dir --require-hashes -r requirements/main.txt" in dockerfile
    assert "--no-deps --no-build-isolation -e ." in dockerfile
    assert not re.search(r"pip install (?!.*--no-deps)(?!.*--require-hashes)", dockerfile)
    services = compose["services"]
    for name in ("worker", "web", "beat"):
        after = services[name]["depends_on"]
        assert after["init"] == {"condition": "service_completed_successfully"}, name
        assert after["db"] == {"condition": "service_healthy"}, name
    for name in ("init", "worker", "web"):
        assert "imports:/app/var/imports" in services[name]["volumes"], name
    assert {"feeds", "imports"} <= set(compose["volumes"])
    assert "mkdir -p /app/var/feeds /app/var/imports && chown -R reminders /app/var" in dockerfile


def test_a_password_in_the_query_of_an_address_is_refused_too(tmp_path: Path) -> None:
    path = settings_file(tmp_path, "database_url: postgresql+psycopg://r@db/r?Password=hunter2\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.problems == [
        "database_url (its password): secrets come from the environment only"
    ]


def test_document_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMINDERS_DOCUMENT_LIMITS__PDF_PAGES", "1000")
    limits = load_settings().document_limits
    assert (limits.pdf_pages, limits.unpacked_mb) == (1000, 100)


def test_an_organisation_sign_in_is_checked_as_it_is_read(tmp_path: Path) -> None:
    template = "https://login.microsoftonline.com/{tenantid}/v2.0"
    cases = {
        "oidc:\n  entra: {name: A, issuer: 'http://idp.example.org', client_id: c}\n":
            "an issuer is reached over https",
        f"oidc:\n  entra: {{name: A, issuer: '{template}', client_id: c}}\n":
            "needs tenants and discovery_url",
        "oidc:\n  Entra Two: {name: A, issuer: 'https://idp.example.org', client_id: c}\n":
            "lower-case letters, digits and -",
        "organisation_sign_in_for: [business manager]\n"
        "oidc:\n  any: {name: A, issuer: 'https://idp.example.org', client_id: c}\n":
            "oidc.any.domains: list the mail domains this provider speaks for",
    }  # fmt: skip
    for text, words in cases.items():
        with pytest.raises(ConfigError) as caught:
            load_settings(settings_file(tmp_path, text))
        assert words in str(caught.value)


def test_a_provider_for_places_that_must_use_it_names_its_domains(tmp_path: Path) -> None:
    text = ("organisation_sign_in_for: [business manager]\n"
            "oidc:\n  council: {name: A, issuer: 'https://idp.example.org', client_id: c,"
            " domains: [example.org]}\n")  # fmt: skip
    assert load_settings(settings_file(tmp_path, text)).oidc["council"].domains == ("example.org",)
    plain = "oidc:\n  council: {name: A, issuer: 'https://idp.example.org', client_id: c}\n"
    assert load_settings(settings_file(tmp_path, plain)).oidc["council"].domains == ()
