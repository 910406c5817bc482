"""Licenses: create (one or in bulk), list, look up, transfer, history.

Activation, key files, deactivation and revocation are in `activation`.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from srportal_desktop.api import schema
from srportal_desktop.api.schema import FieldError, LicenseStatus, Role, SubUserStatus
from srportal_desktop.server.errors import (
    InvalidStateError,
    NameTakenError,
    NotFoundError,
    ValidationFailedError,
)
from srportal_desktop.server.models import Account, License, utcnow
from srportal_desktop.server.services import (
    audit,
    catalog,
    license_status,
    pagination,
    quota,
    tree,
    views,
)

MAX_NAMES_IN_MESSAGE = 10


def name_key(name: str) -> str:
    """What makes two names the same: Unicode-normalised, case-folded."""
    return unicodedata.normalize("NFKC", name).casefold()


# --- reading ---------------------------------------------------------------------------------


def list_licenses(
    session: Session,
    caller: Account,
    *,
    owner_id: str | None = None,
    q: str | None = None,
    status: LicenseStatus | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> schema.Page[schema.License]:
    size = pagination.check_limit(limit)
    query = select(License).where(_in_view(caller))
    if owner_id is not None:
        try:
            tree.visible_account(session, caller, owner_id)
        except NotFoundError:
            raise NotFoundError.on_field("owner_id", "No such account.") from None
        query = query.where(License.owner_id == owner_id)
    if q:
        query = query.where(License.name_key.contains(name_key(q.strip()), autoescape=True))
    if status is not None:
        # The status as of now (expiry is computed); the keyset order is untouched by it.
        query = query.where(license_status.condition(status, utcnow()))
    rows = session.scalars(
        pagination.keyset(query, License.created_at, License.id, cursor, size)
    ).all()
    items, next_cursor = pagination.page(rows, size)
    return schema.Page[schema.License](
        items=[views.license_(row) for row in items], next_cursor=next_cursor
    )


def get_license(session: Session, caller: Account, license_id: str) -> schema.License:
    return views.license_(visible_license(session, caller, license_id))


def history(session: Session, caller: Account, license_id: str) -> schema.History:
    """Everything done to the license, oldest first: created, transferred, activated ..."""
    row = visible_license(session, caller, license_id)
    events = audit.events_for(session, "license", row.id)
    entries = [views.history_entry(e) for e in events]
    if caller.role == Role.SUB_USER:
        entries = [_seen_by_sub_user(entry, caller) for entry in entries]
    return schema.History(items=entries)


def _seen_by_sub_user(entry: schema.HistoryEntry, caller: Account) -> schema.HistoryEntry:
    """A sub-user sees who did what only for itself and its reseller, never other customers
    (a license may have passed through other sub-users before it arrived)."""
    known = {caller.id, caller.parent_id}
    details = dict(entry.details)
    if details.get("owner_id") not in (None, caller.id):
        details.pop("grant_id", None)  # the earlier owner's grant, not this sub-user's
    for key in [k for k in details if k.endswith("owner_id")]:
        if details[key] not in known:
            del details[key]
            label = key.removesuffix("_id")
            if label in details:
                details[label] = "another account"
    actor_id = entry.actor_id if entry.actor_id in known else None
    return entry.model_copy(update={"details": details, "actor_id": actor_id})


# --- creating ----------------------------------------------------------------------------------


def create_license(
    session: Session, caller: Account, request: schema.LicenseCreate
) -> schema.License:
    """One license from a grant of the caller's; flushed, the caller commits (see idempotency)."""
    fields = quota.Fields(
        sensors="sensor_models", gpu_preset="gpu_preset", lpu=None, sensor_units="sensor_count"
    )
    created = _create(session, caller, request, [request.name], fields, name_field="name")
    return created[0]


def create_bulk(session: Session, caller: Account, request: schema.BulkCreate) -> schema.BulkResult:
    """`copies` licenses named `[Name]_1 … [Name]_N`, all in one transaction or none; flushed,
    the caller commits."""
    fields = quota.Fields(
        sensors="template.sensor_models",
        gpu_preset="template.gpu_preset",
        lpu="copies",
        sensor_units="template.sensor_count",
        grant="template.grant_id",
    )
    names = schema.bulk_names(request.template.name, request.copies)
    items = _create(session, caller, request.template, names, fields, name_field="template.name")
    return schema.BulkResult(items=items)


