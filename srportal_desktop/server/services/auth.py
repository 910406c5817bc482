"""Signing in: passwords, bearer tokens (access + rotating refresh), invitations.

Tokens are opaque and stored only as SHA-256 digests. A sign-in starts a token family; every
refresh retires the refresh token it used and issues a new pair in the same family, and
presenting a retired refresh token again (a copy in someone else's hands) revokes the family.
Failed attempts are throttled per email address and per client IP (see rate_limit).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from srportal_desktop.api import schema
from srportal_desktop.api.schema import SubUserStatus
from srportal_desktop.server.errors import UnauthenticatedError, ValidationFailedError
from srportal_desktop.server.models import Account, AuthToken, InviteToken, new_id, utcnow
from srportal_desktop.server.security import (
    hash_password,
    new_token,
    password_needs_rehash,
    token_digest,
    verify_password,
)
from srportal_desktop.server.services import accounts, audit, rate_limit, sql
from srportal_desktop.server.settings import ServerSettings

WRONG_CREDENTIALS = "The email address or password is incorrect."
SESSION_ENDED = "Your session has ended; please sign in again."
INVITE_INVALID = "This invitation is not valid: it was used, replaced or expired."


def login(
    session: Session, settings: ServerSettings, email: str, password: str, client_ip: str
) -> schema.TokenPair:
    hits = rate_limit.attempt(
        session,
        [
            _per_email(settings, "login", email),
            _per_ip(settings, "login", client_ip),
        ],
    )
    found = accounts.by_email(session, email)
    account_id = found.id if found else None
    stored_hash = found.password_hash if found else None
    # argon2 is slow on purpose: hold no transaction (nor SQLite's write lock) while it works.
    session.rollback()
    if not verify_password(stored_hash, password):
        raise UnauthenticatedError(WRONG_CREDENTIALS)
    assert stored_hash is not None
    new_hash = hash_password(password) if password_needs_rehash(stored_hash) else None

    account = session.get(Account, account_id)
    if account is None or account.password_hash != stored_hash:
        raise UnauthenticatedError(WRONG_CREDENTIALS)  # changed meanwhile
    if account.status != SubUserStatus.ACTIVE:
        raise UnauthenticatedError("This account is disabled. Contact the account that manages it.")
    if new_hash is not None:
        account.password_hash = new_hash
    # Housekeeping: expired tokens of this account are of no use to anyone.
    sql.run(
        session,
        delete(AuthToken).where(
            AuthToken.account_id == account.id, AuthToken.expires_at <= utcnow()
        ),
    )
    rate_limit.refund(session, hits)  # a success is no guess: only failures use up the budget
    tokens = _issue(session, settings, account.id, family_id=new_id())
    session.commit()
    return tokens


def refresh(
    session: Session, settings: ServerSettings, refresh_token: str, client_ip: str
) -> schema.TokenPair:
    hits = rate_limit.attempt(session, [_per_ip(settings, "refresh", client_ip)])
    row = session.scalar(
        select(AuthToken).where(
            AuthToken.token_hash == token_digest(refresh_token), AuthToken.kind == "refresh"
        )
    )
    if row is None or row.expires_at <= utcnow():
        raise UnauthenticatedError(SESSION_ENDED)
    # Rotate: only one caller can retire this token. A second use means it was copied, so the
    # whole family (every token descended from that login) is revoked.
    retired = sql.run(
        session,
        update(AuthToken)
        .where(AuthToken.id == row.id, AuthToken.revoked.is_(False))
        .values(revoked=True),
    )
    if retired.rowcount != 1:
        _revoke_family(session, row.family_id)
        session.commit()
        raise UnauthenticatedError(SESSION_ENDED)
    account = session.get(Account, row.account_id)
    if account is None or account.status != SubUserStatus.ACTIVE:
        session.rollback()
        raise UnauthenticatedError(SESSION_ENDED)
    rate_limit.refund(session, hits)
    tokens = _issue(session, settings, account.id, family_id=row.family_id)
    session.commit()
    return tokens


def logout(session: Session, refresh_token: str) -> None:
    """Revoke the session the refresh token belongs to; unknown tokens are already gone."""
    row = session.scalar(
        select(AuthToken).where(AuthToken.token_hash == token_digest(refresh_token))
    )
    if row is not None:
        _revoke_family(session, row.family_id)
        session.commit()


def authenticate(session: Session, access_token: str) -> Account:
    """The account a bearer access token belongs to, or UnauthenticatedError."""
    account = session.scalar(
        select(Account)
        .join(AuthToken, AuthToken.account_id == Account.id)
        .where(
            AuthToken.token_hash == token_digest(access_token),
            AuthToken.kind == "access",
            AuthToken.revoked.is_(False),
            AuthToken.expires_at > utcnow(),
        )
    )
    if account is None or account.status != SubUserStatus.ACTIVE:
        raise UnauthenticatedError(SESSION_ENDED)
    return account


def revoke_all(session: Session, account_id: str) -> None:
    """Sign the account out everywhere (in the current transaction)."""
    sql.run(
        session,
        update(AuthToken)
        .where(AuthToken.account_id == account_id, AuthToken.revoked.is_(False))
        .values(revoked=True),
    )


def accept_invite(
    session: Session, settings: ServerSettings, token: str, password: str, client_ip: str
) -> schema.TokenPair:
    accounts.check_new_password(password)
    hits = rate_limit.attempt(session, [_per_ip(settings, "accept-invite", client_ip)])
    invite = _open_invite(session, token)
    account = session.get(Account, invite.account_id)
    if account is None or account.status != SubUserStatus.INVITED:
        raise UnauthenticatedError(INVITE_INVALID)
    try:
        accounts.check_new_password(password, account.email)
    except ValidationFailedError:
        # A usable invitation and a poor choice of password: a typing matter, not a guess.
        rate_limit.refund(session, hits)
        session.commit()
        raise
    invite_id, account_id = invite.id, account.id
    # argon2 is slow on purpose: hold no transaction (nor SQLite's write lock) while it works.
    session.rollback()
    password_hash = hash_password(password)

    now = utcnow()
    used = sql.run(
        session,
        update(InviteToken)
        .where(
            InviteToken.id == invite_id,
            InviteToken.used_at.is_(None),
            InviteToken.revoked.is_(False),
            InviteToken.expires_at > now,
        )
        .values(used_at=now),
    )
    # Conditional, so an account disabled meanwhile stays disabled.
    activated = sql.run(
        session,
        update(Account)
        .where(Account.id == account_id, Account.status == SubUserStatus.INVITED.value)
        .values(password_hash=password_hash, status=SubUserStatus.ACTIVE.value),
    )
    if used.rowcount != 1 or activated.rowcount != 1:
        session.rollback()
        raise UnauthenticatedError(INVITE_INVALID)
    # Any other outstanding invitation for this account dies with this one.
    sql.run(
        session,
        update(InviteToken)
        .where(InviteToken.account_id == account_id, InviteToken.id != invite_id)
        .values(revoked=True),
    )
    audit.record(
        session,
        actor_id=account_id,
        action="invite.accepted",
        target_kind="account",
        target_id=account_id,
    )
    rate_limit.refund(session, hits)
    tokens = _issue(session, settings, account_id, family_id=new_id())
    session.commit()
    return tokens


def _open_invite(session: Session, token: str) -> InviteToken:
    """The unused, unexpired invitation `token` stands for, or UnauthenticatedError."""
    invite = session.scalar(
        select(InviteToken).where(
            InviteToken.token_hash == token_digest(token),
            InviteToken.used_at.is_(None),
            InviteToken.revoked.is_(False),
        )
    )
    if invite is None or invite.expires_at <= utcnow():
        raise UnauthenticatedError(INVITE_INVALID)
    return invite


def new_invite(
    session: Session, settings: ServerSettings, account_id: str
) -> tuple[str, InviteToken]:
    """A fresh one-time invitation code for the account (in the current transaction)."""
    token = new_token()
    invite = InviteToken(
        account_id=account_id,
        token_hash=token_digest(token),
        expires_at=utcnow() + timedelta(hours=settings.invite_ttl_hours),
        created_at=utcnow(),
    )
    session.add(invite)
    return token, invite


def _issue(
    session: Session, settings: ServerSettings, account_id: str, *, family_id: str
) -> schema.TokenPair:
    now = utcnow()
    access, refresh_ = new_token(), new_token()
    session.add_all(
        [
            AuthToken(
                account_id=account_id,
                kind="access",
                token_hash=token_digest(access),
                family_id=family_id,
                expires_at=now + timedelta(seconds=settings.access_token_ttl_seconds),
                created_at=now,
            ),
            AuthToken(
                account_id=account_id,
                kind="refresh",
                token_hash=token_digest(refresh_),
                family_id=family_id,
                expires_at=now + timedelta(seconds=settings.refresh_token_ttl_seconds),
                created_at=now,
            ),
        ]
    )
    return schema.TokenPair(
        access_token=access,
        refresh_token=refresh_,
        token_type="bearer",
        expires_in=settings.access_token_ttl_seconds,
    )


def _revoke_family(session: Session, family_id: str) -> None:
    sql.run(
        session,
        update(AuthToken).where(AuthToken.family_id == family_id).values(revoked=True),
    )


def _per_email(settings: ServerSettings, action: str, email: str) -> rate_limit.Limit:
    # A digest keeps mistyped and made-up addresses out of the table.
    address = token_digest(accounts.normalize_email(email))
    return rate_limit.Limit(
        key=f"{action}:email:{address}",
        attempts=settings.auth_attempts_per_email,
        window_seconds=settings.auth_attempts_window_seconds,
    )


def _per_ip(settings: ServerSettings, action: str, client_ip: str) -> rate_limit.Limit:
    return rate_limit.Limit(
        key=f"{action}:ip:{client_ip[:100]}",
        attempts=settings.auth_attempts_per_ip,
        window_seconds=settings.auth_attempts_window_seconds,
    )
