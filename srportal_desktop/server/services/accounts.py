"""Accounts: creating nodes of the tree, passwords, and the caller's own view (`/v1/me`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from srportal_desktop.api import schema
from srportal_desktop.api.schema import Role, SubUserStatus
from srportal_desktop.server import security
from srportal_desktop.server.errors import EmailTakenError, ValidationFailedError
from srportal_desktop.server.models import Account, new_id, utcnow
from srportal_desktop.server.security import hash_password
from srportal_desktop.server.services import quota, views


def normalize_email(email: str) -> str:
    # Addresses are compared and stored case-insensitively.
    return email.strip().lower()


def check_new_password(password: str, email: str | None = None, field: str = "password") -> None:
    """The password policy for every new password (invitations, resellers, admins)."""
    problem = security.password_problem(password, email)
    if problem is not None:
        raise ValidationFailedError.on_field(
            field, problem, f"Choose another password: {problem[:1].lower()}{problem[1:]}"
        )


def by_email(session: Session, email: str) -> Account | None:
    return session.scalar(select(Account).where(Account.email == normalize_email(email)))


def add_account(
    session: Session,
    *,
    email: str,
    role: Role,
    parent: Account | None,
    status: SubUserStatus,
    display_name: str = "",
    password: str | None = None,
    tenant_id: str | None = None,
) -> Account:
    """Insert an account (flushed, not committed); EmailTakenError if the address is in use."""
    email = normalize_email(email)
    if by_email(session, email) is not None:
        raise _email_taken(email)
    account_id = new_id()
    account = Account(
        id=account_id,
        email=email,
        display_name=display_name.strip(),
        role=role.value,
        parent_id=parent.id if parent else None,
        tenant_id=tenant_id or account_id,
        status=status.value,
        password_hash=hash_password(password) if password is not None else None,
        created_at=utcnow(),
    )
    session.add(account)
    try:
        # The unique index is the real guard: two racing invitations cannot both insert.
        # On failure the whole transaction is abandoned with the refusal.
        session.flush()
    except IntegrityError:
        raise _email_taken(email) from None
    return account


def me(session: Session, caller: Account) -> schema.Me:
    return views.me(caller, quota.received_grants(session, caller.id))


def _email_taken(email: str) -> EmailTakenError:
    return EmailTakenError.on_field(
        "email", "This email address is already in use.", f"{email} already has an account."
    )
