"""Racing requests over real HTTP (EmbeddedServer, SQLite): quota is never overspent."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from srportal_desktop.server.bootstrap import create_reseller
from srportal_desktop.server.embedded import EmbeddedServer
from srportal_desktop.server.settings import ServerSettings
from tests.server.conftest import PASSWORD, Actor, add_active_sub_user, license_body, ok, sign_in

RACERS = 20


@pytest.fixture
def server(settings: ServerSettings) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(settings) as running:
        yield running


def race(url: str, token: str, request: Callable[[httpx.Client, int], httpx.Response]) -> list[Any]:
    """Fire RACERS requests at once, one thread and connection each; (status, code) answers."""
    barrier = threading.Barrier(RACERS)
    answers: list[Any] = [None] * RACERS

    def run(n: int) -> None:
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as http:
            http.get("/healthz")  # connect before the start line
            barrier.wait()
            response = request(http, n)
            answers[n] = (response.status_code, response.json().get("code"))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(answer is not None for answer in answers)
    return answers


def test_racing_license_creations_spend_exactly_the_last_units(
    settings: ServerSettings, server: EmbeddedServer
) -> None:
    create_reseller(
        settings, "racer@reseller.example", PASSWORD, lpu=5, sensors=400, gpu_preset=False
    )
    with httpx.Client(base_url=server.url) as http:
        racer = sign_in(http, "", "racer@reseller.example")
        answers = race(
            server.url,
            racer.token,
            lambda client, n: client.post("/v1/licenses", json=license_body(f"Unit {n}")),
        )
        assert Counter(answers) == {(201, None): 5, (409, "quota_exceeded"): RACERS - 5}
        pool = racer.pool()
        assert (pool["lpu_used"], pool["lpu_available"]) == (5, 0)
        assert (pool["sensor_used"], pool["sensor_available"]) == (10, 390)
        assert len(ok(racer.get("/v1/licenses"))["items"]) == 5


def test_racing_grants_spend_exactly_the_last_units(
    settings: ServerSettings, server: EmbeddedServer
) -> None:
    create_reseller(
        settings, "racer@reseller.example", PASSWORD, lpu=5, sensors=5, gpu_preset=False
    )
    with httpx.Client(base_url=server.url) as http:
        racer = sign_in(http, "", "racer@reseller.example")
        racer.id = racer.me()["id"]
        crew = add_active_sub_user(settings, http, racer, "crew@customer.example", "Crew")
        answers = race(
            server.url,
            racer.token,
            lambda client, n: client.post(
                "/v1/grants",
                json={
                    "grantee_id": crew.id,
                    "supported_sensors": ["ouster-os1-64"],
                    "lpu": 1,
                    "sensors": 1,
                },
            ),
        )
        assert Counter(answers) == {(201, None): 5, (409, "quota_exceeded"): RACERS - 5}
        assert racer.pool()["lpu_available"] == 0
        crew_pool = crew.pool()
        assert (crew_pool["lpu_total"], crew_pool["sensor_total"]) == (5, 5)
        assert len(ok(racer.get("/v1/grants", params={"grantee_id": crew.id}))["items"]) == 5


def test_racing_for_one_name_lets_exactly_one_win(
    settings: ServerSettings, server: EmbeddedServer
) -> None:
    create_reseller(
        settings, "racer@reseller.example", PASSWORD, lpu=50, sensors=400, gpu_preset=False
    )
    with httpx.Client(base_url=server.url) as http:
        racer: Actor = sign_in(http, "", "racer@reseller.example")
        answers = race(
            server.url,
            racer.token,
            lambda client, n: client.post(
                "/v1/licenses", json=license_body("Contested" if n % 2 else "CONTESTED")
            ),
        )
        assert Counter(answers) == {(201, None): 1, (409, "name_taken"): RACERS - 1}
        assert racer.pool()["lpu_used"] == 1  # the losers spent nothing
