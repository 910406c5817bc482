"""Activation and signed key files, deactivation (rehost), revocation, expiry, the signing key."""

from __future__ import annotations

import base64
import json
import os
import stat
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr
from sqlalchemy import select

from srportal_desktop.keyfile import KeyFileError, verify_key_file
from srportal_desktop.server import signing
from srportal_desktop.server.app import create_app
from srportal_desktop.server.bootstrap import create_reseller
from srportal_desktop.server.db import Database
from srportal_desktop.server.embedded import EmbeddedServer
from srportal_desktop.server.models import License, LicenseDeactivation
from srportal_desktop.server.settings import ServerSettings, default_data_dir
from tests.server.conftest import (
    PASSWORD,
    Actor,
    TestClient,
    World,
    license_body,
    ok,
    problem,
    sign_in,
)
from tests.server.racing import race_posts, tally

YEAR = timedelta(days=365)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def new_license(actor: Actor, name: str, **overrides: Any) -> dict[str, Any]:
    created: dict[str, Any] = ok(actor.post("/v1/licenses", license_body(name, **overrides)), 201)
    return created


def activate(actor: Actor, license_id: str, machine_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = ok(
        actor.post(f"/v1/licenses/{license_id}/activate", {"machine_id": machine_id})
    )
    return answer


def public_key(http: httpx.Client) -> str:
    key: str = ok(http.get("/v1/signing-key"))["public_key"]
    return key


def pass_time(settings: ServerSettings, license_id: str, days: int) -> None:
    """Let `days` pass for one license: its term dates and rehosts move that far into the past."""
    db = Database(settings.database_url)
    try:
        with db.session(write=True) as session:
            row = session.get(License, license_id)
            assert row is not None
            shift = timedelta(days=days)
            if row.activated_at is not None and row.expires_at is not None:
                row.activated_at -= shift
                row.expires_at -= shift
            for event in session.scalars(
                select(LicenseDeactivation).where(LicenseDeactivation.license_id == license_id)
            ):
                event.at -= shift
            session.commit()
    finally:
        db.dispose()


# --- the signing key ---------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_the_signing_key_is_public_and_stable_across_restarts(
    settings: ServerSettings, client: TestClient, tmp_path: Path
) -> None:
    published = ok(client.get("/v1/signing-key"))  # no sign-in needed
    assert published["algorithm"] == "Ed25519"
    assert len(published["key_id"]) == 16
    assert len(base64.b64decode(published["public_key"], validate=True)) == 32

    key_path = tmp_path / "signing-key.pem"  # next to the SQLite database
    assert key_path.is_file()
    if os.name == "posix":
        assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    with TestClient(create_app(settings)) as again:
        assert ok(again.get("/v1/signing-key")) == published


def test_without_sqlite_the_key_lives_in_the_data_directory() -> None:
    elsewhere = ServerSettings(database_url="postgresql://portal@db.example/portal")
    assert signing.default_key_path(elsewhere) == default_data_dir() / "signing-key.pem"


