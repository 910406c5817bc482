"""Throttled sign-in: failed attempts per email and per client IP, 429 with Retry-After."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from srportal_desktop.server.app import create_app
from srportal_desktop.server.bootstrap import create_reseller
from srportal_desktop.server.db import Database
from srportal_desktop.server.errors import RateLimitedError
from srportal_desktop.server.models import RateLimitCounter
from srportal_desktop.server.services import rate_limit
from srportal_desktop.server.services.rate_limit import Limit, Window
from srportal_desktop.server.settings import ServerSettings
from tests.server.conftest import PASSWORD, TestClient, ok, problem

WINDOW = 60
T0 = 1_800_000_000  # a window boundary for 60-second windows


@pytest.fixture
def db(settings: ServerSettings) -> Iterator[Database]:
    database = Database(settings.database_url)
    yield database
    database.dispose()


def try_once(db: Database, *limits: Limit, now: float) -> int | None:
    """None when the attempt was let through, else the Retry-After it was refused with."""
    with db.session(write=True) as session:
        try:
            rate_limit.attempt(session, limits, now=now)
        except RateLimitedError as refused:
            status, retry_after = refused.status, refused.headers["Retry-After"]
        else:
            return None
    assert status == 429
    return int(retry_after)


# --- the counter itself ------------------------------------------------------------------------


def test_the_limit_lets_exactly_n_through_and_says_when_to_retry(db: Database) -> None:
    limit = Limit("k", attempts=3, window_seconds=WINDOW)
    now = T0 + 10
    assert [try_once(db, limit, now=now) for _ in range(3)] == [None, None, None]
    # 3 in this window: the next fits once the estimate (3 x the part still sliding) is ≤ 2,
    # i.e. 20 s into the next window, 70 s from now.
    assert try_once(db, limit, now=now) == 70
    assert try_once(db, limit, now=now + 69) == 1
    assert try_once(db, limit, now=now + 70) is None
    assert try_once(db, limit, now=now + 70) is not None  # and only one


def test_refused_attempts_are_not_counted(db: Database) -> None:
    limit = Limit("k", attempts=2, window_seconds=WINDOW)
    for _ in range(2):
        assert try_once(db, limit, now=T0) is None
    for _ in range(5):
        assert try_once(db, limit, now=T0 + 1) is not None
    with db.session() as session:
        assert session.scalar(select(RateLimitCounter.count)) == 2


def test_the_window_slides_over_the_previous_one(db: Database) -> None:
    limit = Limit("k", attempts=4, window_seconds=WINDOW)
    assert [try_once(db, limit, now=T0 + 50) for _ in range(4)] == [None] * 4
    # A quarter into the next window, 4 x 3/4 = 3 still count: room for exactly one more.
    assert try_once(db, limit, now=T0 + WINDOW + 15) is None
    assert try_once(db, limit, now=T0 + WINDOW + 15) is not None
    # Two windows on, the old attempts are forgotten (and pruned).
    assert try_once(db, limit, now=T0 + 3 * WINDOW) is None
    with db.session() as session:
        assert session.scalar(select(func.min(RateLimitCounter.window_start))) == T0 + 3 * WINDOW


def test_a_refund_hands_an_attempt_back(db: Database) -> None:
    limit = Limit("k", attempts=1, window_seconds=WINDOW)
    with db.session(write=True) as session:
        hits = rate_limit.attempt(session, [limit], now=T0)
        rate_limit.refund(session, hits)
        session.commit()
    assert try_once(db, limit, now=T0) is None
    assert try_once(db, limit, now=T0) is not None


def test_keys_are_counted_apart_and_a_refusal_counts_nothing(db: Database) -> None:
    tight = Limit("tight", attempts=1, window_seconds=WINDOW)
    loose = Limit("loose", attempts=5, window_seconds=WINDOW)
    assert try_once(db, tight, loose, now=T0) is None
    for _ in range(3):  # refused by `tight`, so `loose` is not charged either
        assert try_once(db, tight, loose, now=T0) is not None
    # 5 used: the next fits once 5 x the sliding-out part is ≤ 4, 12 s into the next window.
    assert [try_once(db, loose, now=T0) for _ in range(5)] == [None] * 4 + [WINDOW + 12]


def test_retry_after_is_at_least_one_second() -> None:
    # The previous window's attempt slides out 1 ms from now: say 1 s, never 0.
    limit = Limit("k", attempts=2, window_seconds=WINDOW)
    window = Window(start=T0, elapsed=WINDOW - 0.001, previous=1, current=1)
    assert rate_limit.retry_after(limit, window) == 1


def test_racing_attempts_cannot_exceed_the_limit(db: Database) -> None:
    limit = Limit("race", attempts=5, window_seconds=3600)
    racers = 12
    barrier = threading.Barrier(racers)
    results: list[int | str | None] = ["not run"] * racers

    def run(n: int) -> None:
        barrier.wait()
        results[n] = try_once(db, limit, now=T0)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results.count(None) == 5
    assert all(isinstance(r, int) for r in results if r is not None)


# --- over HTTP: sign-in, accept-invite, refresh --------------------------------------------------


@pytest.fixture
def limited(settings: ServerSettings) -> Iterator[tuple[ServerSettings, FastAPI]]:
    tight = settings.model_copy(
        update={
            "auth_attempts_per_email": 3,
            "auth_attempts_per_ip": 5,
            "auth_attempts_window_seconds": 3600,
        }
    )
    app = create_app(tight)
    create_reseller(tight, "alice@reseller-a.example", PASSWORD, 10, 10, False)
    create_reseller(tight, "bob@reseller-b.example", PASSWORD, 10, 10, False)
    yield tight, app
    app.state.context.db.dispose()


def from_ip(app: FastAPI, ip: str) -> TestClient:
    return TestClient(app, client=(ip, 40000))


def sign_in(http: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return http.post("/v1/auth/login", json={"email": email, "password": password})


def refused(response: httpx.Response) -> int:
    body = problem(response, 429, "rate_limited")
    assert "Too many attempts" in body["detail"]
    retry = int(response.headers["Retry-After"])
    assert 1 <= retry <= 2 * 3600
    return retry


def test_guessing_one_password_is_stopped_per_email(
    limited: tuple[ServerSettings, FastAPI],
) -> None:
    _, app = limited
    first, second = from_ip(app, "10.0.0.1"), from_ip(app, "10.0.0.2")
    for _ in range(2):
        problem(sign_in(first, "alice@reseller-a.example", "guess guess"), 401, "unauthenticated")
    problem(sign_in(second, "ALICE@reseller-a.example", "guess again"), 401, "unauthenticated")
    # Used up for this address from any IP, even with the right password ...
    refused(sign_in(first, "alice@reseller-a.example"))
    refused(sign_in(from_ip(app, "10.0.0.3"), "alice@reseller-a.example"))
    # ... while other addresses from the same IPs are fine.
    ok(sign_in(first, "bob@reseller-b.example"))


def test_many_failures_from_one_ip_are_stopped_for_every_address(
    limited: tuple[ServerSettings, FastAPI],
) -> None:
    _, app = limited
    attacker, elsewhere = from_ip(app, "10.0.0.66"), from_ip(app, "10.0.0.7")
    for n in range(5):
        problem(sign_in(attacker, f"user{n}@example.com", "guess guess"), 401, "unauthenticated")
    refused(sign_in(attacker, "bob@reseller-b.example"))
    ok(sign_in(elsewhere, "bob@reseller-b.example"))


def test_successful_sign_ins_use_no_budget_and_reset_no_counter(
    limited: tuple[ServerSettings, FastAPI],
) -> None:
    _, app = limited
    office = from_ip(app, "10.0.0.9")
    for _ in range(8):  # more than either limit: successes are not counted
        ok(sign_in(office, "bob@reseller-b.example"))
    for _ in range(2):
        problem(sign_in(office, "alice@reseller-a.example", "wrong pass"), 401, "unauthenticated")
    # Bob (and Alice herself) signing in from here wipes nobody's failures ...
    ok(sign_in(office, "bob@reseller-b.example"))
    ok(sign_in(office, "alice@reseller-a.example"))
    problem(sign_in(office, "alice@reseller-a.example", "wrong pass"), 401, "unauthenticated")
    # ... so the third failure for Alice's address is the last one allowed.
    refused(sign_in(office, "alice@reseller-a.example"))


def test_guessing_invitation_codes_is_stopped_per_ip(
    limited: tuple[ServerSettings, FastAPI],
) -> None:
    _, app = limited
    http = from_ip(app, "10.0.0.5")
    for n in range(5):
        response = http.post(
            "/v1/auth/accept-invite", json={"token": f"guess-{n}", "password": PASSWORD}
        )
        problem(response, 401, "unauthenticated")
    refused(http.post("/v1/auth/accept-invite", json={"token": "guess", "password": PASSWORD}))


def test_the_invitation_page_shares_the_limit_and_says_when_to_retry(
    limited: tuple[ServerSettings, FastAPI],
) -> None:
    _, app = limited
    http = from_ip(app, "10.0.0.6")
    form = {"password": PASSWORD, "password_again": PASSWORD}
    for n in range(5):
        page = http.post("/accept-invite", data={"token": f"guess-{n}", **form})
        assert page.status_code == 401
    page = http.post("/accept-invite", data={"token": "guess", **form})
    assert page.status_code == 429
    assert page.headers["content-type"].startswith("text/html")
    assert 1 <= int(page.headers["Retry-After"]) <= 2 * 3600
    refused(http.post("/v1/auth/accept-invite", json={"token": "guess", "password": PASSWORD}))


def test_guessing_refresh_tokens_is_stopped_per_ip_but_real_refreshes_are_free(
    limited: tuple[ServerSettings, FastAPI],
) -> None:
    _, app = limited
    http = from_ip(app, "10.0.0.8")
    tokens: dict[str, Any] = ok(sign_in(http, "bob@reseller-b.example"))
    for _ in range(7):
        tokens = ok(http.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}))
    for n in range(5):
        response = http.post("/v1/auth/refresh", json={"refresh_token": f"forged-{n}"})
        problem(response, 401, "unauthenticated")
    refused(http.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}))


def test_the_429_is_in_the_openapi_document(limited: tuple[ServerSettings, FastAPI]) -> None:
    paths = limited[1].openapi()["paths"]
    for path in ("/v1/auth/login", "/v1/auth/refresh", "/v1/auth/accept-invite"):
        assert "429" in paths[path]["post"]["responses"], path
