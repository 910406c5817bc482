"""`Idempotency-Key` on the calls that spend quota: a retry never spends twice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from srportal_desktop.server.db import Database
from srportal_desktop.server.models import IdempotencyRecord, utcnow
from srportal_desktop.server.settings import ServerSettings
from tests.server.conftest import Actor, World, fields, license_body, ok, problem


def test_a_retried_license_creation_returns_the_first_answer(alice: Actor) -> None:
    key = {"Idempotency-Key": "retry-1"}
    first = ok(alice.post("/v1/licenses", license_body("Once"), headers=key), 201)
    again = ok(alice.post("/v1/licenses", license_body("Once"), headers=key), 201)
    assert again == first
    assert alice.pool()["lpu_used"] == 1
    assert len(ok(alice.get("/v1/licenses"))["items"]) == 1


def test_a_retried_bulk_and_grant_spend_once(world: World) -> None:
    alice = world.alice
    body = {"template": license_body("Batch"), "copies": 4}
    first = ok(alice.post("/v1/licenses/bulk", body, headers={"Idempotency-Key": "b"}), 201)
    assert ok(alice.post("/v1/licenses/bulk", body, headers={"Idempotency-Key": "b"}), 201) == first

    grant = {
        "grantee_id": world.ann.id,
        "supported_sensors": ["ouster-os1-64"],
        "lpu": 3,
        "sensors": 3,
    }
    g1 = ok(alice.post("/v1/grants", grant, headers={"Idempotency-Key": "g"}), 201)
    g2 = ok(alice.post("/v1/grants", grant, headers={"Idempotency-Key": "g"}), 201)
    assert g1 == g2
    assert alice.pool()["lpu_used"] == 4 + 3


def test_the_same_key_for_another_request_is_refused(alice: Actor) -> None:
    key = {"Idempotency-Key": "k"}
    ok(alice.post("/v1/licenses", license_body("One"), headers=key), 201)
    body = problem(
        alice.post("/v1/licenses", license_body("Two"), headers=key), 422, "validation_failed"
    )
    assert list(fields(body)) == ["Idempotency-Key"]


def test_a_refused_request_is_not_remembered(alice: Actor) -> None:
    key = {"Idempotency-Key": "after-refusal"}
    ok(alice.post("/v1/licenses", license_body("Taken")), 201)
    problem(
        alice.post("/v1/licenses", license_body("Fresh", sensor_count=999), headers=key),
        409,
        "quota_exceeded",
    )
    ok(alice.post("/v1/licenses", license_body("Fresh", sensor_count=999 - 997), headers=key), 201)


def test_keys_belong_to_one_account(world: World) -> None:
    key = {"Idempotency-Key": "shared"}
    a = ok(world.alice.post("/v1/licenses", license_body("Mine"), headers=key), 201)
    b = ok(world.bob.post("/v1/licenses", license_body("Mine"), headers=key), 201)
    assert a["id"] != b["id"]


def backdate_keys(settings: ServerSettings, hours: float) -> None:
    db = Database(settings.database_url)
    try:
        with db.session(write=True) as session:
            earlier = utcnow() - timedelta(hours=hours)
            session.execute(update(IdempotencyRecord).values(created_at=earlier))
            session.commit()
    finally:
        db.dispose()


def test_a_key_is_remembered_for_a_day_then_counts_as_new(
    settings: ServerSettings, alice: Actor
) -> None:
    assert settings.idempotency_key_ttl_hours == 24
    key = {"Idempotency-Key": "daily"}
    first = ok(alice.post("/v1/licenses", license_body("Monday"), headers=key), 201)

    backdate_keys(settings, 23.5)  # still within the day: the first answer, nothing spent
    assert ok(alice.post("/v1/licenses", license_body("Monday"), headers=key), 201) == first
    assert alice.pool()["lpu_used"] == 1

    backdate_keys(settings, 24.5)  # forgotten: the key is free for a new request
    second = ok(alice.post("/v1/licenses", license_body("Tuesday"), headers=key), 201)
    assert second["id"] != first["id"]
    assert alice.pool()["lpu_used"] == 2
