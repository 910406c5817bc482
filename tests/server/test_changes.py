"""Delta sync (`GET /v1/changes`): a client applying every delta holds what the lists hold."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select, text, update
from sqlalchemy.orm import Session

from srportal_desktop.server.bootstrap import create_vendor_admin
from srportal_desktop.server.db import Database
from srportal_desktop.server.embedded import EmbeddedServer
from srportal_desktop.server.models import ChangeRecord, License, utcnow
from srportal_desktop.server.services import change_feed
from srportal_desktop.server.settings import ServerSettings
from tests.server.conftest import (
    PASSWORD,
    Actor,
    TestClient,
    World,
    fields,
    license_body,
    new_reseller,
    ok,
    problem,
    sign_in,
)

Key = tuple[str, str]


# --- a client that keeps a replica by applying deltas --------------------------------------------


@dataclass
class Replica:
    actor: Actor
    cursor: str | None = None
    items: dict[Key, Any] = field(default_factory=dict)

    def pull(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Ask until `has_more` is false, applying each batch; the changes seen, in order."""
        seen: list[dict[str, Any]] = []
        for _ in range(10_000):
            params: dict[str, Any] = {}
            if self.cursor is not None:
                params["cursor"] = self.cursor
            if limit is not None:
                params["limit"] = limit
            batch = ok(self.actor.get("/v1/changes", params=params))
            changes = batch["changes"]
            assert len(changes) <= (limit or 500)
            keys = [(c["kind"], c["id"]) for c in changes]
            assert len(keys) == len(set(keys)), "an object appears once per batch"
            for change in changes:
                apply(self.items, change)
            assert isinstance(batch["cursor"], str)
            assert batch["cursor"]
            self.cursor = batch["cursor"]
            seen.extend(changes)
            if not batch["has_more"]:
                return seen
        raise AssertionError("has_more never became false")


def apply(items: dict[Key, Any], change: dict[str, Any]) -> None:
    assert change["kind"] in ("license", "grant", "sub_user", "me"), change
    key = (change["kind"], change["id"])
    if change["op"] == "upsert":
        assert change["data"] is not None
        assert change["data"]["id"] == change["id"]
        items[key] = change["data"]
    else:
        assert change["op"] == "remove", change
        assert change["data"] is None, change
        items.pop(key, None)


