"""`/v1/grants`: quota handed down the tree."""

from __future__ import annotations

from fastapi import APIRouter, status

from srportal_desktop.api import schema
from srportal_desktop.server.deps import CallerDep, IdempotencyKeyDep, SessionDep, SettingsDep
from srportal_desktop.server.routers.common import problems
from srportal_desktop.server.services import grants, idempotency

router = APIRouter(prefix="/v1/grants", tags=["grants"], responses=problems(401, 403, 404, 422))


@router.get("")
def list_grants(
    caller: CallerDep,
    session: SessionDep,
    grantee_id: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> schema.Page[schema.Grant]:
    return grants.list_grants(session, caller, grantee_id=grantee_id, cursor=cursor, limit=limit)


@router.post("", status_code=status.HTTP_201_CREATED, responses=problems(409))
def create_grant(
    body: schema.GrantCreate,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyDep = None,
) -> schema.Grant:
    return idempotency.once(
        session,
        caller,
        idempotency_key,
        "create_grant",
        body,
        schema.Grant,
        lambda: grants.create_grant(session, caller, body),
        keep_for=settings.idempotency_key_ttl,
    )


@router.post("/{grant_id}/reclaim", responses=problems(409))
def reclaim(
    grant_id: str, body: schema.ReclaimRequest, caller: CallerDep, session: SessionDep
) -> schema.Grant:
    return grants.reclaim(session, caller, grant_id, body)
