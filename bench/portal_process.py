"""A portal server in its own process, for benchmarks: started, seeded, stopped.

The server runs as `srportal-server serve` in a subprocess so the load generator in this
process does not share an interpreter (or its GIL) with it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

PASSWORD = "bench password 2026"
CLI = [sys.executable, "-m", "srportal_desktop.server.cli"]


@dataclass(frozen=True)
class Portal:
    base_url: str
    database_url: str
    email: str

    def login(self, http: httpx.Client) -> dict[str, str]:
        answer = http.post("/v1/auth/login", json={"email": self.email, "password": PASSWORD})
        answer.raise_for_status()
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url(backend: str, folder: Path) -> str:
    """`sqlite` → a fresh file; `postgresql` → `SRPORTAL_BENCH_POSTGRES_URL`, emptied first."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'bench.sqlite3'}"
    url = os.environ.get("SRPORTAL_BENCH_POSTGRES_URL") or os.environ.get(
        "SRPORTAL_TEST_POSTGRES_URL"
    )
    if not url:
        raise SystemExit("set SRPORTAL_BENCH_POSTGRES_URL to a PostgreSQL database to empty")
    _empty_postgres(url)
    return url


def _empty_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@contextmanager
def running_portal(backend: str, *, workers: int = 1, lpu: int, sensors: int) -> Iterator[Portal]:
    with tempfile.TemporaryDirectory(prefix="srportal-bench-") as tmp:
        folder = Path(tmp)
        url = database_url(backend, folder)
        env = {**os.environ, "SRPORTAL_DATABASE_URL": url, "SRPORTAL_OUTBOX_DIR": str(folder)}
        subprocess.run([*CLI, "migrate"], env=env, check=True, capture_output=True)
        email = "bench@reseller.example"
        subprocess.run(
            [*CLI, "create-reseller", "--email", email, "--lpu", str(lpu),
             "--sensors", str(sensors), "--gpu-preset"],
            env=env, input=PASSWORD.encode(), check=True, capture_output=True,
        )  # fmt: skip
        port = free_port()
        server = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--workers", str(workers)],
            env={**env, "SRPORTAL_LOG_LEVEL": "warning"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(base_url, server)
            yield Portal(base_url=base_url, database_url=url, email=email)
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_healthy(base_url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the portal server exited with {server.returncode}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("the portal server did not become healthy within 60 s")


def machine_description() -> str:
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()}"
