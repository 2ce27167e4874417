"""Sending account emails: through SMTP when CLEW_SMTP_URL is set, else to a local outbox file."""
import asyncio
import json
import logging
import os
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib

from schemas.private_files import FILE_MODE, private_directory, tighten

log = logging.getLogger(__name__)
SENDER = "Clew <no-reply@clew-code.org>"
_in_flight: set[asyncio.Task] = set()


class OutboxMailer:
    """Development delivery: one JSON line per message in `path` (see the README)."""

    def __init__(self, path: Path):
        self.path = path

    async def send(self, to: str, subject: str, body: str) -> None:
        line = json.dumps({"to": to, "subject": subject, "body": body,
                           "sent_at": datetime.now(UTC).isoformat()})
        await asyncio.to_thread(self._append, line)

    def _append(self, line: str) -> None:
        # 0600: the outbox holds live password-reset links.
        private_directory(self.path.parent)
        with os.fdopen(os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE), "a") as outbox:
            outbox.write(line + "\n")
        tighten(self.path)


class SmtpMailer:
    """smtp://user:pass@host:587 (STARTTLS when offered) or smtps://…:465 (implicit TLS)."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self._implicit_tls = parts.scheme == "smtps"
        self._options = {"hostname": parts.hostname, "port": parts.port or (465 if self._implicit_tls else 587),
                         "username": unquote(parts.username) if parts.username else None,
                         "password": unquote(parts.password) if parts.password else None}

    async def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = SENDER, to, subject
        message.set_content(body)
        await aiosmtplib.send(message, use_tls=self._implicit_tls, timeout=30, **self._options)


def create_mailer(smtp_url: str, outbox: Path):
    return SmtpMailer(smtp_url) if smtp_url else OutboxMailer(outbox)


def send_in_background(mailer, to: str, subject: str, body: str) -> asyncio.Task:
    """Answer the request before the mail is out, so its timing says nothing about the account."""
    async def deliver():
        try:
            await mailer.send(to, subject, body)
        except Exception:
            log.exception("could not send %r", subject)  # the address and body stay out of logs
    task = asyncio.ensure_future(deliver())
    _in_flight.add(task)  # the loop keeps only weak references to tasks
    task.add_done_callback(_in_flight.discard)
    return task
