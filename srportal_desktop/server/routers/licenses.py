"""`/v1/licenses`: create, bulk-create, list, look up, transfer, history."""

from __future__ import annotations

from fastapi import APIRouter, status

from srportal_desktop.api import schema
from srportal_desktop.api.schema import LicenseStatus
from srportal_desktop.server.deps import CallerDep, IdempotencyKeyDep, SessionDep
from srportal_desktop.server.routers.common import problems
from srportal_desktop.server.services import idempotency, licenses

router = APIRouter(prefix="/v1/licenses", tags=["licenses"], responses=problems(401, 403, 404, 422))


@router.get("")
def list_licenses(
    caller: CallerDep,
    session: SessionDep,
    owner_id: str | None = None,
    q: str | None = None,
    status: LicenseStatus | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> schema.Page[schema.License]:
    return licenses.list_licenses(
        session, caller, owner_id=owner_id, q=q, status=status, cursor=cursor, limit=limit
    )


@router.post("", status_code=status.HTTP_201_CREATED, responses=problems(409))
def create_license(
    body: schema.LicenseCreate,
    caller: CallerDep,
    session: SessionDep,
    idempotency_key: IdempotencyKeyDep = None,
) -> schema.License:
    return idempotency.once(
        session,
        caller,
        idempotency_key,
        "create_license",
        body,
        schema.License,
        lambda: licenses.create_license(session, caller, body),
    )


@router.post("/bulk", status_code=status.HTTP_201_CREATED, responses=problems(409))
def create_bulk(
    body: schema.BulkCreate,
    caller: CallerDep,
    session: SessionDep,
    idempotency_key: IdempotencyKeyDep = None,
) -> schema.BulkResult:
    return idempotency.once(
        session,
        caller,
        idempotency_key,
        "create_bulk",
        body,
        schema.BulkResult,
        lambda: licenses.create_bulk(session, caller, body),
    )


@router.get("/{license_id}")
def get_license(license_id: str, caller: CallerDep, session: SessionDep) -> schema.License:
    return licenses.get_license(session, caller, license_id)


@router.post("/{license_id}/transfer", responses=problems(409))
def transfer(
    license_id: str, body: schema.TransferRequest, caller: CallerDep, session: SessionDep
) -> schema.License:
    return licenses.transfer(session, caller, license_id, body)


@router.get("/{license_id}/history")
def history(license_id: str, caller: CallerDep, session: SessionDep) -> schema.History:
    return licenses.history(session, caller, license_id)