def every_page(actor: Actor, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": 1000} | ({"cursor": cursor} if cursor else {})
        page = ok(actor.get(path, params=params))
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def listing(actor: Actor) -> dict[Key, Any]:
    """What a fresh client gets from the list endpoints that the caller's role may use."""
    me = ok(actor.get("/v1/me"))
    items: dict[Key, Any] = {("me", me["id"]): me}
    items |= {("license", x["id"]): x for x in every_page(actor, "/v1/licenses")}
    items |= {("grant", x["id"]): x for x in every_page(actor, "/v1/grants")}
    if me["role"] != "sub_user":
        items |= {("sub_user", x["id"]): x for x in every_page(actor, "/v1/sub-users")}
    return items


def assert_in_sync(replica: Replica) -> None:
    expected = listing(replica.actor)
    assert replica.items.keys() == expected.keys()
    for key, value in expected.items():
        assert replica.items[key] == value, key


def cursor_of(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


# --- what each role sees -------------------------------------------------------------------------


def test_a_first_pull_holds_exactly_what_the_lists_hold(world: World) -> None:
    world.grant(world.ann)
    world.grant(world.bert)
    ok(world.alice.post("/v1/licenses", license_body("Depot")), 201)
    ok(world.ann.post("/v1/licenses/bulk", {"template": license_body("Ann"), "copies": 3}), 201)
    ok(world.bert.post("/v1/licenses", license_body("Bert")), 201)

    for actor in (world.alice, world.ann, world.amy, world.bob, world.bert):
        replica = Replica(actor)
        replica.pull()
        assert_in_sync(replica)
    ann = Replica(world.ann)
    ann.pull()
    assert {k for k, _ in ann.items} == {"me", "grant", "license"}


def test_later_pulls_bring_exactly_the_changes(world: World) -> None:
    alice, ann = Replica(world.alice), Replica(world.ann)
    alice.pull()
    ann.pull()

    grant = world.grant(world.ann, lpu=3)
    created = ok(world.ann.post("/v1/licenses", license_body("Ann 1")), 201)
    changed = {(c["kind"], c["id"], c["op"]) for c in ann.pull()}
    assert changed == {
        ("me", world.ann.id, "upsert"),  # the pool grew, then was spent from
        ("grant", grant["id"], "upsert"),
        ("license", created["id"], "upsert"),
    }
    assert ann.items[("license", created["id"])] == created
    assert ann.items[("me", world.ann.id)]["pool"]["lpu_available"] == 2

    changed = {(c["kind"], c["id"], c["op"]) for c in alice.pull()}
    assert ("sub_user", world.ann.id, "upsert") in changed  # its pool changed
    assert ("me", world.alice.id, "upsert") in changed  # 3 LPU went to ann
    assert ("license", created["id"], "upsert") in changed
    assert_in_sync(alice)
    assert_in_sync(ann)
    assert ann.pull() == []
    assert alice.pull() == []


def test_a_transferred_license_leaves_the_old_owners_view(world: World) -> None:
    replicas = {a.email: Replica(a) for a in (world.alice, world.ann, world.amy)}
    for replica in replicas.values():
        replica.pull()
    lic = ok(world.alice.post("/v1/licenses", license_body("Roaming")), 201)

    for target in (world.ann, world.amy, world.ann):
        ok(world.alice.post(f"/v1/licenses/{lic['id']}/transfer", {"to_sub_user_id": target.id}))
        for replica in replicas.values():
            replica.pull()
            assert_in_sync(replica)
    assert ("license", lic["id"]) in replicas[world.ann.email].items
    assert ("license", lic["id"]) not in replicas[world.amy.email].items
    assert replicas[world.alice.email].items[("license", lic["id"])]["owner_id"] == world.ann.id

    # The same through one pull that spans both moves: amy never held it at her cursor.
    amy = replicas[world.amy.email]
    ok(world.alice.post(f"/v1/licenses/{lic['id']}/transfer", {"to_sub_user_id": world.amy.id}))
    ok(world.alice.post(f"/v1/licenses/{lic['id']}/transfer", {"to_sub_user_id": world.ann.id}))
    ops = [(c["kind"], c["op"]) for c in amy.pull()]
    assert ops == [("license", "remove")]
    assert_in_sync(amy)


def test_nobody_learns_ids_outside_their_view(world: World) -> None:
    world.grant(world.ann)
    world.grant(world.bert)
    ann_license = ok(world.ann.post("/v1/licenses", license_body("Ann only")), 201)
    depot = ok(world.alice.post("/v1/licenses", license_body("Depot")), 201)
    ok(world.alice.post(f"/v1/licenses/{depot['id']}/transfer", {"to_sub_user_id": world.ann.id}))
    ok(world.bert.post("/v1/licenses", license_body("Bert only")), 201)
    ok(world.alice.patch(f"/v1/sub-users/{world.ann.id}", {"display_name": "Ann Renamed"}))

    amy_ids = {c["id"] for c in Replica(world.amy).pull()}
    assert amy_ids == {world.amy.id}  # her own account, nothing of ann's
    alice_tenant = {world.alice.id, world.ann.id, world.amy.id, ann_license["id"], depot["id"]}
    for outsider in (world.bob, world.bert):
        assert not {c["id"] for c in Replica(outsider).pull()} & alice_tenant


def test_a_disabled_sub_user_stays_listed_with_its_new_status(world: World) -> None:
    alice = Replica(world.alice)
    alice.pull()
    ok(world.alice.patch(f"/v1/sub-users/{world.ann.id}", {"status": "disabled"}))
    changes = alice.pull()
    assert [(c["kind"], c["id"], c["op"]) for c in changes] == [
        ("sub_user", world.ann.id, "upsert")
    ]
    assert changes[0]["data"]["status"] == "disabled"
    assert_in_sync(alice)


def test_reclaim_updates_both_grants_and_both_pools(world: World) -> None:
    alice, ann = Replica(world.alice), Replica(world.ann)
    grant = world.grant(world.ann, lpu=6, sensors=20)
    alice.pull()
    ann.pull()
    ok(world.alice.post(f"/v1/grants/{grant['id']}/reclaim", {"lpu": 4, "sensors": 5}))
    assert {(c["kind"], c["id"]) for c in ann.pull()} == {
        ("grant", grant["id"]),
        ("me", world.ann.id),
    }
    kinds = {(c["kind"], c["id"]) for c in alice.pull()}
    assert {("grant", grant["id"]), ("grant", grant["parent_grant_id"])} <= kinds
    assert {("me", world.alice.id), ("sub_user", world.ann.id)} <= kinds
    assert_in_sync(alice)
    assert_in_sync(ann)


def test_refused_requests_change_nothing(world: World) -> None:
    ann = Replica(world.ann)
    world.grant(world.ann, lpu=1, sensors=2)
    ann.pull()
    ok(world.ann.post("/v1/licenses", license_body("Only one")), 201)
    ann.pull()
    refused = world.ann.post("/v1/licenses", license_body("One too many"))
    problem(refused, 409, "quota_exceeded")
    taken = world.ann.post("/v1/licenses", license_body("Only one"))
    assert taken.status_code in (409, 422)
    assert ann.pull() == []


def test_the_vendor_admin_sees_every_reseller(settings: ServerSettings, world: World) -> None:
    create_vendor_admin(settings, "vendor@portal.example", PASSWORD)
    vendor = sign_in(world.http, "", "vendor@portal.example")
    world.grant(world.bert)
    ok(world.bert.post("/v1/licenses", license_body("Bert")), 201)
    replica = Replica(vendor)
    replica.pull(limit=3)
    assert_in_sync(replica)
    assert {("sub_user", world.alice.id), ("sub_user", world.bob.id)} <= replica.items.keys()
    ok(world.alice.post("/v1/licenses", license_body("Late")), 201)
    replica.pull()
    assert_in_sync(replica)


# --- cursors, limits, batches ---------------------------------------------------------------------


def test_latest_skips_history_and_then_follows(world: World) -> None:
    world.grant(world.ann)
    latest = ok(world.ann.get("/v1/changes", params={"cursor": "latest"}))
    assert latest["changes"] == []
    assert latest["has_more"] is False
    replica = Replica(world.ann, cursor=latest["cursor"], items=listing(world.ann))
    assert replica.pull() == []
    created = ok(world.ann.post("/v1/licenses", license_body("After")), 201)
    assert ("license", created["id"], "upsert") in {
        (c["kind"], c["id"], c["op"]) for c in replica.pull()
    }
    assert_in_sync(replica)


def test_batches_keep_to_the_limit_and_chain(world: World) -> None:
    ok(world.alice.post("/v1/licenses/bulk", {"template": license_body("Batch"), "copies": 7}), 201)
    first = ok(world.alice.get("/v1/changes", params={"limit": 3}))
    assert len(first["changes"]) <= 3
    assert first["has_more"] is True
    replica = Replica(world.alice)
    replica.pull(limit=2)
    assert_in_sync(replica)
    assert ok(world.alice.get("/v1/changes"))["has_more"] is False  # default limit 500


def test_a_big_bulk_creation_spans_batches(settings: ServerSettings, client: TestClient) -> None:
    big = new_reseller(settings, client, "big@reseller.example", lpu=1000, sensors=1000)
    template = license_body("Big", sensor_count=1)
    ok(big.post("/v1/licenses/bulk", {"template": template, "copies": 1000}), 201)
    batch = ok(big.get("/v1/changes"))
    # 500 feed rows; a few name the same object (the pool grant, the account) and count once.
    assert 490 <= len(batch["changes"]) <= 500
    assert batch["has_more"] is True
    replica = Replica(big)
    replica.pull(limit=1000)
    assert sum(kind == "license" for kind, _ in replica.items) == 1000
    assert_in_sync(replica)


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "cursor",
    [
        "zzz",
        "!!!!",
        "0",
        "bGF0ZXN0",  # "latest", encoded
        cursor_of(["2026-01-01T00:00:00+00:00", "some-id"]),  # a list cursor
        cursor_of({"v": 1, "s": -1, "e": "2026-01-01T00:00:00+00:00", "i": None}),
        cursor_of({"v": 1, "s": 1.5, "e": "2026-01-01T00:00:00+00:00", "i": None}),
        cursor_of({"v": 1, "s": True, "e": "2026-01-01T00:00:00+00:00", "i": None}),
        cursor_of({"v": 1, "s": 3, "e": "2026-01-01T00:00:00", "i": None}),  # no offset
        cursor_of({"v": 1, "s": 3, "e": "yesterday", "i": None}),
        cursor_of({"v": 1, "s": 3, "e": "2026-01-01T00:00:00+00:00", "i": 7}),
        cursor_of({"v": 2, "s": 3, "e": "2026-01-01T00:00:00+00:00", "i": None}),
        "é" * 10,
        "A" * 600,
    ],
)
def test_a_cursor_that_is_not_ours_is_refused(alice: Actor, cursor: str) -> None:
    body = problem(alice.get("/v1/changes", params={"cursor": cursor}), 422, "validation_failed")
    assert "cursor" in fields(body)


def test_a_list_cursor_is_not_a_change_cursor(world: World) -> None:
    ok(world.alice.post("/v1/licenses/bulk", {"template": license_body("P"), "copies": 2}), 201)
    page = ok(world.alice.get("/v1/licenses", params={"limit": 1}))
    body = problem(
        world.alice.get("/v1/changes", params={"cursor": page["next_cursor"]}),
        422,
        "validation_failed",
    )
    assert "cursor" in fields(body)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("limit", ["0", "-1", "1001", "abc", "2.5"])
def test_limit_is_bounded(alice: Actor, limit: str) -> None:
    body = problem(alice.get("/v1/changes", params={"limit": limit}), 422, "validation_failed")
    assert "limit" in fields(body)


@pytest.mark.sqlite_only
def test_unauthenticated_callers_get_nothing(client: TestClient) -> None:
    problem(client.get("/v1/changes"), 401, "unauthenticated")


# --- licenses whose term runs out ----------------------------------------------------------------


def _end_terms(settings: ServerSettings, license_ids: list[str]) -> None:
    """Make licenses active with a term ending now: time passing, with no change recorded."""
    db = Database(settings.database_url)
    try:
        with db.session(write=True) as session:
            now = utcnow()
            session.execute(
                update(License)
                .where(License.id.in_(license_ids))
                .values(status="active", machine_id="m-1", activated_at=now, expires_at=now)
            )
            session.commit()
    finally:
        db.dispose()


def test_a_license_whose_term_ends_is_reported_once(settings: ServerSettings, world: World) -> None:
    world.grant(world.ann)
    lic = ok(world.ann.post("/v1/licenses", license_body("Short")), 201)
    ann, alice = Replica(world.ann), Replica(world.alice)
    ann.pull()
    alice.pull()
    _end_terms(settings, [lic["id"]])

    for replica in (ann, alice):
        changes = replica.pull()
        assert [(c["kind"], c["id"]) for c in changes] == [("license", lic["id"])]
        assert changes[0]["data"]["status"] == "expired"
        assert replica.pull() == []
        assert_in_sync(replica)
    assert lic["id"] not in {c["id"] for c in Replica(world.amy).pull()}


def test_many_ended_terms_respect_the_limit(settings: ServerSettings, world: World) -> None:
    created = ok(
        world.alice.post("/v1/licenses/bulk", {"template": license_body("Exp"), "copies": 5}), 201
    )
    replica = Replica(world.alice)
    replica.pull()
    _end_terms(settings, [x["id"] for x in created["items"]])
    seen = replica.pull(limit=2)
    assert sorted(c["id"] for c in seen) == sorted(x["id"] for x in created["items"])
    assert all(c["data"]["status"] == "expired" for c in seen)
    assert_in_sync(replica)


# --- scale and ordering ---------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_a_pull_reads_only_its_own_rows_of_the_feed(app: FastAPI, world: World) -> None:
    """The feed query is answered from the tenant (or holder) index, never by a full scan."""
    statements: list[tuple[str, Any]] = []
    engine = app.state.context.db.engine

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_args: Any) -> None:
        if "FROM change_feed" in statement and "ORDER BY change_feed.seq" in statement:
            statements.append((statement, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        Replica(world.alice).pull()
        Replica(world.ann).pull()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert len(statements) == 2
    plans = []
    with engine.connect() as connection:
        for statement, params in statements:
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
            plans.append(" ".join(str(row[-1]) for row in rows))
    assert "ix_change_feed_tenant_seq" in plans[0], plans[0]
    assert "ix_change_feed_holder_seq" in plans[1], plans[1]
    assert not any("SCAN change_feed" in plan for plan in plans), plans


@pytest.fixture
def server(settings: ServerSettings) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(settings) as running:
        yield running


def test_concurrent_writers_never_slip_past_a_reader(
    settings: ServerSettings, server: EmbeddedServer
) -> None:
    """Licenses created by racing requests all reach a client that pulls meanwhile."""
    with httpx.Client(base_url=server.url, timeout=60) as http:
        owner = new_reseller(settings, http, "racer@reseller.example")
        reader = Replica(owner)
        errors: list[BaseException] = []

        def write(n: int) -> None:
            try:
                with httpx.Client(base_url=server.url, headers=owner.headers, timeout=60) as own:
                    for i in range(6):
                        ok(own.post("/v1/licenses", json=license_body(f"W{n}-{i}")), 201)
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        writers = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for thread in writers:
            thread.start()
        while True:  # pull while they write, and once more after the last one finished
            finished = not any(thread.is_alive() for thread in writers)
            reader.pull(limit=5)
            if finished:
                break
        for thread in writers:
            thread.join(60)
        assert not errors, errors
        assert sum(kind == "license" for kind, _ in reader.items) == 24
        assert_in_sync(reader)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_on_postgresql_feed_writers_queue_until_commit(settings: ServerSettings) -> None:
    """A second writer waits for the first one's commit before it numbers its feed rows."""

    def row(entity_id: str) -> ChangeRecord:
        return ChangeRecord(
            tenant_id="t", kind="account", entity_id=entity_id, holder_id=entity_id, at=utcnow()
        )

    db = Database(settings.database_url)
    try:
        first = db.session(write=True)
        first_pid = first.execute(text("SELECT pg_backend_pid()")).scalar_one()
        change_feed.record(first, [])  # takes the feed lock, as every commit with changes does
        first.add(row("a"))
        first.flush()
        second_seq: list[int] = []

        def second_writer() -> None:
            with db.session(write=True) as second:
                change_feed.record(second, [])
                second.add(row("b"))
                second.flush()
                second_seq.extend(second.scalars(select(ChangeRecord.seq)))
                second.commit()

        thread = threading.Thread(target=second_writer)
        thread.start()
        with db.session() as watcher:
            for _ in range(400):  # until the second writer is seen waiting for the lock
                waiting = watcher.execute(
                    text(
                        "SELECT count(*) FROM pg_locks "
                        "WHERE locktype = 'advisory' AND NOT granted AND pid <> :pid"
                    ),
                    {"pid": first_pid},
                ).scalar_one()
                watcher.rollback()
                if waiting:
                    break
                thread.join(0.05)
            else:
                raise AssertionError("the second writer never waited for the feed lock")
        assert second_seq == []
        first.commit()
        first.close()
        thread.join(30)
        with Session(db.engine) as check:
            order = check.scalars(select(ChangeRecord.entity_id).order_by(ChangeRecord.seq))
            assert list(order) == ["a", "b"]
    finally:
        db.dispose()
