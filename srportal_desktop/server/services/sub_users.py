"""Sub-users: invite by email, list, rename, enable/disable, resend the invitation.

Mail goes out only after the database commit, so a message never announces an account that was
rolled back. If sending fails, the sub-user stays (status `invited`, audited as
`invite.email_failed`) and the answer says `invite_email_sent: false`: nothing is half-done, and
"resend invite" is the way to try again. A failed resend answers 503 `mail_unavailable`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from srportal_desktop.api import schema
from srportal_desktop.api.schema import SubUserStatus
from srportal_desktop.server.email import Mailer, invite_message
from srportal_desktop.server.errors import (
    InvalidStateError,
    MailUnavailableError,
    ValidationFailedError,
)
from srportal_desktop.server.models import Account, Grant, InviteToken
from srportal_desktop.server.services import accounts, audit, auth, pagination, sql, tree, views
from srportal_desktop.server.settings import ServerSettings

log = logging.getLogger(__name__)


def list_sub_users(
    session: Session, caller: Account, *, cursor: str | None, limit: int | None
) -> schema.Page[schema.SubUser]:
    tree.require_manager(caller, "manage sub-users")
    size = pagination.check_limit(limit)
    rows = session.scalars(
        pagination.keyset(
            select(Account).where(Account.parent_id == caller.id),
            Account.created_at,
            Account.id,
            cursor,
            size,
        )
    ).all()
    items, next_cursor = pagination.page(rows, size)
    return schema.Page[schema.SubUser](items=_with_pools(session, items), next_cursor=next_cursor)


def get_sub_user(session: Session, caller: Account, sub_user_id: str) -> schema.SubUser:
    tree.require_manager(caller, "manage sub-users")
    account = tree.managed_account(session, caller, sub_user_id, "sub-user")
    return _with_pools(session, [account])[0]


def history(session: Session, caller: Account, sub_user_id: str) -> schema.History:
    """What happened to the sub-user's account: invited, accepted, renamed, disabled ..."""
    tree.require_manager(caller, "manage sub-users")
    account = tree.managed_account(session, caller, sub_user_id, "sub-user")
    events = audit.events_for(session, "account", account.id)
    return schema.History(items=[views.history_entry(e) for e in events])


def create_sub_user(
    session: Session,
    settings: ServerSettings,
    mailer: Mailer,
    caller: Account,
    request: schema.SubUserCreate,
) -> schema.SubUser:
    tree.require_manager(caller, "add sub-users")
    account = accounts.add_account(
        session,
        email=str(request.email),
        role=tree.child_role(caller),
        parent=caller,
        status=SubUserStatus.INVITED,
        display_name=request.display_name,
        tenant_id=tree.tenant_of_child(caller),
    )
    token, invite = auth.new_invite(session, settings, account.id)
    audit.record(
        session,
        actor_id=caller.id,
        action="sub_user.invited",
        target_kind="account",
        target_id=account.id,
        details={"email": account.email, "display_name": account.display_name},
    )
    session.commit()

    sent = _send_invite(session, settings, mailer, caller, account, token, invite.expires_at)
    return _with_pools(session, [account], invite_email_sent=sent)[0]


def resend_invite(
    session: Session,
    settings: ServerSettings,
    mailer: Mailer,
    caller: Account,
    sub_user_id: str,
) -> schema.SubUser:
    tree.require_manager(caller, "manage sub-users")
    account = tree.managed_account(session, caller, sub_user_id, "sub-user")
    if account.status != SubUserStatus.INVITED:
        raise InvalidStateError(
            f"{account.label} has already accepted the invitation."
            if account.status == SubUserStatus.ACTIVE
            else f"{account.label} is disabled; enable the sub-user before inviting again."
        )
    token, invite = auth.new_invite(session, settings, account.id)
    audit.record(
        session,
        actor_id=caller.id,
        action="invite.resent",
        target_kind="account",
        target_id=account.id,
    )
    session.commit()

    if not _send_invite(session, settings, mailer, caller, account, token, invite.expires_at):
        raise MailUnavailableError(
            f"The invitation email to {account.email} could not be sent. Try again later."
        )
    # Only once the new code is on its way do the older ones stop working.
    sql.run(
        session,
        update(InviteToken)
        .where(
            InviteToken.account_id == account.id,
            InviteToken.id != invite.id,
            InviteToken.used_at.is_(None),
        )
        .values(revoked=True),
    )
    session.commit()
    return _with_pools(session, [account], invite_email_sent=True)[0]


def patch_sub_user(
    session: Session, caller: Account, sub_user_id: str, request: schema.SubUserPatch
) -> schema.SubUser:
    tree.require_manager(caller, "manage sub-users")
    account = tree.managed_account(session, caller, sub_user_id, "sub-user")
    changes: dict[str, object] = {}

    if request.display_name is not None:
        name = request.display_name.strip()
        if name != account.display_name:
            changes["display_name"] = [account.display_name, name]
            account.display_name = name

    if request.status is not None:
        new_status = _next_status(account, request.status)
        if new_status != account.status:
            changes["status"] = [account.status, new_status]
            account.status = new_status
            if new_status == SubUserStatus.DISABLED:
                auth.revoke_all(session, account.id)  # signed out everywhere, now

    if changes:
        audit.record(
            session,
            actor_id=caller.id,
            action="sub_user.updated",
            target_kind="account",
            target_id=account.id,
            details=changes,
        )
    session.commit()
    return _with_pools(session, [account])[0]


def _next_status(account: Account, wanted: SubUserStatus) -> str:
    """The status a PATCH leads to, or a refusal."""
    if wanted == SubUserStatus.INVITED:
        raise ValidationFailedError.on_field("status", "Can be set to active or disabled only.")
    if wanted == SubUserStatus.DISABLED:
        return SubUserStatus.DISABLED.value
    # wanted == active
    if account.status == SubUserStatus.INVITED:
        raise InvalidStateError(
            f"{account.label} has not accepted the invitation yet; "
            "the account becomes active when they do."
        )
    if account.status == SubUserStatus.DISABLED and account.password_hash is None:
        # Enabled again before ever accepting: back to waiting for the invitation.
        return SubUserStatus.INVITED.value
    return SubUserStatus.ACTIVE.value


def _send_invite(
    session: Session,
    settings: ServerSettings,
    mailer: Mailer,
    inviter: Account,
    account: Account,
    token: str,
    expires_at: datetime,
) -> bool:
    message = invite_message(
        sender=settings.mail_from,
        to=account.email,
        inviter=inviter.label,
        link=settings.invite_link(token),
        token=token,
        expires_at=expires_at,
    )
    try:
        mailer.send(message)
    except Exception as exc:  # any transport failure; the account itself is already saved
        log.warning("invitation email to %s not sent: %s", account.email, exc)
        audit.record(
            session,
            actor_id=inviter.id,
            action="invite.email_failed",
            target_kind="account",
            target_id=account.id,
            details={"error": str(exc)},
        )
        session.commit()
        return False
    return True


def _with_pools(
    session: Session, accounts_: Sequence[Account], *, invite_email_sent: bool | None = None
) -> list[schema.SubUser]:
    ids = [a.id for a in accounts_]
    grants_by_holder: dict[str, list[Grant]] = {i: [] for i in ids}
    if ids:
        for grant in session.scalars(select(Grant).where(Grant.grantee_id.in_(ids))):
            grants_by_holder[grant.grantee_id].append(grant)
    return [
        views.sub_user(a, grants_by_holder[a.id], invite_email_sent=invite_email_sent)
        for a in accounts_
    ]
