"""DKIM: each message the service sends through SMTP signed for its sending domain, and the
DNS records that domain publishes so that receivers can check its mail (SPF, DKIM, DMARC,
MTA-STS), as the NCSC's guidance for public-sector mail expects.

Signing uses dkimpy, relaxed/relaxed canonicalisation and RSA-SHA256, over the headers RFC
6376 says should be signed (From, To, Subject, Date, Message-ID, MIME-Version, Content-Type,
List-Unsubscribe, ...), From signed twice so that no second From can be added. The private key
is read from `dkim.key_file`, a PEM file only the service can read; it never goes in settings.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from worker.settings import Dkim, Settings

CANONICALISATION = (b"relaxed", b"relaxed")
MIN_BITS = 2048


class DkimKeyError(Exception):
    """The key file cannot be used: missing, unreadable, not an RSA key, or too short."""


@dataclass(frozen=True)
class Signer:
    selector: str
    domain: str
    key: bytes  # PEM

    @classmethod
    def of(cls, config: Dkim) -> Signer:
        try:
            pem = config.key_file.read_bytes()
        except OSError as exc:
            raise DkimKeyError(f"{config.key_file}: {exc.strerror}") from exc
        public_key(pem, str(config.key_file))  # refused now, not at the first send
        return cls(config.selector, config.domain, pem)

    def sign(self, message: bytes) -> bytes:
        """`message` (CRLF line ends, as sent) with its DKIM-Signature header first."""
        header = dkim.sign(message, self.selector.encode(), self.domain.encode(), self.key,
                           canonicalize=CANONICALISATION)  # fmt: skip
        return bytes(header) + message


def public_key(pem: bytes, where: str) -> rsa.RSAPublicKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise DkimKeyError(f"{where}: not an unencrypted PEM private key") from exc
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < MIN_BITS:
        raise DkimKeyError(f"{where}: a DKIM key is RSA of at least {MIN_BITS} bits")
    return key.public_key()


@dataclass(frozen=True)
class Record:
    name: str
    kind: str
    value: str
    why: str


def dkim_record(config: Dkim) -> Record:
    der = public_key(config.key_file.read_bytes(), str(config.key_file)).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    value = f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"
    return Record(f"{config.selector}._domainkey.{config.domain}", "TXT", value,
                  "the key receivers check this service's signatures with")  # fmt: skip


def dns_records(settings: Settings, today: date) -> list[Record]:
    """What the sending domain publishes for this service's mail."""
    config = settings.dkim
    if config is None:
        raise DkimKeyError("no dkim section in settings: set domain, selector and key_file")
    relay = settings.smtp.host if settings.smtp else "your relay"
    domain = config.domain
    return [
        Record(domain, "TXT", f"v=spf1 a:{relay} -all",
               "SPF: the relay may send as this domain; a domain has one SPF record, so merge "
               "this into its existing one (with your mail service's include:)"),
        dkim_record(config),
        Record(f"_dmarc.{domain}", "TXT",
               "v=DMARC1; p=none; rua=mailto:dmarc-rua@dmarc.service.gov.uk",
               "DMARC, reports to the NCSC's Mail Check: start at p=none, then move to "
               "quarantine and reject once the reports show only your own mail"),
        Record(f"_mta-sts.{domain}", "TXT", f"v=STSv1; id={today:%Y%m%d}",
               "MTA-STS (mail to the domain, bounces included, over TLS only): change the id "
               "whenever the policy file changes"),
        Record(f"https://mta-sts.{domain}/.well-known/mta-sts.txt", "file",
               "version: STSv1\nmode: enforce\nmx: <each MX host of the domain>\n"
               "max_age: 604800",
               "MTA-STS policy, served over https"),
    ]  # fmt: skip
