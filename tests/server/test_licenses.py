"""Creating licenses (one and in bulk), names, listing and pagination, history."""

from __future__ import annotations

from typing import Any

from tests.server.conftest import Actor, World, fields, license_body, ok, problem


def bulk(name: str, copies: int, **template: Any) -> dict[str, Any]:
    return {"template": license_body(name, **template), "copies": copies}


def names(actor: Actor, **params: Any) -> list[str]:
    return [item["name"] for item in ok(actor.get("/v1/licenses", params=params))["items"]]


def test_a_license_consumes_one_lpu_and_its_sensors(alice: Actor) -> None:
    created = ok(
        alice.post(
            "/v1/licenses",
            license_body("Gate 1", sensor_count=3, gpu_preset=True, notes="north entrance"),
        ),
        201,
    )
    assert created["name"] == "Gate 1"
    assert created["owner_id"] == alice.id
    assert created["status"] == "not_activated"
    assert created["sensor_models"] == ["ouster-os1-64"]
    assert (created["sensor_count"], created["gpu_preset"]) == (3, True)
    assert created["notes"] == "north entrance"
    assert created["expires_at"] is None
    assert created["activated_at"] is None
    assert created["machine_id"] is None
    assert created["issued_at"]
    pool = alice.pool()
    assert (pool["lpu_used"], pool["sensor_used"]) == (1, 3)
    assert ok(alice.get(f"/v1/licenses/{created['id']}")) == created


def test_names_are_unique_case_insensitively_within_the_reseller_tree(world: World) -> None:
    alice, ann = world.alice, world.ann
    world.grant(ann)
    ok(alice.post("/v1/licenses", license_body("Site Alpha")), 201)
    before = alice.pool()
    body = problem(alice.post("/v1/licenses", license_body("SITE ALPHA")), 409, "name_taken")
    assert "SITE ALPHA" in body["detail"]
    assert list(fields(body)) == ["name"]
    # The sub-user is in the same tree ...
    problem(ann.post("/v1/licenses", license_body("site alpha")), 409, "name_taken")
    assert alice.pool() == before
    # ... another reseller's tree is not.
    ok(world.bob.post("/v1/licenses", license_body("Site Alpha")), 201)


def test_a_license_must_fit_a_grant_of_its_creator(world: World) -> None:
    ann = world.ann
    world.grant(ann, supported_sensors=["ouster-os1-64"], lpu=1, sensors=3, gpu_preset=False)
    body = problem(
        ann.post("/v1/licenses", license_body("A", sensor_models=["velodyne-vlp-16"])),
        422,
        "validation_failed",
    )
    assert fields(body) == {"sensor_models": "Not in your pool: Velodyne VLP-16."}
    body = problem(
        ann.post("/v1/licenses", license_body("A", gpu_preset=True)), 422, "validation_failed"
    )
    assert list(fields(body)) == ["gpu_preset"]
    body = problem(
        ann.post("/v1/licenses", license_body("A", sensor_count=4)), 409, "quota_exceeded"
    )
    assert fields(body) == {"sensor_count": "Only 3 sensor licenses are left."}
    body = problem(
        ann.post("/v1/licenses", license_body("A", sensor_models=["nope"])),
        422,
        "validation_failed",
    )
    assert fields(body) == {"sensor_models": "Unknown sensor model: nope."}

    created = ok(ann.post("/v1/licenses", license_body("A", sensor_count=3)), 201)
    assert created["owner_id"] == ann.id
    assert ann.pool()["lpu_available"] == 0
    problem(ann.post("/v1/licenses", license_body("B", sensor_count=1)), 409, "quota_exceeded")
    assert world.alice.pool()["lpu_used"] == 1  # the grant counts here, not Ann's license


def test_the_grant_can_be_named(world: World) -> None:
    first = world.grant(world.ann, lpu=1, sensors=2)
    second = world.grant(world.ann, lpu=1, sensors=2)
    created = ok(world.ann.post("/v1/licenses", license_body("X", grant_id=second["id"])), 201)
    assert created["grant_id"] == second["id"]
    grants = {g["id"]: g for g in ok(world.ann.get("/v1/grants"))["items"]}
    assert (grants[first["id"]]["lpu_used"], grants[second["id"]]["lpu_used"]) == (0, 1)
    problem(
        world.ann.post("/v1/licenses", license_body("Y", grant_id="not-mine")), 404, "not_found"
    )


def test_bulk_creates_names_1_to_n_in_one_go(alice: Actor) -> None:
    result = ok(alice.post("/v1/licenses/bulk", bulk("Rollout", 12, sensor_count=2)), 201)
    expected = [f"Rollout_{n}" for n in range(1, 13)]
    assert [item["name"] for item in result["items"]] == expected
    assert names(alice) == expected  # listed in the same order
    pool = alice.pool()
    assert (pool["lpu_used"], pool["sensor_used"]) == (12, 24)


