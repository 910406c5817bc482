"""Fixtures for the portal server tests: a fresh database per test on SQLite and on PostgreSQL,
a real HTTP stack."""

from __future__ import annotations

import gc
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import Engine, MetaData, Table, create_engine, text

from srportal_desktop.server import security
from srportal_desktop.server.app import create_app
from srportal_desktop.server.bootstrap import create_reseller
from srportal_desktop.server.db import Database, normalize_url
from srportal_desktop.server.settings import ServerSettings

with warnings.catch_warnings():
    # Starlette nudges towards the httpx2 package; the installed httpx works the same.
    warnings.filterwarnings("ignore", message=".*httpx2", category=UserWarning)
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"
ALL_SENSORS_POOL = {"lpu": 100, "sensors": 400}


@pytest.fixture(scope="session", autouse=True)
def _frozen_import_time_objects() -> None:
    """Exempt everything alive now (modules, classes: a big heap) from garbage collection.

    The full collection that tests/conftest.py runs after every test then looks at what tests
    made only, which makes it some ten times faster; nothing test-made is exempt.
    """
    gc.freeze()


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("SRPORTAL_"):
            monkeypatch.delenv(name)
    # Never touch the real user data directory.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    # Same argon2id code path, test-sized cost: the suite hashes hundreds of passwords.
    monkeypatch.setattr(
        security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


# --- database backends --------------------------------------------------------------------------
# Every test that asks for `settings` runs twice: on a fresh SQLite file and on a fresh PostgreSQL
# schema (from SRPORTAL_TEST_POSTGRES_URL). Both start from the migrations, made once per session
# and reset per test. Mark a test `sqlite_only` when the database is not what it is about.

POSTGRES_URL_VARIABLE = "SRPORTAL_TEST_POSTGRES_URL"
# Read at import: `_isolated_environment` removes every SRPORTAL_* variable during tests.
POSTGRES_URL = os.environ.get(POSTGRES_URL_VARIABLE) or None
BACKENDS = ("sqlite", "postgresql")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: run on SQLite only (what it tests does not depend on the database)"
    )
    config.addinivalue_line("markers", "postgresql_only: run on PostgreSQL only")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unwanted = {"sqlite_only": "postgresql", "postgresql_only": "sqlite"}
    dropped = {
        id(item)
        for item in items
        for marker, backend in unwanted.items()
        if item.get_closest_marker(marker) is not None and _backend_of(item) == backend
    }
    if dropped:
        config.hook.pytest_deselected(items=[item for item in items if id(item) in dropped])
        items[:] = [item for item in items if id(item) not in dropped]


