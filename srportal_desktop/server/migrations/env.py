"""Alembic's entry point: migrate over the connection the caller handed in.

Only online migrations over a caller's connection are supported (see `migrations.upgrade`);
the caller owns the transaction, so one upgrade is all or nothing on both backends.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from srportal_desktop.server.migrations import COMPARE_OPTIONS
from srportal_desktop.server.models import Base


def run() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "run migrations through srportal_desktop.server.migrations (srportal-server migrate)"
        )
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite alters tables by copying them; batch mode writes revisions that do so.
        render_as_batch=connection.dialect.name == "sqlite",
        transactional_ddl=True,
        **COMPARE_OPTIONS,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
