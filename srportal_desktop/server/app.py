"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from srportal_desktop import __version__
from srportal_desktop.server.db import Database
from srportal_desktop.server.deps import ServerContext
from srportal_desktop.server.email import Mailer, mailer_from_settings
from srportal_desktop.server.errors import install_problem_handlers
from srportal_desktop.server.routers import auth, grants, health, licenses, me, sub_users
from srportal_desktop.server.settings import ServerSettings


def create_app(settings: ServerSettings | None = None, *, mailer: Mailer | None = None) -> FastAPI:
    """A ready portal API on the configured database (tables are created if missing)."""
    settings = settings or ServerSettings()
    db = Database(settings.database_url)
    db.create_all()
    context = ServerContext(
        settings=settings, db=db, mailer=mailer or mailer_from_settings(settings)
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        db.dispose()

    app = FastAPI(
        title="SR License Portal API",
        version=__version__,
        description="Sub-users, quota grants and SENSR licenses for resellers (v1).",
        lifespan=lifespan,
    )
    app.state.context = context
    install_problem_handlers(app)
    for module in (auth, me, sub_users, grants, licenses, health):
        app.include_router(module.router)
    return app
