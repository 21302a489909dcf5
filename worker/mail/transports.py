"""Which transport the settings choose: GOV.UK Notify, an SMTP relay (DKIM-signed when a key
is set), or, with neither, the outbox folder of .eml files."""

from __future__ import annotations

from worker.mail.dkim import Signer
from worker.mail.notify import NotifyTransport
from worker.mail.transport import Outbox, SmtpRelay, Transport
from worker.settings import Settings


def transport_for(settings: Settings) -> Transport:
    if settings.notify is not None:
        return NotifyTransport.of(settings)
    if settings.smtp is None:
        return Outbox(settings.outbox_dir)
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    signer = Signer.of(settings.dkim) if settings.dkim else None
    return SmtpRelay(settings.smtp, password, signer, settings.bounce_address)
