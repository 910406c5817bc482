"""Sub-users: invitation by email, acceptance, listing, enabling and disabling."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from srportal_desktop.server.app import create_app
from srportal_desktop.server.db import Database
from srportal_desktop.server.email import MailError
from srportal_desktop.server.models import InviteToken
from srportal_desktop.server.settings import ServerSettings
from tests.server.conftest import (
    PASSWORD,
    Actor,
    TestClient,
    World,
    body_text,
    fields,
    invite_token,
    license_body,
    login,
    new_reseller,
    ok,
    outbox,
    problem,
)


def test_adding_a_sub_user_invites_them_by_email(settings: ServerSettings, alice: Actor) -> None:
    created = ok(
        alice.post("/v1/sub-users", {"email": "New.Tech@Customer.example", "display_name": "Tech"}),
        201,
    )
    assert created["status"] == "invited"
    assert created["email"] == "new.tech@customer.example"
    assert created["display_name"] == "Tech"
    assert created["invite_email_sent"] is True
    assert created["pool"]["lpu_total"] == 0

    [mail] = outbox(settings)
    assert mail["To"] == "new.tech@customer.example"
    assert "Alice Sales" in mail["Subject"]
    text = body_text(mail)
    token = invite_token(settings, "new.tech@customer.example")
    assert f"https://portal.example.com/accept-invite?token={token}" in text
    assert "Alice Sales" in text
    assert text.count(token) == 2  # the link and the code to type


def test_accepting_the_invitation_sets_the_password_and_activates(
    settings: ServerSettings, alice: Actor
) -> None:
    created = ok(alice.post("/v1/sub-users", {"email": "tech@customer.example"}), 201)
    problem(  # no password yet: cannot sign in
        alice.http.post(
            "/v1/auth/login", json={"email": "tech@customer.example", "password": PASSWORD}
        ),
        401,
        "unauthenticated",
    )
    token = invite_token(settings, "tech@customer.example")
    tokens = ok(
        alice.http.post("/v1/auth/accept-invite", json={"token": token, "password": PASSWORD})
    )
    me = ok(alice.http.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}))
    assert me["id"] == created["id"]
    assert me["role"] == "sub_user"
    assert me["parent_id"] == alice.id
    assert ok(alice.get(f"/v1/sub-users/{created['id']}"))["status"] == "active"
    assert login(alice.http, "tech@customer.example")["access_token"]

    # One time only.
    problem(
        alice.http.post("/v1/auth/accept-invite", json={"token": token, "password": PASSWORD}),
        401,
        "unauthenticated",
    )


def test_accept_invite_refuses_a_short_password_and_keeps_the_invitation(
    settings: ServerSettings, alice: Actor
) -> None:
    ok(alice.post("/v1/sub-users", {"email": "tech@customer.example"}), 201)
    token = invite_token(settings, "tech@customer.example")
    response = alice.http.post("/v1/auth/accept-invite", json={"token": token, "password": "short"})
    assert "password" in fields(problem(response, 422, "validation_failed"))
    ok(alice.http.post("/v1/auth/accept-invite", json={"token": token, "password": PASSWORD}))


def test_an_expired_invitation_is_refused(settings: ServerSettings, alice: Actor) -> None:
    ok(alice.post("/v1/sub-users", {"email": "late@customer.example"}), 201)
    token = invite_token(settings, "late@customer.example")
    db = Database(settings.database_url)
    with db.session(write=True) as session:
        session.execute(
            update(InviteToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        session.commit()
    db.dispose()
    response = alice.http.post(
        "/v1/auth/accept-invite", json={"token": token, "password": PASSWORD}
    )
    assert "expired" in problem(response, 401, "unauthenticated")["detail"]


def test_email_must_be_valid(alice: Actor) -> None:
    for bad in ("no-at-sign", "two@@example.com", "user@localhost", ""):
        errors = fields(
            problem(alice.post("/v1/sub-users", {"email": bad}), 422, "validation_failed")
        )
        assert "email" in errors, bad


def test_email_is_unique_case_insensitively_across_the_portal(
    world: World,
) -> None:
    body = problem(
        world.alice.post("/v1/sub-users", {"email": "ANN@Customer.EXAMPLE"}), 409, "email_taken"
    )
    assert fields(body) == {"email": "This email address is already in use."}
    assert "ann@customer.example" in body["detail"]
    # Another reseller's customer, and a reseller's own address, count too.
    problem(world.bob.post("/v1/sub-users", {"email": "ann@customer.example"}), 409, "email_taken")
    problem(world.bob.post("/v1/sub-users", {"email": world.alice.email}), 409, "email_taken")


def test_resend_invite_sends_a_new_code_and_retires_the_old(
    settings: ServerSettings, alice: Actor
) -> None:
    created = ok(alice.post("/v1/sub-users", {"email": "slow@customer.example"}), 201)
    old = invite_token(settings, "slow@customer.example")
    response = alice.post(f"/v1/sub-users/{created['id']}/resend-invite")
    assert response.status_code == 202
    assert response.json()["invite_email_sent"] is True
    new = invite_token(settings, "slow@customer.example")
    assert new != old
    assert len(outbox(settings)) == 2
    problem(
        alice.http.post("/v1/auth/accept-invite", json={"token": old, "password": PASSWORD}),
        401,
        "unauthenticated",
    )
    ok(alice.http.post("/v1/auth/accept-invite", json={"token": new, "password": PASSWORD}))
    # Accepted: nothing left to resend.
    problem(alice.post(f"/v1/sub-users/{created['id']}/resend-invite"), 409, "invalid_state")


def test_patch_renames_and_disables_and_enables(world: World) -> None:
    alice, ann = world.alice, world.ann
    renamed = ok(alice.patch(f"/v1/sub-users/{ann.id}", {"display_name": "  Ann Corporation "}))
    assert renamed["display_name"] == "Ann Corporation"
    assert (
        ok(alice.patch(f"/v1/sub-users/{ann.id}", {"status": "disabled"}))["status"] == "disabled"
    )
    assert ok(alice.patch(f"/v1/sub-users/{ann.id}", {"status": "active"}))["status"] == "active"
    assert login(ann.http, ann.email)["access_token"]
    errors = fields(
        problem(
            alice.patch(f"/v1/sub-users/{ann.id}", {"status": "invited"}), 422, "validation_failed"
        )
    )
    assert "status" in errors


def test_an_invited_sub_user_cannot_be_forced_active(alice: Actor) -> None:
    created = ok(alice.post("/v1/sub-users", {"email": "wait@customer.example"}), 201)
    problem(
        alice.patch(f"/v1/sub-users/{created['id']}", {"status": "active"}), 409, "invalid_state"
    )


def test_a_disabled_sub_user_cannot_accept_its_invitation(
    settings: ServerSettings, alice: Actor
) -> None:
    created = ok(alice.post("/v1/sub-users", {"email": "gone@customer.example"}), 201)
    ok(alice.patch(f"/v1/sub-users/{created['id']}", {"status": "disabled"}))
    token = invite_token(settings, "gone@customer.example")
    problem(
        alice.http.post("/v1/auth/accept-invite", json={"token": token, "password": PASSWORD}),
        401,
        "unauthenticated",
    )
    # Enabled again before ever accepting: waiting for the invitation once more.
    assert ok(alice.patch(f"/v1/sub-users/{created['id']}", {"status": "active"}))["status"] == (
        "invited"
    )


def test_sub_user_list_pages_without_gaps_or_duplicates(alice: Actor) -> None:
    emails = [f"user{n:02}@customer.example" for n in range(7)]
    for email in emails:
        ok(alice.post("/v1/sub-users", {"email": email}), 201)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = ok(alice.get("/v1/sub-users", params=params))
        seen += [item["email"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == emails  # creation order, each once
    assert pages == 3


def test_changes_to_sub_users_are_audited(world: World) -> None:
    ok(world.alice.patch(f"/v1/sub-users/{world.ann.id}", {"status": "disabled"}))
    history = ok(world.alice.get(f"/v1/sub-users/{world.ann.id}/history"))["items"]
    assert [(h["action"], h["actor_id"]) for h in history] == [
        ("sub_user.invited", world.alice.id),
        ("invite.accepted", world.ann.id),
        ("sub_user.updated", world.alice.id),
    ]
    assert history[2]["details"] == {"status": ["active", "disabled"]}
    problem(world.bob.get(f"/v1/sub-users/{world.ann.id}/history"), 404, "not_found")


# --- mail transports and mail failures -------------------------------------------------------


class BrokenMailer:
    def __init__(self) -> None:
        self.attempts: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        self.attempts.append(message)
        raise MailError("relay refused the connection")


@pytest.fixture
def broken_mail(settings: ServerSettings) -> tuple[BrokenMailer, FastAPI]:
    mailer = BrokenMailer()
    return mailer, create_app(settings, mailer=mailer)


def test_a_mail_failure_keeps_the_sub_user_and_says_so(
    settings: ServerSettings, broken_mail: tuple[BrokenMailer, FastAPI]
) -> None:
    mailer, app = broken_mail
    with TestClient(app) as http:
        alice = new_reseller(settings, http, "alice@reseller-a.example")
        created = ok(alice.post("/v1/sub-users", {"email": "tech@customer.example"}), 201)
        assert created["invite_email_sent"] is False
        assert created["status"] == "invited"
        assert len(mailer.attempts) == 1
        listed = ok(alice.get("/v1/sub-users"))["items"]
        assert [s["email"] for s in listed] == ["tech@customer.example"]

        # Resending is the way to try again; failing, it says so with a 503 problem.
        response = alice.post(f"/v1/sub-users/{created['id']}/resend-invite")
        assert "could not be sent" in problem(response, 503, "mail_unavailable")["detail"]
        assert len(mailer.attempts) == 2


def test_without_any_mail_transport_the_invite_is_reported_unsent(tmp_path: Path) -> None:
    settings = ServerSettings(database_url=f"sqlite:///{(tmp_path / 'p.sqlite3').as_posix()}")
    with TestClient(create_app(settings)) as http:
        alice = new_reseller(settings, http, "alice@reseller-a.example")
        created = ok(alice.post("/v1/sub-users", {"email": "tech@customer.example"}), 201)
    assert created["invite_email_sent"] is False


def test_invitation_codes_are_stored_only_as_digests(
    settings: ServerSettings, alice: Actor
) -> None:
    ok(alice.post("/v1/sub-users", {"email": "tech@customer.example"}), 201)
    token = invite_token(settings, "tech@customer.example")
    db = Database(settings.database_url)
    try:
        with db.session() as session:
            stored = list(session.scalars(select(InviteToken.token_hash)))
    finally:
        db.dispose()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]


def test_a_failed_resend_keeps_the_previous_code_working(
    settings: ServerSettings, broken_mail: tuple[BrokenMailer, FastAPI]
) -> None:
    _, app = broken_mail
    with TestClient(app) as http:
        alice = new_reseller(settings, http, "alice@reseller-a.example")
        created = ok(alice.post("/v1/sub-users", {"email": "tech@customer.example"}), 201)
        [first] = _codes(app, "tech@customer.example")
        problem(alice.post(f"/v1/sub-users/{created['id']}/resend-invite"), 503, "mail_unavailable")
        # The new code never reached anyone, so the old one must still work.
        ok(http.post("/v1/auth/accept-invite", json={"token": first, "password": PASSWORD}))


def _codes(app: FastAPI, to: str) -> list[str]:
    mailer = app.state.context.mailer
    assert isinstance(mailer, BrokenMailer)
    return [
        body_text(m).split("accept-invite?token=")[1].split()[0]
        for m in mailer.attempts
        if m["To"] == to
    ]


def test_a_disabled_sub_user_receives_no_grants_or_licenses_until_enabled(world: World) -> None:
    alice, ann = world.alice, world.ann
    lic = ok(alice.post("/v1/licenses", license_body("For Ann")), 201)
    ok(alice.patch(f"/v1/sub-users/{ann.id}", {"status": "disabled"}))
    grant = {"grantee_id": ann.id, "supported_sensors": ["ouster-os1-64"], "lpu": 1, "sensors": 1}
    before = alice.pool()
    problem(alice.post("/v1/grants", grant), 409, "invalid_state")
    problem(
        alice.post(f"/v1/licenses/{lic['id']}/transfer", {"to_sub_user_id": ann.id}),
        409,
        "invalid_state",
    )
    assert alice.pool() == before
    assert ok(alice.get(f"/v1/licenses/{lic['id']}"))["owner_id"] == alice.id

    ok(alice.patch(f"/v1/sub-users/{ann.id}", {"status": "active"}))
    ok(alice.post("/v1/grants", grant), 201)
    moved = ok(alice.post(f"/v1/licenses/{lic['id']}/transfer", {"to_sub_user_id": ann.id}))
    assert moved["owner_id"] == ann.id


def test_disabling_ends_every_session_of_the_sub_user_at_once(world: World) -> None:
    ann = world.ann
    sessions = [login(ann.http, ann.email) for _ in range(3)]
    ok(world.alice.patch(f"/v1/sub-users/{ann.id}", {"status": "disabled"}))
    for tokens in sessions:
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        problem(ann.http.get("/v1/me", headers=headers), 401, "unauthenticated")
