"""Reclaiming the unused part of a sub-user's grant back into the parent grant."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from srportal_desktop.server.bootstrap import create_reseller
from srportal_desktop.server.embedded import EmbeddedServer
from srportal_desktop.server.settings import ServerSettings
from tests.server.conftest import (
    PASSWORD,
    Actor,
    World,
    add_active_sub_user,
    fields,
    license_body,
    ok,
    problem,
    sign_in,
)
from tests.server.racing import race_posts

Counts = tuple[int, int, int, int]


def grant_by_id(actor: Actor, grant_id: str) -> dict[str, Any]:
    grants = ok(actor.get("/v1/grants"))["items"]
    return next(g for g in grants if g["id"] == grant_id)


def counts(grant: dict[str, Any]) -> Counts:
    return (grant["lpu_total"], grant["lpu_used"], grant["sensor_total"], grant["sensor_used"])


def own_pool_grant(actor: Actor) -> dict[str, Any]:
    grants = ok(actor.get("/v1/grants", params={"grantee_id": actor.id}))["items"]
    assert len(grants) == 1
    grant: dict[str, Any] = grants[0]
    return grant


def reclaim(actor: Actor, grant_id: str, lpu: int, sensors: int) -> Any:
    return actor.post(f"/v1/grants/{grant_id}/reclaim", {"lpu": lpu, "sensors": sensors})


def test_the_unused_part_returns_to_the_parent_grant_exactly(world: World) -> None:
    alice, ann = world.alice, world.ann
    parent = own_pool_grant(alice)
    assert counts(parent) == (100, 0, 400, 0)
    child = world.grant(ann, lpu=10, sensors=40)
    assert child["parent_grant_id"] == parent["id"]
    for n in range(3):
        ok(ann.post("/v1/licenses", license_body(f"Ann {n}", sensor_count=2)), 201)
    assert counts(grant_by_id(alice, parent["id"])) == (100, 10, 400, 40)

    answer = ok(reclaim(alice, child["id"], 4, 10))
    assert counts(answer) == (6, 3, 30, 6)
    assert grant_by_id(alice, child["id"]) == answer
    assert counts(grant_by_id(alice, parent["id"])) == (100, 6, 400, 30)
    pool = ann.pool()
    assert (pool["lpu_available"], pool["sensor_available"]) == (3, 24)

    # Everything unused, to the last unit.
    assert counts(ok(reclaim(alice, child["id"], 3, 24))) == (3, 3, 6, 6)
    assert counts(grant_by_id(alice, parent["id"])) == (100, 3, 400, 6)
    problem(ann.post("/v1/licenses", license_body("One more")), 409, "quota_exceeded")


def test_used_units_cannot_be_reclaimed_and_a_refusal_changes_nothing(world: World) -> None:
    alice, ann = world.alice, world.ann
    parent = own_pool_grant(alice)
    child = world.grant(ann, lpu=2, sensors=10)
    ok(ann.post("/v1/licenses", license_body("In use", sensor_count=4)), 201)
    before = (counts(grant_by_id(alice, child["id"])), counts(grant_by_id(alice, parent["id"])))

    body = problem(reclaim(alice, child["id"], 2, 0), 409, "quota_exceeded")
    assert "unused" in body["detail"]
    assert fields(body) == {"lpu": "Only 1 are unused."}
    # All or nothing: the LPU part would fit, the sensor part does not.
    body = problem(reclaim(alice, child["id"], 1, 7), 409, "quota_exceeded")
    assert fields(body) == {"sensors": "Only 6 are unused."}
    after = (counts(grant_by_id(alice, child["id"])), counts(grant_by_id(alice, parent["id"])))
    assert after == before
    problem(reclaim(alice, child["id"], -1, 0), 422, "validation_failed")


def test_a_revoked_stock_license_makes_its_units_reclaimable(world: World) -> None:
    alice, ann = world.alice, world.ann
    child = world.grant(ann, lpu=1, sensors=3)
    created = ok(ann.post("/v1/licenses", license_body("Shelf", sensor_count=3)), 201)
    problem(reclaim(alice, child["id"], 1, 3), 409, "quota_exceeded")
    ok(alice.post(f"/v1/licenses/{created['id']}/revoke"))
    assert counts(ok(reclaim(alice, child["id"], 1, 3))) == (0, 0, 0, 0)
    assert counts(own_pool_grant(alice)) == (100, 0, 400, 0)


def test_only_the_grantor_can_reclaim(world: World) -> None:
    child = world.grant(world.ann, lpu=5, sensors=5)
    problem(reclaim(world.ann, child["id"], 1, 0), 403, "forbidden")  # the grantee
    problem(reclaim(world.amy, child["id"], 1, 0), 403, "forbidden")  # a sibling
    problem(reclaim(world.bob, child["id"], 1, 0), 404, "not_found")  # another tree
    problem(reclaim(world.bert, child["id"], 1, 0), 403, "forbidden")
    body = problem(reclaim(world.alice, own_pool_grant(world.alice)["id"], 1, 0), 403, "forbidden")
    assert "granted" in body["detail"]
    problem(reclaim(world.alice, "no-such-grant", 1, 0), 404, "not_found")
    assert counts(grant_by_id(world.alice, child["id"])) == (5, 0, 5, 0)


# --- reclaiming while the sub-user spends ----------------------------------------------------

RACERS_EACH = 8


@pytest.fixture
def server(settings: ServerSettings) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(settings) as running:
        yield running


def test_reclaim_racing_license_creation_never_overspends(
    settings: ServerSettings, server: EmbeddedServer
) -> None:
    create_reseller(
        settings, "boss@reseller.example", PASSWORD, lpu=50, sensors=200, gpu_preset=False
    )
    with httpx.Client(base_url=server.url) as http:
        boss = sign_in(http, "", "boss@reseller.example")
        boss.id = boss.me()["id"]
        crew = add_active_sub_user(settings, http, boss, "crew@customer.example", "Crew")
        child = ok(
            boss.post(
                "/v1/grants",
                {
                    "grantee_id": crew.id,
                    "supported_sensors": ["ouster-os1-64"],
                    "lpu": RACERS_EACH,
                    "sensors": 4 * RACERS_EACH,
                },
            ),
            201,
        )
        reclaim_path = f"/v1/grants/{child['id']}/reclaim"
        calls = [(boss.token, reclaim_path, {"lpu": 1, "sensors": 1})] * RACERS_EACH + [
            (crew.token, "/v1/licenses", license_body(f"Crew {n}", sensor_count=3))
            for n in range(RACERS_EACH)
        ]
        answers = race_posts(server.url, calls)

        won = Counter(path for path, status, _ in answers if status in (200, 201))
        reclaimed, created = won[reclaim_path], won["/v1/licenses"]
        # Every unit went one way or the other: exactly RACERS_EACH requests could win.
        assert reclaimed + created == RACERS_EACH
        assert Counter((s, c) for _, s, c in answers if s not in (200, 201)) == {
            (409, "quota_exceeded"): RACERS_EACH
        }
        grant = grant_by_id(boss, child["id"])
        assert counts(grant) == (
            RACERS_EACH - reclaimed,
            created,
            4 * RACERS_EACH - reclaimed,
            3 * created,
        )
        assert grant["sensor_total"] >= grant["sensor_used"] >= 0
        parent = own_pool_grant(boss)
        assert counts(parent) == (50, RACERS_EACH - reclaimed, 200, 4 * RACERS_EACH - reclaimed)
        assert len(ok(crew.get("/v1/licenses"))["items"]) == created
