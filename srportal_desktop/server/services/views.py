"""Database rows → wire models. No rules here, only shape."""

from __future__ import annotations

from collections.abc import Iterable

from srportal_desktop.api import schema
from srportal_desktop.server.models import Account, AuditEvent, Grant, License
from srportal_desktop.server.services import catalog, license_status


def pool(grants: Iterable[Grant]) -> schema.Pool:
    """The quota summed over the grants an account received."""
    grants = list(grants)
    lpu_total = sum(g.lpu_total for g in grants)
    lpu_used = sum(g.lpu_used for g in grants)
    sensor_total = sum(g.sensor_total for g in grants)
    sensor_used = sum(g.sensor_used for g in grants)
    return schema.Pool(
        lpu_total=lpu_total,
        lpu_used=lpu_used,
        lpu_available=lpu_total - lpu_used,
        sensor_total=sensor_total,
        sensor_used=sensor_used,
        sensor_available=sensor_total - sensor_used,
        supported_sensors=catalog.in_catalog_order(s for g in grants for s in g.supported_sensors),
        gpu_preset=any(g.gpu_preset for g in grants),
    )


def me(account: Account, grants: Iterable[Grant]) -> schema.Me:
    return schema.Me(
        id=account.id,
        email=account.email,
        display_name=account.display_name,
        role=schema.Role(account.role),
        parent_id=account.parent_id,
        pool=pool(grants),
    )


def sub_user(
    account: Account, grants: Iterable[Grant], *, invite_email_sent: bool | None = None
) -> schema.SubUser:
    return schema.SubUser(
        id=account.id,
        email=account.email,
        display_name=account.display_name,
        status=schema.SubUserStatus(account.status),
        created_at=account.created_at,
        pool=pool(grants),
        invite_email_sent=invite_email_sent,
    )


def grant(row: Grant) -> schema.Grant:
    return schema.Grant(
        id=row.id,
        grantor_id=row.grantor_id,
        grantee_id=row.grantee_id,
        supported_sensors=list(row.supported_sensors),
        gpu_preset=row.gpu_preset,
        lpu_total=row.lpu_total,
        lpu_used=row.lpu_used,
        sensor_total=row.sensor_total,
        sensor_used=row.sensor_used,
        created_at=row.created_at,
        parent_grant_id=row.parent_grant_id,
    )


def license_(row: License) -> schema.License:
    return schema.License(
        id=row.id,
        name=row.name,
        owner_id=row.owner_id,
        sensor_models=list(row.sensor_models),
        sensor_count=row.sensor_count,
        gpu_preset=row.gpu_preset,
        notes=row.notes,
        status=license_status.effective(row),  # expiry is computed at read time
        machine_id=row.machine_id,
        issued_at=row.issued_at,
        activated_at=row.activated_at,
        expires_at=row.expires_at,
        grant_id=row.grant_id,
        deactivation_count=row.deactivation_count,
        revoked_at=row.revoked_at,
    )


def history_entry(event: AuditEvent) -> schema.HistoryEntry:
    return schema.HistoryEntry(
        at=event.at, actor_id=event.actor_id, action=event.action, details=dict(event.details)
    )
