"""FastAPI dependencies: the per-app context, a session per request, the signed-in caller."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from srportal_desktop.server.db import Database
from srportal_desktop.server.email import Mailer
from srportal_desktop.server.errors import UnauthenticatedError
from srportal_desktop.server.models import Account
from srportal_desktop.server.services import auth
from srportal_desktop.server.settings import ServerSettings

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class ServerContext:
    """What one app instance runs on; kept in `app.state.context`."""

    settings: ServerSettings
    db: Database
    mailer: Mailer


def get_context(request: Request) -> ServerContext:
    context = request.app.state.context
    assert isinstance(context, ServerContext)
    return context


def get_session(request: Request) -> Iterator[Session]:
    # Writes take SQLite's write lock at BEGIN (see Database); reads never block writers.
    session = get_context(request).db.session(write=request.method not in _READ_METHODS)
    try:
        yield session
    finally:
        session.close()


def get_settings(request: Request) -> ServerSettings:
    return get_context(request).settings


def get_mailer(request: Request) -> Mailer:
    return get_context(request).mailer


def get_client_ip(request: Request) -> str:
    # The peer address; behind a proxy, uvicorn's --proxy-headers puts the real client here.
    return request.client.host if request.client else "unknown"


_bearer = HTTPBearer(auto_error=False, description="An access token from /v1/auth/login")


def get_caller(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session: Annotated[Session, Depends(get_session)],
) -> Account:
    if credentials is None:
        raise UnauthenticatedError("Sign in first: this request needs a bearer access token.")
    return auth.authenticate(session, credentials.credentials)


SessionDep = Annotated[Session, Depends(get_session)]
IdempotencyKeyDep = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Retries with the same key return the first answer and spend only once.",
    ),
]
SettingsDep = Annotated[ServerSettings, Depends(get_settings)]
MailerDep = Annotated[Mailer, Depends(get_mailer)]
CallerDep = Annotated[Account, Depends(get_caller)]
ClientIpDep = Annotated[str, Depends(get_client_ip)]