def test_bulk_with_too_little_quota_creates_nothing(alice: Actor) -> None:
    body = problem(
        alice.post("/v1/licenses/bulk", bulk("Big", 30, sensor_count=20)), 409, "quota_exceeded"
    )
    assert "400 sensor licenses" in body["detail"]
    assert fields(body) == {"template.sensor_count": "Only 400 sensor licenses are left."}
    assert names(alice) == []
    assert alice.pool()["lpu_used"] == 0

    body = problem(
        alice.post("/v1/licenses/bulk", bulk("Many", 101, sensor_count=1)), 409, "quota_exceeded"
    )
    assert fields(body) == {"copies": "Only 100 LPU licenses are left."}


def test_bulk_with_one_name_taken_creates_nothing_and_says_which(alice: Actor) -> None:
    ok(alice.post("/v1/licenses", license_body("fleet_3")), 201)
    body = problem(alice.post("/v1/licenses/bulk", bulk("Fleet", 5)), 409, "name_taken")
    assert "Fleet_3" in body["detail"]
    assert fields(body) == {"template.name": "Already in use: Fleet_3."}
    assert names(alice) == ["fleet_3"]
    assert alice.pool()["lpu_used"] == 1


def test_bulk_name_errors_list_every_taken_name(alice: Actor) -> None:
    ok(alice.post("/v1/licenses/bulk", bulk("Fleet", 3)), 201)
    body = problem(alice.post("/v1/licenses/bulk", bulk("FLEET", 4)), 409, "name_taken")
    assert "FLEET_1, FLEET_2, FLEET_3" in body["detail"]
    assert "FLEET_4" not in body["detail"]


def test_list_filters_by_name_owner_and_status(world: World) -> None:
    alice, ann = world.alice, world.ann
    world.grant(ann)
    ok(alice.post("/v1/licenses", license_body("North Gate")), 201)
    ok(alice.post("/v1/licenses", license_body("South Gate")), 201)
    ok(ann.post("/v1/licenses", license_body("North 100%_x")), 201)

    assert names(alice, q="north") == ["North Gate", "North 100%_x"]
    assert names(alice, q="100%_") == ["North 100%_x"]  # LIKE wildcards are literal
    assert names(alice, q="GATE", owner_id=alice.id) == ["North Gate", "South Gate"]
    assert names(alice, owner_id=ann.id) == ["North 100%_x"]
    assert len(names(alice, status="not_activated")) == 3
    assert names(alice, status="active") == []


def test_keyset_pagination_has_no_gaps_or_duplicates_even_with_inserts(alice: Actor) -> None:
    ok(alice.post("/v1/licenses/bulk", bulk("Lot", 25, sensor_count=1)), 201)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        page = ok(alice.get("/v1/licenses", params=params))
        seen += [item["name"] for item in page["items"]]
        if len(seen) == 7:
            # Rows added while paging come after the cursor, never reshuffle earlier pages.
            ok(alice.post("/v1/licenses", license_body("Late")), 201)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Lot_{n}" for n in range(1, 26)] + ["Late"]
    assert len(set(seen)) == len(seen)


def test_history_records_creation(alice: Actor) -> None:
    created = ok(alice.post("/v1/licenses", license_body("Logged")), 201)
    history = ok(alice.get(f"/v1/licenses/{created['id']}/history"))["items"]
    assert [(h["action"], h["actor_id"]) for h in history] == [("license.created", alice.id)]
    assert history[0]["details"]["name"] == "Logged"
    assert history[0]["at"]


def test_without_any_grant_a_sub_user_has_no_quota(world: World) -> None:
    body = problem(world.ann.post("/v1/licenses", license_body("X")), 409, "quota_exceeded")
    assert "no quota" in body["detail"]


def test_a_bulk_template_name_may_be_as_long_as_its_last_copy_allows(alice: Actor) -> None:
    fits = "n" * 98  # + "_2" is 100 characters
    created = ok(alice.post("/v1/licenses/bulk", bulk(fits, 2)), 201)
    assert [len(item["name"]) for item in created["items"]] == [100, 100]

    body = problem(alice.post("/v1/licenses/bulk", bulk("m" * 98, 10)), 422, "validation_failed")
    assert fields(body) == {
        "template.name": "Must be at most 97 characters long for 10 copies: "
        "the last name ends in _10."
    }
    assert alice.pool()["lpu_used"] == 2


def test_optional_text_sent_as_null_counts_as_left_out(alice: Actor) -> None:
    created = ok(alice.post("/v1/licenses", license_body("No notes", notes=None)), 201)
    assert created["notes"] == ""
    template = license_body("Batch", notes=None)
    items = ok(alice.post("/v1/licenses/bulk", {"template": template, "copies": 2}), 201)["items"]
    assert [item["notes"] for item in items] == ["", ""]
    invited = ok(alice.post("/v1/sub-users", {"email": "x@c.example", "display_name": None}), 201)
    assert invited["display_name"] == ""


def test_spaces_around_a_name_are_not_part_of_it_nor_of_its_length(alice: Actor) -> None:
    created = ok(alice.post("/v1/licenses", license_body(" " + "n" * 100 + " ")), 201)
    assert created["name"] == "n" * 100
    items = ok(alice.post("/v1/licenses/bulk", bulk("  " + "b" * 98 + "  ", 2)), 201)["items"]
    assert [item["name"] for item in items] == ["b" * 98 + "_1", "b" * 98 + "_2"]