def _backend_of(item: pytest.Item) -> str | None:
    callspec: Any = getattr(item, "callspec", None)
    return None if callspec is None else callspec.params.get("backend")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "postgresql" and POSTGRES_URL is None:
        if in_ci():
            pytest.fail(f"{POSTGRES_URL_VARIABLE} is not set: CI must run the PostgreSQL tests")
        pytest.skip(f"set {POSTGRES_URL_VARIABLE} to run the PostgreSQL tests")
    return name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies: migrating once is the slow part."""
    path = tmp_path_factory.mktemp("sqlite-template") / "portal.sqlite3"
    db = Database(f"sqlite:///{path.as_posix()}")
    db.migrate()
    db.dispose()  # the last connection folds the WAL back into the file
    return path


@dataclass
class PostgresSchema:
    """A schema of its own for this test session, migrated once, emptied before each test."""

    url: str
    engine: Engine
    tables: list[Table]  # children before parents

    def reset(self) -> None:
        # DELETE, not TRUNCATE: on tables this small it is ten times faster.
        with self.engine.begin() as connection:
            # A transaction leaked by an earlier test fails this fast rather than hanging.
            connection.execute(text("SET LOCAL lock_timeout = '10s'"))
            for table in self.tables:
                connection.execute(table.delete())


def postgres_schema_url(schema: str) -> str:
    assert POSTGRES_URL is not None
    url = normalize_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@contextmanager
def fresh_postgres_schema(prefix: str) -> Iterator[str]:
    """An empty schema (unique to this process) for the duration; yields its URL."""
    assert POSTGRES_URL is not None
    schema = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalize_url(POSTGRES_URL))
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield postgres_schema_url(schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[PostgresSchema]:
    with fresh_postgres_schema("srportal_tests") as url:
        db = Database(url)
        try:
            db.migrate()
            reflected = MetaData()
            reflected.reflect(db.engine)
            tables = [t for t in reversed(reflected.sorted_tables) if t.name != "alembic_version"]
            yield PostgresSchema(url=url, engine=db.engine, tables=tables)
        finally:
            db.dispose()


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it, not even the migrations, on this test's backend."""
    if backend == "postgresql":
        with fresh_postgres_schema("srportal_empty") as url:
            yield url
    else:
        yield f"sqlite:///{(tmp_path / 'empty.sqlite3').as_posix()}"


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A migrated, empty database on this test's backend."""
    if backend == "postgresql":
        schema: PostgresSchema = request.getfixturevalue("postgres_schema")
        schema.reset()
        return schema.url
    path = tmp_path / "portal.sqlite3"
    shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite:///{path.as_posix()}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> ServerSettings:
    return ServerSettings(
        database_url=database_url,
        outbox_dir=tmp_path / "outbox",
        public_url="https://portal.example.com",
    )


@pytest.fixture
def app(settings: ServerSettings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    application.state.context.db.dispose()  # also when no client ran its lifespan


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=True) as test_client:
        yield test_client


# --- acting as someone --------------------------------------------------------------------------


