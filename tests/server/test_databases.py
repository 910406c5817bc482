"""The database layer on both backends: URLs, connection set-up, and the constraints the
quota rules lean on when requests race."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from srportal_desktop.server.bootstrap import create_reseller
from srportal_desktop.server.db import Database, normalize_url
from srportal_desktop.server.errors import QuotaExceededError
from srportal_desktop.server.models import Account, Grant, License
from srportal_desktop.server.services import quota
from srportal_desktop.server.settings import ServerSettings
from tests.server.conftest import PASSWORD


@pytest.fixture
def db(settings: ServerSettings) -> Iterator[Database]:
    database = Database(settings.database_url)
    yield database
    database.dispose()


@pytest.fixture
def reseller_id(settings: ServerSettings) -> str:
    return create_reseller(
        settings, "db@reseller.example", PASSWORD, lpu=1, sensors=1, gpu_preset=False
    )


def pool_of(db: Database, account_id: str) -> Grant:
    with db.session() as session:
        grant = session.scalars(select(Grant).where(Grant.grantee_id == account_id)).one()
        session.expunge(grant)
        return grant


# --- URLs and connections ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u:p@db.example/portal", "postgresql+psycopg"),
        ("postgres://u:p@db.example/portal", "postgresql+psycopg"),
        ("postgresql+psycopg://u:p@db.example/portal", "postgresql+psycopg"),
        ("sqlite:///portal.sqlite3", "sqlite"),
    ],
)
def test_postgresql_urls_use_psycopg_3(given: str, driver: str) -> None:
    url = normalize_url(given)
    assert url.drivername == driver
    assert url.database in ("portal", "portal.sqlite3")


def test_an_in_memory_sqlite_database_is_refused() -> None:
    with pytest.raises(ValueError, match="in-memory"):
        Database("sqlite://")


def test_sqlite_connections_use_wal_and_enforce_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{(tmp_path / 'deep' / 'er' / 'portal.sqlite3').as_posix()}")
    try:
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15_000
    finally:
        db.dispose()


@pytest.mark.postgresql_only
def test_postgresql_runs_at_read_committed(db: Database) -> None:
    # The quota rules assume it: a conditional UPDATE re-checks the row a competitor committed.
    with db.engine.connect() as connection:
        assert connection.execute(text("SHOW transaction_isolation")).scalar() == "read committed"
        assert connection.dialect.driver == "psycopg"


# --- what the schema guarantees ------------------------------------------------------------------


def test_times_are_stored_and_read_as_aware_utc(db: Database, reseller_id: str) -> None:
    moment = datetime(2031, 5, 6, 7, 8, 9, 123000, tzinfo=timezone(timedelta(hours=2)))
    with db.session(write=True) as session:
        session.execute(update(Account).where(Account.id == reseller_id).values(created_at=moment))
        session.commit()
    with db.session() as session:
        stored = session.scalars(select(Account.created_at).where(Account.id == reseller_id)).one()
        earlier = session.scalars(
            select(Account.id).where(Account.created_at < datetime(2031, 5, 6, 5, 9, tzinfo=UTC))
        ).all()
    assert stored == moment
    assert stored.tzinfo == UTC
    assert reseller_id in earlier  # 07:08 at +02:00 is before 05:09 UTC


@pytest.mark.parametrize(("lpu_used", "sensor_used"), [(2, 0), (-1, 0), (0, 2), (0, -1)])
def test_quota_counters_cannot_leave_their_bounds(
    db: Database, reseller_id: str, lpu_used: int, sensor_used: int
) -> None:
    out_of_bounds = (
        update(Grant)
        .where(Grant.grantee_id == reseller_id)
        .values(lpu_used=lpu_used, sensor_used=sensor_used)
    )
    with db.session(write=True) as session, pytest.raises(IntegrityError):
        session.execute(out_of_bounds)
    pool = pool_of(db, reseller_id)
    assert (pool.lpu_used, pool.sensor_used) == (0, 0)


def test_references_to_missing_rows_are_refused(db: Database, reseller_id: str) -> None:
    orphan = Grant(
        grantor_id=reseller_id,
        grantee_id="no-such-account",
        parent_grant_id=pool_of(db, reseller_id).id,
        supported_sensors=["ouster-os1-64"],
        lpu_total=0,
        sensor_total=0,
    )
    with db.session(write=True) as session:
        session.add(orphan)
        with pytest.raises(IntegrityError):
            session.flush()


def test_a_license_name_is_taken_once_per_tenant(db: Database, reseller_id: str) -> None:
    def license_(name: str) -> License:
        return License(
            name=name,
            name_key=name.casefold(),
            tenant_id=reseller_id,
            owner_id=reseller_id,
            sensor_models=["ouster-os1-64"],
            sensor_count=1,
        )

    with db.session(write=True) as session:
        session.add(license_("Rover"))
        session.commit()
        session.add(license_("ROVER"))
        with pytest.raises(IntegrityError):
            session.commit()


# --- the spend under contention ------------------------------------------------------------------


@pytest.mark.postgresql_only
def test_a_spend_waits_for_a_competing_one_then_sees_nothing_is_left(
    db: Database, reseller_id: str
) -> None:
    """Two transactions take the last unit; the second blocks on the row, then re-checks it.

    A read-then-write spend would let both succeed here (READ COMMITTED reads the old row);
    the conditional UPDATE makes the second find the unit gone.
    """
    need = quota.Need(sensors=[], gpu_preset=False, lpu=1, sensor_units=1)
    fields = quota.Fields(sensors="s", gpu_preset="g", lpu="lpu", sensor_units="sensors")
    first = db.session(write=True)
    quota.spend(first, quota.received_grants(first, reseller_id), need, fields)  # not committed
    second_pid: list[int] = []
    outcome: list[str] = []

    def second() -> None:
        with db.session(write=True) as session:
            second_pid.append(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
            try:
                quota.spend(session, quota.received_grants(session, reseller_id), need, fields)
            except QuotaExceededError:
                outcome.append("refused")
            else:
                session.commit()
                outcome.append("spent")

    thread = threading.Thread(target=second)
    thread.start()
    try:
        wait_until_blocked_on_a_lock(db, second_pid)
    finally:
        first.commit()
        first.close()
        thread.join(30)
    assert outcome == ["refused"]
    assert pool_of(db, reseller_id).lpu_used == 1


def wait_until_blocked_on_a_lock(db: Database, pids: list[int], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with db.engine.connect() as observer:
        while True:
            if pids:
                waiting = observer.execute(
                    text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": pids[0]},
                ).scalar()
                observer.rollback()  # a fresh snapshot of pg_stat_activity each time
                if waiting == "Lock":
                    return
            assert time.monotonic() < deadline, "the second spend never waited for the first"
            time.sleep(0.02)
