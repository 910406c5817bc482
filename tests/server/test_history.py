"""History: every change leaves an audit record, per license and per account, oldest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.server.conftest import Actor, World, license_body, ok, problem


def history(actor: Actor, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(actor.get(path))["items"]
    return items


def license_history(actor: Actor, license_id: str) -> list[dict[str, Any]]:
    return history(actor, f"/v1/licenses/{license_id}/history")


def in_time_order(items: list[dict[str, Any]]) -> bool:
    times = [datetime.fromisoformat(i["at"].replace("Z", "+00:00")) for i in items]
    return times == sorted(times) and all(t.tzinfo is not None for t in times)


def test_a_license_s_whole_life_is_in_its_history(world: World) -> None:
    alice, ann, amy = world.alice, world.ann, world.amy
    world.grant(ann)
    created = ok(ann.post("/v1/licenses", license_body("Dock 7", sensor_count=2)), 201)
    url = f"/v1/licenses/{created['id']}"
    ok(ann.post(f"{url}/activate", {"machine_id": "DOCK-PC-1"}))
    ok(alice.post(f"{url}/deactivate"))
    ok(ann.post(f"{url}/activate", {"machine_id": "DOCK-PC-2"}))
    ok(alice.post(f"{url}/transfer", {"to_sub_user_id": amy.id}))
    ok(alice.post(f"{url}/revoke"))

    items = license_history(alice, created["id"])
    assert [(i["action"], i["actor_id"]) for i in items] == [
        ("license.created", ann.id),
        ("license.activated", ann.id),
        ("license.deactivated", alice.id),
        ("license.activated", ann.id),
        ("license.transferred", alice.id),
        ("license.revoked", alice.id),
    ]
    assert in_time_order(items)
    created_e, first, moved, second, transferred, revoked = (i["details"] for i in items)
    assert created_e["name"] == "Dock 7"
    assert (first["machine_id"], first["rehost"]) == ("DOCK-PC-1", False)
    assert moved["machine_id"] == "DOCK-PC-1"
    assert moved["deactivations_in_year"] == 1
    assert (second["machine_id"], second["rehost"]) == ("DOCK-PC-2", True)
    assert second["expires_at"] == first["expires_at"]
    assert (transferred["from_owner_id"], transferred["to_owner_id"]) == (ann.id, amy.id)
    assert revoked["previous_status"] == "active"
    assert (revoked["returned_lpu"], revoked["returned_sensors"]) == (0, 0)

    # The new owner reads the same events, but not who the earlier customer was; the old owner
    # and other trees no longer see the history at all.
    seen_by_amy = license_history(amy, created["id"])
    assert [i["action"] for i in seen_by_amy] == [i["action"] for i in items]
    assert [i["actor_id"] for i in seen_by_amy] == [None, None, alice.id, None, alice.id, alice.id]
    moved_to_amy = seen_by_amy[4]["details"]
    assert moved_to_amy["to_owner_id"] == amy.id
    assert "from_owner_id" not in moved_to_amy
    assert moved_to_amy["from_owner"] == "another account"
    assert ann.id not in str(seen_by_amy)
    assert ann.email not in str(seen_by_amy)
    problem(ann.get(f"{url}/history"), 404, "not_found")
    problem(world.bob.get(f"{url}/history"), 404, "not_found")


def test_a_revoked_stock_license_records_the_returned_quota(world: World) -> None:
    created = ok(world.alice.post("/v1/licenses", license_body("Shelf", sensor_count=5)), 201)
    ok(world.alice.post(f"/v1/licenses/{created['id']}/revoke"))
    revoked = license_history(world.alice, created["id"])[-1]
    assert revoked["action"] == "license.revoked"
    assert revoked["details"]["previous_status"] == "not_activated"
    assert (revoked["details"]["returned_lpu"], revoked["details"]["returned_sensors"]) == (1, 5)
    assert revoked["details"]["grant_id"] == created["grant_id"]


def test_bulk_creation_records_every_license(alice: Actor) -> None:
    body = {"template": license_body("Fleet"), "copies": 3}
    items = ok(alice.post("/v1/licenses/bulk", body), 201)["items"]
    for item in items:
        events = license_history(alice, item["id"])
        assert [e["action"] for e in events] == ["license.created"]
        assert events[0]["actor_id"] == alice.id
        assert events[0]["details"]["name"] == item["name"]
        assert events[0]["details"]["bulk_copies"] == 3


def test_refused_and_repeated_calls_leave_no_trace(world: World) -> None:
    alice = world.alice
    created = ok(alice.post("/v1/licenses", license_body("Quiet")), 201)
    url = f"/v1/licenses/{created['id']}"
    problem(alice.post(f"{url}/deactivate"), 409, "invalid_state")  # not active yet
    ok(alice.post(f"{url}/activate", {"machine_id": "PC-1"}))
    ok(alice.post(f"{url}/activate", {"machine_id": "PC-1"}))  # the same again
    problem(alice.post(f"{url}/activate", {"machine_id": "PC-2"}), 409, "invalid_state")
    problem(alice.post(f"{url}/transfer", {"to_sub_user_id": world.bert.id}), 404, "not_found")
    ok(alice.post(f"{url}/revoke"))
    problem(alice.post(f"{url}/revoke"), 409, "invalid_state")
    actions = [e["action"] for e in license_history(alice, created["id"])]
    assert actions == ["license.created", "license.activated", "license.revoked"]


def test_my_history_holds_my_own_account_events(world: World) -> None:
    alice, ann = world.alice, world.ann
    ok(alice.patch(f"/v1/sub-users/{ann.id}", {"display_name": "Ann Corporation"}))
    ok(alice.post("/v1/licenses", license_body("Not an account event")), 201)

    mine = history(ann, "/v1/me/history")
    assert [(e["action"], e["actor_id"]) for e in mine] == [
        ("sub_user.invited", alice.id),
        ("invite.accepted", ann.id),
        ("sub_user.updated", alice.id),
    ]
    assert in_time_order(mine)
    assert mine[0]["details"]["email"] == "ann@customer.example"
    # What the reseller reads about Ann is the same record.
    assert history(alice, f"/v1/sub-users/{ann.id}/history") == mine

    alices = history(alice, "/v1/me/history")
    assert [e["action"] for e in alices] == ["account.created"]
    assert alices[0]["details"]["role"] == "reseller"
    assert history(world.amy, "/v1/me/history")[0]["details"]["email"] == "amy@customer.example"
    problem(world.http.get("/v1/me/history"), 401, "unauthenticated")
