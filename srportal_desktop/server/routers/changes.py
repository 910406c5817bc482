"""`/v1/changes`: delta sync of the caller's view."""

from __future__ import annotations

from fastapi import APIRouter

from srportal_desktop.api import schema
from srportal_desktop.server.deps import CallerDep, SessionDep
from srportal_desktop.server.routers.common import problems
from srportal_desktop.server.services import changes

router = APIRouter(prefix="/v1", tags=["sync"], responses=problems(401, 422))


@router.get("/changes")
def list_changes(
    caller: CallerDep,
    session: SessionDep,
    cursor: str | None = None,
    limit: int | None = None,
) -> schema.ChangeSet:
    """What changed in your view after `cursor`, oldest first; keep asking while `has_more`.

    No cursor: everything in your view. `cursor=latest`: nothing, only the cursor of now (take
    it before listing, then pull from it). Each change is `upsert` with `data` as the list/get
    endpoint of its `kind` returns it (`license`, `grant`, `sub_user`, `me`), or `remove`.
    `limit`: 1 to 1000 changes, 500 by default.
    """
    return changes.changes_since(session, caller, cursor, limit)
