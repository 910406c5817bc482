"""`Idempotency-Key` on the calls that spend quota: a retry never spends twice."""

from __future__ import annotations

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
