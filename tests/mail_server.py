"""A real SMTP server for the mail tests (aiosmtpd), on a free loopback port: it keeps every message
it receives, parsed, for the test to read."""
import email
import email.policy
import time

import pytest
from aiosmtpd.controller import Controller

from .mqtt_broker import free_port


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "message": parsed})
        return "250 OK"

    def wait_for(self, count, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.messages) < count:
            time.sleep(0.05)
        return self.messages

    def to(self, address):
        return [m["message"] for m in self.messages if address in m["to"]]


class SmtpServer:
    def __init__(self):
        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    def settings(self):
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port, "MAIL_USE_TLS": False,
                "MAIL_DEFAULT_SENDER": "平台 <platform@example.edu.cn>"}


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mail_on(app, smtp_server):
    """The app sends mail to the test's SMTP server while the test runs."""
    saved = {k: app.config.get(k) for k in smtp_server.settings()}
    app.config.update(smtp_server.settings())
    try:
        yield smtp_server.inbox
    finally:
        app.config.update(saved)
