"""Racing requests over real HTTP: quota is never overspent, on SQLite and on PostgreSQL.

Every race fires RACERS requests at once (one thread and one connection each) against a pool
with fewer units left than asked for, at an in-process server and at
`srportal-server serve --workers 4`, whose processes share nothing but the database (one SQLite
file, or PostgreSQL). Totals are then checked in the database itself, not only through the API.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from srportal_desktop.server.app import create_app
from srportal_desktop.server.bootstrap import create_reseller
from srportal_desktop.server.db import Database
from srportal_desktop.server.embedded import EmbeddedServer
from srportal_desktop.server.models import AuditEvent, Grant, License
from srportal_desktop.server.settings import ServerSettings
from tests.server.conftest import (
    PASSWORD,
    Actor,
    PostgresSchema,
    ServerProcess,
    TestClient,
    add_active_sub_user,
    license_body,
    ok,
    sign_in,
)
from tests.server.racing import race_posts, tally

RACERS = 40
LEFT = 10  # units left in the pool when the race starts
SPENT_BEFORE = 2  # units already used by then
WORKERS = 4
EMAIL = "racer@reseller.example"


@pytest.fixture(scope="module")
def worker_processes(
    postgres_schema: PostgresSchema, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One multi-process server for the module: starting four workers is the slow part."""
    with ServerProcess(
        postgres_schema.url, tmp_path_factory.mktemp("workers"), workers=WORKERS
    ) as server:
        yield server


@pytest.fixture(params=["in-process", f"{WORKERS}-workers"])
def portal_url(
    request: pytest.FixtureRequest, settings: ServerSettings, backend: str, tmp_path: Path
) -> Iterator[str]:
    if request.param == "in-process":
        with EmbeddedServer(settings) as server:
            yield server.url
    elif backend == "sqlite":
        # Several processes on one SQLite file (one host): each test has a file of its own.
        with ServerProcess(settings.database_url, tmp_path / "workers", workers=WORKERS) as server:
            yield server.url
    else:
        processes: ServerProcess = request.getfixturevalue("worker_processes")
        assert processes.database_url == settings.database_url
        yield processes.url


@pytest.fixture
def db(settings: ServerSettings) -> Iterator[Database]:
    database = Database(settings.database_url)
    yield database
    database.dispose()


def racer(settings: ServerSettings, http: httpx.Client, **pool: Any) -> Actor:
    create_reseller(settings, EMAIL, PASSWORD, gpu_preset=False, **pool)
    actor = sign_in(http, "", EMAIL)
    actor.id = actor.me()["id"]
    return actor


def pool_grant(db: Database, owner_id: str) -> Grant:
    with db.session() as session:
        grant = session.scalars(select(Grant).where(Grant.grantee_id == owner_id)).one()
        session.expunge(grant)
        return grant


def count(db: Database, *where: Any, model: Any = License) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def created_events(db: Database, action: str, by: str | None = None) -> int:
    actor = () if by is None else (AuditEvent.actor_id == by,)
    return count(db, AuditEvent.action == action, *actor, model=AuditEvent)


def sub_user(settings: ServerSettings, manager: Actor, email: str) -> tuple[str, str, str]:
    """An active sub-user made in-process (its invitation lands in this test's outbox, which a
    worker process does not write to); returns (id, email, access token)."""
    with TestClient(create_app(settings)) as local:
        as_manager = Actor(local, manager.id, manager.email, manager.token)
        made = add_active_sub_user(settings, local, as_manager, email, "Crew")
    return made.id, made.email, made.token


def test_racing_license_creations_spend_exactly_what_is_left(
    settings: ServerSettings, portal_url: str, db: Database
) -> None:
    with httpx.Client(base_url=portal_url, timeout=60) as http:
        owner = racer(settings, http, lpu=SPENT_BEFORE + LEFT, sensors=400)
        for n in range(SPENT_BEFORE):
            ok(owner.post("/v1/licenses", license_body(f"Early {n}")), 201)

        answers = tally(
            race_posts(
                portal_url,
                [(owner.token, "/v1/licenses", license_body(f"Unit {n}")) for n in range(RACERS)],
            )
        )

        assert answers == {(201, None): LEFT, (409, "quota_exceeded"): RACERS - LEFT}
        pool = owner.pool()
        assert (pool["lpu_used"], pool["lpu_available"]) == (SPENT_BEFORE + LEFT, 0)
    grant = pool_grant(db, owner.id)
    licenses = SPENT_BEFORE + LEFT
    assert (grant.lpu_used, grant.sensor_used) == (licenses, 2 * licenses)
    assert count(db, License.owner_id == owner.id, License.grant_id == grant.id) == licenses
    assert created_events(db, "license.created") == licenses


