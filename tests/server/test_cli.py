"""`srportal-server` commands: create-reseller, seed-demo, migrate, and their errors."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, inspect, select

from srportal_desktop.server.cli import main
from srportal_desktop.server.db import Database
from srportal_desktop.server.demo import DEMO_RESELLER_EMAIL, DEMO_RESELLER_PASSWORD
from srportal_desktop.server.models import Account, AuditEvent, Grant, License
from srportal_desktop.server.settings import ServerSettings
from tests.server.conftest import PASSWORD, TestClient, login, ok

REPO = Path(__file__).resolve().parents[2]


def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{(tmp_path / 'cli.sqlite3').as_posix()}"


def counts(url: str) -> dict[str, int]:
    db = Database(url)
    try:
        with db.session() as session:
            return {
                model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (Account, Grant, License, AuditEvent)
            }
    finally:
        db.dispose()


def test_create_reseller_reads_the_password_from_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = db_url(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    code = main(
        [
            "create-reseller",
            "--db",
            url,
            "--email",
            "Dana@Reseller-D.example",
            "--lpu",
            "12",
            "--sensors",
            "34",
            "--gpu-preset",
            "--display-name",
            "Dana Distribution",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert "dana@reseller-d.example" in capsys.readouterr().out

    from srportal_desktop.server.app import create_app

    with TestClient(create_app(ServerSettings(database_url=url))) as http:
        token = login(http, "dana@reseller-d.example")["access_token"]
        me = ok(http.get("/v1/me", headers={"Authorization": f"Bearer {token}"}))
    assert me["display_name"] == "Dana Distribution"
    assert (me["pool"]["lpu_total"], me["pool"]["sensor_total"]) == (12, 34)
    assert me["pool"]["gpu_preset"] is True
    assert len(me["pool"]["supported_sensors"]) > 10  # the whole catalog


def test_create_reseller_errors_exit_non_zero_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = db_url(tmp_path)
    args = [
        "create-reseller",
        "--db",
        url,
        "--email",
        "e@reseller.example",
        "--lpu",
        "1",
        "--sensors",
        "1",
    ]

    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(args) == 1
    assert "password" in capsys.readouterr().err

    # The password policy of invitations holds here too: not the email, not one repeated key.
    for weak in ("e@reseller.example", "aaaaaaaaaaaa"):
        monkeypatch.setattr(sys, "stdin", io.StringIO(weak + "\n"))
        assert main(args) == 1
        assert "password" in capsys.readouterr().err.lower()

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(args) == 1
    assert "no password" in capsys.readouterr().err

    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(args) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(args) == 1
    assert "already has an account" in capsys.readouterr().err

    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main([*args[:4], "not-an-email", *args[5:]]) == 1
    assert "email" in capsys.readouterr().err.lower()

    # The same address rules as the API's, so every account made here can sign in.
    for address in ("x" * 65 + "@reseller.example", "Sales <s@reseller.example>"):
        monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
        assert main([*args[:4], address, *args[5:]]) == 1
        assert "Not a valid email address." in capsys.readouterr().err

    with pytest.raises(SystemExit) as usage:
        main(
            [
                "create-reseller",
                "--db",
                url,
                "--email",
                "x@y.example",
                "--lpu",
                "-3",
                "--sensors",
                "1",
            ]
        )
    assert usage.value.code == 2


def test_the_database_url_comes_from_the_environment_without_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = db_url(tmp_path)
    monkeypatch.setenv("SRPORTAL_DATABASE_URL", url)
    assert main(["migrate"]) == 0
    db = Database(url)
    assert {"accounts", "grants", "licenses", "audit_events"} <= set(
        inspect(db.engine).get_table_names()
    )
    db.dispose()


def test_seed_demo_is_idempotent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = db_url(tmp_path)
    assert main(["seed-demo", "--db", url]) == 0
    assert DEMO_RESELLER_EMAIL in capsys.readouterr().out
    first = counts(url)
    assert main(["seed-demo", "--db", url]) == 0
    assert counts(url) == first
    assert first["Account"] == 4  # vendor, reseller, two sub-users
    assert first["License"] > 0

    from srportal_desktop.server.app import create_app

    with TestClient(create_app(ServerSettings(database_url=url))) as http:
        token = login(http, DEMO_RESELLER_EMAIL, DEMO_RESELLER_PASSWORD)["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        sub_users = ok(http.get("/v1/sub-users", headers=headers))["items"]
        me = ok(http.get("/v1/me", headers=headers))
    assert {(s["display_name"], s["status"]) for s in sub_users} == {
        ("Northwind Robotics", "active"),
        ("Harbor Logistics", "invited"),
    }
    assert me["pool"]["lpu_total"] == 100
    assert me["pool"]["sensor_total"] == 400
    assert me["pool"]["gpu_preset"] is True


def test_the_console_script_pipes_the_password_through_stdin(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "srportal_desktop.server.cli",
            "create-reseller",
            "--db",
            url,
            "--email",
            "piped@reseller.example",
            "--lpu",
            "3",
            "--sensors",
            "9",
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert counts(url)["Account"] == 2  # the vendor placeholder and the reseller


def test_serve_answers_http(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "srportal_desktop.server.cli",
            "serve",
            "--db",
            db_url(tmp_path),
            "--port",
            str(port),
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.1)
        assert response.json() == {"status": "ok"}
    finally:
        process.terminate()
        process.wait(timeout=30)