@dataclass
class Actor:
    """A signed-in account talking to the API."""

    http: httpx.Client
    id: str
    email: str
    token: str
    headers: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, headers=self._headers(kwargs), **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.http.post(path, json=json, headers=self._headers(kwargs), **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.http.patch(path, json=json, headers=self._headers(kwargs), **kwargs)

    def _headers(self, kwargs: dict[str, Any]) -> dict[str, str]:
        return self.headers | kwargs.pop("headers", {})

    def me(self) -> dict[str, Any]:
        return ok(self.get("/v1/me"))

    def pool(self) -> dict[str, Any]:
        pool: dict[str, Any] = self.me()["pool"]
        return pool


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert the answer is a problem+json refusal with this status and code; return it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"]
    assert body["detail"]
    assert isinstance(body["errors"], list)
    return body


def fields(body: dict[str, Any]) -> dict[str, str]:
    return {e["field"]: e["message"] for e in body["errors"]}


def login(http: httpx.Client, email: str, password: str = PASSWORD) -> dict[str, Any]:
    return ok(http.post("/v1/auth/login", json={"email": email, "password": password}))


def sign_in(http: httpx.Client, account_id: str, email: str, password: str = PASSWORD) -> Actor:
    return Actor(http, account_id, email, login(http, email, password)["access_token"])


# --- mail ---------------------------------------------------------------------------------------


def outbox(settings: ServerSettings) -> list[EmailMessage]:
    assert settings.outbox_dir is not None
    folder = Path(settings.outbox_dir)
    files = sorted(folder.glob("*.eml")) if folder.is_dir() else []
    return [_parse(p.read_bytes()) for p in files]


def _parse(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


def invite_token(settings: ServerSettings, to: str) -> str:
    """The code in the latest invitation mailed to `to`."""
    mails = [m for m in outbox(settings) if m["To"] == to]
    assert mails, f"no mail to {to}"
    match = re.search(r"accept-invite\?token=([\w-]+)", body_text(mails[-1]))
    assert match
    return match.group(1)


# --- a small world: two resellers, sub-users ----------------------------------------------------


@dataclass
class World:
    settings: ServerSettings
    http: httpx.Client
    alice: Actor  # reseller A
    bob: Actor  # reseller B
    ann: Actor  # active sub-user of A
    amy: Actor  # active sub-user of A
    bert: Actor  # active sub-user of B

    def grant(self, to: Actor, **overrides: Any) -> dict[str, Any]:
        """A (or B, for B's sub-users) grants quota to `to`."""
        grantor = self.bob if to is self.bert else self.alice
        body = {
            "grantee_id": to.id,
            "supported_sensors": ["ouster-os1-64", "velodyne-vlp-16"],
            "lpu": 10,
            "sensors": 40,
            "gpu_preset": False,
        } | overrides
        result: dict[str, Any] = ok(grantor.post("/v1/grants", body), 201)
        return result


def add_active_sub_user(
    settings: ServerSettings, http: httpx.Client, manager: Actor, email: str, name: str
) -> Actor:
    created = ok(manager.post("/v1/sub-users", {"email": email, "display_name": name}), 201)
    token = invite_token(settings, email)
    tokens = ok(http.post("/v1/auth/accept-invite", json={"token": token, "password": PASSWORD}))
    return Actor(http, created["id"], email, tokens["access_token"])


def new_reseller(settings: ServerSettings, http: httpx.Client, email: str, **pool: Any) -> Actor:
    options: dict[str, Any] = {"gpu_preset": True} | ALL_SENSORS_POOL | pool
    account_id = create_reseller(settings, email, PASSWORD, **options)
    return sign_in(http, account_id, email)


@pytest.fixture
def alice(settings: ServerSettings, client: TestClient) -> Actor:
    return new_reseller(settings, client, "alice@reseller-a.example", display_name="Alice Sales")


@pytest.fixture
def world(settings: ServerSettings, client: TestClient, alice: Actor) -> World:
    bob = new_reseller(settings, client, "bob@reseller-b.example", display_name="Bob Sales")
    return World(
        settings=settings,
        http=client,
        alice=alice,
        bob=bob,
        ann=add_active_sub_user(settings, client, alice, "ann@customer.example", "Ann Corp"),
        amy=add_active_sub_user(settings, client, alice, "amy@customer.example", "Amy Ltd"),
        bert=add_active_sub_user(settings, client, bob, "bert@customer.example", "Bert Inc"),
    )


def license_body(name: str, **overrides: Any) -> dict[str, Any]:
    return {
        "name": name,
        "sensor_models": ["ouster-os1-64"],
        "sensor_count": 2,
        "gpu_preset": False,
    } | overrides


# --- `srportal-server serve` as a child process -------------------------------------------------

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """`srportal-server serve` in a child process on a free loopback port, output to a file.

    Started with `with`; stopping sends SIGTERM (graceful) and, if that hangs, kills the
    process group it leads, workers included.
    """

    def __init__(self, database_url: str, folder: Path, *options: str, workers: int = 1) -> None:
        self.database_url = database_url
        self.folder = folder
        self.options = options
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = folder / "server.log"
        self.returncode: int | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SRPORTAL_")}
        env["XDG_DATA_HOME"] = str(self.folder / "xdg-data")  # the signing key lands here
        command = [
            sys.executable,
            "-m",
            "srportal_desktop.server.cli",
            "serve",
            "--db",
            self.database_url,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            *self.options,
        ]
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            process = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=log, stderr=log, start_new_session=True
            )
        self._process = process
        deadline = time.monotonic() + timeout
        while not self._answers():
            if process.poll() is not None:
                raise AssertionError(f"serve exited with {process.returncode}:\n{self.log_text()}")
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"serve did not answer within {timeout} s:\n{self.log_text()}")
            time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> int | None:
        process, self._process = self._process, None
        if process is None:
            return self.returncode
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
        self.returncode = process.returncode
        return self.returncode

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far (anything else is skipped)."""
        records = []
        for line in self.log_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
