"""Grants: handing part of one's pool to a sub-user, and reclaiming what is unused."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from srportal_desktop.api import schema
from srportal_desktop.api.schema import FieldError, Role, SubUserStatus
from srportal_desktop.server.errors import (
    ForbiddenError,
    InvalidStateError,
    NotFoundError,
    QuotaExceededError,
    ValidationFailedError,
)
from srportal_desktop.server.models import Account, Grant, utcnow
from srportal_desktop.server.services import audit, catalog, pagination, quota, tree, views

GRANT_FIELDS = quota.Fields(
    sensors="supported_sensors",
    gpu_preset="gpu_preset",
    lpu="lpu",
    sensor_units="sensors",
    grant="parent_grant_id",
)


def list_grants(
    session: Session,
    caller: Account,
    *,
    grantee_id: str | None,
    cursor: str | None,
    limit: int | None,
) -> schema.Page[schema.Grant]:
    size = pagination.check_limit(limit)
    query = select(Grant).where(tree.in_view(Grant.grantee_id, caller))
    if grantee_id is not None:
        _visible_grantee(session, caller, grantee_id)
        query = query.where(Grant.grantee_id == grantee_id)
    rows = session.scalars(pagination.keyset(query, Grant.created_at, Grant.id, cursor, size)).all()
    items, next_cursor = pagination.page(rows, size)
    return schema.Page[schema.Grant](items=[views.grant(g) for g in items], next_cursor=next_cursor)


def create_grant(session: Session, caller: Account, request: schema.GrantCreate) -> schema.Grant:
    """Quota from one of the caller's grants to a sub-user; flushed, the caller commits."""
    tree.require_manager(caller, "grant quota")
    sensors = catalog.checked_ids(request.supported_sensors, "supported_sensors")
    _require_some(request.lpu, request.sensors, "Grant at least one LPU or sensor license.")
    grantee = _visible_grantee(session, caller, request.grantee_id)
    if grantee.parent_id != caller.id:
        raise ValidationFailedError.on_field(
            "grantee_id", "Quota can be granted to your own sub-users only."
        )
    if grantee.status == SubUserStatus.DISABLED:
        raise InvalidStateError.on_field(
            "grantee_id",
            f"{grantee.label} is disabled.",
            f"{grantee.label} is disabled; enable the sub-user before granting quota.",
        )

    parent: Grant | None = None
    if caller.role != Role.VENDOR_ADMIN:  # the vendor is where quota comes from
        need = quota.Need(
            sensors=sensors,
            gpu_preset=request.gpu_preset,
            lpu=request.lpu,
            sensor_units=request.sensors,
        )
        options = quota.candidates(
            session, caller.id, need, GRANT_FIELDS, grant_id=request.parent_grant_id
        )
        parent = quota.spend(session, options, need, GRANT_FIELDS)

    grant = Grant(
        grantor_id=caller.id,
        grantee_id=grantee.id,
        parent_grant_id=parent.id if parent else None,
        supported_sensors=sensors,
        gpu_preset=request.gpu_preset,
        lpu_total=request.lpu,
        lpu_used=0,
        sensor_total=request.sensors,
        sensor_used=0,
        created_at=utcnow(),
    )
    session.add(grant)
    session.flush()
    audit.record(
        session,
        actor_id=caller.id,
        action="grant.created",
        target_kind="grant",
        target_id=grant.id,
        details={
            "grantee_id": grantee.id,
            "parent_grant_id": grant.parent_grant_id,
            "lpu": request.lpu,
            "sensors": request.sensors,
            "supported_sensors": sensors,
            "gpu_preset": request.gpu_preset,
        },
    )
    return views.grant(grant)


def reclaim(
    session: Session, caller: Account, grant_id: str, request: schema.ReclaimRequest
) -> schema.Grant:
    tree.require_manager(caller, "reclaim quota")
    grant = session.scalar(
        select(Grant).where(Grant.id == grant_id, tree.in_view(Grant.grantee_id, caller))
    )
    if grant is None:
        raise NotFoundError("No such grant.")
    if grant.grantor_id != caller.id:
        raise ForbiddenError("Only the account that granted this quota can reclaim it.")
    _require_some(request.lpu, request.sensors, "Reclaim at least one LPU or sensor license.")

    if not quota.shrink(session, grant.id, request.lpu, request.sensors):
        session.refresh(grant)
        lpu_left = grant.lpu_total - grant.lpu_used
        sensors_left = grant.sensor_total - grant.sensor_used
        errors = []
        if request.lpu > lpu_left:
            errors.append(FieldError(field="lpu", message=f"Only {lpu_left} are unused."))
        if request.sensors > sensors_left:
            errors.append(FieldError(field="sensors", message=f"Only {sensors_left} are unused."))
        raise QuotaExceededError(
            f"Only the unused part of a grant can be reclaimed: {lpu_left} LPU and "
            f"{sensors_left} sensor licenses of this grant are unused.",
            errors=errors,
        )
    if grant.parent_grant_id is not None:
        quota.give_back(session, grant.parent_grant_id, request.lpu, request.sensors)
    audit.record(
        session,
        actor_id=caller.id,
        action="grant.reclaimed",
        target_kind="grant",
        target_id=grant.id,
        details={
            "lpu": request.lpu,
            "sensors": request.sensors,
            "returned_to": grant.parent_grant_id,
        },
    )
    session.commit()
    session.refresh(grant)
    return views.grant(grant)


def _visible_grantee(session: Session, caller: Account, grantee_id: str) -> Account:
    try:
        return tree.visible_account(session, caller, grantee_id)
    except NotFoundError:
        raise NotFoundError.on_field("grantee_id", "No such sub-user.") from None


def _require_some(lpu: int, sensors: int, detail: str) -> None:
    if lpu == 0 and sensors == 0:
        message = "LPU and sensor counts cannot both be 0."
        raise ValidationFailedError(
            detail,
            errors=[
                FieldError(field="lpu", message=message),
                FieldError(field="sensors", message=message),
            ],
        )
