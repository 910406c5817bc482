"""The database connection: one engine per app, short sessions per request.

SQLite is the zero-set-up default, PostgreSQL (psycopg 3) the production target; nothing outside
this module and the migrations knows which one is in use.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from srportal_desktop.server import migrations

SQLITE_BUSY_TIMEOUT_MS = 15_000
POSTGRES_CONNECT_TIMEOUT_S = 10


class Database:
    """Engine plus two session factories: read sessions and write sessions.

    On SQLite a write session starts with `BEGIN IMMEDIATE`, taking the write lock up front, so
    concurrent writers queue on `busy_timeout` instead of failing when a read transaction tries
    to upgrade. Elsewhere both factories are the same.
    """

    def __init__(self, url: str) -> None:
        self.url: URL = normalize_url(url)
        self.engine: Engine = _create_engine(self.url)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def session(self, *, write: bool = False) -> Session:
        return (self._write if write else self._read)()

    def create_all(self) -> None:
        """The schema, made and upgraded by the migrations: there is no other way to make it."""
        self.migrate()

    def migrate(self) -> None:
        """Upgrade the schema to the newest migration (cheap when it is there already)."""
        migrations.upgrade(self.engine.execution_options(sqlite_begin="IMMEDIATE"))

    def schema_revision(self) -> str | None:
        """The migration the schema is at (None: an empty database)."""
        with self.engine.connect() as connection:
            return migrations.current_revision(connection)

    def schema_is_current(self) -> bool:
        """Whether the schema is at the newest migration; raises when the database is down."""
        return migrations.is_current(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


def normalize_url(url: str | URL) -> URL:
    """The URL with PostgreSQL pointed at psycopg 3, the driver this package installs.

    `postgresql://` and `postgres://` would otherwise ask SQLAlchemy for psycopg2.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    return parsed


def _create_engine(url: URL) -> Engine:
    if url.get_backend_name() == "postgresql":
        return create_engine(
            url,
            pool_pre_ping=True,
            connect_args={
                "connect_timeout": POSTGRES_CONNECT_TIMEOUT_S,
                "application_name": "srportal-server",
            },
        )
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)

    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        raise ValueError(
            "an in-memory SQLite database cannot be shared between connections; "
            "use a file, e.g. sqlite:///portal.sqlite3"
        )
    if not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)

    engine = create_engine(
        url,
        connect_args={
            "check_same_thread": False,
            "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
        },
    )
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    assert isinstance(dbapi_connection, sqlite3.Connection)
    # We emit BEGIN ourselves (see _sqlite_on_begin); the driver's own BEGIN handling would
    # start transactions late and never as IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    """WAL mode (persistent in the file). The first switch of a new file needs it to itself:
    when processes open it together SQLite may answer "locked" at once, without waiting for
    the busy timeout (it would deadlock otherwise), so that case is retried here."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_on_begin(connection: Any) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    if mode not in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
        raise ValueError(f"unknown SQLite transaction mode {mode!r}")
    connection.exec_driver_sql(f"BEGIN {mode}")
