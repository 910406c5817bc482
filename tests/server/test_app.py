"""The app itself: OpenAPI, health, the sensor catalog, crashes as problem+json."""

from __future__ import annotations

from fastapi import FastAPI

from srportal_desktop.resources import load_sensor_catalog
from tests.server.conftest import TestClient, ok, problem


def test_openapi_lists_the_v1_contract(client: TestClient) -> None:
    document = ok(client.get("/openapi.json"))
    paths = document["paths"]
    for path, method in [
        ("/v1/auth/login", "post"),
        ("/v1/auth/refresh", "post"),
        ("/v1/auth/logout", "post"),
        ("/v1/auth/accept-invite", "post"),
        ("/v1/me", "get"),
        ("/v1/sensors", "get"),
        ("/v1/sub-users", "get"),
        ("/v1/sub-users", "post"),
        ("/v1/sub-users/{sub_user_id}", "get"),
        ("/v1/sub-users/{sub_user_id}", "patch"),
        ("/v1/sub-users/{sub_user_id}/resend-invite", "post"),
        ("/v1/grants", "get"),
        ("/v1/grants", "post"),
        ("/v1/grants/{grant_id}/reclaim", "post"),
        ("/v1/licenses", "get"),
        ("/v1/licenses", "post"),
        ("/v1/licenses/bulk", "post"),
        ("/v1/licenses/{license_id}", "get"),
        ("/v1/licenses/{license_id}/transfer", "post"),
        ("/v1/licenses/{license_id}/history", "get"),
    ]:
        assert method in paths[path], (method, path)
    create = paths["/v1/licenses"]["post"]
    assert "409" in create["responses"]
    assert "Idempotency-Key" in {p["name"] for p in create["parameters"]}


def test_health(client: TestClient) -> None:
    assert ok(client.get("/healthz")) == {"status": "ok"}


def test_sensor_catalog_is_served_in_order(client: TestClient) -> None:
    sensors = ok(client.get("/v1/sensors"))
    assert sensors == load_sensor_catalog()


def test_an_unexpected_crash_is_a_500_problem(app: FastAPI) -> None:
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("kaboom")

    with TestClient(app, raise_server_exceptions=False) as http:
        body = problem(http.get("/boom"), 500, "internal_error")
    assert "kaboom" not in body["detail"]  # internals stay in the log
