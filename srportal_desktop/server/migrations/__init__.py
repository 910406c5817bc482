"""The database schema as Alembic revisions, driven from code.

The configuration is built here rather than read from an alembic.ini, so `srportal-server
migrate` works the same from a source tree and from an installed wheel. Revisions live in
`versions/`; `python -m srportal_desktop.server.migrations revision -m "..."` writes new ones.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from srportal_desktop.server.models import UTCDateTime

SCRIPT_LOCATION = Path(__file__).resolve().parent
# Revision files are named r<id>_<slug>.py: a module name must not start with a digit.
FILE_TEMPLATE = "r%%(rev)s_%%(slug)s"
VERSION_TABLE = "alembic_version"

log = logging.getLogger(__name__)
# Any constant shared by every migrating process; it names the PostgreSQL advisory lock.
_PG_LOCK_KEY = 0x5352504F  # "SRPO"


def render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Autogenerate's spelling of a type; revisions must not import the models (they change)."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


# How autogenerate compares the models with a database and writes what differs.
COMPARE_OPTIONS: dict[str, Any] = {"compare_type": True, "render_item": render_item}


class UnmanagedSchemaError(RuntimeError):
    """The database has the portal's tables but no migration history to upgrade from."""


def alembic_config(connection: Connection | None = None) -> Config:
    """The Alembic configuration; `env.py` migrates over `connection` when one is given."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("file_template", FILE_TEMPLATE)
    config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations in {SCRIPT_LOCATION / 'versions'}")
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the schema is at, None for an empty database.

    Read directly rather than through Alembic's MigrationContext: every app start and every
    readiness probe asks, and setting up a context costs more than the query.
    """
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    versions = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
    found = list(versions)
    if len(found) > 1:
        raise RuntimeError(f"the database is at several revisions at once: {found}")
    return found[0] if found else None


def is_current(engine: Engine) -> bool:
    with engine.connect() as connection:
        return current_revision(connection) == head_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` in one transaction; a no-op when it is there already.

    Processes starting together (server workers) queue on a lock: PostgreSQL's advisory lock,
    SQLite's write lock (pass an engine whose transactions begin IMMEDIATE). The one that comes
    second finds the work done.
    """
    if revision == "head" and is_current(engine):
        return
    with engine.begin() as connection:
        _lock(connection)
        _refuse_unmanaged(connection)
        before = current_revision(connection)
        command.upgrade(alembic_config(connection), revision)
        after = current_revision(connection)
    if before != after:
        log.info("database schema upgraded from %s to %s", before or "empty", after)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        _lock(connection)
        command.downgrade(alembic_config(connection), revision)


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})


def _refuse_unmanaged(connection: Connection) -> None:
    tables = set(inspect(connection).get_table_names())
    if VERSION_TABLE not in tables and "accounts" in tables:
        raise UnmanagedSchemaError(
            "the database has portal tables but no migration history "
            f"(no {VERSION_TABLE} table); it was made by an older build: recreate it"
        )
