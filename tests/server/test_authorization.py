"""The authorization matrix: who sees and touches what, by the account tree."""

from __future__ import annotations

from tests.server.conftest import World, license_body, ok, problem


def test_a_sub_user_sees_only_its_own_licenses_and_grants(world: World) -> None:
    alice, ann, amy = world.alice, world.ann, world.amy
    world.grant(ann)
    amy_grant = world.grant(amy)
    ann_license = ok(ann.post("/v1/licenses", license_body("Ann 1")), 201)
    amy_license = ok(amy.post("/v1/licenses", license_body("Amy 1")), 201)
    alice_license = ok(alice.post("/v1/licenses", license_body("Alice 1")), 201)

    assert [x["id"] for x in ok(ann.get("/v1/licenses"))["items"]] == [ann_license["id"]]
    problem(ann.get(f"/v1/licenses/{amy_license['id']}"), 404, "not_found")
    problem(ann.get(f"/v1/licenses/{alice_license['id']}"), 404, "not_found")
    problem(ann.get(f"/v1/licenses/{amy_license['id']}/history"), 404, "not_found")
    problem(ann.get("/v1/licenses", params={"owner_id": amy.id}), 404, "not_found")

    ann_grants = ok(ann.get("/v1/grants"))["items"]
    assert [g["grantee_id"] for g in ann_grants] == [ann.id]
    problem(ann.get("/v1/grants", params={"grantee_id": amy.id}), 404, "not_found")
    problem(
        ann.post(f"/v1/grants/{amy_grant['id']}/reclaim", {"lpu": 1, "sensors": 0}),
        403,
        "forbidden",
    )


def test_a_sub_user_cannot_manage_sub_users(world: World) -> None:
    ann = world.ann
    problem(ann.get("/v1/sub-users"), 403, "forbidden")
    problem(ann.post("/v1/sub-users", {"email": "x@customer.example"}), 403, "forbidden")
    problem(ann.get(f"/v1/sub-users/{world.amy.id}"), 403, "forbidden")
    problem(ann.patch(f"/v1/sub-users/{world.amy.id}", {"status": "disabled"}), 403, "forbidden")


def test_a_reseller_sees_its_whole_subtree(world: World) -> None:
    alice, ann = world.alice, world.ann
    world.grant(ann)
    ok(ann.post("/v1/licenses", license_body("Ann 1")), 201)
    ok(alice.post("/v1/licenses", license_body("Alice 1")), 201)
    listed = {x["name"] for x in ok(alice.get("/v1/licenses"))["items"]}
    assert listed == {"Ann 1", "Alice 1"}
    grants = ok(alice.get("/v1/grants"))["items"]
    assert {g["grantee_id"] for g in grants} == {alice.id, ann.id}


def test_reseller_b_cannot_see_or_touch_reseller_a(world: World) -> None:
    alice, bob, ann = world.alice, world.bob, world.ann
    grant = world.grant(ann)
    lic = ok(alice.post("/v1/licenses", license_body("Secret")), 201)
    ok(bob.post("/v1/licenses", license_body("Bob's")), 201)

    assert [x["name"] for x in ok(bob.get("/v1/licenses"))["items"]] == ["Bob's"]
    assert [s["id"] for s in ok(bob.get("/v1/sub-users"))["items"]] == [world.bert.id]
    assert {g["grantee_id"] for g in ok(bob.get("/v1/grants"))["items"]} == {bob.id}

    problem(bob.get(f"/v1/licenses/{lic['id']}"), 404, "not_found")
    problem(bob.get(f"/v1/licenses/{lic['id']}/history"), 404, "not_found")
    problem(bob.get(f"/v1/sub-users/{ann.id}"), 404, "not_found")
    problem(bob.patch(f"/v1/sub-users/{ann.id}", {"status": "disabled"}), 404, "not_found")
    problem(bob.post(f"/v1/sub-users/{ann.id}/resend-invite"), 404, "not_found")
    problem(
        bob.post(f"/v1/grants/{grant['id']}/reclaim", {"lpu": 1, "sensors": 0}), 404, "not_found"
    )
    problem(bob.get("/v1/licenses", params={"owner_id": alice.id}), 404, "not_found")
    problem(bob.get("/v1/grants", params={"grantee_id": ann.id}), 404, "not_found")
    # A reseller is not its own sub-user either.
    problem(alice.get(f"/v1/sub-users/{alice.id}"), 404, "not_found")


def test_me_describes_the_caller(world: World) -> None:
    me = world.ann.me()
    assert me == {
        "id": world.ann.id,
        "email": "ann@customer.example",
        "display_name": "Ann Corp",
        "role": "sub_user",
        "parent_id": world.alice.id,
        "pool": {
            "lpu_total": 0,
            "lpu_used": 0,
            "lpu_available": 0,
            "sensor_total": 0,
            "sensor_used": 0,
            "sensor_available": 0,
            "supported_sensors": [],
            "gpu_preset": False,
        },
    }
    assert world.alice.me()["role"] == "reseller"
