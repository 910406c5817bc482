"""The authorization matrix: every route of the app, called by every role on every target.

Roles: the vendor admin, reseller A, reseller B, S (a sub-user of A) and an anonymous caller.
Targets are objects in A's tree, in S's hands and in B's tree. Rules (DESIGN §3):

- nobody reads or changes anything outside their tree: 404 there, and nothing changes;
- anonymous callers get 401 except on the public routes (sign-in calls, sensors, signing key,
  health, readiness, the OpenAPI document and its viewers);
- a sub-user gets 403 on management calls (sub-users, grants, transfer, revoke) and otherwise
  sees and uses only its own licenses and grants.

`ROWS` must list every route the app serves (a new route fails the test until it is added);
rows for routes not served yet are skipped with a message.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import select

from srportal_desktop.server import security
from srportal_desktop.server.app import create_app
from srportal_desktop.server.bootstrap import create_vendor_admin
from srportal_desktop.server.db import Database
from srportal_desktop.server.models import Account
from srportal_desktop.server.settings import ServerSettings
from tests.server.conftest import (
    PASSWORD,
    POSTGRES_URL,
    POSTGRES_URL_VARIABLE,
    Actor,
    TestClient,
    add_active_sub_user,
    fresh_postgres_schema,
    in_ci,
    invite_token,
    license_body,
    new_reseller,
    ok,
    sign_in,
)

ROLES = ("admin", "A", "B", "S", "anon")
SENSORS = ["ouster-os1-64", "velodyne-vlp-16"]

# Target columns per kind of path parameter (or filter).
TARGETS: dict[str, tuple[str, ...]] = {
    "none": ("-",),
    "license": ("lic_A", "lic_S", "lic_B"),
    "active_license": ("act_A", "act_S", "act_B"),
    "fresh_license": ("lic_A", "lic_S", "lic_B"),  # a new one per call (the call changes it)
    "fresh_active_license": ("act_A", "act_S", "act_B"),
    "account": ("A", "S", "B"),
    "sub_user": ("A", "S", "bert"),  # A itself, A's sub-user, B's sub-user
    "grantee": ("A", "S", "bert"),
    "invitee": ("inv_A", "inv_B"),
    "grant": ("pool_A", "grant_S", "grant_bert"),
}
# Who manages which target's tree, to tell whether a refusal could have come from outside it.
OWNER_TREE = {
    "lic_A": "A", "lic_S": "A", "lic_B": "B", "act_A": "A", "act_S": "A", "act_B": "B",
    "A": "A", "S": "A", "B": "B", "bert": "B", "inv_A": "A", "inv_B": "B",
    "pool_A": "A", "grant_S": "A", "grant_bert": "B",
}  # fmt: skip

BodyMaker = Callable[["World", str, str], Any]


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # "{id}" stands for the target; "?name={id}" puts it in the query
    targets: str
    expect: dict[str, str]  # role → space-separated statuses, one per target column
    body: BodyMaker | None = None

    @property
    def route(self) -> tuple[str, str]:
        return self.method, normalized(self.path.split("?")[0])

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def everyone(status: str) -> dict[str, str]:
    return dict.fromkeys(ROLES, status)


def signed_in(
    status: str, *, sub_user: str | None = None, admin: str | None = None
) -> dict[str, str]:
    return {
        "admin": admin or status,
        "A": status,
        "B": status,
        "S": sub_user or status,
        "anon": "401",
    }


def by_tree(admin: str, a: str, b: str, s: str) -> dict[str, str]:
    return {"admin": admin, "A": a, "B": b, "S": s, "anon": " ".join(["401"] * len(a.split()))}


# --- request bodies ------------------------------------------------------------------------------

_serial = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_serial)}"


def login_body(world: World, _role: str, _target: str) -> Any:
    return {"email": world.actors["A"].email, "password": PASSWORD}


def refresh_body(world: World, _role: str, _target: str) -> Any:
    tokens = ok(world.http.post("/v1/auth/login", json=login_body(world, "", "")))
    return {"refresh_token": tokens["refresh_token"]}


def accept_body(world: World, _role: str, _target: str) -> Any:
    email = f"{unique('newcomer')}@customer.example"
    ok(world.actors["A"].post("/v1/sub-users", {"email": email}), 201)
    return {"token": invite_token(world.settings, email), "password": PASSWORD}


def sub_user_body(_world: World, _role: str, _target: str) -> Any:
    return {"email": f"{unique('invitee')}@customer.example"}


def license_create_body(_world: World, _role: str, _target: str) -> Any:
    return license_body(unique("Matrix "), sensor_count=1)


def bulk_body(_world: World, _role: str, _target: str) -> Any:
    return {"template": license_body(unique("Bulk "), sensor_count=1), "copies": 2}


def grant_body(world: World, _role: str, target: str) -> Any:
    return {
        "grantee_id": world.ids[target],
        "supported_sensors": ["ouster-os1-64"],
        "lpu": 1,
        "sensors": 1,
        "gpu_preset": False,
    }


def transfer_body(world: World, role: str, target: str) -> Any:
    # To a sub-user in the caller's own tree (in the target's tree for the vendor admin), so
    # only the license itself decides the answer.
    tree = OWNER_TREE[target] if role == "admin" else {"B": "B"}.get(role, "A")
    return {"to_sub_user_id": world.ids["amy" if tree == "A" else "bert"]}


def activate_body(_world: World, _role: str, _target: str) -> Any:
    return {"machine_id": unique("machine-")}


def patch_body(_world: World, _role: str, _target: str) -> Any:
    return {"display_name": unique("Renamed ")}


def reclaim_body(_world: World, _role: str, _target: str) -> Any:
    return {"lpu": 1, "sensors": 0}


# --- the table -----------------------------------------------------------------------------------

READ = by_tree(admin="200 200 200", a="200 200 404", b="404 404 200", s="404 200 404")
MANAGE = by_tree(admin="200 200 200", a="200 200 404", b="404 404 200", s="403 403 403")

ROWS: tuple[Row, ...] = (
    # public
    Row("POST", "/v1/auth/login", "none", everyone("200"), login_body),
    Row("POST", "/v1/auth/refresh", "none", everyone("200"), refresh_body),
    Row("POST", "/v1/auth/logout", "none", everyone("204"), refresh_body),
    Row("POST", "/v1/auth/accept-invite", "none", everyone("200"), accept_body),
    Row("GET", "/v1/sensors", "none", everyone("200")),
    Row("GET", "/v1/signing-key", "none", everyone("200")),
    Row("GET", "/healthz", "none", everyone("200")),
    Row("GET", "/readyz", "none", everyone("200")),
    Row("GET", "/openapi.json", "none", everyone("200")),
    Row("GET", "/docs", "none", everyone("200")),
    Row("GET", "/docs/oauth2-redirect", "none", everyone("200")),
    Row("GET", "/redoc", "none", everyone("200")),
    # the invitation page (HTML): without an invitation code it only says so
    Row("GET", "/accept-invite", "none", everyone("400")),
    Row("POST", "/accept-invite", "none", everyone("400")),
    # the caller's own view
    Row("GET", "/v1/me", "none", signed_in("200")),
    Row("GET", "/v1/me/history", "none", signed_in("200")),
    Row("GET", "/v1/changes", "none", signed_in("200")),
    Row("GET", "/v1/licenses", "none", signed_in("200")),
    Row("GET", "/v1/grants", "none", signed_in("200")),
    Row("GET", "/v1/sub-users", "none", signed_in("200", sub_user="403")),
    # the vendor admin holds no grant of its own: nothing to create licenses from
    Row("POST", "/v1/licenses", "none", signed_in("201", admin="409"), license_create_body),
    Row("POST", "/v1/licenses/bulk", "none", signed_in("201", admin="409"), bulk_body),
    Row("POST", "/v1/sub-users", "none", signed_in("201", sub_user="403"), sub_user_body),
    # filters naming an account
    Row("GET", "/v1/licenses?owner_id={id}", "account", READ),
    Row("GET", "/v1/grants?grantee_id={id}", "account", READ),
    # quota goes to one's own children only (422 for other accounts one can see)
    Row(
        "POST",
        "/v1/grants",
        "grantee",
        by_tree(admin="201 422 422", a="422 201 404", b="404 404 201", s="403 403 403"),
        grant_body,
    ),
    # licenses
    Row("GET", "/v1/licenses/{id}", "license", READ),
    Row("GET", "/v1/licenses/{id}/history", "license", READ),
    Row("GET", "/v1/licenses/{id}/key-file", "active_license", READ),
    Row("POST", "/v1/licenses/{id}/activate", "fresh_license", READ, activate_body),
    Row("POST", "/v1/licenses/{id}/deactivate", "fresh_active_license", READ),
    Row("POST", "/v1/licenses/{id}/transfer", "fresh_license", MANAGE, transfer_body),
    Row("POST", "/v1/licenses/{id}/revoke", "fresh_license", MANAGE),
    # sub-users: strictly below the caller (a reseller is not its own sub-user)
    Row(
        "GET",
        "/v1/sub-users/{id}",
        "sub_user",
        by_tree(admin="200 200 200", a="404 200 404", b="404 404 200", s="403 403 403"),
    ),
    Row(
        "PATCH",
        "/v1/sub-users/{id}",
        "sub_user",
        by_tree(admin="200 200 200", a="404 200 404", b="404 404 200", s="403 403 403"),
        patch_body,
    ),
    Row(
        "GET",
        "/v1/sub-users/{id}/history",
        "sub_user",
        by_tree(admin="200 200 200", a="404 200 404", b="404 404 200", s="403 403 403"),
    ),
    Row(
        "POST",
        "/v1/sub-users/{id}/resend-invite",
        "invitee",
        by_tree(admin="202 202", a="202 404", b="404 202", s="403 403"),
    ),
    # only the grantor reclaims (A's pool came from the vendor admin)
    Row(
        "POST",
        "/v1/grants/{id}/reclaim",
        "grant",
        by_tree(admin="200 403 403", a="403 200 404", b="404 404 200", s="403 403 403"),
        reclaim_body,
    ),
)


# --- routes the app serves -----------------------------------------------------------------------


def normalized(path: str) -> str:
    """`/v1/licenses/{license_id}` and `/v1/licenses/{id}` are the same route."""
    parts = ["{}" if p.startswith("{") else p for p in path.split("/")]
    return "/".join(parts)


def served_routes(app: FastAPI) -> set[tuple[str, str]]:
    try:  # FastAPI keeps included routers nested; this walks them
        from fastapi.routing import iter_route_contexts

        contexts: list[Any] = list(iter_route_contexts(app.routes))
    except ImportError:  # older FastAPI: a flat list of routes
        contexts = list(app.routes)
    routes: set[tuple[str, str]] = set()
    for route in contexts:
        methods: Any = getattr(route, "methods", None) or route.original_route.methods
        for method in set(methods) - {"HEAD"}:
            routes.add((method, normalized(route.path)))
    return routes


# --- one world for the whole module, per database ------------------------------------------------


@dataclass
class World:
    settings: ServerSettings
    http: TestClient
    db: Database
    actors: dict[str, Actor] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    routes: set[tuple[str, str]] = field(default_factory=set)

    def call(self, role: str, method: str, url: str, body: Any) -> httpx.Response:
        headers = self.actors[role].headers if role in self.actors else {}
        return self.http.request(method, url, json=body, headers=headers)

    def new_license(self, owner: str, *, active: bool) -> str:
        author = self.actors[owner]
        created = ok(author.post("/v1/licenses", license_create_body(self, owner, "")), 201)
        if active:
            manager = self.actors["B" if owner == "B" else "A"]
            ok(manager.post(f"/v1/licenses/{created['id']}/activate", activate_body(self, "", "")))
        license_id: str = created["id"]
        return license_id

    def target_id(self, kind: str, target: str) -> str:
        owner = target.rpartition("_")[2]
        if kind == "fresh_license":
            return self.new_license(owner, active=False)
        if kind == "fresh_active_license":
            return self.new_license(owner, active=True)
        return self.ids[target]

    def snapshot(self, kind: str, target_id: str) -> Any:
        """What the vendor admin sees of a target: a refused call must not change it."""
        admin = self.actors["admin"]
        if "license" in kind:
            return (
                admin.get(f"/v1/licenses/{target_id}").json(),
                admin.get(f"/v1/licenses/{target_id}/history").json(),
            )
        if kind in ("sub_user", "invitee", "grantee"):
            return (
                admin.get(f"/v1/sub-users/{target_id}").json(),
                admin.get(f"/v1/sub-users/{target_id}/history").json(),
            )
        if kind == "grant":
            return admin.get("/v1/grants", params={"limit": 200}).json()
        return None

    def view_of(self, role: str) -> tuple[set[str], set[str]]:
        """(the caller's tree, its direct children), straight from the accounts table."""
        with self.db.session() as session:
            rows = session.execute(select(Account.id, Account.parent_id)).all()
        me = self.actors[role].id
        children: dict[str | None, set[str]] = {}
        for account_id, parent_id in rows:
            children.setdefault(parent_id, set()).add(account_id)
        tree, todo = {me}, [me]
        while todo:
            below = children.get(todo.pop(), set())
            tree |= below
            todo += below
        return tree, children.get(me, set())


def _database_url(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{(tmp / 'portal.sqlite3').as_posix()}"
        return
    if POSTGRES_URL is None:
        if in_ci():
            pytest.fail(f"{POSTGRES_URL_VARIABLE} is not set: CI must run the PostgreSQL tests")
        pytest.skip(f"set {POSTGRES_URL_VARIABLE} to run the PostgreSQL tests")
    with fresh_postgres_schema("srportal_matrix") as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("matrix")
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("SRPORTAL_")]:
            patch.delenv(name)
        patch.setenv("XDG_DATA_HOME", str(tmp / "xdg-data"))
        patch.setattr(
            security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        )
        for url in _database_url(request.param, tmp):
            settings = ServerSettings(
                database_url=url,
                outbox_dir=tmp / "outbox",
                public_url="https://portal.example.com",
                signing_key_path=tmp / "signing-key.pem",
            )
            app = create_app(settings)
            with TestClient(app) as http:
                yield _populate(World(settings, http, app.state.context.db), app)
            app.state.context.db.dispose()


def _populate(world: World, app: FastAPI) -> World:
    settings, http = world.settings, world.http
    alice = new_reseller(settings, http, "alice@reseller-a.example", display_name="Alice")
    bob = new_reseller(settings, http, "bob@reseller-b.example", display_name="Bob")
    admin_id = create_vendor_admin(settings, "vendor@portal.example", PASSWORD)
    admin = sign_in(http, admin_id, "vendor@portal.example")
    ann = add_active_sub_user(settings, http, alice, "ann@customer.example", "Ann")
    amy = add_active_sub_user(settings, http, alice, "amy@customer.example", "Amy")
    bert = add_active_sub_user(settings, http, bob, "bert@customer.example", "Bert")
    world.actors = {"admin": admin, "A": alice, "B": bob, "S": ann}
    ids = world.ids
    ids |= {"A": alice.id, "B": bob.id, "S": ann.id, "amy": amy.id, "bert": bert.id}
    for key, manager in (("inv_A", alice), ("inv_B", bob)):
        email = f"{key.lower()}@customer.example"
        ids[key] = ok(manager.post("/v1/sub-users", {"email": email}), 201)["id"]
    grant = {"supported_sensors": SENSORS, "gpu_preset": False}
    for key, grantor, grantee, units in (("grant_S", alice, ann, 60), ("grant_bert", bob, bert, 5)):
        body = grant | {"grantee_id": grantee.id, "lpu": units, "sensors": units}
        ids[key] = ok(grantor.post("/v1/grants", body), 201)["id"]
    [pool] = ok(alice.get("/v1/grants", params={"grantee_id": alice.id}))["items"]
    ids["pool_A"] = pool["id"]
    for owner in ("A", "S", "B"):
        ids[f"lic_{owner}"] = world.new_license(owner, active=False)
        ids[f"act_{owner}"] = world.new_license(owner, active=True)
    world.routes = served_routes(app)
    return world


# --- the tests -----------------------------------------------------------------------------------


def test_every_served_route_is_in_the_matrix(world: World) -> None:
    listed = {row.route for row in ROWS}
    missing = sorted(world.routes - listed)
    assert not missing, f"routes without a row in ROWS: {missing}"
    print()
    for row in ROWS:
        cells = " | ".join(f"{role}: {row.expect[role]}" for role in ROLES)
        print(f"{row!s:45} [{' '.join(TARGETS[row.targets])}]  {cells}")


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_authorization(world: World, row: Row) -> None:
    if row.route not in world.routes:
        pytest.skip(f"{row} is not served yet")
    targets = TARGETS[row.targets]
    mismatches: list[str] = []
    table: list[str] = []
    for role in ROLES:
        expected = row.expect[role].split()
        assert len(expected) == len(targets), f"{row}: {role} needs one status per target"
        answers = []
        for target, want in zip(targets, expected, strict=True):
            target_id = world.target_id(row.targets, target) if target != "-" else ""
            url = row.path.replace("{id}", target_id)
            body = row.body(world, role, target) if row.body else None
            denied = want in ("401", "403", "404")
            before = world.snapshot(row.targets, target_id) if denied else None
            response = world.call(role, row.method, url, body)
            answers.append(str(response.status_code))
            if str(response.status_code) != want:
                mismatches.append(
                    f"{role} on {target}: {response.status_code} {response.text[:200]}"
                )
                continue
            if denied:
                problem = response.json()
                assert response.headers["content-type"].startswith("application/problem+json")
                assert problem["status"] == int(want)
                if row.method != "GET":
                    assert world.snapshot(row.targets, target_id) == before, (role, target)
            elif role != "anon" and row.method == "GET" and row.path in LISTS:
                _assert_no_leak(world, role, row, response.json())
        table.append(f"  {role:>5}: {' '.join(answers)}")
    print(f"\n{row} [{' '.join(targets)}]\n" + "\n".join(table))
    assert not mismatches, f"{row}:\n" + "\n".join(mismatches)


LISTS = ("/v1/licenses", "/v1/grants", "/v1/sub-users")


def _assert_no_leak(world: World, role: str, row: Row, body: Any) -> None:
    """A list answer holds nothing from outside the caller's tree."""
    tree, children = world.view_of(role)
    items = body["items"]
    assert items or role == "admin" or row.path == "/v1/sub-users", f"{role}: {row} is empty"
    for item in items:
        if row.path == "/v1/licenses":
            assert item["owner_id"] in tree, (role, item)
        elif row.path == "/v1/grants":
            assert item["grantee_id"] in tree, (role, item)
        else:
            assert item["id"] in children, (role, item)


def test_a_transfer_never_moves_a_license_out_of_its_resellers_tree(world: World) -> None:
    license_id = world.new_license("B", active=False)
    try:
        response = world.call(
            "admin",
            "POST",
            f"/v1/licenses/{license_id}/transfer",
            {"to_sub_user_id": world.ids["amy"]},
        )
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "invalid_state"
    finally:  # leave the shared world as it was for the other tests
        world.call(
            "admin",
            "POST",
            f"/v1/licenses/{license_id}/transfer",
            {"to_sub_user_id": world.ids["B"]},
        )
