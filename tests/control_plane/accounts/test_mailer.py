"""Account emails: over SMTP when configured, else into the local outbox."""
import json
import stat

import pytest
from aiosmtpd.controller import Controller

from control_plane.accounts.mailer import OutboxMailer, create_mailer
from tests.support.ports import free_port


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, _server, _session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server():
    """A local SMTP server standing in for the mail provider."""
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


async def test_smtp_url_sends_through_smtp(smtp_server):
    controller, inbox = smtp_server
    mailer = create_mailer(f"smtp://127.0.0.1:{controller.port}", outbox=None)
    await mailer.send("you@example.com", "Reset your Clew password", "the link")
    [message] = inbox.messages
    assert message.rcpt_tos == ["you@example.com"]
    assert b"Subject: Reset your Clew password" in message.content and b"the link" in message.content


async def test_without_smtp_mail_goes_to_the_outbox(tmp_path):
    mailer = create_mailer("", tmp_path / "outbox.jsonl")
    assert isinstance(mailer, OutboxMailer)
    await mailer.send("you@example.com", "Subject", "Body")
    mail = json.loads((tmp_path / "outbox.jsonl").read_text())
    assert (mail["to"], mail["subject"], mail["body"]) == ("you@example.com", "Subject", "Body")


async def test_the_outbox_is_0600_and_an_older_one_is_tightened(tmp_path):
    outbox = tmp_path / "outbox.jsonl"
    outbox.write_text("")
    outbox.chmod(0o644)
    await OutboxMailer(outbox).send("a@example.com", "Reset", "token=secret")
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o600 and "token=secret" in outbox.read_text()
