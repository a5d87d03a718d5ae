"""E-mail over SMTP (issue 13): a message of the message centre, with the booking's `.ics` when it
tells a scheduled time. Python's own smtplib and email packages; the settings are MAIL_* (README).
With MAIL_SERVER unset nothing is sent: messages stay in the console."""
from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import urljoin, urlsplit

from flask_babel import gettext

from app.models import Message

from app.services.booking import ical


@dataclass(frozen=True)
class MailSettings:
    server: str
    port: int
    use_tls: bool
    username: str
    password: str
    sender: str
    public_url: str

    @classmethod
    def of(cls, config) -> "MailSettings":
        return cls(server=config.get("MAIL_SERVER") or "", port=int(config.get("MAIL_PORT") or 25),
                   use_tls=bool(config.get("MAIL_USE_TLS")), username=config.get("MAIL_USERNAME") or "",
                   password=config.get("MAIL_PASSWORD") or "", sender=config.get("MAIL_DEFAULT_SENDER") or "",
                   public_url=config.get("PUBLIC_URL") or "")

    @property
    def enabled(self) -> bool:
        return bool(self.server and self.sender)


def compose(message: Message, settings: MailSettings, now) -> EmailMessage:
    email = EmailMessage()
    email["From"] = settings.sender
    email["To"] = message.email_to
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain=urlsplit(settings.public_url).hostname or "localhost")
    text = message.body
    if message.link:
        text += "\n\n" + gettext("On the platform: %(url)s", url=urljoin(settings.public_url, message.link))
    text += "\n\n" + gettext("This message was sent by the university's instrument sharing platform.")
    email.set_content(text)
    if message.attach_ics and message.booking is not None:
        host = urlsplit(settings.public_url).hostname or "localhost"
        email.add_attachment(ical.single_booking(message.booking, host, now).decode(), subtype="calendar",
                             filename=f"booking-{message.booking_id}.ics", params={"method": "PUBLISH"})
    return email


def send(email: EmailMessage, settings: MailSettings):
    with smtplib.SMTP(settings.server, settings.port, timeout=30) as smtp:
        if settings.use_tls:
            smtp.starttls()
        if settings.username:
            smtp.login(settings.username, settings.password)
        smtp.send_message(email)


def send_recorded(session, record, email: EmailMessage, settings: MailSettings, now) -> bool:
    """Send `email` for `record` (anything with emailed_at and email_error) and record when it went, or why
    not — committed either way; a failure raises, for the task queue's retry."""
    try:
        send(email, settings)
    except (OSError, ValueError) as error:  # the server (smtplib's errors are OSErrors), or a header it refuses
        record.email_error = f"{type(error).__name__}: {error}"[:2000]
        session.commit()
        raise
    record.emailed_at, record.email_error = now, None
    session.commit()
    return True


def deliver(session, message_id, settings: MailSettings, now) -> bool:
    """Send one message's e-mail once; records when it went, or why not (and raises, for a retry)."""
    message = session.get(Message, message_id)
    if message is None or message.emailed_at is not None or not message.email_to or not settings.enabled:
        return False
    return send_recorded(session, message, compose(message, settings, now), settings, now)
