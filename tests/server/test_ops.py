"""Running the server: health probes, structured logs, the settings file, `migrate`, and
`serve --workers` behind a proxy."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from srportal_desktop.server import migrations
from srportal_desktop.server.cli import main
from srportal_desktop.server.db import Database
from srportal_desktop.server.logging_config import ACCESS_LOGGER, JsonFormatter
from srportal_desktop.server.settings import ServerSettings
from tests.server.conftest import ServerProcess, TestClient, free_port, ok, problem

ISO_UTC_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")

LogLines = Callable[[], list[dict[str, Any]]]


# --- health probes -------------------------------------------------------------------------------


def test_healthz_and_readyz_answer_when_all_is_well(client: TestClient) -> None:
    assert ok(client.get("/healthz")) == {"status": "ok"}
    assert ok(client.get("/readyz")) == {"status": "ready"}


def test_readyz_is_503_while_the_schema_is_behind(app: FastAPI, client: TestClient) -> None:
    db: Database = app.state.context.db
    migrations.downgrade(db.engine, "base")

    body = problem(client.get("/readyz"), 503, "service_unavailable")
    assert "srportal-server migrate" in body["detail"]
    assert ok(client.get("/healthz")) == {"status": "ok"}  # alive: no reason to restart it

    db.migrate()
    assert ok(client.get("/readyz")) == {"status": "ready"}


@pytest.mark.sqlite_only
def test_readyz_is_503_while_the_database_is_unreachable(app: FastAPI, client: TestClient) -> None:
    # Nothing listens on that port: the connection is refused at once.
    unreachable = Database(f"postgresql://portal:secret@127.0.0.1:{free_port()}/portal")
    app.state.context.db.dispose()
    app.state.context = dataclasses.replace(app.state.context, db=unreachable)

    body = problem(client.get("/readyz"), 503, "service_unavailable")
    assert body["detail"] == "The database cannot be reached."
    assert ok(client.get("/healthz")) == {"status": "ok"}


# --- structured logs -----------------------------------------------------------------------------


@pytest.fixture
def json_log() -> Iterator[LogLines]:
    """Everything logged at INFO and above during the test, as parsed JSON lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def access_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["logger"] == ACCESS_LOGGER]


@pytest.mark.sqlite_only
def test_each_request_is_one_json_line_with_its_id(client: TestClient, json_log: LogLines) -> None:
    response = client.get("/v1/me", params={"token": "kept-out"}, headers={"X-Request-ID": "r-42"})
    assert response.status_code == 401
    assert response.headers["X-Request-ID"] == "r-42"

    [line] = access_lines(json_log())
    assert set(line) == {
        "time",
        "level",
        "logger",
        "message",
        "pid",
        "request_id",
        "method",
        "path",
        "status",
        "duration_ms",
        "client",
    }
    assert ISO_UTC_MS.fullmatch(line["time"])
    assert line["level"] == "INFO"
    assert line["request_id"] == "r-42"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/v1/me", 401)
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0
    assert line["message"].startswith("GET /v1/me 401 ")
    assert "kept-out" not in json.dumps(line)  # query strings may carry secrets


@pytest.mark.sqlite_only
def test_a_missing_or_odd_request_id_is_replaced(client: TestClient, json_log: LogLines) -> None:
    plain = client.get("/v1/sensors")
    odd = client.get("/v1/sensors", headers={"X-Request-ID": "no spaces; or <tags>"})
    for response in (plain, odd):
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
    assert [line["request_id"] for line in access_lines(json_log())] == [
        plain.headers["X-Request-ID"],
        odd.headers["X-Request-ID"],
    ]


@pytest.mark.sqlite_only
def test_lines_logged_while_handling_a_request_carry_its_id(
    app: FastAPI, json_log: LogLines
) -> None:
    def boom() -> None:
        logging.getLogger("srportal_desktop.server.test").info("about to fail")
        raise RuntimeError("kaput")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as http:
        assert http.get("/boom", headers={"X-Request-ID": "crash-1"}).status_code == 500

    lines = [line for line in json_log() if line.get("request_id") == "crash-1"]
    by_logger = {line["logger"]: line for line in lines}
    assert by_logger["srportal_desktop.server.test"]["message"] == "about to fail"
    crash = by_logger["srportal_desktop.server.errors"]
    assert crash["level"] == "ERROR"
    assert "RuntimeError: kaput" in crash["exception"]
    access = by_logger[ACCESS_LOGGER]
    assert (access["level"], access["status"]) == ("ERROR", 500)


@pytest.mark.sqlite_only
def test_successful_probes_stay_out_of_the_info_log(client: TestClient, json_log: LogLines) -> None:
    client.get("/healthz")
    client.get("/readyz")
    client.get("/v1/sensors")
    assert [line["path"] for line in access_lines(json_log())] == ["/v1/sensors"]


