"""DKIM: each message the service sends through SMTP signed for its sending domain, and the
DNS records that domain publishes so that receivers can check its mail (SPF, DKIM, DMARC,
TLS-RPT, MTA-STS), as the NCSC's guidance for public-sector mail expects.

Signing uses dkimpy, relaxed/relaxed canonicalisation and RSA-SHA256, over those of the
headers RFC 6376 says should be signed that the message has (From, To, Subject, Date,
Message-ID, MIME-Version, Content-Type, List-Id, ...; a digest has no List-Unsubscribe: it
carries duties, which its reader changes in the console, not a mailing list one leaves),
From signed twice so that no second From can be added. The private key
is read from `dkim.key_file`, a PEM file only the service can read; it never goes in settings.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

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


def dns_records(settings: Settings, mx_hosts: Sequence[str] = (), enforce: bool = False
                ) -> list[Record]:  # fmt: skip
    """What the sending domain publishes for this service's mail: SPF, DKIM, DMARC and
    TLS-RPT, and, given the domain's MX hosts, MTA-STS (in testing mode unless `enforce`)."""
    config = settings.dkim
    if config is None:
        raise DkimKeyError("no dkim section in settings: set domain, selector and key_file")
    domain = config.domain
    mechanism, note = spf_mechanism(settings.smtp.host if settings.smtp else None)
    records = [
        Record(domain, "TXT", f"v=spf1 {mechanism} -all",
               "SPF: the relay may send as this domain; a domain has one SPF record, so merge "
               f"this into its existing one (with your mail service's include:). {note}"),
        dkim_record(config),
        Record(f"_dmarc.{domain}", "TXT",
               "v=DMARC1; p=none; rua=mailto:dmarc-rua@dmarc.service.gov.uk",
               "DMARC, reports to the NCSC's Mail Check: start at p=none, then move to "
               "quarantine and reject once the reports show only your own mail"),
        Record(f"_smtp._tls.{domain}", "TXT",
               "v=TLSRPTv1; rua=mailto:tls-rua@mailcheck.service.gov.uk",
               "TLS-RPT: failed TLS connections to the domain, reported to the NCSC's Mail Check"),
    ]  # fmt: skip
    return records + mta_sts(domain, mx_hosts, enforce)


def spf_mechanism(relay: str | None) -> tuple[str, str]:
    """The SPF mechanism naming `relay` (ip4: or ip6: for an address, a: for a host name),
    and what the operator should know about it."""
    if relay is None or relay.lower() == "localhost":
        return "a", ("The relay is this machine (or none is set): `a` names the domain's own "
                     "address; write ip4:<this server's public address> if mail leaves from "
                     "another.")  # fmt: skip
    try:
        address = ipaddress.ip_address(relay.strip("[]"))
    except ValueError:
        return f"a:{relay.rstrip('.')}", ""
    if address.is_loopback:
        return spf_mechanism(None)
    return f"ip{address.version}:{address}", ""


def mta_sts(domain: str, mx_hosts: Sequence[str], enforce: bool) -> list[Record]:
    """The MTA-STS record and policy (RFC 8461), for the MX hosts given: the record's id is
    the policy's own digest, so it changes exactly when the policy does."""
    if not mx_hosts:
        return [Record(f"_mta-sts.{domain}", "note", "",
                       "MTA-STS: give each MX host of the domain (--mx HOST) to print its "
                       "record and policy")]  # fmt: skip
    mode, max_age = ("enforce", 604800) if enforce else ("testing", 86400)
    lines = ["version: STSv1", f"mode: {mode}", *(f"mx: {h.rstrip('.')}" for h in mx_hosts),
             f"max_age: {max_age}"]  # fmt: skip
    policy = "\r\n".join(lines) + "\r\n"
    policy_id = hashlib.sha256(policy.encode()).hexdigest()[:20]
    return [
        Record(f"_mta-sts.{domain}", "TXT", f"v=STSv1; id={policy_id}",
               "MTA-STS (mail to the domain over TLS only): its id follows the policy"),
        Record(f"https://mta-sts.{domain}/.well-known/mta-sts.txt", "file", policy,
               f"MTA-STS policy, served over https, in {mode} mode"
               + ("" if enforce else ": move to --enforce once TLS-RPT reports show no "
                  "failures")),
    ]  # fmt: skip
