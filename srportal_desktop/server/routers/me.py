"""`/v1/me` and `/v1/sensors`."""

from __future__ import annotations

from fastapi import APIRouter

from srportal_desktop.api import schema
from srportal_desktop.server.deps import CallerDep, SessionDep
from srportal_desktop.server.routers.common import problems
from srportal_desktop.server.services import accounts, catalog

router = APIRouter(prefix="/v1", tags=["account"])


@router.get("/me", responses=problems(401))
def me(caller: CallerDep, session: SessionDep) -> schema.Me:
    return accounts.me(session, caller)


@router.get("/sensors")
def sensors() -> list[schema.Sensor]:
    """The sensor catalog; public, it is the same for everyone."""
    return list(catalog.sensors())
