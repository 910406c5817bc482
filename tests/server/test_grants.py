"""Granting quota to sub-users and reclaiming it: the pool arithmetic and every refusal."""

from __future__ import annotations

from typing import Any

from srportal_desktop.server.bootstrap import create_reseller
from tests.server.conftest import World, add_active_sub_user, fields, ok, problem, sign_in


def grant_body(world: World, **overrides: Any) -> dict[str, Any]:
    return {
        "grantee_id": world.ann.id,
        "supported_sensors": ["ouster-os1-64", "hesai-pandarxt32"],
        "lpu": 7,
        "sensors": 30,
        "gpu_preset": True,
    } | overrides


def test_granting_moves_exactly_the_granted_units(world: World) -> None:
    alice, ann = world.alice, world.ann
    grant = ok(alice.post("/v1/grants", grant_body(world)), 201)
    assert grant["grantor_id"] == alice.id
    assert grant["grantee_id"] == ann.id
    assert grant["supported_sensors"] == ["ouster-os1-64", "hesai-pandarxt32"]  # catalog order
    assert (grant["lpu_total"], grant["lpu_used"], grant["sensor_total"], grant["sensor_used"]) == (
        7,
        0,
        30,
        0,
    )
    assert grant["gpu_preset"] is True

    pool = alice.pool()
    assert (pool["lpu_total"], pool["lpu_used"], pool["lpu_available"]) == (100, 7, 93)
    assert (pool["sensor_total"], pool["sensor_used"], pool["sensor_available"]) == (400, 30, 370)

    ann_pool = ann.pool()
    assert (ann_pool["lpu_total"], ann_pool["lpu_available"]) == (7, 7)
    assert (ann_pool["sensor_total"], ann_pool["sensor_available"]) == (30, 30)
    assert ann_pool["supported_sensors"] == ["ouster-os1-64", "hesai-pandarxt32"]
    assert ann_pool["gpu_preset"] is True

    listed = ok(alice.get("/v1/sub-users"))["items"]
    assert {s["id"]: s["pool"]["lpu_total"] for s in listed} == {ann.id: 7, world.amy.id: 0}


def test_pools_sum_over_several_grants(world: World) -> None:
    world.grant(world.ann, supported_sensors=["ouster-os1-64"], lpu=2, sensors=5)
    world.grant(world.ann, supported_sensors=["livox-hap"], lpu=3, sensors=0, gpu_preset=True)
    pool = world.ann.pool()
    assert (pool["lpu_total"], pool["sensor_total"]) == (5, 5)
    assert pool["supported_sensors"] == ["ouster-os1-64", "livox-hap"]
    assert pool["gpu_preset"] is True
    grants = ok(world.alice.get("/v1/grants", params={"grantee_id": world.ann.id}))["items"]
    assert [g["lpu_total"] for g in grants] == [2, 3]


def test_granting_more_than_is_left_is_refused_and_changes_nothing(world: World) -> None:
    before = world.alice.pool()
    body = problem(
        world.alice.post("/v1/grants", grant_body(world, lpu=101, sensors=10)),
        409,
        "quota_exceeded",
    )
    assert "100 LPU" in body["detail"]
    assert fields(body) == {"lpu": "Only 100 LPU licenses are left."}
    assert world.alice.pool() == before
    assert world.ann.pool()["lpu_total"] == 0
    assert ok(world.alice.get("/v1/grants", params={"grantee_id": world.ann.id}))["items"] == []


def test_quota_exceeded_names_what_is_left_after_earlier_grants(world: World) -> None:
    ok(world.alice.post("/v1/grants", grant_body(world, lpu=95, sensors=395)), 201)
    body = problem(
        world.alice.post(
            "/v1/grants", grant_body(world, grantee_id=world.amy.id, lpu=6, sensors=6)
        ),
        409,
        "quota_exceeded",
    )
    assert "only 5 LPU and 5 sensor licenses are left" in body["detail"]
    assert fields(body) == {
        "lpu": "Only 5 LPU licenses are left.",
        "sensors": "Only 5 sensor licenses are left.",
    }


