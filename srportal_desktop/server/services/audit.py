"""The audit log: every change records actor, action, target, details and time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from srportal_desktop.server.models import AuditEvent, utcnow
from srportal_desktop.server.services import change_feed


def record(
    session: Session,
    *,
    actor_id: str | None,
    action: str,
    target_kind: str,
    target_id: str,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an event to the current transaction: it commits or rolls back with the change."""
    event = AuditEvent(
        at=utcnow(),
        actor_id=actor_id,
        action=action,
        target_kind=target_kind,
        target_id=target_id,
        details=details or {},
    )
    session.add(event)
    # Every change passes here, so this is where it also enters the delta-sync feed.
    change_feed.mark(session, target_kind, target_id)
    return event


def events_for(session: Session, target_kind: str, target_id: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.target_kind == target_kind, AuditEvent.target_id == target_id)
            .order_by(AuditEvent.id)
        )
    )
