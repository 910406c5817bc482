"""Invitations travel over real SMTP to a server on loopback (aiosmtpd): STARTTLS, implicit TLS,
AUTH, certificate checks; the sub-user's whole life is driven by the codes read from that mail."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from srportal_desktop.server.app import create_app
from srportal_desktop.server.settings import ServerSettings
from tests.server.conftest import (
    PASSWORD,
    Actor,
    TestClient,
    body_text,
    license_body,
    login,
    new_reseller,
    ok,
    problem,
)

SMTP_USER = "portal-mailer"
SMTP_PASSWORD = "relay secret 42"


# --- a real SMTP server on loopback ---------------------------------------------------------------


@dataclass
class Relay:
    """What the SMTP server saw: delivered messages and the logins it accepted."""

    port: int = 0
    envelopes: list[Any] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        good = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(),
            auth_data.password.decode(),
        ) == (SMTP_USER, SMTP_PASSWORD)
        if good:
            self.logins.append(auth_data.login.decode())
        # handled=False: aiosmtpd itself answers a failure with 535.
        return AuthResult(success=good, handled=good)

    def messages(self) -> list[EmailMessage]:
        parsed = [message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]
        return [m for m in parsed if isinstance(m, EmailMessage)]

    def invite_token(self, to: str) -> str:
        """The code in the latest invitation this server received for `to`."""
        mails = [m for m in self.messages() if m["To"] == to]
        assert mails, f"no mail to {to}"
        match = re.search(r"accept-invite\?token=([\w-]+)", body_text(mails[-1]))
        assert match
        return match.group(1)


@dataclass(frozen=True)
class Certificate:
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_certificate(folder: Path, name: str) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = folder / f"{name}.crt", folder / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_file, key_file)


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    return make_certificate(tmp_path / "tls", "relay")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


StartRelay = Callable[..., Relay]


@pytest.fixture
def start_relay() -> Iterator[StartRelay]:
    """Starts SMTP servers on loopback with the given aiosmtpd options; stops them after."""
    controllers: list[Controller] = []

    def start(**options: Any) -> Relay:
        relay = Relay()
        if options.pop("with_auth", False):
            options["authenticator"] = relay.authenticate
        controller = Controller(relay, hostname="127.0.0.1", port=_free_port(), **options)
        controller.start()
        controllers.append(controller)
        relay.port = controller.port
        return relay

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def starttls_relay(start_relay: StartRelay, certificate: Certificate) -> Relay:
    """Plain connection, STARTTLS required before anything, AUTH required (over TLS only)."""
    return start_relay(
        tls_context=certificate.server_context(),
        require_starttls=True,
        with_auth=True,
        auth_required=True,
        auth_require_tls=True,
    )


def smtp_settings(settings: ServerSettings, relay: Relay, **overrides: Any) -> ServerSettings:
    options: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": relay.port,
        "smtp_starttls": True,
        "smtp_username": SMTP_USER,
        "smtp_password": SecretStr(SMTP_PASSWORD),
        "smtp_timeout_seconds": 5,
        "mail_from": "Portal <portal@reseller-a.example>",
    }
    return settings.model_copy(update=options | overrides)


@pytest.fixture
def portal(settings: ServerSettings) -> Iterator[Callable[[ServerSettings], TestClient]]:
    """Opens the portal API with the given settings; closed after the test."""
    apps: list[Any] = []
    clients: list[TestClient] = []

    def open_(config: ServerSettings) -> TestClient:
        app = create_app(config)
        apps.append(app)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield open_
    for client in clients:
        client.__exit__(None, None, None)
    for app in apps:
        app.state.context.db.dispose()


# --- the sub-user's life, driven by real mail -----------------------------------------------------


def test_invite_accept_resend_disable_enable_over_starttls_and_auth(
    settings: ServerSettings,
    starttls_relay: Relay,
    certificate: Certificate,
    portal: Callable[[ServerSettings], TestClient],
) -> None:
    config = smtp_settings(
        settings, starttls_relay, smtp_ca_file=certificate.cert_file, outbox_dir=None
    )
    http = portal(config)
    alice = new_reseller(config, http, "alice@reseller-a.example", display_name="Alice")

    # Invite: the message goes over STARTTLS after AUTH, to the right person, with a code.
    tech = ok(alice.post("/v1/sub-users", {"email": "tech@customer.example"}), 201)
    assert tech["invite_email_sent"] is True
    assert starttls_relay.logins == [SMTP_USER]
    [envelope] = starttls_relay.envelopes
    assert envelope.mail_from == "portal@reseller-a.example"
    assert envelope.rcpt_tos == ["tech@customer.example"]
    [mail] = starttls_relay.messages()
    assert mail["Subject"] == "Alice invited you to the SR License Portal"
    code = starttls_relay.invite_token("tech@customer.example")
    assert "expires on" in body_text(mail)

    # Accept with the code from the mail: password set, account active, signed in.
    tokens = ok(http.post("/v1/auth/accept-invite", json={"token": code, "password": PASSWORD}))
    me = ok(http.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}))
    assert me["id"] == tech["id"]
    assert ok(alice.get(f"/v1/sub-users/{tech['id']}"))["status"] == "active"
    problem(  # one time only
        http.post("/v1/auth/accept-invite", json={"token": code, "password": PASSWORD}),
        401,
        "unauthenticated",
    )

    # Resend for someone slower: only the newest code works.
    slow = ok(alice.post("/v1/sub-users", {"email": "slow@customer.example"}), 201)
    first = starttls_relay.invite_token("slow@customer.example")
    assert alice.post(f"/v1/sub-users/{slow['id']}/resend-invite").status_code == 202
    second = starttls_relay.invite_token("slow@customer.example")
    assert second != first
    assert len(starttls_relay.envelopes) == 3
    problem(
        http.post("/v1/auth/accept-invite", json={"token": first, "password": PASSWORD}),
        401,
        "unauthenticated",
    )
    ok(http.post("/v1/auth/accept-invite", json={"token": second, "password": PASSWORD}))

    # Disable: signed out at once, cannot sign in, cannot receive a license.
    tech_actor = Actor(http, tech["id"], "tech@customer.example", tokens["access_token"])
    license_ = ok(alice.post("/v1/licenses", license_body("For Tech")), 201)
    assert ok(alice.patch(f"/v1/sub-users/{tech['id']}", {"status": "disabled"}))["status"] == (
        "disabled"
    )
    problem(tech_actor.get("/v1/me"), 401, "unauthenticated")
    problem(
        http.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}),
        401,
        "unauthenticated",
    )
    body = problem(
        http.post("/v1/auth/login", json={"email": "tech@customer.example", "password": PASSWORD}),
        401,
        "unauthenticated",
    )
    assert "disabled" in body["detail"]
    refused = problem(
        alice.post(f"/v1/licenses/{license_['id']}/transfer", {"to_sub_user_id": tech["id"]}),
        409,
        "invalid_state",
    )
    assert "to_sub_user_id" in {e["field"] for e in refused["errors"]}

    # Enable again: sign in and receive licenses as before.
    assert ok(alice.patch(f"/v1/sub-users/{tech['id']}", {"status": "active"}))["status"] == (
        "active"
    )
    assert login(http, "tech@customer.example")["access_token"]
    moved = ok(
        alice.post(f"/v1/licenses/{license_['id']}/transfer", {"to_sub_user_id": tech["id"]})
    )
    assert moved["owner_id"] == tech["id"]


@pytest.mark.sqlite_only
def test_implicit_tls_with_auth(
    settings: ServerSettings,
    start_relay: StartRelay,
    certificate: Certificate,
    portal: Callable[[ServerSettings], TestClient],
) -> None:
    # aiosmtpd does not count implicit TLS as TLS for AUTH; the socket is encrypted all along.
    relay = start_relay(
        ssl_context=certificate.server_context(), with_auth=True, auth_require_tls=False
    )
    config = smtp_settings(
        settings, relay, smtp_ssl=True, smtp_starttls=False, smtp_ca_file=certificate.cert_file
    )
    http = portal(config)
    alice = new_reseller(config, http, "alice@reseller-a.example")
    created = ok(alice.post("/v1/sub-users", {"email": "tech@customer.example"}), 201)
    assert created["invite_email_sent"] is True
    assert relay.logins == [SMTP_USER]
    assert relay.invite_token("tech@customer.example")


# --- refusals: nothing is sent, and the API says so -----------------------------------------------


@pytest.mark.sqlite_only
def test_an_untrusted_certificate_is_refused(
    settings: ServerSettings,
    starttls_relay: Relay,
    tmp_path: Path,
    portal: Callable[[ServerSettings], TestClient],
) -> None:
    stranger = make_certificate(tmp_path / "other", "stranger")
    for ca_file in (None, stranger.cert_file):  # the system CAs, or the wrong bundle
        config = smtp_settings(settings, starttls_relay, smtp_ca_file=ca_file)
        http = portal(config)
        email = f"tech-{'system' if ca_file is None else 'other'}@customer.example"
        alice = new_reseller(config, http, f"alice-{email}")
        created = ok(alice.post("/v1/sub-users", {"email": email}), 201)
        assert created["invite_email_sent"] is False
    assert starttls_relay.envelopes == []
    assert starttls_relay.logins == []  # the password never left over an unverified channel


@pytest.mark.sqlite_only
def test_verification_can_be_turned_off_for_a_local_relay(
    settings: ServerSettings,
    starttls_relay: Relay,
    portal: Callable[[ServerSettings], TestClient],
) -> None:
    http = portal(smtp_settings(settings, starttls_relay, smtp_verify=False))
    alice = new_reseller(settings, http, "alice@reseller-a.example")
    assert ok(alice.post("/v1/sub-users", {"email": "tech@customer.example"}), 201)[
        "invite_email_sent"
    ]
    assert len(starttls_relay.envelopes) == 1


@pytest.mark.sqlite_only
def test_wrong_smtp_credentials_are_a_reported_failure(
    settings: ServerSettings,
    starttls_relay: Relay,
    certificate: Certificate,
    portal: Callable[[ServerSettings], TestClient],
) -> None:
    config = smtp_settings(
        settings,
        starttls_relay,
        smtp_ca_file=certificate.cert_file,
        smtp_password=SecretStr("not it"),
    )
    http = portal(config)
    alice = new_reseller(config, http, "alice@reseller-a.example")
    created = ok(alice.post("/v1/sub-users", {"email": "tech@customer.example"}), 201)
    assert created["invite_email_sent"] is False
    assert starttls_relay.envelopes == []
    response = alice.post(f"/v1/sub-users/{created['id']}/resend-invite")
    problem(response, 503, "mail_unavailable")


@pytest.mark.sqlite_only
def test_a_server_without_starttls_gets_no_plain_text_fallback(
    settings: ServerSettings,
    start_relay: StartRelay,
    portal: Callable[[ServerSettings], TestClient],
) -> None:
    relay = start_relay()  # no TLS at all
    http = portal(smtp_settings(settings, relay))
    alice = new_reseller(settings, http, "alice@reseller-a.example")
    created = ok(alice.post("/v1/sub-users", {"email": "tech@customer.example"}), 201)
    assert created["invite_email_sent"] is False
    assert relay.envelopes == []


@pytest.mark.sqlite_only
def test_plain_smtp_when_configured_so(
    settings: ServerSettings,
    start_relay: StartRelay,
    portal: Callable[[ServerSettings], TestClient],
) -> None:
    relay = start_relay()
    config = smtp_settings(settings, relay, smtp_starttls=False, smtp_username=None)
    http = portal(config)
    alice = new_reseller(config, http, "alice@reseller-a.example")
    created = ok(alice.post("/v1/sub-users", {"email": "tech@customer.example"}), 201)
    assert created["invite_email_sent"] is True
    assert relay.invite_token("tech@customer.example")
    assert settings.outbox_dir is not None
    assert not Path(settings.outbox_dir).exists()  # SMTP wins over the outbox when both are set


@pytest.mark.sqlite_only
def test_an_unreachable_smtp_server_is_a_reported_failure(
    settings: ServerSettings, portal: Callable[[ServerSettings], TestClient]
) -> None:
    config = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": _free_port(), "smtp_timeout_seconds": 5}
    )
    http = portal(config)
    alice = new_reseller(config, http, "alice@reseller-a.example")
    created = ok(alice.post("/v1/sub-users", {"email": "tech@customer.example"}), 201)
    assert created["invite_email_sent"] is False
    assert ok(alice.get(f"/v1/sub-users/{created['id']}"))["status"] == "invited"
