"""Every refusal is application/problem+json with a stable code and named fields."""

from __future__ import annotations

from typing import Any

from tests.server.conftest import Actor, World, fields, license_body, ok, problem


def test_unknown_route_is_a_404_problem(alice: Actor) -> None:
    problem(alice.get("/v1/nothing-here"), 404, "not_found")
    problem(alice.http.get("/no/such/page"), 404, "not_found")


def test_wrong_method_is_a_405_problem(alice: Actor) -> None:
    response = alice.http.delete("/v1/me", headers=alice.headers)
    problem(response, 405, "method_not_allowed")


def test_validation_errors_name_the_fields_without_the_body_prefix(world: World) -> None:
    response = world.alice.post(
        "/v1/licenses/bulk",
        {
            "template": {"name": "   ", "sensor_models": [], "sensor_count": 0},
            "copies": 1001,
        },
    )
    body = problem(response, 422, "validation_failed")
    errors = fields(body)
    assert set(errors) == {
        "template.name",
        "template.sensor_models",
        "template.sensor_count",
        "copies",
    }
    assert errors["template.name"] == "Must not be empty."
    assert errors["template.sensor_count"] == "Must be at least 1."
    assert errors["copies"] == "Must be at most 1000."
    assert "template.name" in body["detail"]


def test_grant_count_errors_are_on_lpu_and_sensors(world: World) -> None:
    response = world.alice.post(
        "/v1/grants",
        {
            "grantee_id": world.ann.id,
            "supported_sensors": ["ouster-os1-64"],
            "lpu": -1,
            "sensors": "3",
        },
    )
    errors = fields(problem(response, 422, "validation_failed"))
    assert errors["lpu"] == "Must be at least 0."
    assert errors["sensors"] == "Must be a whole number."


def test_bad_email_is_a_field_error_on_email(alice: Actor) -> None:
    errors = fields(
        problem(alice.post("/v1/sub-users", {"email": "not-an-address"}), 422, "validation_failed")
    )
    assert errors["email"].startswith("Not a valid email address.")


def test_unknown_fields_and_missing_fields_are_reported(alice: Actor) -> None:
    errors = fields(
        problem(alice.post("/v1/sub-users", {"mail": "x@y.example"}), 422, "validation_failed")
    )
    assert errors == {
        "email": "This field is required.",
        "mail": "This field is not accepted here.",
    }


def test_invalid_json_is_a_validation_problem(alice: Actor) -> None:
    response = alice.http.post(
        "/v1/sub-users",
        content=b"{not json",
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    problem(response, 422, "validation_failed")


def test_list_items_are_reported_on_the_list_field(world: World) -> None:
    response = world.alice.post("/v1/licenses", license_body("X", sensor_models=["ok", ""]))
    errors = fields(problem(response, 422, "validation_failed"))
    assert errors["sensor_models"] == "Item 2: Must not be empty."


def test_query_parameter_errors_name_the_parameter(alice: Actor) -> None:
    problem(alice.get("/v1/licenses", params={"limit": "many"}), 422, "validation_failed")
    errors = fields(
        problem(alice.get("/v1/licenses", params={"limit": 0}), 422, "validation_failed")
    )
    assert "limit" in errors
    errors = fields(
        problem(alice.get("/v1/licenses", params={"status": "sleeping"}), 422, "validation_failed")
    )
    assert "status" in errors
    errors = fields(
        problem(alice.get("/v1/licenses", params={"cursor": "garbage!"}), 422, "validation_failed")
    )
    assert "cursor" in errors


def test_each_stable_code_comes_as_problem_json(world: World) -> None:
    alice, ann = world.alice, world.ann
    world.grant(ann)
    ok(alice.post("/v1/licenses", license_body("Taken")), 201)
    cases: list[tuple[Any, int, str]] = [
        (alice.post("/v1/grants", {"grantee_id": ann.id}), 422, "validation_failed"),
        (alice.http.get("/v1/me"), 401, "unauthenticated"),
        (
            ann.post(
                "/v1/grants",
                {
                    "grantee_id": ann.id,
                    "supported_sensors": ["ouster-os1-64"],
                    "lpu": 1,
                    "sensors": 0,
                },
            ),
            403,
            "forbidden",
        ),
        (alice.get("/v1/licenses/no-such-id"), 404, "not_found"),
        (
            alice.post("/v1/licenses", license_body("Big", sensor_count=100_000)),
            409,
            "quota_exceeded",
        ),
        (alice.post("/v1/licenses", license_body("TAKEN")), 409, "name_taken"),
        (alice.post("/v1/sub-users", {"email": ann.email}), 409, "email_taken"),
        (alice.post(f"/v1/sub-users/{ann.id}/resend-invite"), 409, "invalid_state"),
    ]
    for response, status, code in cases:
        body = problem(response, status, code)
        assert body["type"] == f"urn:srportal:problem:{code}"


def test_a_json_syntax_error_is_not_reported_as_a_list_item(alice: Actor) -> None:
    response = alice.http.post(
        "/v1/grants",
        content=b'{"lpu": 1,, "sensors": 2}',
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    body = problem(response, 422, "validation_failed")
    assert fields(body) == {"body": "The request body is not valid JSON."}
