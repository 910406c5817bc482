"""Property-based tests from the app's own `/openapi.json` (schemathesis, in-process over ASGI).

For every operation, signed in as a reseller and as a sub-user, schemathesis generates requests
that fit the schema (with generated path ids and with ids of real objects of the caller) and
requests that break it, and checks each answer: never a 5xx, a documented status, the documented
content type, and a body that matches the documented schema (success and problem+json alike).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from srportal_desktop.server.app import create_app
from srportal_desktop.server.settings import ServerSettings
from tests.server.conftest import (
    Actor,
    TestClient,
    add_active_sub_user,
    license_body,
    new_reseller,
    ok,
)

pytestmark = pytest.mark.sqlite_only  # the wire contract, not the database, is under test

EXAMPLES_PER_OPERATION = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Portal:
    app: FastAPI
    schema: Any
    callers: dict[str, Actor]
    real_ids: dict[str, dict[str, str]]  # caller → path parameter → id of a real object


@pytest.fixture
def fuzzed(settings: ServerSettings) -> Iterator[Portal]:
    # Generous sign-in limits: thousands of generated guesses come from one test client.
    roomy = settings.model_copy(update={"auth_attempts_per_ip": 100_000})
    app = create_app(roomy)
    with TestClient(app) as http:
        alice = new_reseller(roomy, http, "alice@reseller-a.example", display_name="Alice")
        ann = add_active_sub_user(roomy, http, alice, "ann@customer.example", "Ann")
        amy = add_active_sub_user(roomy, http, alice, "amy@customer.example", "Amy")
        body = {"supported_sensors": ["ouster-os1-64"], "lpu": 20, "sensors": 20}
        grant = ok(alice.post("/v1/grants", body | {"grantee_id": ann.id}), 201)
        ok(alice.post("/v1/grants", body | {"grantee_id": amy.id}), 201)
        own = ok(alice.post("/v1/licenses", license_body("Alice 1", sensor_count=1)), 201)
        anns = ok(ann.post("/v1/licenses", license_body("Ann 1", sensor_count=1)), 201)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        yield Portal(
            app=app,
            schema=schema,
            callers={"reseller": alice, "sub-user": ann},
            real_ids={
                "reseller": {
                    "license_id": own["id"],
                    "sub_user_id": amy.id,
                    "grant_id": grant["id"],
                },
                "sub-user": {
                    "license_id": anns["id"],
                    "sub_user_id": amy.id,
                    "grant_id": grant["id"],
                },
            },
        )


def _operations(schema: Any) -> Iterator[Any]:
    for result in schema.get_all_operations():
        yield result.ok()


@pytest.mark.parametrize("caller", ["reseller", "sub-user"])
def test_generated_requests_get_documented_answers(fuzzed: Portal, caller: str) -> None:
    actor = fuzzed.callers[caller]
    headers = {"Authorization": f"Bearer {actor.token}"}
    failures: list[str] = []
    operations = list(_operations(fuzzed.schema))
    assert len(operations) >= 25
    for operation in operations:
        path_names = {p.name for p in operation.path_parameters}
        fixed = {k: v for k, v in fuzzed.real_ids[caller].items() if k in path_names}
        variants: list[tuple[GenerationMode, dict[str, str] | None]] = [
            (GenerationMode.POSITIVE, None)
        ]
        if _takes_input(operation):  # nothing to get wrong otherwise
            variants.append((GenerationMode.NEGATIVE, None))
        if fixed:
            variants.append((GenerationMode.POSITIVE, fixed))
        for mode, path_parameters in variants:
            try:
                _explore(fuzzed.app, operation, headers, mode, path_parameters)
            # Collected, so one run reports every operation (check failures come grouped).
            except (Exception, FailureGroup) as exc:
                failures.append(
                    f"{operation.label} ({caller}, {mode}, ids={path_parameters}):\n{exc}"
                )
    assert not failures, "\n\n".join(failures)


def _takes_input(operation: Any) -> bool:
    return any(len(group) for group in (operation.path_parameters, operation.query, operation.body))


def _explore(
    app: FastAPI,
    operation: Any,
    headers: dict[str, str],
    mode: GenerationMode,
    path_parameters: dict[str, str] | None,
) -> None:
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @hypothesis.given(case=strategy)
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS, app=app)

    run()
