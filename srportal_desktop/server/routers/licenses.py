"""`/v1/licenses`: create, list, transfer, activate, key file, deactivate, revoke, history."""

from __future__ import annotations

from fastapi import APIRouter, status

from srportal_desktop.api import schema
from srportal_desktop.api.schema import LicenseStatus
from srportal_desktop.server.deps import CallerDep, IdempotencyKeyDep, SessionDep, SettingsDep
from srportal_desktop.server.routers.common import problems
from srportal_desktop.server.routers.keys import SignerDep
from srportal_desktop.server.services import activation, idempotency, licenses

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
    settings: SettingsDep,
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
        keep_for=settings.idempotency_key_ttl,
    )


@router.post("/bulk", status_code=status.HTTP_201_CREATED, responses=problems(409))
def create_bulk(
    body: schema.BulkCreate,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
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
        keep_for=settings.idempotency_key_ttl,
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


@router.post("/{license_id}/activate", responses=problems(409))
def activate(
    license_id: str,
    body: schema.ActivateRequest,
    caller: CallerDep,
    session: SessionDep,
    signer: SignerDep,
) -> schema.Activation:
    """Bind to a machine and get the signed key file; the first activation starts the term."""
    return activation.activate(session, signer, caller, license_id, body)


@router.get("/{license_id}/key-file", responses=problems(409))
def key_file(
    license_id: str, caller: CallerDep, session: SessionDep, signer: SignerDep
) -> schema.KeyFile:
    return activation.key_file(session, signer, caller, license_id)


@router.post("/{license_id}/deactivate", responses=problems(409))
def deactivate(
    license_id: str, caller: CallerDep, session: SessionDep, settings: SettingsDep
) -> schema.License:
    """Free the machine binding for a rehost (limited per year); the term keeps running."""
    return activation.deactivate(
        session, caller, license_id, yearly_limit=settings.max_deactivations_per_year
    )


@router.post("/{license_id}/revoke", responses=problems(409))
def revoke(license_id: str, caller: CallerDep, session: SessionDep) -> schema.License:
    """End the license; a never-activated one returns its quota to its grant."""
    return activation.revoke(session, caller, license_id)
