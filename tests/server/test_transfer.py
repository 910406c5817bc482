"""Transferring licenses to sub-users."""

from __future__ import annotations

from typing import Any

from tests.server.conftest import World, fields, license_body, ok, problem


def make_license(world: World, name: str = "Crane 7") -> dict[str, Any]:
    created: dict[str, Any] = ok(world.alice.post("/v1/licenses", license_body(name)), 201)
    return created


def test_transfer_moves_the_license_and_records_it(world: World) -> None:
    original = make_license(world)
    moved = ok(
        world.alice.post(
            f"/v1/licenses/{original['id']}/transfer", {"to_sub_user_id": world.ann.id}
        )
    )
    assert moved["id"] == original["id"]
    assert moved["owner_id"] == world.ann.id
    for key in ("name", "issued_at", "expires_at", "machine_id", "status", "grant_id"):
        assert moved[key] == original[key]

    assert ok(world.ann.get(f"/v1/licenses/{original['id']}"))["owner_id"] == world.ann.id
    assert [x["id"] for x in ok(world.ann.get("/v1/licenses"))["items"]] == [original["id"]]

    # Onwards from one sub-user to another: the reseller manages both.
    ok(
        world.alice.post(
            f"/v1/licenses/{original['id']}/transfer", {"to_sub_user_id": world.amy.id}
        )
    )
    history = ok(world.alice.get(f"/v1/licenses/{original['id']}/history"))["items"]
    assert [h["action"] for h in history] == [
        "license.created",
        "license.transferred",
        "license.transferred",
    ]
    assert history[1]["details"]["from_owner_id"] == world.alice.id
    assert history[1]["details"]["to_owner_id"] == world.ann.id
    assert history[1]["details"]["to_owner"] == "Ann Corp"
    assert history[2]["actor_id"] == world.alice.id
    problem(world.ann.get(f"/v1/licenses/{original['id']}"), 404, "not_found")


def test_transfer_to_the_current_owner_is_refused(world: World) -> None:
    lic = make_license(world)
    body = problem(
        world.alice.post(f"/v1/licenses/{lic['id']}/transfer", {"to_sub_user_id": world.alice.id}),
        409,
        "invalid_state",
    )
    assert list(fields(body)) == ["to_sub_user_id"]
    ok(world.alice.post(f"/v1/licenses/{lic['id']}/transfer", {"to_sub_user_id": world.ann.id}))
    problem(
        world.alice.post(f"/v1/licenses/{lic['id']}/transfer", {"to_sub_user_id": world.ann.id}),
        409,
        "invalid_state",
    )


def test_transfer_to_another_resellers_sub_user_is_not_found(world: World) -> None:
    lic = make_license(world)
    body = problem(
        world.alice.post(f"/v1/licenses/{lic['id']}/transfer", {"to_sub_user_id": world.bert.id}),
        404,
        "not_found",
    )
    assert list(fields(body)) == ["to_sub_user_id"]
    assert ok(world.alice.get(f"/v1/licenses/{lic['id']}"))["owner_id"] == world.alice.id
    # And the other reseller cannot move it either.
    problem(
        world.bob.post(f"/v1/licenses/{lic['id']}/transfer", {"to_sub_user_id": world.bert.id}),
        404,
        "not_found",
    )


def test_transfer_to_a_disabled_sub_user_is_refused(world: World) -> None:
    lic = make_license(world)
    ok(world.alice.patch(f"/v1/sub-users/{world.ann.id}", {"status": "disabled"}))
    body = problem(
        world.alice.post(f"/v1/licenses/{lic['id']}/transfer", {"to_sub_user_id": world.ann.id}),
        409,
        "invalid_state",
    )
    assert "disabled" in body["detail"]
    assert ok(world.alice.get(f"/v1/licenses/{lic['id']}"))["owner_id"] == world.alice.id


def test_transfer_to_an_invited_sub_user_is_allowed(world: World) -> None:
    invited = ok(world.alice.post("/v1/sub-users", {"email": "new@customer.example"}), 201)
    lic = make_license(world)
    moved = ok(
        world.alice.post(f"/v1/licenses/{lic['id']}/transfer", {"to_sub_user_id": invited["id"]})
    )
    assert moved["owner_id"] == invited["id"]


def test_a_sub_user_cannot_transfer(world: World) -> None:
    world.grant(world.ann)
    lic = ok(world.ann.post("/v1/licenses", license_body("Ann's")), 201)
    problem(
        world.ann.post(f"/v1/licenses/{lic['id']}/transfer", {"to_sub_user_id": world.amy.id}),
        403,
        "forbidden",
    )
