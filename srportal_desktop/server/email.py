"""Outgoing mail: a `Mailer` protocol, an outbox folder for demos, SMTP for real use."""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
import uuid
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol

from srportal_desktop.server.settings import ServerSettings


class MailError(Exception):
    """A message could not be handed over for delivery."""


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Hand `message` over for delivery or raise MailError."""
        ...


class OutboxMailer:
    """Writes each message as an RFC 5322 `.eml` file into a folder (demo and tests)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def send(self, message: EmailMessage) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            target = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
            data = message.as_bytes(policy=policy.SMTP)
            # Write aside and rename, so a reader never sees half a message.
            fd, temp_name = tempfile.mkstemp(dir=self.folder, suffix=".part")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(temp_name, target)
        except OSError as exc:
            raise MailError(f"could not write to the outbox {self.folder}: {exc}") from exc

    def messages(self) -> list[Path]:
        """The written messages, oldest first."""
        return sorted(self.folder.glob("*.eml")) if self.folder.is_dir() else []


class SmtpMailer:
    """Delivers through an SMTP server, with implicit TLS, STARTTLS and login as configured."""

    def __init__(self, settings: ServerSettings) -> None:
        if not settings.smtp_host:
            raise ValueError("SmtpMailer needs smtp_host")
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.use_ssl = settings.smtp_ssl
        self.use_starttls = settings.smtp_starttls and not settings.smtp_ssl
        self.username = settings.smtp_username
        self.password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
        self.timeout = settings.smtp_timeout_seconds
        self.ca_file = settings.smtp_ca_file
        self.verify = settings.smtp_verify

    def tls_context(self) -> ssl.SSLContext:
        """How the server's certificate is checked: system CAs, the given bundle, or not at all."""
        if not self.verify:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        cafile = str(self.ca_file) if self.ca_file is not None else None
        return ssl.create_default_context(cafile=cafile)

    def send(self, message: EmailMessage) -> None:
        try:
            context = self.tls_context()
            smtp: smtplib.SMTP
            if self.use_ssl:
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.use_starttls:
                    # Refuses (SMTPNotSupportedError) rather than fall back to plain text.
                    smtp.starttls(context=context)
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:  # ssl errors are OSErrors
            raise MailError(f"SMTP delivery via {self.host}:{self.port} failed: {exc}") from exc


class NoMailer:
    """Used when neither SMTP nor an outbox is configured: every send fails, visibly."""

    def send(self, message: EmailMessage) -> None:
        raise MailError(
            "no mail transport is configured (set SRPORTAL_SMTP_HOST or SRPORTAL_OUTBOX_DIR)"
        )


def mailer_from_settings(settings: ServerSettings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(settings)
    if settings.outbox_dir is not None:
        return OutboxMailer(settings.outbox_dir)
    return NoMailer()


def build_message(*, sender: str, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=_domain_of(sender))
    message.set_content(body)
    return message


def invite_message(
    *,
    sender: str,
    to: str,
    inviter: str,
    link: str,
    token: str,
    expires_at: datetime,
) -> EmailMessage:
    """The invitation a new sub-user receives: who invited them, a link, and the same code."""
    expiry = expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = (
        f"Hello,\n\n"
        f"{inviter} has added you as a sub-user of the SR License Portal, where you can see\n"
        f"and create the SENSR licenses they grant you.\n\n"
        f"To activate your account and choose a password, open this link:\n\n"
        f"    {link}\n\n"
        f"or enter this invitation code in the SR License Portal Desktop app:\n\n"
        f"    {token}\n\n"
        f"The invitation can be used once and expires on {expiry}.\n"
        f"If you did not expect it, you can ignore this message.\n"
    )
    return build_message(
        sender=sender,
        to=to,
        subject=f"{inviter} invited you to the SR License Portal",
        body=body,
    )


def _domain_of(address: str) -> str:
    domain = address.rpartition("@")[2].strip(" >")
    return domain or "localhost"
