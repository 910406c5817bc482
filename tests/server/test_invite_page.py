"""The page the invitation email links to: a person sets the password in a browser."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from srportal_desktop.server.routers.invite_page import MISMATCH, NO_CODE
from srportal_desktop.server.settings import ServerSettings
from tests.server.conftest import PASSWORD, Actor, body_text, invite_token, login, ok, outbox

pytestmark = pytest.mark.sqlite_only  # the rules are those of the API, tested on both databases


def link_in_mail(settings: ServerSettings, to: str) -> str:
    """The invitation link, made relative to the portal: what a person's browser opens."""
    [mail] = [m for m in outbox(settings) if m["To"] == to]
    link = r"https://portal\.example\.com(/accept-invite\?token=[\w-]+)"
    match = re.search(link, body_text(mail))
    assert match, body_text(mail)
    return match.group(1)


def submit(client: TestClient, token: str, password: str, again: str) -> tuple[int, str]:
    form = {"token": token, "password": password, "password_again": again}
    response = client.post("/accept-invite", data=form)
    assert response.headers["content-type"].startswith("text/html")
    return response.status_code, response.text


def test_the_link_opens_a_password_form_that_activates_the_account(
    settings: ServerSettings, client: TestClient, alice: Actor
) -> None:
    created = ok(alice.post("/v1/sub-users", {"email": "tech@customer.example"}), 201)
    page = client.get(link_in_mail(settings, "tech@customer.example"))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    token = invite_token(settings, "tech@customer.example")
    assert f'name="token" value="{token}"' in page.text
    assert 'name="password"' in page.text
    assert 'name="password_again"' in page.text

    status, text = submit(client, token, PASSWORD, PASSWORD)
    assert status == 200
    assert "Your account is active" in text
    assert login(client, "tech@customer.example")["access_token"]
    assert ok(alice.get(f"/v1/sub-users/{created['id']}"))["status"] == "active"

    # The link works once.
    status, text = submit(client, token, PASSWORD, PASSWORD)
    assert status == 401
    assert 'class="error"' in text


def test_refusals_show_on_the_form_and_keep_the_invitation_usable(
    settings: ServerSettings, client: TestClient, alice: Actor
) -> None:
    ok(alice.post("/v1/sub-users", {"email": "tech@customer.example"}), 201)
    token = invite_token(settings, "tech@customer.example")

    status, text = submit(client, token, PASSWORD, PASSWORD + "x")
    assert (status, MISMATCH in text) == (422, True)
    status, text = submit(client, token, "short", "short")
    assert status == 422
    assert "at least 8 characters" in text
    assert f'value="{token}"' in text  # the form comes back ready for another try

    status, _ = submit(client, token, PASSWORD, PASSWORD)
    assert status == 200


def test_a_link_without_a_code_or_with_a_forged_one_is_refused_safely(
    client: TestClient, alice: Actor
) -> None:
    page = client.get("/accept-invite")
    assert page.status_code == 400
    assert NO_CODE in page.text

    forged = '"><script>alert(1)</script>'
    page = client.get("/accept-invite", params={"token": forged})
    assert "<script>alert" not in page.text
    assert "&quot;&gt;&lt;script&gt;" in page.text
    status, text = submit(client, forged, PASSWORD, PASSWORD)
    assert status == 401
    assert "<script>alert" not in text


def test_an_overlong_code_gets_the_page_not_an_api_error(client: TestClient) -> None:
    for page in (
        client.get("/accept-invite", params={"token": "t" * 600}),
        client.post(
            "/accept-invite",
            data={"token": "t" * 600, "password": PASSWORD, "password_again": PASSWORD},
        ),
    ):
        assert page.status_code == 400
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["cache-control"] == "no-store"
        assert NO_CODE in page.text


def test_the_page_is_not_part_of_the_api_document(client: TestClient) -> None:
    assert "/accept-invite" not in client.get("/openapi.json").json()["paths"]
