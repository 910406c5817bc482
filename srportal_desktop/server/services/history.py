"""Account history: the audit events whose target is an account, oldest first."""

from __future__ import annotations

from sqlalchemy.orm import Session

from srportal_desktop.api import schema
from srportal_desktop.server.models import Account
from srportal_desktop.server.services import audit, views


def own_account(session: Session, caller: Account) -> schema.History:
    """What happened to the caller's own account: created, invited, accepted, renamed ..."""
    events = audit.events_for(session, "account", caller.id)
    return schema.History(items=[views.history_entry(e) for e in events])
