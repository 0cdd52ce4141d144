"""Outgoing mail: templates rendered on the request (or in a deferred task), sent by a
background worker.

Three backends: `smtp` (smtplib with STARTTLS or SSL, login, timeout), `console` (logs the
mail; the development default) and `file` (one .eml per mail in MAIL_FILE_DIR). A mail
that fails is retried with exponential backoff and then dropped with an error in the log:
a slow or dead mail server never fails or delays the request that caused the mail.
Queued mail lives in process memory, so a mail still waiting when the process stops is
lost; the links it carried can be requested again (resend, forgot).

`defer(task, *args)` runs a task on the same worker, in an app context, after the request:
account mails whose preparation differs between a known and an unknown address (forgot,
resend, registration) are prepared there, so the response takes the same time either way.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
import threading
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Protocol

from flask import Flask, current_app, render_template

log = logging.getLogger(__name__)

SUBJECTS = {
    "verify_email": "Confirm your email address",
    "reset_password": "Reset your password",
    "registration_attempt": "Someone tried to register with your email address",
    "login_alert": "Someone is trying to sign in to your account",
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
    def send(self, message: EmailMessage) -> None:
        log.info("mail (console backend):\n%s", message.as_string())


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


class EmailService:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.backend = make_backend(app.config)
        self.sender = app.config["MAIL_FROM"]
        self.max_attempts = max(1, app.config["MAIL_MAX_ATTEMPTS"])
        self.retry_base = app.config["MAIL_RETRY_BASE_SECONDS"]
        self._condition = threading.Condition()
        # A mail and its attempt number, or a deferred task (attempt 0).
        self._ready: list[tuple[EmailMessage | Callable[[], None], int]] = []
        self._pending = 0  # queued, being sent, or waiting for a retry
        self._worker: threading.Thread | None = None

    def compose(self, to: str, template: str, **context: Any) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = SUBJECTS[template]
        message["From"] = self.sender
        message["To"] = to
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain="roundtable")
        message.set_content(render_template(f"email/{template}.txt", **context))
        message.add_alternative(render_template(f"email/{template}.html", **context),
                                subtype="html")
        return message

    def send_template(self, to: str, template: str, **context: Any) -> None:
        """Render now (needs the app context), deliver in the background."""
        self.enqueue(self.compose(to, template, **context))

    def enqueue(self, message: EmailMessage, attempt: int = 1) -> None:
        with self._condition:
            if attempt == 1:
                self._pending += 1
            self._ready.append((message, attempt))
            self._start_worker()
            self._condition.notify_all()

    def defer(self, task: Callable[..., None], *args: Any) -> None:
        """Run `task(*args)` on the mail worker in an app context; errors are logged."""
        with self._condition:
            self._pending += 1
            self._ready.append((lambda: task(*args), 0))
            self._start_worker()
            self._condition.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued mail was delivered or given up; True if all done."""
        with self._condition:
            return self._condition.wait_for(lambda: self._pending == 0, timeout=timeout)

    def _start_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._run, name="email-sender", daemon=True)
            self._worker.start()

    def _run(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: bool(self._ready))
                item, attempt = self._ready.pop(0)
            if isinstance(item, EmailMessage):
                self._deliver(item, attempt)
            else:
                self._run_task(item)

    def _run_task(self, task: Callable[[], None]) -> None:
        try:
            with self.app.app_context():
                task()
        except Exception:  # a task's failure must not stop the worker
            log.exception("deferred mail task failed")
        finally:
            self._done()

    def _deliver(self, message: EmailMessage, attempt: int) -> None:
        try:
            self.backend.send(message)
        except Exception as exc:  # any failure of the mail server, whatever its type
            if attempt < self.max_attempts:
                delay = self.retry_base * 2 ** (attempt - 1)
                log.warning("mail to %s failed (attempt %s), retrying in %.1fs: %s",
                            message["To"], attempt, delay, exc)
                timer = threading.Timer(delay, self.enqueue, args=(message, attempt + 1))
                timer.daemon = True
                timer.start()
                return
            log.error("mail to %s dropped after %s attempts: %s", message["To"], attempt, exc)
        self._done()

    def _done(self) -> None:
        with self._condition:
            self._pending -= 1
            self._condition.notify_all()


def get_email_service() -> EmailService:
    return current_app.extensions["roundtable_email"]


def send_template(to: str, template: str, **context: Any) -> None:
    get_email_service().send_template(to, template, **context)


def defer(task: Callable[..., None], *args: Any) -> None:
    get_email_service().defer(task, *args)


def init_app(app: Flask) -> None:
    app.extensions["roundtable_email"] = EmailService(app)
