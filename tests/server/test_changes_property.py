"""Property: after any sequence of operations by several accounts, a client that applied every
delta of `GET /v1/changes` holds exactly what a fresh full listing returns, at every pull."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from srportal_desktop.server.app import create_app
from srportal_desktop.server.settings import ServerSettings
from tests.server.conftest import (
    Actor,
    TestClient,
    add_active_sub_user,
    new_reseller,
    sign_in,
)
from tests.server.test_changes import Replica, assert_in_sync

ALICE, ANN, AMY, BOB = range(4)  # the accounts that sign in and pull
RESELLERS = (ALICE, BOB)
SENSOR_SETS = (["ouster-os1-64"], ["ouster-os1-64", "velodyne-vlp-16"], ["velodyne-vlp-16"])

_index = st.integers(0, 50)  # resolved modulo what exists when the operation runs
# Mostly the first sub-users (ann and amy, who pull), sometimes an invited one.
_sub_user = st.integers(0, 2)
_who = st.sampled_from([ALICE, ANN, AMY, BOB])
_reseller = st.sampled_from(RESELLERS)

operations = st.one_of(
    st.tuples(st.just("invite"), _reseller),
    st.tuples(st.just("grant"), _reseller, _sub_user, st.integers(0, 4), st.integers(0, 8), _index),
    st.tuples(st.just("license"), _who, _index, st.integers(1, 2)),
    st.tuples(st.just("bulk"), _who, st.integers(1, 4)),
    st.tuples(st.just("transfer"), _reseller, _index, _sub_user),
    st.tuples(st.just("status"), _reseller, _sub_user, st.sampled_from(["disabled", "active"])),
    st.tuples(st.just("reclaim"), _reseller, _index, st.integers(0, 3), st.integers(0, 4)),
    st.tuples(st.sampled_from(["activate", "deactivate", "revoke"]), _who, _index),
    st.tuples(st.just("pull"), _who, st.sampled_from([None, 1, 2, 5])),
)


# Something to act on from the first generated operation: sub-users with quota, licenses.
PROLOGUE: list[tuple[Any, ...]] = [
    ("pull", ALICE, None),
    ("grant", ALICE, 0, 3, 8, 1),  # to ann
    ("grant", ALICE, 1, 2, 6, 0),  # to amy
    ("invite", BOB),
    ("grant", BOB, 0, 2, 4, 1),
    ("license", ALICE, 1, 1),
    ("license", ANN, 0, 2),
    ("pull", ANN, None),
]


@dataclass
class Scenario:
    """The accounts, and what the test knows exists, to aim operations at."""

    http: httpx.Client
    settings: ServerSettings
    actors: list[Actor]
    replicas: list[Replica]
    routes: set[str]
    disabled: set[str] = field(default_factory=set)
    sub_users: dict[int, list[str]] = field(default_factory=dict)  # reseller → sub-user ids
    grants: dict[int, list[str]] = field(default_factory=dict)  # grantor → grant ids
    licenses: dict[int, list[str]] = field(default_factory=dict)  # tenant → license ids
    tenant_of: dict[str, int] = field(default_factory=dict)  # what each tenant created
    names: int = 0

    def tenant(self, who: int) -> int:
        return BOB if who == BOB else ALICE

    def pick(self, items: list[str], index: int) -> str | None:
        return items[index % len(items)] if items else None

    def name(self) -> str:
        self.names += 1
        return f"Unit {self.names}"

    def run(self, op: tuple[Any, ...]) -> None:
        kind = op[0]
        if kind == "pull":
            self.pull(op[1], op[2])
            return
        response = getattr(self, f"do_{kind}")(*op[1:])
        if response is not None:
            assert response.status_code < 500, response.text

    def pull(self, who: int, limit: int | None) -> None:
        replica = self.replicas[who]
        if replica.actor.id in self.disabled:
            return  # signed out for good while disabled; it resumes when enabled again
        for change in replica.pull(limit):
            assert self.tenant_of.get(change["id"], self.tenant(who)) == self.tenant(who), change
        assert_in_sync(replica)

    def do_invite(self, reseller: int) -> httpx.Response:
        email = f"{self.name().replace(' ', '').lower()}@invited.example"
        response = self.actors[reseller].post("/v1/sub-users", {"email": email})
        if response.status_code == 201:
            self.sub_users[reseller].append(response.json()["id"])
            self.tenant_of[response.json()["id"]] = reseller
        return response

    def do_grant(
        self, reseller: int, target: int, lpu: int, sensors: int, sensor_set: int
    ) -> httpx.Response | None:
        grantee = self.pick(self.sub_users[reseller], target)
        if grantee is None:
            return None
        body = {
            "grantee_id": grantee,
            "supported_sensors": SENSOR_SETS[sensor_set % len(SENSOR_SETS)],
            "lpu": lpu,
            "sensors": sensors,
            "gpu_preset": False,
        }
        response = self.actors[reseller].post("/v1/grants", body)
        if response.status_code == 201:
            self.grants[reseller].append(response.json()["id"])
            self.tenant_of[response.json()["id"]] = reseller
        return response

    def do_license(self, who: int, sensor_set: int, count: int) -> httpx.Response:
        sensors = SENSOR_SETS[sensor_set % len(SENSOR_SETS)]
        body = {"name": self.name(), "sensor_models": sensors, "sensor_count": count}
        response = self.actors[who].post("/v1/licenses", body)
        if response.status_code == 201:
            self.created(who, [response.json()])
        return response

    def do_bulk(self, who: int, copies: int) -> httpx.Response:
        template = {"name": self.name(), "sensor_models": SENSOR_SETS[0], "sensor_count": 1}
        response = self.actors[who].post(
            "/v1/licenses/bulk", {"template": template, "copies": copies}
        )
        if response.status_code == 201:
            self.created(who, response.json()["items"])
        return response

    def created(self, who: int, licenses: list[dict[str, Any]]) -> None:
        for item in licenses:
            self.licenses[self.tenant(who)].append(item["id"])
            self.tenant_of[item["id"]] = self.tenant(who)

    def do_transfer(self, reseller: int, lic: int, target: int) -> httpx.Response | None:
        license_id = self.pick(self.licenses[reseller], lic)
        to = self.pick(self.sub_users[reseller], target)
        if license_id is None or to is None:
            return None
        return self.actors[reseller].post(
            f"/v1/licenses/{license_id}/transfer", {"to_sub_user_id": to}
        )

    def do_status(self, reseller: int, target: int, status: str) -> httpx.Response | None:
        sub_user = self.pick(self.sub_users[reseller], target)
        if sub_user is None:
            return None
        response = self.actors[reseller].patch(f"/v1/sub-users/{sub_user}", {"status": status})
        if response.status_code == 200:
            if status == "disabled":
                self.disabled.add(sub_user)
            elif sub_user in self.disabled:
                self.disabled.discard(sub_user)
                self.sign_in_again(sub_user)
        return response

    def sign_in_again(self, account_id: str) -> None:
        for n, actor in enumerate(self.actors):
            if actor.id == account_id:
                self.actors[n] = sign_in(self.http, actor.id, actor.email)
                self.replicas[n].actor = self.actors[n]  # same cursor, same replica

    def do_reclaim(
        self, reseller: int, grant: int, lpu: int, sensors: int
    ) -> httpx.Response | None:
        grant_id = self.pick(self.grants[reseller], grant)
        if grant_id is None:
            return None
        return self.actors[reseller].post(
            f"/v1/grants/{grant_id}/reclaim", {"lpu": lpu, "sensors": sensors}
        )

    def _license_call(self, action: str, who: int, lic: int) -> httpx.Response | None:
        license_id = self.pick(self.licenses[self.tenant(who)], lic)
        if license_id is None or f"/v1/licenses/{{license_id}}/{action}" not in self.routes:
            return None  # the endpoint is not in this build
        actor = self.actors[who]
        if actor.id in self.disabled:
            return None
        body = {"machine_id": f"machine-{lic % 3}"} if action == "activate" else None
        return actor.post(f"/v1/licenses/{license_id}/{action}", body)

    def do_activate(self, who: int, lic: int) -> httpx.Response | None:
        return self._license_call("activate", who, lic)

    def do_deactivate(self, who: int, lic: int) -> httpx.Response | None:
        return self._license_call("deactivate", who, lic)

    def do_revoke(self, who: int, lic: int) -> httpx.Response | None:
        return self._license_call("revoke", who, lic)


@contextmanager
def _scenario(database_url: str) -> Iterator[Scenario]:
    with tempfile.TemporaryDirectory(prefix="srportal-changes-") as folder:
        config = ServerSettings(
            database_url=database_url,
            outbox_dir=Path(folder, "outbox"),
            public_url="https://portal.example.com",
        )
        app = create_app(config)
        try:
            with TestClient(app, raise_server_exceptions=True) as http:
                alice = new_reseller(config, http, "alice@a.example", lpu=12, sensors=30)
                bob = new_reseller(config, http, "bob@b.example", lpu=8, sensors=20)
                ann = add_active_sub_user(config, http, alice, "ann@c.example", "Ann")
                amy = add_active_sub_user(config, http, alice, "amy@c.example", "Amy")
                actors = [alice, ann, amy, bob]
                yield Scenario(
                    http=http,
                    settings=config,
                    actors=actors,
                    replicas=[Replica(actor) for actor in actors],
                    routes=set(app.openapi()["paths"]),
                    sub_users={ALICE: [ann.id, amy.id], BOB: []},
                    grants={ALICE: [], BOB: []},
                    licenses={ALICE: [], BOB: []},
                )
        finally:
            app.state.context.db.dispose()


@pytest.fixture
def fresh_scenario(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[[], AbstractContextManager[Scenario]]:
    """Each call: a new empty, migrated database with the accounts signed in."""
    counter = iter(range(1_000_000))

    def make() -> AbstractContextManager[Scenario]:
        if backend == "postgresql":
            request.getfixturevalue("postgres_schema").reset()
            return _scenario(request.getfixturevalue("postgres_schema").url)
        path = tmp_path / f"example-{next(counter)}.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return _scenario(f"sqlite:///{path.as_posix()}")

    return make


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI stays stable
    database=None,
    # No shrinking: every example builds a database, so shrinking a failure would run for
    # minutes. The failing sequence of operations is printed as it was generated.
    phases=(Phase.explicit, Phase.generate),
    # Each example builds its own database through the factory fixture.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operations, min_size=10, max_size=30))
def test_applied_deltas_equal_a_fresh_listing(
    fresh_scenario: Callable[[], AbstractContextManager[Scenario]], ops: list[tuple[Any, ...]]
) -> None:
    with fresh_scenario() as scenario:
        for op in PROLOGUE + ops:
            scenario.run(op)
        for who in range(len(scenario.actors)):
            scenario.pull(who, None)