def test_racing_bulk_creations_spend_only_whole_batches(
    settings: ServerSettings, portal_url: str, db: Database
) -> None:
    copies = 3
    with httpx.Client(base_url=portal_url, timeout=60) as http:
        owner = racer(settings, http, lpu=SPENT_BEFORE + LEFT, sensors=400)
        ok(owner.post("/v1/licenses/bulk", {"template": license_body("Early"), "copies": 2}), 201)

        batch = "/v1/licenses/bulk"
        answers = tally(
            race_posts(
                portal_url,
                [
                    (owner.token, batch, {"template": license_body(f"Batch {n}"), "copies": copies})
                    for n in range(RACERS)
                ],
            )
        )

    winners = LEFT // copies
    assert answers == {(201, None): winners, (409, "quota_exceeded"): RACERS - winners}
    grant = pool_grant(db, owner.id)
    licenses = SPENT_BEFORE + winners * copies
    assert (grant.lpu_total - grant.lpu_used) == LEFT - winners * copies
    assert (grant.lpu_used, grant.sensor_used) == (licenses, 2 * licenses)
    assert count(db, License.owner_id == owner.id) == licenses
    assert created_events(db, "license.created") == licenses
    # Each winning batch is whole: all three of its names, no stray copies of a loser.
    with db.session() as session:
        names = list(session.scalars(select(License.name).where(License.owner_id == owner.id)))
    batches = Counter(name.rsplit("_", 1)[0] for name in names)
    assert batches.pop("Early") == SPENT_BEFORE
    assert len(batches) == winners
    assert set(batches.values()) == {copies}


def test_racing_retries_of_one_bulk_creation_all_get_its_answer_and_spend_once(
    settings: ServerSettings, portal_url: str, db: Database
) -> None:
    copies = 5
    with httpx.Client(base_url=portal_url, timeout=60) as http:
        owner = racer(settings, http, lpu=LEFT, sensors=400)
        body = {"template": license_body("Retried"), "copies": copies}
        answers = tally(
            race_posts(
                portal_url,
                [(owner.token, "/v1/licenses/bulk", body)] * RACERS,
                headers={"Idempotency-Key": "one-intent"},
            )
        )
        assert answers == {(201, None): RACERS}
        assert owner.pool()["lpu_used"] == copies
    assert count(db, License.owner_id == owner.id) == copies
    assert created_events(db, "license.created") == copies


def test_racing_grants_spend_exactly_what_is_left(
    settings: ServerSettings, portal_url: str, db: Database
) -> None:
    with httpx.Client(base_url=portal_url, timeout=60) as http:
        owner = racer(settings, http, lpu=SPENT_BEFORE + LEFT, sensors=SPENT_BEFORE + LEFT)
        crew = Actor(http, *sub_user(settings, owner, "crew@customer.example"))
        one_unit = {"grantee_id": crew.id, "supported_sensors": ["ouster-os1-64"], "sensors": 1}
        ok(owner.post("/v1/grants", one_unit | {"lpu": SPENT_BEFORE}), 201)

        answers = tally(
            race_posts(portal_url, [(owner.token, "/v1/grants", one_unit | {"lpu": 1})] * RACERS)
        )

        assert answers == {(201, None): LEFT, (409, "quota_exceeded"): RACERS - LEFT}
        crew_pool = crew.pool()
        assert crew_pool["lpu_total"] == SPENT_BEFORE + LEFT
    parent = pool_grant(db, owner.id)
    assert parent.lpu_used == parent.lpu_total == SPENT_BEFORE + LEFT
    with db.session() as session:
        children = session.scalars(select(Grant).where(Grant.parent_grant_id == parent.id)).all()
        assert len(children) == 1 + LEFT
        assert sum(child.lpu_total for child in children) == parent.lpu_used
        assert sum(child.sensor_total for child in children) == parent.sensor_used
    assert created_events(db, "grant.created", by=owner.id) == 1 + LEFT


def test_racing_for_one_name_lets_exactly_one_win(
    settings: ServerSettings, portal_url: str, db: Database
) -> None:
    with httpx.Client(base_url=portal_url, timeout=60) as http:
        owner = racer(settings, http, lpu=RACERS, sensors=400)
        answers = tally(
            race_posts(
                portal_url,
                [
                    (
                        owner.token,
                        "/v1/licenses",
                        license_body("Contested" if n % 2 else "CONTESTED"),
                    )
                    for n in range(RACERS)
                ],
            )
        )
        assert answers == {(201, None): 1, (409, "name_taken"): RACERS - 1}
    grant = pool_grant(db, owner.id)
    assert grant.lpu_used == 1  # the losers spent nothing
    assert count(db, License.owner_id == owner.id) == 1


@pytest.mark.postgresql_only
def test_the_worker_server_really_runs_several_processes(
    settings: ServerSettings, worker_processes: ServerProcess
) -> None:
    deadline = time.monotonic() + 60
    while len(started := worker_pids(worker_processes)) < WORKERS:
        assert time.monotonic() < deadline, worker_processes.log_text()
        time.sleep(0.1)
    assert len(started) == WORKERS


def worker_pids(server: ServerProcess) -> set[int]:
    return {
        record["pid"]
        for record in server.log_records()
        if str(record.get("message", "")).startswith("Started server process")
    }
