"""The invitation travels over real SMTP to a server on loopback (aiosmtpd)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from srportal_desktop.server.app import create_app
from srportal_desktop.server.settings import ServerSettings
from tests.server.conftest import TestClient, new_reseller, ok


class Recorder:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[Recorder, int]]:
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield recorder, controller.port
    finally:
        controller.stop()


def test_invitation_is_delivered_over_smtp(
    tmp_path: Path, smtp_server: tuple[Recorder, int]
) -> None:
    recorder, port = smtp_server
    settings = ServerSettings(
        database_url=f"sqlite:///{(tmp_path / 'p.sqlite3').as_posix()}",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        mail_from="Portal <portal@reseller-a.example>",
        public_url="https://portal.example.com/",
        outbox_dir=tmp_path / "outbox",  # SMTP wins over the outbox when both are set
    )
    with TestClient(create_app(settings)) as http:
        alice = new_reseller(settings, http, "alice@reseller-a.example", display_name="Alice")
        created = ok(alice.post("/v1/sub-users", {"email": "tech@customer.example"}), 201)
    assert created["invite_email_sent"] is True

    [envelope] = recorder.envelopes
    assert envelope.mail_from == "portal@reseller-a.example"
    assert envelope.rcpt_tos == ["tech@customer.example"]
    message = message_from_bytes(envelope.content, policy=policy.default)
    assert message["Subject"] == "Alice invited you to the SR License Portal"
    body = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "https://portal.example.com/accept-invite?token=" in body
    assert not (tmp_path / "outbox").exists()


def test_an_unreachable_smtp_server_is_a_reported_failure(tmp_path: Path) -> None:
    settings = ServerSettings(
        database_url=f"sqlite:///{(tmp_path / 'p.sqlite3').as_posix()}",
        smtp_host="127.0.0.1",
        smtp_port=_free_port(),  # nothing listens there
        smtp_timeout_seconds=5,
    )
    with TestClient(create_app(settings)) as http:
        alice = new_reseller(settings, http, "alice@reseller-a.example")
        created = ok(alice.post("/v1/sub-users", {"email": "tech@customer.example"}), 201)
        assert created["invite_email_sent"] is False
        assert ok(alice.get(f"/v1/sub-users/{created['id']}"))["status"] == "invited"
