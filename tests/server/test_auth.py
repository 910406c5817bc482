"""Signing in, token refresh and rotation, sign-out, bearer checks."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from srportal_desktop.server.app import create_app
from srportal_desktop.server.bootstrap import create_reseller
from srportal_desktop.server.db import Database
from srportal_desktop.server.models import AuthToken, utcnow
from srportal_desktop.server.security import password_problem, token_digest
from srportal_desktop.server.settings import ServerSettings
from tests.server.conftest import (
    PASSWORD,
    Actor,
    TestClient,
    World,
    fields,
    invite_token,
    login,
    ok,
    problem,
)


def test_login_returns_a_bearer_token_pair(alice: Actor) -> None:
    tokens = login(alice.http, alice.email)
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900
    assert tokens["access_token"] != tokens["refresh_token"]
    me = ok(alice.http.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}))
    assert me["email"] == alice.email


def test_login_is_case_insensitive_on_the_email(alice: Actor) -> None:
    assert login(alice.http, alice.email.upper())["access_token"]


def test_wrong_password_is_a_401_problem(alice: Actor) -> None:
    response = alice.http.post(
        "/v1/auth/login", json={"email": alice.email, "password": "not the password"}
    )
    body = problem(response, 401, "unauthenticated")
    assert "incorrect" in body["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(alice: Actor) -> None:
    wrong_password = alice.http.post(
        "/v1/auth/login", json={"email": alice.email, "password": "nope nope"}
    )
    unknown = alice.http.post(
        "/v1/auth/login", json={"email": "nobody@nowhere.example", "password": "nope nope"}
    )
    assert problem(unknown, 401, "unauthenticated")["detail"] == wrong_password.json()["detail"]


def test_requests_without_or_with_a_bad_token_are_401(alice: Actor) -> None:
    problem(alice.http.get("/v1/me"), 401, "unauthenticated")
    problem(
        alice.http.get("/v1/me", headers={"Authorization": "Bearer forged"}), 401, "unauthenticated"
    )
    problem(
        alice.http.get("/v1/me", headers={"Authorization": "Basic YTpi"}), 401, "unauthenticated"
    )


def test_refresh_rotates_and_a_reused_refresh_token_ends_the_session(alice: Actor) -> None:
    first = login(alice.http, alice.email)
    second = ok(alice.http.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}))
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]

    # The old refresh token was rotated away: presenting it again looks like theft ...
    replay = alice.http.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    problem(replay, 401, "unauthenticated")
    # ... so the whole session family is revoked, including the newest tokens.
    problem(
        alice.http.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}),
        401,
        "unauthenticated",
    )
    problem(
        alice.http.get("/v1/me", headers={"Authorization": f"Bearer {second['access_token']}"}),
        401,
        "unauthenticated",
    )


def test_logout_revokes_the_session_but_not_other_sessions(alice: Actor) -> None:
    session = login(alice.http, alice.email)
    response = alice.http.post("/v1/auth/logout", json={"refresh_token": session["refresh_token"]})
    assert response.status_code == 204
    problem(
        alice.http.get("/v1/me", headers={"Authorization": f"Bearer {session['access_token']}"}),
        401,
        "unauthenticated",
    )
    problem(
        alice.http.post("/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}),
        401,
        "unauthenticated",
    )
    assert alice.me()["email"] == alice.email  # the fixture's own session lives on


def test_a_disabled_sub_user_cannot_sign_in_and_is_signed_out(world: World) -> None:
    ann = world.ann
    ok(world.alice.patch(f"/v1/sub-users/{ann.id}", {"status": "disabled"}))
    problem(ann.get("/v1/me"), 401, "unauthenticated")
    body = problem(
        ann.http.post("/v1/auth/login", json={"email": ann.email, "password": PASSWORD}),
        401,
        "unauthenticated",
    )
    assert "disabled" in body["detail"]


# --- tokens at rest, expiry, kinds -----------------------------------------------------------


@pytest.fixture
def db(settings: ServerSettings) -> Iterator[Database]:
    database = Database(settings.database_url)
    yield database
    database.dispose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_are_stored_only_as_digests(alice: Actor, db: Database) -> None:
    tokens = login(alice.http, alice.email)
    with db.session() as session:
        stored = set(session.scalars(select(AuthToken.token_hash)))
    for raw in (tokens["access_token"], tokens["refresh_token"]):
        assert raw not in stored
        assert hashlib.sha256(raw.encode()).hexdigest() in stored


def test_the_access_token_lifetime_is_a_setting(settings: ServerSettings) -> None:
    short = settings.model_copy(update={"access_token_ttl_seconds": 60})
    app = create_app(short)
    try:
        with TestClient(app) as http:
            create_reseller(short, "carol@reseller-c.example", PASSWORD, 1, 1, False)
            assert login(http, "carol@reseller-c.example")["expires_in"] == 60
    finally:
        app.state.context.db.dispose()


def expire(db: Database, raw_token: str) -> None:
    with db.session(write=True) as session:
        session.execute(
            update(AuthToken)
            .where(AuthToken.token_hash == token_digest(raw_token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()


def test_an_expired_access_token_is_refused_and_refresh_gets_a_new_one(
    alice: Actor, db: Database
) -> None:
    tokens = login(alice.http, alice.email)
    expire(db, tokens["access_token"])
    body = problem(
        alice.http.get("/v1/me", headers=bearer(tokens["access_token"])), 401, "unauthenticated"
    )
    assert "sign in again" in body["detail"]
    renewed = ok(
        alice.http.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    )
    assert ok(alice.http.get("/v1/me", headers=bearer(renewed["access_token"])))["id"] == alice.id


def test_an_expired_refresh_token_is_refused(alice: Actor, db: Database) -> None:
    tokens = login(alice.http, alice.email)
    expire(db, tokens["refresh_token"])
    problem(
        alice.http.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}),
        401,
        "unauthenticated",
    )


def test_access_and_refresh_tokens_are_not_interchangeable(alice: Actor) -> None:
    tokens = login(alice.http, alice.email)
    problem(
        alice.http.get("/v1/me", headers=bearer(tokens["refresh_token"])), 401, "unauthenticated"
    )
    problem(
        alice.http.post("/v1/auth/refresh", json={"refresh_token": tokens["access_token"]}),
        401,
        "unauthenticated",
    )
    # Neither attempt cost the session anything.
    ok(alice.http.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}))


def test_logout_after_refreshes_ends_the_whole_sign_in(alice: Actor) -> None:
    first = login(alice.http, alice.email)
    second = ok(alice.http.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}))
    third = ok(alice.http.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}))
    # Signing out with the newest refresh token ends every token of this sign-in.
    assert (
        alice.http.post(
            "/v1/auth/logout", json={"refresh_token": third["refresh_token"]}
        ).status_code
        == 204
    )
    for access in (second["access_token"], third["access_token"]):
        problem(alice.http.get("/v1/me", headers=bearer(access)), 401, "unauthenticated")
    problem(
        alice.http.post("/v1/auth/refresh", json={"refresh_token": third["refresh_token"]}),
        401,
        "unauthenticated",
    )
    # Signing out twice, or with an unknown token, is not an error.
    assert (
        alice.http.post(
            "/v1/auth/logout", json={"refresh_token": third["refresh_token"]}
        ).status_code
        == 204
    )
    assert alice.http.post("/v1/auth/logout", json={"refresh_token": "unknown"}).status_code == 204


def test_reuse_of_a_rotated_token_spares_other_sign_ins(alice: Actor) -> None:
    laptop = login(alice.http, alice.email)
    phone = login(alice.http, alice.email)
    rotated = ok(
        alice.http.post("/v1/auth/refresh", json={"refresh_token": laptop["refresh_token"]})
    )
    problem(
        alice.http.post("/v1/auth/refresh", json={"refresh_token": laptop["refresh_token"]}),
        401,
        "unauthenticated",
    )
    problem(
        alice.http.get("/v1/me", headers=bearer(rotated["access_token"])), 401, "unauthenticated"
    )
    assert ok(alice.http.get("/v1/me", headers=bearer(phone["access_token"])))["id"] == alice.id


def test_a_disabled_sub_user_cannot_refresh_and_stays_out_after_re_enabling(world: World) -> None:
    ann = world.ann
    tokens = login(ann.http, ann.email)
    ok(world.alice.patch(f"/v1/sub-users/{ann.id}", {"status": "disabled"}))
    problem(
        ann.http.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}),
        401,
        "unauthenticated",
    )
    ok(world.alice.patch(f"/v1/sub-users/{ann.id}", {"status": "active"}))
    # Disabling signed Ann out for good: enabling lets her sign in again, not resume.
    problem(ann.http.get("/v1/me", headers=bearer(tokens["access_token"])), 401, "unauthenticated")
    problem(
        ann.http.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}),
        401,
        "unauthenticated",
    )
    assert ok(ann.http.get("/v1/me", headers=bearer(login(ann.http, ann.email)["access_token"])))


# --- password policy -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "Must be at least 8 characters long."),
        ("        ", "Must not be only spaces."),
        ("aaaaaaaaaaaa", "Must not be one character repeated."),
        ("new.tech@customer.example", "Must not be your email address."),
        ("NEW.TECH@Customer.Example", "Must not be your email address."),
        ("New.Tech", "Must not be your email address."),
        ("x" * 200 + "y" * 57, "Must be at most 256 characters long."),
    ],
)
def test_accept_invite_enforces_the_password_policy(
    settings: ServerSettings, alice: Actor, password: str, message: str
) -> None:
    ok(alice.post("/v1/sub-users", {"email": "new.tech@customer.example"}), 201)
    token = invite_token(settings, "new.tech@customer.example")
    response = alice.http.post(
        "/v1/auth/accept-invite", json={"token": token, "password": password}
    )
    body = problem(response, 422, "validation_failed")
    assert fields(body) == {"password": message}
    # The invitation is still good for a better choice.
    ok(alice.http.post("/v1/auth/accept-invite", json={"token": token, "password": PASSWORD}))


@pytest.mark.parametrize(
    "password", ["12345678", "pass word", "ab" * 4, "ünïcødé✓✓", "xy" * 128, "  padded  "]
)
def test_the_password_policy_accepts_any_long_enough_choice(password: str) -> None:
    assert password_problem(password, "someone@example.com") is None
