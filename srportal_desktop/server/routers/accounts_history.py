"""`/v1/me/history`: the caller's own account events."""

from __future__ import annotations

from fastapi import APIRouter

from srportal_desktop.api import schema
from srportal_desktop.server.deps import CallerDep, SessionDep
from srportal_desktop.server.routers.common import problems
from srportal_desktop.server.services import history

router = APIRouter(prefix="/v1", tags=["account"], responses=problems(401))


@router.get("/me/history")
def my_history(caller: CallerDep, session: SessionDep) -> schema.History:
    return history.own_account(session, caller)
