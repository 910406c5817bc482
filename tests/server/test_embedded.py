"""The embedded server: start on a free loopback port, serve, stop cleanly."""

from __future__ import annotations

import re
import socket

import httpx
import pytest

from srportal_desktop.server.demo import DEMO_RESELLER_EMAIL, DEMO_RESELLER_PASSWORD, seed_demo
from srportal_desktop.server.embedded import EmbeddedServer, EmbeddedServerError
from srportal_desktop.server.settings import ServerSettings
from tests.server.conftest import body_text, outbox


def test_start_serves_on_a_loopback_port_and_stop_frees_it(settings: ServerSettings) -> None:
    server = EmbeddedServer(settings)
    url = server.start()
    assert url.startswith("http://127.0.0.1:")
    port = int(url.rsplit(":", 1)[1])
    assert port > 0
    assert server.url == url
    assert server.running
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    assert "/v1/licenses" in httpx.get(f"{url}/openapi.json").json()["paths"]

    server.stop()
    assert not server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz")
    server.stop()  # twice is harmless


def test_context_manager_with_the_demo_data(settings: ServerSettings) -> None:
    seed_demo(settings)
    with EmbeddedServer(settings) as server, httpx.Client(base_url=server.url) as http:
        response = http.post(
            "/v1/auth/login",
            json={"email": DEMO_RESELLER_EMAIL, "password": DEMO_RESELLER_PASSWORD},
        )
        assert response.status_code == 200
        token = response.json()["access_token"]
        me = http.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert me["pool"]["lpu_total"] == 100
    assert not server.running


def test_links_to_itself_makes_invitation_links_open_on_this_server(
    settings: ServerSettings,
) -> None:
    seed_demo(settings)
    with (
        EmbeddedServer(settings, links_to_itself=True) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        tokens = http.post(
            "/v1/auth/login",
            json={"email": DEMO_RESELLER_EMAIL, "password": DEMO_RESELLER_PASSWORD},
        ).json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        invite = {"email": "new.crew@customer.example"}
        assert http.post("/v1/sub-users", json=invite, headers=headers).status_code == 201
        [mail] = outbox(settings)
        link = re.search(r"http://\S+/accept-invite\?token=[\w-]+", body_text(mail))
        assert link is not None
        assert link.group().startswith(f"{server.url}/accept-invite?token=")
        page = httpx.get(link.group())
        assert page.status_code == 200
        assert "Activate your account" in page.text
    assert settings.public_url != server.settings.public_url  # the caller's settings are kept


def test_a_port_in_use_is_a_clear_error(settings: ServerSettings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = EmbeddedServer(settings, port=port)
        with pytest.raises(
            EmbeddedServerError, match=re.escape(f"cannot listen on 127.0.0.1:{port}")
        ):
            server.start(timeout=10)
        assert not server.running


def test_a_bad_database_url_is_a_clear_error(tmp_path: object) -> None:
    server = EmbeddedServer(ServerSettings(database_url="sqlite://"))
    with pytest.raises(EmbeddedServerError, match="in-memory SQLite"):
        server.start()
