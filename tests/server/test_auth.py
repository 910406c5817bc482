"""Signing in, token refresh and rotation, sign-out, bearer checks."""

from __future__ import annotations

from tests.server.conftest import PASSWORD, Actor, World, login, ok, problem


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
