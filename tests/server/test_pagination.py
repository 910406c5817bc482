"""Keyset pagination of the lists: stable while rows are inserted, strict about its input."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import update

from srportal_desktop.server.db import Database
from srportal_desktop.server.errors import ValidationFailedError
from srportal_desktop.server.models import Account
from srportal_desktop.server.services.pagination import MAX_CURSOR_LENGTH, Cursor, check_limit
from srportal_desktop.server.settings import ServerSettings
from tests.server.conftest import Actor, World, fields, license_body, ok, problem

LISTS = ("/v1/licenses", "/v1/sub-users", "/v1/grants")


def walk(
    actor: Actor, path: str, limit: int, between: Callable[[int], None] = lambda _n: None
) -> list[dict[str, Any]]:
    """Every page of a list, calling `between(n)` after the n-th page."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit}
    for n in range(10_000):
        page = ok(actor.get(path, params=params))
        assert len(page["items"]) <= limit
        items.extend(page["items"])
        if page["next_cursor"] is None:
            return items
        between(n)
        params = {"limit": limit, "cursor": page["next_cursor"]}
    raise AssertionError("the pages never ended")


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def assert_each_once(walked: list[dict[str, Any]], existing: list[dict[str, Any]]) -> None:
    seen = ids(walked)
    assert len(seen) == len(set(seen)), "a row came twice"
    assert set(ids(existing)) <= set(seen), "a row that existed was skipped"
    # Pre-existing rows come in the same order as in one big page.
    assert [i for i in seen if i in set(ids(existing))] == ids(existing)


# --- stable under inserts -----------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_license_pages_survive_inserts_between_requests(world: World, limit: int) -> None:
    alice = world.alice
    for n in range(3):
        ok(alice.post("/v1/licenses", license_body(f"Single {n}")), 201)
    # A bulk creation gives its licenses one shared timestamp: only the id orders them.
    ok(alice.post("/v1/licenses/bulk", {"template": license_body("Tick"), "copies": 5}), 201)
    existing = ok(alice.get("/v1/licenses", params={"limit": 1000}))["items"]

    def insert(n: int) -> None:
        if n >= 4:
            return  # a walk must end: new rows come in faster than one row per page
        ok(alice.post("/v1/licenses", license_body(f"Meanwhile {limit}-{n}")), 201)
        ok(alice.post("/v1/licenses/bulk", {"template": license_body(f"B{n}"), "copies": 2}), 201)

    walked = walk(alice, "/v1/licenses", limit, insert)
    assert_each_once(walked, existing)
    # Inserted rows are newer: they come after every pre-existing one, never in between.
    last_existing = max(ids(walked).index(i) for i in ids(existing))
    assert len(walked) > len(existing)
    assert set(ids(walked)[last_existing + 1 :]).isdisjoint(ids(existing))


def test_bulk_licenses_sharing_a_timestamp_page_by_id(world: World) -> None:
    created = ok(
        world.alice.post("/v1/licenses/bulk", {"template": license_body("Same"), "copies": 7}),
        201,
    )["items"]
    assert len({item["issued_at"] for item in created}) == 1
    walked = walk(world.alice, "/v1/licenses", 2)
    assert ids(walked) == sorted(ids(created))


def test_sub_user_pages_survive_inserts_and_ties(settings: ServerSettings, world: World) -> None:
    alice = world.alice
    for n in range(4):
        ok(alice.post("/v1/sub-users", {"email": f"extra{n}@customer.example"}), 201)
    _same_created_at(settings, alice.id)
    existing = ok(alice.get("/v1/sub-users", params={"limit": 1000}))["items"]
    assert len({item["created_at"] for item in existing}) == 1

    def insert(n: int) -> None:
        if n < 4:
            ok(alice.post("/v1/sub-users", {"email": f"late{n}@customer.example"}), 201)

    walked = walk(alice, "/v1/sub-users", 1, insert)
    assert_each_once(walked, existing)
    assert ids(existing) == sorted(ids(existing))  # ties broken by id


def test_grant_pages_survive_inserts_between_requests(world: World) -> None:
    for _ in range(4):
        world.grant(world.ann, lpu=1, sensors=1)
    existing = ok(world.alice.get("/v1/grants", params={"limit": 1000}))["items"]

    def insert(n: int) -> None:
        if n < 4:
            world.grant(world.amy, lpu=1, sensors=0)

    walked = walk(world.alice, "/v1/grants", 2, insert)
    assert_each_once(walked, existing)


def _same_created_at(settings: ServerSettings, parent_id: str) -> None:
    """Give every sub-user of `parent_id` one creation instant, as if made in the same tick."""
    db = Database(settings.database_url)
    try:
        with db.session(write=True) as session:
            session.execute(
                update(Account)
                .where(Account.parent_id == parent_id)
                .values(created_at=datetime(2026, 1, 1, 12, 0, tzinfo=UTC))
            )
            session.commit()
    finally:
        db.dispose()


# --- bad input ----------------------------------------------------------------------------------


def _token(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


GARBAGE_CURSORS = [
    "zzz",
    "!!!!",
    "é",
    "A" * (MAX_CURSOR_LENGTH + 1),
    _token({"v": 1, "s": 3}),  # a change-feed shape
    _token(["2026-01-01T00:00:00", "id"]),  # no UTC offset
    _token(["not a time", "id"]),
    _token(["2026-01-01T00:00:00+00:00", ""]),
    _token(["2026-01-01T00:00:00+00:00", 5]),
    _token(["2026-01-01T00:00:00+00:00"]),
    _token(["2026-01-01T00:00:00+00:00", "a", "b"]),
    _token("2026-01-01T00:00:00+00:00"),
]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("cursor", GARBAGE_CURSORS)
def test_a_garbage_cursor_is_a_validation_error(alice: Actor, path: str, cursor: str) -> None:
    body = problem(alice.get(path, params={"cursor": cursor}), 422, "validation_failed")
    assert "cursor" in fields(body)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("limit", ["0", "-5", "1001", "abc", "1.5"])
def test_limit_outside_1_to_1000_is_a_validation_error(alice: Actor, path: str, limit: str) -> None:
    body = problem(alice.get(path, params={"limit": limit}), 422, "validation_failed")
    assert "limit" in fields(body)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("limit", [1, 1000])
def test_limit_at_the_bounds_is_accepted(alice: Actor, path: str, limit: int) -> None:
    ok(alice.get(path, params={"limit": limit}))


# --- the cursor itself --------------------------------------------------------------------------


def test_a_cursor_round_trips_and_is_opaque() -> None:
    at = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    cursor = Cursor(at, "0f0e-id")
    text = cursor.encode()
    assert "0f0e" not in text
    assert "2026" not in text
    assert Cursor.decode(text) == cursor
    # The same instant written with another offset is the same position.
    elsewhere = Cursor(at.astimezone(timezone(timedelta(hours=2))), "x")
    assert Cursor.decode(elsewhere.encode()).created_at == at


def test_check_limit_defaults_and_bounds() -> None:
    assert check_limit(None) == 100
    assert check_limit(None, default=500) == 500
    assert check_limit(1) == 1
    assert check_limit(1000) == 1000
    for bad in (0, -1, 1001):
        with pytest.raises(ValidationFailedError):
            check_limit(bad)