# --- settings file -------------------------------------------------------------------------------


def write_settings_file(path: Path, **values: str) -> Path:
    lines = ["# portal server settings", *(f"SRPORTAL_{k.upper()}={v}" for k, v in values.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_settings_come_from_the_file_under_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_settings_file(
        tmp_path / "portal.env",
        database_url="postgresql://portal:secret@db.internal/portal",
        smtp_host="smtp.example.com",
        smtp_port="465",
        smtp_password="s3cret",
        log_format="text",
    )
    monkeypatch.setenv("SRPORTAL_SETTINGS_FILE", str(path))
    monkeypatch.setenv("SRPORTAL_SMTP_PORT", "2525")

    loaded = ServerSettings()
    assert loaded.database_url == "postgresql://portal:secret@db.internal/portal"
    assert loaded.smtp_host == "smtp.example.com"
    assert loaded.smtp_port == 2525  # the environment wins over the file
    assert loaded.smtp_password is not None
    assert loaded.smtp_password.get_secret_value() == "s3cret"
    assert loaded.log_format == "text"
    assert ServerSettings(smtp_host="other.example").smtp_host == "other.example"


def test_a_settings_file_that_is_not_there_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SRPORTAL_SETTINGS_FILE", str(tmp_path / "missing.env"))
    with pytest.raises(FileNotFoundError, match="SRPORTAL_SETTINGS_FILE"):
        ServerSettings()


@pytest.mark.sqlite_only
def test_migrate_finds_the_database_in_the_settings_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{(tmp_path / 'from-file.sqlite3').as_posix()}"
    monkeypatch.setenv(
        "SRPORTAL_SETTINGS_FILE", str(write_settings_file(tmp_path / "s.env", database_url=url))
    )
    assert main(["migrate"]) == 0
    assert "from-file.sqlite3" in capsys.readouterr().out
    db = Database(url)
    try:
        assert db.schema_is_current()
    finally:
        db.dispose()


# --- srportal-server migrate ---------------------------------------------------------------------


def test_migrate_builds_a_fresh_database_then_has_nothing_to_do(
    empty_database_url: str, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    head = migrations.head_revision()
    assert main(["migrate", "--db", empty_database_url]) == 0
    first = capsys.readouterr().out
    assert f"migrated from empty to {head}" in first
    if backend == "postgresql":
        assert "***@" in first  # the password stays out of the output

    assert main(["migrate", "--db", empty_database_url]) == 0
    assert f"already at migration {head}" in capsys.readouterr().out

    db = Database(empty_database_url)
    try:
        assert db.schema_revision() == head
    finally:
        db.dispose()


@pytest.mark.sqlite_only
def test_migrate_reports_a_database_it_cannot_reach(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"postgresql://portal:secret@127.0.0.1:{free_port()}/portal"
    assert main(["migrate", "--db", url]) == 1
    error = capsys.readouterr().err
    assert error.startswith("srportal-server: error: database: connection failed")
    assert "Connection refused" in error
    assert "secret" not in error


# --- srportal-server serve --workers ------------------------------------------------------------


@pytest.mark.sqlite_only
def test_serve_with_workers_behind_a_proxy_logs_json(
    settings: ServerSettings, tmp_path: Path
) -> None:
    workers = 2
    server = ServerProcess(
        settings.database_url,
        tmp_path / "serve",
        "--proxy-headers",
        "--forwarded-allow-ips",
        "127.0.0.1",
        workers=workers,
    )
    with server, httpx.Client(base_url=server.url, timeout=10) as http:
        assert ok(http.get("/readyz")) == {"status": "ready"}
        response = http.get(
            "/v1/me", headers={"X-Request-ID": "smoke-1", "X-Forwarded-For": "203.0.113.7"}
        )
        assert response.status_code == 401
        assert response.headers["X-Request-ID"] == "smoke-1"
        assert "server" not in response.headers
        wait_for(lambda: len(worker_pids(server)) == workers, server)
        wait_for(
            lambda: any(r.get("request_id") == "smoke-1" for r in server.log_records()), server
        )
    assert server.returncode == 0, server.log_text()

    records = server.log_records()
    assert records, server.log_text()
    assert all({"time", "level", "logger", "message", "pid"} <= set(r) for r in records)
    [access] = [r for r in records if r.get("request_id") == "smoke-1"]
    assert access["client"] == "203.0.113.7"  # taken from the trusted proxy's header
    assert (access["method"], access["path"], access["status"]) == ("GET", "/v1/me", 401)
    assert access["pid"] in worker_pids(server)


def worker_pids(server: ServerProcess) -> set[int]:
    return {
        r["pid"]
        for r in server.log_records()
        if str(r.get("message", "")).startswith("Started server process")
    }


def wait_for(condition: Callable[[], bool], server: ServerProcess, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, server.log_text()
        time.sleep(0.05)