def _create(
    session: Session,
    caller: Account,
    template: schema.LicenseCreate | schema.LicenseTemplate,
    names: Sequence[str],
    fields: quota.Fields,
    *,
    name_field: str,
) -> list[schema.License]:
    sensors = catalog.checked_ids(template.sensor_models, fields.sensors)
    need = quota.Need(
        sensors=sensors,
        gpu_preset=template.gpu_preset,
        lpu=len(names),
        sensor_units=len(names) * template.sensor_count,
    )
    options = quota.candidates(session, caller.id, need, fields, grant_id=template.grant_id)
    _refuse_taken(_taken_names(session, caller.tenant_id, names), name_field)
    grant = quota.spend(session, options, need, fields)

    now = utcnow()
    # Sorted ids keep a bulk's licenses in name order within their shared timestamp, which is
    # the list order (created_at, id).
    ids = sorted(str(uuid.uuid4()) for _ in names)
    rows = [
        License(
            id=license_id,
            name=name,
            name_key=name_key(name),
            tenant_id=caller.tenant_id,
            owner_id=caller.id,
            grant_id=grant.id,
            sensor_models=sensors,
            sensor_count=template.sensor_count,
            gpu_preset=template.gpu_preset,
            notes=template.notes,
            status=LicenseStatus.NOT_ACTIVATED.value,
            machine_id=None,
            issued_at=now,
            activated_at=None,
            expires_at=None,
            created_at=now,
            deactivation_count=0,
        )
        for license_id, name in zip(ids, names, strict=True)
    ]
    session.add_all(rows)
    bulk = {"bulk_copies": len(names)} if len(names) > 1 else {}
    for row in rows:
        audit.record(
            session,
            actor_id=caller.id,
            action="license.created",
            target_kind="license",
            target_id=row.id,
            details={"name": row.name, "owner_id": caller.id, "grant_id": grant.id, **bulk},
        )
    try:
        session.flush()
    except IntegrityError:
        # Another request took a name between our check and our insert: nothing is kept.
        session.rollback()
        _refuse_taken(_taken_names(session, caller.tenant_id, names), name_field)
        raise
    return [views.license_(row) for row in rows]


def _taken_names(session: Session, tenant_id: str, names: Sequence[str]) -> list[str]:
    """Which of `names` already exist in the tenant (case-insensitively), in request order."""
    keys = {name_key(n): n for n in names}
    existing = set(
        session.scalars(
            select(License.name_key).where(
                License.tenant_id == tenant_id, License.name_key.in_(list(keys))
            )
        )
    )
    return [name for key, name in keys.items() if key in existing]


def _refuse_taken(taken: Sequence[str], field: str) -> None:
    if not taken:
        return
    shown = ", ".join(taken[:MAX_NAMES_IN_MESSAGE])
    more = (
        f" and {len(taken) - MAX_NAMES_IN_MESSAGE} more"
        if len(taken) > MAX_NAMES_IN_MESSAGE
        else ""
    )
    if len(taken) == 1:
        detail = f"The name {shown} is already used by another license; choose another."
    else:
        detail = f"These names are already used by other licenses: {shown}{more}. None was created."
    raise NameTakenError(
        detail, errors=[FieldError(field=field, message=f"Already in use: {shown}{more}.")]
    )


# --- transfer --------------------------------------------------------------------------------


def transfer(
    session: Session, caller: Account, license_id: str, request: schema.TransferRequest
) -> schema.License:
    tree.require_manager(caller, "transfer licenses")
    row = visible_license(session, caller, license_id, for_update=True)
    target_id = request.to_sub_user_id
    if target_id == row.owner_id:
        raise InvalidStateError.on_field(
            "to_sub_user_id",
            "This license already belongs to this account.",
            f"{row.name} already belongs to this account.",
        )
    if target_id == caller.id:
        raise ValidationFailedError.on_field(
            "to_sub_user_id", "Licenses can be transferred to your sub-users only."
        )
    try:
        target = tree.managed_account(session, caller, target_id, "sub-user")
    except NotFoundError:
        raise NotFoundError.on_field("to_sub_user_id", "No such sub-user.") from None
    if target.status == SubUserStatus.DISABLED:
        raise InvalidStateError.on_field(
            "to_sub_user_id",
            f"{target.label} is disabled.",
            f"{target.label} is disabled and cannot receive licenses.",
        )
    if target.tenant_id != row.tenant_id:
        # Names are unique per reseller tree and quota came from it: a license never leaves it.
        raise InvalidStateError.on_field(
            "to_sub_user_id",
            f"{target.label} belongs to another reseller.",
            f"{row.name} can only move within its reseller's tree; "
            f"{target.label} belongs to another reseller.",
        )

    previous = session.get(Account, row.owner_id)
    audit.record(
        session,
        actor_id=caller.id,
        action="license.transferred",
        target_kind="license",
        target_id=row.id,
        details={
            "from_owner_id": row.owner_id,
            "from_owner": previous.label if previous else None,
            "to_owner_id": target.id,
            "to_owner": target.label,
        },
    )
    row.owner_id = target.id
    session.commit()
    return views.license_(row)


# --- scope -------------------------------------------------------------------------------------


def _in_view(caller: Account) -> ColumnElement[bool]:
    if caller.role == Role.RESELLER and caller.tenant_id == caller.id:
        # A reseller's tenant is exactly its subtree: the tenant index answers directly.
        return License.tenant_id == caller.id
    return tree.in_view(License.owner_id, caller)


def visible_license(
    session: Session, caller: Account, license_id: str, *, for_update: bool = False
) -> License:
    """The license if the caller may see it; `for_update` locks its row until commit."""
    query = select(License).where(License.id == license_id, _in_view(caller))
    if for_update:
        # PostgreSQL locks the row; SQLite write transactions are already exclusive.
        query = query.with_for_update(of=License)
    row = session.scalar(query)
    if row is None:
        raise NotFoundError("No such license.")
    return row
