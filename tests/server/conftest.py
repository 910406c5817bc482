"""Fixtures for the portal server tests: a fresh SQLite file per test, a real HTTP stack."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from srportal_desktop.server import security
from srportal_desktop.server.app import create_app
from srportal_desktop.server.bootstrap import create_reseller
from srportal_desktop.server.settings import ServerSettings

with warnings.catch_warnings():
    # Starlette nudges towards the httpx2 package; the installed httpx works the same.
    warnings.filterwarnings("ignore", message=".*httpx2", category=UserWarning)
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"
ALL_SENSORS_POOL = {"lpu": 100, "sensors": 400}


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


@pytest.fixture
def settings(tmp_path: Path) -> ServerSettings:
    return ServerSettings(
        database_url=f"sqlite:///{(tmp_path / 'portal.sqlite3').as_posix()}",
        outbox_dir=tmp_path / "outbox",
        public_url="https://portal.example.com",
    )


@pytest.fixture
def app(settings: ServerSettings) -> FastAPI:
    return create_app(settings)


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
