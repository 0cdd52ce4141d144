"""Outgoing mail: templates rendered where the mail is decided (a request or a job), sent
by the `deliver` job on the durable job queue (utils/jobs.py).

Three backends: `smtp` (smtplib with STARTTLS or SSL, login, timeout), `console` (logs the
mail; the development default) and `file` (one .eml per mail in MAIL_FILE_DIR). A mail
that fails is retried MAIL_MAX_ATTEMPTS times in all with exponential backoff
(MAIL_RETRY_BASE_SECONDS, then twice as long each time), then kept in the job queue's
dead-letter list (`flask jobs failed`): a slow or dead mail server never fails or delays
the request that caused the mail. Queued mail is in Redis (or the SQLite queue without
Redis), so it survives a restart of the app and of the consumers.

Account mails whose preparation differs between a known and an unknown address (forgot,
resend, registration) are prepared in a job of their own (`@jobs.task` in
auth_passwords / auth_signup), so the response takes the same time either way.
"""
from __future__ import annotations

import email
import logging
import smtplib
import ssl
import uuid
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Protocol

from flask import current_app, render_template

from utils import jobs

log = logging.getLogger(__name__)

SUBJECTS = {
    "verify_email": "Confirm your email address",
    "reset_password": "Reset your password",
    "registration_attempt": "Someone tried to register with your email address",
    "login_alert": "Someone is trying to sign in to your account",
    "data_export": "Your Roundtable data export is ready",
    "login_code": "Your sign-in code",
}


class Backend(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class SmtpBackend:
    def __init__(self, config: dict[str, Any]) -> None:
        self.host, self.port = config["MAIL_SERVER"], config["MAIL_PORT"]
        self.username, self.password = config["MAIL_USERNAME"], config["MAIL_PASSWORD"]
        self.use_ssl, self.use_tls = config["MAIL_USE_SSL"], config["MAIL_USE_TLS"]
        self.timeout = config["MAIL_TIMEOUT_SECONDS"]

    def send(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        if self.use_ssl:
            connection = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                          context=context)
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with connection as smtp:
            if self.use_tls and not self.use_ssl:
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


class ConsoleBackend:
    """Logs the headers and the decoded text part: a link in it is on one line and can be
    copied as it is (the raw mail is quoted-printable, `=3D` and soft line breaks)."""

    def send(self, message: EmailMessage) -> None:
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else message.as_string()
        log.info("mail (console backend)\nTo: %s\nSubject: %s\n\n%s",
                 message["To"], message["Subject"], text.rstrip())


class FileBackend:
    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)

    def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{formatdate(usegmt=True).replace(' ', '_').replace(':', '')}-{uuid.uuid4().hex}"
        partial = self.directory / f".{name}.tmp"
        partial.write_bytes(message.as_bytes())
        # Rename last, so a reader never sees half a mail.
        partial.rename(self.directory / f"{name}.eml")


def make_backend(config: dict[str, Any]) -> Backend:
    name = config["MAIL_BACKEND"]
    if name == "smtp":
        return SmtpBackend(config)
    if name == "file":
        return FileBackend(config["MAIL_FILE_DIR"])
    if name == "console":
        return ConsoleBackend()
    raise ValueError(f"MAIL_BACKEND must be smtp, console or file, got {name!r}")


def compose(to: str, template: str, subject: str | None = None,
            headers: dict[str, str] | None = None, **context: Any) -> EmailMessage:
    """The mail, text and HTML parts rendered from templates/email/ (needs an app context);
    `subject` defaults to the template's, `headers` are added as they are."""
    message = EmailMessage()
    message["Subject"] = subject or SUBJECTS[template]
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain="roundtable")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(render_template(f"email/{template}.txt", **context))
    message.add_alternative(render_template(f"email/{template}.html", **context),
                            subtype="html")
    return message


def send_template(to: str, template: str, **context: Any) -> None:
    """Render now, deliver from the job queue."""
    deliver.enqueue(compose(to, template, **context).as_bytes())


@jobs.task(retries=lambda config: max(1, config["MAIL_MAX_ATTEMPTS"]) - 1,
           retry_delay=lambda config: config["MAIL_RETRY_BASE_SECONDS"], retry_backoff=2.0)
def deliver(raw: bytes) -> None:
    """Send one composed mail with the configured backend (a job: retried, then failed)."""
    message = email.message_from_bytes(raw, policy=policy.default)
    make_backend(current_app.config).send(message)
