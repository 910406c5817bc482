"""Bad input of every kind is a 422 problem naming the field (413 for huge bodies), never a 500.

Each case sends one bad value in an otherwise valid request, so the field named in `errors` can
only come from that value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.server.conftest import World, fields, license_body, ok, problem

pytestmark = pytest.mark.sqlite_only  # validation happens before the database is involved

JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Case:
    label: str
    method: str
    path: str
    body: dict[str, Any]
    field: str


def with_value(base: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """`base` with `dotted` (e.g. `template.name`) set to `value`."""
    head, _, rest = dotted.partition(".")
    if rest:
        return base | {head: with_value(base[head], rest, value)}
    return base | {head: value}


def without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


NOT_INTEGERS = {
    "float": 2.5,
    "whole float": 2.0,
    "string": "3",
    "true": True,
    "null": None,
    "list": [1],
    "huge": 10**30,
}
COUNTS = NOT_INTEGERS | {"-1": -1, "100001": 100_001}
BAD_NAMES = {
    "empty": "",
    "spaces": "   ",
    "too long": "n" * 101,
    "tab": "a\tb",
    "newline": "a\nb",
    "nul": "a\x00b",
    "zero-width space": "a\u200bb",
    "bidi override": "a\u202eb",
    "number": 42,
    "null": None,
}
BAD_DISPLAY_NAMES = {"too long": "d" * 101, "bell": "a\x07b", "escape": "\x1b[31m", "number": 5}
BAD_EMAILS = {
    "no at": "no-at-sign",
    "two ats": "a@@example.com",
    "no domain dot": "user@localhost",
    "empty": "",
    "too long": "a" * 300 + "@example.com",
    "nul": "a\x00b@example.com",
    "number": 7,
}
BAD_SENSOR_LISTS = {
    "unknown": ["not-a-sensor"],
    "empty": [],
    "blank id": [""],
    "number": [3],
    "not a list": "ouster-os1-64",
}
TOKENS = {"empty": "", "too long": "t" * 513, "number": 1}


def all_cases(world: World, license_id: str, grant_id: str) -> list[Case]:
    """One bad value per case, in an otherwise valid request to each endpoint."""
    grant = {
        "grantee_id": world.ann.id,
        "supported_sensors": ["ouster-os1-64"],
        "lpu": 1,
        "sensors": 1,
        "gpu_preset": False,
    }
    bulk = {"template": license_body("Bulk name", sensor_count=1), "copies": 2}
    endpoints: dict[str, tuple[str, str, dict[str, Any]]] = {
        "license": ("POST", "/v1/licenses", license_body("Valid name", sensor_count=1)),
        "bulk": ("POST", "/v1/licenses/bulk", bulk),
        "grant": ("POST", "/v1/grants", grant),
        "reclaim": ("POST", f"/v1/grants/{grant_id}/reclaim", {"lpu": 1, "sensors": 0}),
        "invite": ("POST", "/v1/sub-users", {"email": "new@customer.example"}),
        "patch": ("PATCH", f"/v1/sub-users/{world.ann.id}", {}),
        "activate": ("POST", f"/v1/licenses/{license_id}/activate", {"machine_id": "m-1"}),
        "transfer": (
            "POST",
            f"/v1/licenses/{license_id}/transfer",
            {"to_sub_user_id": world.ann.id},
        ),
        "login": ("POST", "/v1/auth/login", {"email": "a@example.com", "password": "x" * 10}),
        "refresh": ("POST", "/v1/auth/refresh", {"refresh_token": "t"}),
        "accept": ("POST", "/v1/auth/accept-invite", {"token": "t", "password": "long enough"}),
    }
    table: list[tuple[str, str, dict[str, Any]]] = [
        # names: 1–100 printable characters, also once a bulk's "_2" is appended
        ("license", "name", BAD_NAMES),
        ("bulk", "template.name", BAD_NAMES | {"99 long": "b" * 99}),
        ("invite", "display_name", BAD_DISPLAY_NAMES),
        ("patch", "display_name", BAD_DISPLAY_NAMES),
        # counts: integers 0–100000 and nothing else; copies 1–1000
        ("grant", "lpu", COUNTS),
        ("grant", "sensors", COUNTS),
        ("reclaim", "lpu", COUNTS),
        ("reclaim", "sensors", COUNTS),
        ("license", "sensor_count", COUNTS | {"0": 0}),
        ("bulk", "template.sensor_count", COUNTS | {"0": 0}),
        ("bulk", "copies", NOT_INTEGERS | {"0": 0, "1001": 1001, "-5": -5}),
        ("license", "gpu_preset", {"string": "yes", "number": 2, "list": []}),
        # emails
        # a new address is the address alone (signing in is never stricter than that was)
        (
            "invite",
            "email",
            BAD_EMAILS
            | {
                "local part over 64": "a" * 65 + "@example.com",
                "local part over 64 octets": "é" * 33 + "@example.com",
                "with a name": "Ann <ann@example.com>",
                "in angle brackets": "<ann@example.com>",
            },
        ),
        ("login", "email", BAD_EMAILS),
        # sensor ids: from the catalog, at least one
        ("license", "sensor_models", BAD_SENSOR_LISTS),
        ("bulk", "template.sensor_models", BAD_SENSOR_LISTS),
        ("grant", "supported_sensors", BAD_SENSOR_LISTS),
        # free text and tokens with limits
        ("license", "notes", {"too long": "x" * 2001, "number": 1}),
        ("activate", "machine_id", {"empty": "", "long": "m" * 201, "nul": "m\x00", "number": 9}),
        ("login", "password", {"too long": "p" * 257, "empty": "", "number": 12345678}),
        ("refresh", "refresh_token", TOKENS),
        ("accept", "token", TOKENS),
        ("accept", "password", {"too long": "p" * 257, "short": "short"}),
        ("transfer", "to_sub_user_id", {"empty": "", "too long": "i" * 65, "number": 4}),
        ("grant", "grantee_id", {"empty": "", "too long": "i" * 65}),
        # enums
        ("patch", "status", {"unknown": "sleeping", "invited": "invited", "number": 1}),
        # unknown fields are mistakes, not something to drop silently
        ("license", "owner_id", {"unknown field": "x"}),
        ("grant", "grantor_id", {"unknown field": "x"}),
        ("invite", "role", {"unknown field": "reseller"}),
        ("login", "remember_me", {"unknown field": True}),
    ]
    cases: list[Case] = []
    for endpoint, field, values in table:
        method, path, base = endpoints[endpoint]
        for label, value in values.items():
            body = with_value(base, field, value)
            cases.append(Case(f"{endpoint} {field}={label}", method, path, body, field))
    method, path, base = endpoints["license"]
    cases.append(Case("license without name", method, path, without(base, "name"), "name"))
    both_zero = grant | {"lpu": 0, "sensors": 0}
    cases.append(Case("grant of nothing", "POST", "/v1/grants", both_zero, "lpu"))
    return cases


@pytest.fixture
def targets(world: World) -> tuple[str, str]:
    """A license of Alice and her grant to Ann, for the calls that act on one."""
    grant_id: str = world.grant(world.ann)["id"]
    target = ok(world.alice.post("/v1/licenses", license_body("Target", sensor_count=1)), 201)
    return target["id"], grant_id


def test_every_bad_field_is_a_422_naming_it(world: World, targets: tuple[str, str]) -> None:
    failures: list[str] = []
    cases = all_cases(world, *targets)
    for case in cases:
        response = world.alice.http.request(
            case.method, case.path, json=case.body, headers=world.alice.headers
        )
        named = _problem_fields(response)
        if response.status_code != 422 or case.field not in named:
            failures.append(f"{case.label}: {response.status_code} {response.text[:160]}")
    assert not failures, f"{len(failures)} of {len(cases)} cases:\n" + "\n".join(failures)
    # Nothing slipped through: no license, grant or sub-user was created by any of them.
    assert [x["name"] for x in ok(world.alice.get("/v1/licenses"))["items"]] == ["Target"]


def _problem_fields(response: httpx.Response) -> dict[str, str]:
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return {}
    return fields(response.json())


def test_messages_are_for_people(world: World) -> None:
    alice = world.alice
    body = license_body("ok", sensor_count=1)
    expectations: list[tuple[dict[str, Any], str, str]] = [
        (body | {"name": "a\tb"}, "name", "Must contain only printable characters."),
        (body | {"name": "n" * 101}, "name", "Must be at most 100 characters long."),
        (body | {"sensor_count": 2.0}, "sensor_count", "Must be a whole number."),
        (body | {"sensor_count": True}, "sensor_count", "Must be a whole number."),
        (body | {"sensor_count": 0}, "sensor_count", "Must be at least 1."),
        (body | {"sensor_count": 100_001}, "sensor_count", "Must be at most 100000."),
        (body | {"extra": 1}, "extra", "This field is not accepted here."),
        (body | {"sensor_models": ["nope"]}, "sensor_models", "Unknown sensor model: nope."),
    ]
    for request, field, message in expectations:
        errors = fields(problem(alice.post("/v1/licenses", request), 422, "validation_failed"))
        assert errors.get(field) == message, (request, errors)


RawSender = Callable[[bytes, dict[str, str]], httpx.Response]


@pytest.fixture
def send_raw(world: World) -> RawSender:
    def send(content: bytes, headers: dict[str, str]) -> httpx.Response:
        return world.alice.http.post(
            "/v1/licenses", content=content, headers=world.alice.headers | headers
        )

    return send


@pytest.mark.parametrize(
    ("label", "content", "headers"),
    [
        ("malformed JSON", b'{"name": ', JSON),
        ("trailing garbage", b'{"name": "x"} extra', JSON),
        ("a list, not an object", b"[1, 2]", JSON),
        ("a string, not an object", b'"hello"', JSON),
        ("null", b"null", JSON),
        ("empty body", b"", JSON),
        ("not UTF-8", b'{"name": "\xff\xfe"}', JSON),
        ("lone surrogate", b'{"name": "\\ud800"}', JSON),
        ("nested too deep", b"[" * 100_000 + b"]" * 100_000, JSON),
        ("NaN and Infinity", b'{"sensor_count": NaN, "name": Infinity}', JSON),
        ("text/plain", b'{"name": "x"}', {"Content-Type": "text/plain"}),
        ("no content type", b'{"name": "x"}', {}),
        (
            "form encoded",
            b"name=x&sensor_count=1",
            {"Content-Type": "application/x-www-form-urlencoded"},
        ),
        ("xml", b"<license><name>x</name></license>", {"Content-Type": "application/xml"}),
    ],
)
def test_unreadable_bodies_are_422_problems(
    send_raw: RawSender, label: str, content: bytes, headers: dict[str, str]
) -> None:
    body = problem(send_raw(content, headers), 422, "validation_failed")
    assert body["errors"], label


def test_a_huge_body_is_refused_with_413_before_it_is_read(send_raw: RawSender) -> None:
    body = problem(send_raw(b" " * (1024 * 1024 + 1), JSON), 413, "validation_failed")
    assert "at most 1048576 bytes" in body["detail"]
    assert fields(body) == {"body": body["detail"]}


def test_a_huge_chunked_body_is_cut_off_with_413(world: World) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(64):  # 4 MiB in 64 KiB pieces, no Content-Length
            yield b" " * 65_536

    response = world.alice.http.post(
        "/v1/licenses", content=chunks(), headers=world.alice.headers | JSON
    )
    problem(response, 413, "validation_failed")


def test_a_body_just_under_the_limit_is_read(send_raw: RawSender) -> None:
    padded = b'{"name": "Padded", "sensor_models": ["ouster-os1-64"], "sensor_count": 1}'
    padded += b" " * (1024 * 1024 - len(padded))
    ok(send_raw(padded, JSON), 201)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/licenses", {"limit": "many"}, "limit"),
        ("/v1/licenses", {"limit": 0}, "limit"),
        ("/v1/licenses", {"limit": 10**30}, "limit"),
        ("/v1/licenses", {"status": "sleeping"}, "status"),
        ("/v1/licenses", {"cursor": "garbage!"}, "cursor"),
        ("/v1/grants", {"limit": -1}, "limit"),
        ("/v1/grants", {"cursor": "x" * 3000}, "cursor"),
        ("/v1/sub-users", {"limit": 1.5}, "limit"),
        ("/v1/changes", {"cursor": "!!"}, "cursor"),
    ],
)
def test_bad_query_parameters_are_named(
    world: World, path: str, params: dict[str, Any], field: str
) -> None:
    body = problem(world.alice.get(path, params=params), 422, "validation_failed")
    assert field in fields(body)


def test_an_overlong_idempotency_key_is_named(world: World) -> None:
    response = world.alice.post(
        "/v1/licenses", license_body("K", sensor_count=1), headers={"Idempotency-Key": "k" * 201}
    )
    assert "Idempotency-Key" in fields(problem(response, 422, "validation_failed"))


@pytest.mark.parametrize(
    "path_id", ["x" * 5000, "%00", "%ff%fe", "..%2F..%2Fetc%2Fpasswd", "' OR 1=1 --", "😀"]
)
def test_odd_ids_in_paths_are_simply_not_found(world: World, path_id: str) -> None:
    alice = world.alice
    for response in (
        alice.get(f"/v1/licenses/{path_id}"),
        alice.get(f"/v1/sub-users/{path_id}"),
        alice.post(f"/v1/grants/{path_id}/reclaim", {"lpu": 1, "sensors": 0}),
        alice.post(f"/v1/licenses/{path_id}/activate", {"machine_id": "m"}),
    ):
        problem(response, 404, "not_found")