@pytest.mark.sqlite_only
def test_the_signing_key_can_be_a_secret(settings: ServerSettings, tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    secret = settings.model_copy(
        update={"signing_key_b64": SecretStr(base64.b64encode(raw).decode())}
    )
    signer = signing.load_signer(secret)
    public_raw = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert signer.public_key_b64 == base64.b64encode(public_raw).decode()
    assert not (tmp_path / "signing-key.pem").exists()  # nothing written
    with pytest.raises(ValueError, match="32"):
        signing.load_signer(settings.model_copy(update={"signing_key_b64": SecretStr("c2hvcnQ=")}))


@pytest.mark.sqlite_only
def test_a_configured_key_path_is_used(settings: ServerSettings, tmp_path: Path) -> None:
    path = tmp_path / "keys" / "portal.pem"
    first = signing.load_signer(settings.model_copy(update={"signing_key_path": path}))
    assert path.is_file()
    again = signing.load_signer(settings.model_copy(update={"signing_key_path": path}))
    assert again.key_id == first.key_id


@pytest.mark.parametrize("hard_links", [True, False])
def test_workers_starting_together_end_up_with_one_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hard_links: bool
) -> None:
    if not hard_links:

        def no_links(_src: object, _dst: object) -> None:
            raise PermissionError("no hard links here")

        monkeypatch.setattr(signing.os, "link", no_links)
    path = tmp_path / "signing-key.pem"
    workers = 8
    barrier = threading.Barrier(workers)
    key_ids: list[str] = []

    def start() -> None:
        barrier.wait()
        key_ids.append(signing.Signer(signing.load_or_create(path)).key_id)

    threads = [threading.Thread(target=start) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(key_ids) == workers
    assert len(set(key_ids)) == 1
    assert signing.Signer(signing.load_or_create(path)).key_id == key_ids[0]
    assert [p.name for p in tmp_path.iterdir()] == ["signing-key.pem"]  # no temporary left


# --- activation ------------------------------------------------------------------------------


def test_activation_starts_the_term_and_returns_a_verifiable_key_file(alice: Actor) -> None:
    created = new_license(alice, "Gate 1", sensor_count=3, gpu_preset=True)
    answer = activate(alice, created["id"], "HOST-1")
    license_, key_file = answer["license"], answer["key_file"]
    assert license_["status"] == "active"
    assert license_["machine_id"] == "HOST-1"
    activated = when(license_["activated_at"])
    assert when(license_["expires_at"]) == activated + YEAR
    assert abs(datetime.now(activated.tzinfo) - activated) < timedelta(minutes=1)

    assert key_file["algorithm"] == "Ed25519"
    assert key_file["key_id"] == ok(alice.get("/v1/signing-key"))["key_id"]
    payload = verify_key_file(key_file, public_key(alice.http), machine_id="HOST-1")
    assert payload == {
        "version": 1,
        "license_id": created["id"],
        "name": "Gate 1",
        "machine_id": "HOST-1",
        "sensor_models": ["ouster-os1-64"],
        "sensor_count": 3,
        "gpu_preset": True,
        "issued_at": payload["issued_at"],
        "activated_at": license_["activated_at"].replace("+00:00", "Z"),
        "expires_at": payload["expires_at"],
        "key_id": key_file["key_id"],
    }
    assert when(str(payload["expires_at"])) == when(license_["expires_at"])
    # Canonical: sorted keys, no spaces.
    decoded = json.loads(key_file["payload"])
    assert key_file["payload"] == json.dumps(decoded, sort_keys=True, separators=(",", ":"))

    assert ok(alice.get(f"/v1/licenses/{created['id']}")) == license_
    assert ok(alice.get(f"/v1/licenses/{created['id']}/key-file")) == key_file


def test_activating_again_on_the_same_machine_changes_nothing(alice: Actor) -> None:
    created = new_license(alice, "Gate 1")
    first = activate(alice, created["id"], "HOST-1")
    assert activate(alice, created["id"], "HOST-1") == first
    actions = [e["action"] for e in ok(alice.get(f"/v1/licenses/{created['id']}/history"))["items"]]
    assert actions == ["license.created", "license.activated"]


def test_activating_on_another_machine_needs_a_deactivation_first(alice: Actor) -> None:
    created = new_license(alice, "Gate 1")
    activate(alice, created["id"], "HOST-1")
    body = problem(
        alice.post(f"/v1/licenses/{created['id']}/activate", {"machine_id": "HOST-2"}),
        409,
        "invalid_state",
    )
    assert "deactivate it first" in body["detail"]
    assert ok(alice.get(f"/v1/licenses/{created['id']}"))["machine_id"] == "HOST-1"


def test_a_machine_id_must_be_printable(alice: Actor) -> None:
    created = new_license(alice, "Gate 1")
    for bad in ("   ", "HOST\x00"):
        body = problem(
            alice.post(f"/v1/licenses/{created['id']}/activate", {"machine_id": bad}),
            422,
            "validation_failed",
        )
        assert [e["field"] for e in body["errors"]] == ["machine_id"]
    problem(alice.post(f"/v1/licenses/{created['id']}/activate", {}), 422, "validation_failed")
    assert ok(alice.get(f"/v1/licenses/{created['id']}"))["status"] == "not_activated"


def test_an_unactivated_license_has_no_key_file(alice: Actor) -> None:
    created = new_license(alice, "Gate 1")
    body = problem(alice.get(f"/v1/licenses/{created['id']}/key-file"), 409, "invalid_state")
    assert "not activated" in body["detail"]


def test_owner_and_managing_reseller_may_activate_others_see_nothing(world: World) -> None:
    world.grant(world.ann)
    anns = new_license(world.ann, "Ann 1")
    alices = new_license(world.alice, "Alice 1")
    # The owner ...
    activate(world.ann, anns["id"], "ANN-PC")
    # ... and the reseller managing it.
    ok(world.alice.post(f"/v1/licenses/{anns['id']}/deactivate"))
    activate(world.alice, anns["id"], "ANN-PC-2")
    ok(world.alice.get(f"/v1/licenses/{anns['id']}/key-file"))
    ok(world.ann.get(f"/v1/licenses/{anns['id']}/key-file"))
    # Outside their view: not found, whatever the call.
    for outsider, license_id in (
        (world.bob, anns["id"]),
        (world.amy, anns["id"]),
        (world.ann, alices["id"]),
        (world.bert, alices["id"]),
    ):
        for call in ("activate", "deactivate", "revoke"):
            body = {"machine_id": "X"} if call == "activate" else None
            answer = outsider.post(f"/v1/licenses/{license_id}/{call}", body)
            if call == "revoke" and outsider in (world.amy, world.ann, world.bert):
                problem(answer, 403, "forbidden")  # sub-users never revoke
            else:
                problem(answer, 404, "not_found")
        problem(outsider.get(f"/v1/licenses/{license_id}/key-file"), 404, "not_found")
    problem(
        world.http.post(f"/v1/licenses/{anns['id']}/activate", json={"machine_id": "X"}),
        401,
        "unauthenticated",
    )
    assert ok(world.alice.get(f"/v1/licenses/{alices['id']}"))["status"] == "not_activated"


# --- deactivation (rehost) ---------------------------------------------------------------------


def test_a_rehost_keeps_the_term_and_moves_the_binding(
    settings: ServerSettings, alice: Actor
) -> None:
    created = new_license(alice, "Gate 1")
    first = activate(alice, created["id"], "HOST-1")["license"]
    pass_time(settings, created["id"], days=100)
    aged = ok(alice.get(f"/v1/licenses/{created['id']}"))

    freed = ok(alice.post(f"/v1/licenses/{created['id']}/deactivate"))
    assert freed["status"] == "not_activated"
    assert freed["machine_id"] is None
    assert freed["deactivation_count"] == 1
    # The term keeps running while the license is between machines.
    assert (freed["activated_at"], freed["expires_at"]) == (
        aged["activated_at"],
        aged["expires_at"],
    )
    assert when(freed["expires_at"]) == when(first["expires_at"]) - timedelta(days=100)
    problem(alice.get(f"/v1/licenses/{created['id']}/key-file"), 409, "invalid_state")

    moved = activate(alice, created["id"], "HOST-2")
    assert moved["license"]["machine_id"] == "HOST-2"
    assert moved["license"]["expires_at"] == aged["expires_at"]  # not a new year
    payload = verify_key_file(moved["key_file"], public_key(alice.http))
    assert payload["machine_id"] == "HOST-2"
    assert when(str(payload["expires_at"])) == when(aged["expires_at"])
    with pytest.raises(KeyFileError):
        verify_key_file(moved["key_file"], public_key(alice.http), machine_id="HOST-1")


def test_only_an_active_license_can_be_deactivated(alice: Actor) -> None:
    created = new_license(alice, "Gate 1")
    body = problem(alice.post(f"/v1/licenses/{created['id']}/deactivate"), 409, "invalid_state")
    assert "not activated" in body["detail"]


def test_deactivations_are_limited_per_year(settings: ServerSettings, alice: Actor) -> None:
    assert settings.max_deactivations_per_year == 3
    created = new_license(alice, "Gate 1")
    url = f"/v1/licenses/{created['id']}"
    first_deactivation_at = None
    for n in range(3):
        activate(alice, created["id"], f"HOST-{n}")
        ok(alice.post(f"{url}/deactivate"))
        if first_deactivation_at is None:
            history = ok(alice.get(f"{url}/history"))["items"]
            first_deactivation_at = when(history[-1]["at"])
        pass_time(settings, created["id"], days=10)
    activate(alice, created["id"], "HOST-3")

    body = problem(alice.post(f"{url}/deactivate"), 409, "invalid_state")
    assert "3 times in the last 365 days" in body["detail"]
    # The oldest of the three moved 30 days into the past: it leaves the window in 335 days.
    assert first_deactivation_at is not None
    next_at = (first_deactivation_at - timedelta(days=30) + YEAR).strftime("%Y-%m-%d")
    assert f"possible from {next_at}" in body["detail"]
    assert ok(alice.get(url))["machine_id"] == "HOST-3"
    assert ok(alice.get(url))["deactivation_count"] == 3

    pass_time(settings, created["id"], days=336)  # the oldest is now out of the window
    # ... but so is the term, by now: the license expired and cannot be rehosted.
    problem(alice.post(f"{url}/deactivate"), 409, "invalid_state")


def test_the_yearly_window_slides(settings: ServerSettings, alice: Actor) -> None:
    created = new_license(alice, "Gate 1")
    url = f"/v1/licenses/{created['id']}"
    for n in range(3):
        activate(alice, created["id"], f"HOST-{n}")
        ok(alice.post(f"{url}/deactivate"))
    activate(alice, created["id"], "HOST-3")
    problem(alice.post(f"{url}/deactivate"), 409, "invalid_state")
    # Rehosts older than a year no longer count; give the license a fresh term to see it.
    pass_time(settings, created["id"], days=366)
    db = Database(settings.database_url)
    try:
        with db.session(write=True) as session:
            row = session.get(License, created["id"])
            assert row is not None
            assert row.expires_at is not None
            row.expires_at += 2 * YEAR
            session.commit()
    finally:
        db.dispose()
    freed = ok(alice.post(f"{url}/deactivate"))
    assert freed["deactivation_count"] == 4


def test_no_rehosts_when_the_limit_is_zero(settings: ServerSettings) -> None:
    strict = settings.model_copy(update={"max_deactivations_per_year": 0})
    with TestClient(create_app(strict)) as http:
        account_id = create_reseller(
            strict, "z@reseller.example", PASSWORD, lpu=5, sensors=10, gpu_preset=False
        )
        zed = sign_in(http, account_id, "z@reseller.example")
        created = new_license(zed, "Z 1")
        activate(zed, created["id"], "HOST-1")
        body = problem(zed.post(f"/v1/licenses/{created['id']}/deactivate"), 409, "invalid_state")
        assert "no rehosts" in body["detail"]


# --- expiry ------------------------------------------------------------------------------------


def test_status_is_expired_at_read_time_everywhere(settings: ServerSettings, alice: Actor) -> None:
    running = new_license(alice, "Running")
    ending = new_license(alice, "Ending")
    between = new_license(alice, "Between machines")
    stock = new_license(alice, "Stock")
    for item in (running, ending, between):
        activate(alice, item["id"], f"HOST-{item['name']}")
    ok(alice.post(f"/v1/licenses/{between['id']}/deactivate"))
    pass_time(settings, ending["id"], days=365)  # expires_at == now - a moment
    pass_time(settings, between["id"], days=400)
    pass_time(settings, stock["id"], days=900)  # stock licenses do not expire on the shelf

    def statuses(**params: Any) -> dict[str, str]:
        items = ok(alice.get("/v1/licenses", params=params))["items"]
        return {i["name"]: i["status"] for i in items}

    assert statuses() == {
        "Running": "active",
        "Ending": "expired",
        "Between machines": "expired",
        "Stock": "not_activated",
    }
    assert ok(alice.get(f"/v1/licenses/{ending['id']}"))["status"] == "expired"
    assert statuses(status="expired") == {"Ending": "expired", "Between machines": "expired"}
    assert statuses(status="active") == {"Running": "active"}
    assert statuses(status="not_activated") == {"Stock": "not_activated"}
    assert statuses(status="revoked") == {}

    for item in (ending, between):
        url = f"/v1/licenses/{item['id']}"
        assert "expired" in problem(alice.get(f"{url}/key-file"), 409, "invalid_state")["detail"]
        body = problem(alice.post(f"{url}/activate", {"machine_id": "NEW"}), 409, "invalid_state")
        assert "expired" in body["detail"]
        problem(alice.post(f"{url}/deactivate"), 409, "invalid_state")
    # Revoking an expired license is still possible, and then it reads revoked.
    assert ok(alice.post(f"/v1/licenses/{ending['id']}/revoke"))["status"] == "revoked"
    assert statuses(status="expired") == {"Between machines": "expired"}


def test_pages_stay_stable_while_licenses_change_state(
    settings: ServerSettings, alice: Actor
) -> None:
    created = [new_license(alice, f"Unit {n:02}") for n in range(9)]
    for item in created[:6]:
        activate(alice, item["id"], f"HOST-{item['name']}")
    seen: list[str] = []
    page = ok(alice.get("/v1/licenses", params={"limit": 3}))
    seen += [i["name"] for i in page["items"]]
    # Between pages: one revoked, one deactivated, one expired, one new.
    ok(alice.post(f"/v1/licenses/{created[4]['id']}/revoke"))
    ok(alice.post(f"/v1/licenses/{created[3]['id']}/deactivate"))
    pass_time(settings, created[5]["id"], days=366)
    ok(alice.post(f"/v1/licenses/{created[0]['id']}/revoke"))
    new_license(alice, "Unit 99")
    while page["next_cursor"]:
        page = ok(alice.get("/v1/licenses", params={"limit": 3, "cursor": page["next_cursor"]}))
        seen += [i["name"] for i in page["items"]]
    assert seen == [f"Unit {n:02}" for n in range(9)] + ["Unit 99"]

    # The same with a status filter: every expired or revoked row once, in order.
    names: list[str] = []
    params: dict[str, Any] = {"limit": 1, "status": "revoked"}
    while True:
        page = ok(alice.get("/v1/licenses", params=params))
        names += [i["name"] for i in page["items"]]
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert names == ["Unit 00", "Unit 04"]


# --- revocation --------------------------------------------------------------------------------


def grant_of(actor: Actor, grant_id: str) -> dict[str, Any]:
    grants = ok(actor.get("/v1/grants"))["items"]
    return next(g for g in grants if g["id"] == grant_id)


def test_revoking_an_unactivated_license_returns_its_quota(world: World) -> None:
    grant = world.grant(world.ann, lpu=5, sensors=20)
    created = new_license(world.ann, "Shelf", sensor_count=4)
    used = grant_of(world.ann, grant["id"])
    assert (used["lpu_used"], used["sensor_used"]) == (1, 4)
    alice_before = world.alice.pool()

    revoked = ok(world.alice.post(f"/v1/licenses/{created['id']}/revoke"))
    assert revoked["status"] == "revoked"
    assert revoked["revoked_at"]
    after = grant_of(world.ann, grant["id"])
    assert (after["lpu_used"], after["sensor_used"]) == (0, 0)
    assert (after["lpu_total"], after["sensor_total"]) == (5, 20)
    assert world.alice.pool() == alice_before  # the units went to Ann's grant, not above it
    assert ok(world.ann.get(f"/v1/licenses/{created['id']}"))["status"] == "revoked"


def test_revoking_an_activated_license_returns_nothing(world: World) -> None:
    grant = world.grant(world.ann, lpu=5, sensors=20)
    created = new_license(world.ann, "In use", sensor_count=4)
    activate(world.ann, created["id"], "ANN-PC")
    ok(world.alice.post(f"/v1/licenses/{created['id']}/revoke"))
    after = grant_of(world.ann, grant["id"])
    assert (after["lpu_used"], after["sensor_used"]) == (1, 4)

    # A deactivated license was activated once: its term was consumed all the same.
    second = new_license(world.ann, "Moved", sensor_count=2)
    activate(world.ann, second["id"], "ANN-PC-2")
    ok(world.ann.post(f"/v1/licenses/{second['id']}/deactivate"))
    ok(world.alice.post(f"/v1/licenses/{second['id']}/revoke"))
    after = grant_of(world.ann, grant["id"])
    assert (after["lpu_used"], after["sensor_used"]) == (2, 6)


def test_a_revoked_license_is_done(world: World) -> None:
    created = new_license(world.alice, "Gone")
    activate(world.alice, created["id"], "HOST-1")
    url = f"/v1/licenses/{created['id']}"
    ok(world.alice.post(f"{url}/revoke"))
    body = problem(world.alice.post(f"{url}/revoke"), 409, "invalid_state")
    assert "already revoked" in body["detail"]
    problem(world.alice.post(f"{url}/activate", {"machine_id": "HOST-1"}), 409, "invalid_state")
    problem(world.alice.post(f"{url}/deactivate"), 409, "invalid_state")
    problem(world.alice.get(f"{url}/key-file"), 409, "invalid_state")
    assert ok(world.alice.get(url))["status"] == "revoked"


def test_only_the_managing_reseller_revokes(world: World) -> None:
    world.grant(world.ann)
    created = new_license(world.ann, "Ann's")
    body = problem(world.ann.post(f"/v1/licenses/{created['id']}/revoke"), 403, "forbidden")
    assert "revoke" in body["detail"]
    problem(world.bob.post(f"/v1/licenses/{created['id']}/revoke"), 404, "not_found")
    assert ok(world.ann.get(f"/v1/licenses/{created['id']}"))["status"] == "not_activated"
    assert world.ann.pool()["lpu_used"] == 1


# --- racing on one license ---------------------------------------------------------------------


@pytest.fixture
def server(settings: ServerSettings) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(settings) as running:
        yield running


def test_racing_revocations_return_the_quota_once(
    settings: ServerSettings, server: EmbeddedServer
) -> None:
    create_reseller(
        settings, "racer@reseller.example", PASSWORD, lpu=5, sensors=50, gpu_preset=False
    )
    with httpx.Client(base_url=server.url) as http:
        racer = sign_in(http, "", "racer@reseller.example")
        created = new_license(racer, "Contested", sensor_count=3)
        new_license(racer, "Bystander", sensor_count=2)
        revoke = f"/v1/licenses/{created['id']}/revoke"
        answers = tally(race_posts(server.url, [(racer.token, revoke, None)] * 8))
        assert answers == {(200, None): 1, (409, "invalid_state"): 7}
        pool = racer.pool()
        assert (pool["lpu_used"], pool["sensor_used"]) == (1, 2)  # returned exactly once


def test_racing_activations_bind_one_machine(
    settings: ServerSettings, server: EmbeddedServer
) -> None:
    create_reseller(
        settings, "racer@reseller.example", PASSWORD, lpu=5, sensors=50, gpu_preset=False
    )
    with httpx.Client(base_url=server.url) as http:
        racer = sign_in(http, "", "racer@reseller.example")
        created = new_license(racer, "Contested")
        path = f"/v1/licenses/{created['id']}/activate"
        calls = [(racer.token, path, {"machine_id": f"M{n}"}) for n in range(8)]
        answers = tally(race_posts(server.url, calls))
        assert answers == {(200, None): 1, (409, "invalid_state"): 7}
        history = ok(racer.get(f"/v1/licenses/{created['id']}/history"))["items"]
        assert [e["action"] for e in history] == ["license.created", "license.activated"]
