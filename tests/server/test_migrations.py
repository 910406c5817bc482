"""The Alembic migrations are the schema: an upgraded empty database is exactly the models.

When a model changes without a migration, `test_an_upgraded_empty_database_matches_the_models`
fails and lists the differences; `python -m srportal_desktop.server.migrations revision -m ...`
writes the missing revision.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from srportal_desktop.server import migrations
from srportal_desktop.server.app import create_app
from srportal_desktop.server.db import Database
from srportal_desktop.server.models import Base
from srportal_desktop.server.settings import ServerSettings


@pytest.fixture
def empty_db(empty_database_url: str) -> Iterator[Database]:
    db = Database(empty_database_url)
    yield db
    db.dispose()


def differences(db: Database) -> list[Any]:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=migrations.COMPARE_OPTIONS)
        return list(compare_metadata(context, Base.metadata))


def tables(db: Database) -> set[str]:
    return set(inspect(db.engine).get_table_names())


def test_an_upgraded_empty_database_matches_the_models(empty_db: Database) -> None:
    assert tables(empty_db) == set()
    empty_db.migrate()
    assert differences(empty_db) == []
    assert empty_db.schema_revision() == migrations.head_revision()
    assert tables(empty_db) == set(Base.metadata.tables) | {migrations.VERSION_TABLE}


def test_downgrade_to_nothing_and_upgrade_again(empty_db: Database) -> None:
    empty_db.migrate()
    migrations.downgrade(empty_db.engine, "base")
    assert tables(empty_db) <= {migrations.VERSION_TABLE}
    assert empty_db.schema_revision() is None
    assert not empty_db.schema_is_current()
    empty_db.migrate()
    assert differences(empty_db) == []


def test_migrating_an_up_to_date_database_changes_nothing(empty_db: Database) -> None:
    empty_db.migrate()
    revision = empty_db.schema_revision()
    empty_db.migrate()
    assert empty_db.schema_revision() == revision
    assert empty_db.schema_is_current()


def test_processes_starting_together_migrate_once(empty_database_url: str) -> None:
    """Workers starting at the same moment queue on a lock; the later ones find it done."""
    racers = 4
    barrier = threading.Barrier(racers)
    failures: list[BaseException] = []

    def start() -> None:
        db = Database(empty_database_url)
        try:
            barrier.wait()
            db.migrate()
        except BaseException as exc:
            failures.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=start) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    db = Database(empty_database_url)
    try:
        assert db.schema_is_current()
        assert differences(db) == []
    finally:
        db.dispose()


def test_the_app_factory_migrates_a_fresh_database(
    empty_database_url: str, empty_db: Database
) -> None:
    app = create_app(ServerSettings(database_url=empty_database_url))
    app.state.context.db.dispose()
    assert empty_db.schema_is_current()


@pytest.mark.sqlite_only
def test_tables_made_without_migrations_are_refused_with_a_reason(empty_db: Database) -> None:
    Base.metadata.create_all(empty_db.engine)
    with pytest.raises(migrations.UnmanagedSchemaError, match="no migration history"):
        empty_db.migrate()


def test_the_revisions_form_one_line_from_the_initial_one() -> None:
    scripts = ScriptDirectory.from_config(migrations.alembic_config())
    assert scripts.get_heads() == [migrations.head_revision()]
    history = list(scripts.walk_revisions())
    assert history[-1].down_revision is None
    assert [s.revision for s in history][-1] == "0001"
    for script in history:
        assert script.module.__file__ is not None
        assert script.module.__file__.startswith(str(migrations.SCRIPT_LOCATION))
