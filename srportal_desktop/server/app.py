"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from srportal_desktop import __version__
from srportal_desktop.server.body_limit import BodyLimitMiddleware
from srportal_desktop.server.db import Database
from srportal_desktop.server.deps import ServerContext
from srportal_desktop.server.email import Mailer, mailer_from_settings
from srportal_desktop.server.errors import install_problem_handlers
from srportal_desktop.server.logging_config import RequestLogMiddleware
from srportal_desktop.server.routers import auth, grants, health, licenses, me, sub_users
from srportal_desktop.server.routers.accounts_history import router as history_router
from srportal_desktop.server.routers.changes import router as changes_router
from srportal_desktop.server.routers.invite_page import router as invite_page_router
from srportal_desktop.server.routers.keys import router as keys_router
from srportal_desktop.server.settings import ServerSettings
from srportal_desktop.server.signing import load_signer


def create_app(settings: ServerSettings | None = None, *, mailer: Mailer | None = None) -> FastAPI:
    """A ready portal API on the configured database (migrated to the newest schema first)."""
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
    app.state.signer = load_signer(settings)  # found or created now, before any request
    install_problem_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_body_bytes)
    app.add_middleware(RequestLogMiddleware)  # outermost: it sees every answer, 413s included
    for module in (auth, me, sub_users, grants, licenses, health):
        app.include_router(module.router)
    app.include_router(keys_router)
    app.include_router(history_router)
    app.include_router(changes_router)
    app.include_router(invite_page_router)
    return app