def test_sensors_and_gpu_preset_must_fit_the_grantors_pool(world: World) -> None:
    reseller_id = create_reseller(
        world.settings,
        "carol@reseller-c.example",
        "correct horse battery",
        lpu=10,
        sensors=10,
        gpu_preset=False,
        supported_sensors=["ouster-os1-64", "velodyne-vlp-16"],
    )
    carol = sign_in(world.http, reseller_id, "carol@reseller-c.example")
    cleo = add_active_sub_user(world.settings, world.http, carol, "cleo@customer.example", "Cleo")
    body = problem(
        carol.post(
            "/v1/grants",
            {
                "grantee_id": cleo.id,
                "supported_sensors": ["ouster-os1-64", "hesai-at128"],
                "lpu": 1,
                "sensors": 1,
            },
        ),
        422,
        "validation_failed",
    )
    assert fields(body) == {"supported_sensors": "Not in your pool: Hesai AT128."}

    gpu = problem(
        carol.post(
            "/v1/grants",
            {
                "grantee_id": cleo.id,
                "supported_sensors": ["ouster-os1-64"],
                "lpu": 1,
                "sensors": 1,
                "gpu_preset": True,
            },
        ),
        422,
        "validation_failed",
    )
    assert list(fields(gpu)) == ["gpu_preset"]
    assert carol.pool()["lpu_available"] == 10


def test_zero_counts_are_refused(world: World) -> None:
    body = problem(
        world.alice.post("/v1/grants", grant_body(world, lpu=0, sensors=0)),
        422,
        "validation_failed",
    )
    assert set(fields(body)) == {"lpu", "sensors"}


def test_unknown_sensor_ids_are_refused(world: World) -> None:
    body = problem(
        world.alice.post(
            "/v1/grants", grant_body(world, supported_sensors=["ouster-os1-64", "acme-x9"])
        ),
        422,
        "validation_failed",
    )
    assert fields(body) == {"supported_sensors": "Unknown sensor model: acme-x9."}


def test_a_sub_user_cannot_grant(world: World) -> None:
    world.grant(world.ann)
    body = problem(
        world.ann.post("/v1/grants", grant_body(world, grantee_id=world.amy.id, lpu=1, sensors=0)),
        403,
        "forbidden",
    )
    assert "Sub-users" in body["detail"]


def test_granting_to_another_resellers_sub_user_is_not_found(world: World) -> None:
    body = problem(
        world.alice.post("/v1/grants", grant_body(world, grantee_id=world.bert.id)),
        404,
        "not_found",
    )
    assert list(fields(body)) == ["grantee_id"]
    assert world.bert.pool()["lpu_total"] == 0


def test_granting_to_a_disabled_sub_user_is_refused(world: World) -> None:
    ok(world.alice.patch(f"/v1/sub-users/{world.ann.id}", {"status": "disabled"}))
    problem(world.alice.post("/v1/grants", grant_body(world)), 409, "invalid_state")


def test_reclaim_returns_the_unused_part_to_the_parent_grant(world: World) -> None:
    alice, ann = world.alice, world.ann
    grant = world.grant(ann, lpu=10, sensors=40)
    # Ann uses 2 LPU and 6 sensors of it.
    for name in ("Dock A", "Dock B"):
        body = {"name": name, "sensor_models": ["ouster-os1-64"], "sensor_count": 3}
        ok(ann.post("/v1/licenses", body), 201)
    assert alice.pool()["lpu_available"] == 90

    reclaimed = ok(alice.post(f"/v1/grants/{grant['id']}/reclaim", {"lpu": 8, "sensors": 30}))
    assert (reclaimed["lpu_total"], reclaimed["lpu_used"]) == (2, 2)
    assert (reclaimed["sensor_total"], reclaimed["sensor_used"]) == (10, 6)
    pool = alice.pool()
    assert (pool["lpu_used"], pool["lpu_available"]) == (2, 98)
    assert (pool["sensor_used"], pool["sensor_available"]) == (10, 390)
    assert ann.pool()["lpu_available"] == 0

    # Only the unused part: 4 sensors are left, 0 LPU.
    body = problem(
        alice.post(f"/v1/grants/{grant['id']}/reclaim", {"lpu": 1, "sensors": 5}),
        409,
        "quota_exceeded",
    )
    assert fields(body) == {"lpu": "Only 0 are unused.", "sensors": "Only 4 are unused."}
    problem(
        alice.post(f"/v1/grants/{grant['id']}/reclaim", {"lpu": 0, "sensors": 0}),
        422,
        "validation_failed",
    )


def test_only_the_grantor_can_reclaim(world: World) -> None:
    grant = world.grant(world.ann)
    problem(
        world.ann.post(f"/v1/grants/{grant['id']}/reclaim", {"lpu": 1, "sensors": 0}),
        403,
        "forbidden",
    )
    problem(
        world.bob.post(f"/v1/grants/{grant['id']}/reclaim", {"lpu": 1, "sensors": 0}),
        404,
        "not_found",
    )
    own_pool = ok(world.alice.get("/v1/grants", params={"grantee_id": world.alice.id}))["items"][0]
    problem(
        world.alice.post(f"/v1/grants/{own_pool['id']}/reclaim", {"lpu": 1, "sensors": 0}),
        403,
        "forbidden",
    )
