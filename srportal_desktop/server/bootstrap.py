"""Setting up the top of the tree: the vendor admin and resellers with their pools.

These functions take either an open Session (they commit their work, as the services do) or
ServerSettings (they open the database, create tables if missing, and close it again).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from srportal_desktop.api import schema
from srportal_desktop.api.schema import Role, SubUserStatus
from srportal_desktop.server.db import Database
from srportal_desktop.server.errors import EmailTakenError, ValidationFailedError
from srportal_desktop.server.models import Account, Grant, utcnow
from srportal_desktop.server.security import hash_password
from srportal_desktop.server.services import accounts, audit, catalog
from srportal_desktop.server.settings import ServerSettings

# The vendor admin made on demand when a reseller is created before anyone set one up. It has
# no password, so it cannot sign in until `create_vendor_admin` gives it one.
SYSTEM_VENDOR_EMAIL = "vendor-admin@portal.example"

T = TypeVar("T")


def create_vendor_admin(
    session_or_settings: Session | ServerSettings,
    email: str,
    password: str | None = None,
    display_name: str = "Vendor",
) -> str:
    """A vendor admin account (the root of the tree); returns its id."""

    def work(session: Session) -> str:
        email_ = _checked_email(email)
        if password is not None:
            accounts.check_new_password(password, email_)
        placeholder = accounts.by_email(session, SYSTEM_VENDOR_EMAIL)
        if placeholder is not None and placeholder.password_hash is None:
            # Resellers already hang below the placeholder: give it the real identity.
            return _claim_placeholder(session, placeholder, email_, password, display_name)
        account = accounts.add_account(
            session,
            email=email_,
            role=Role.VENDOR_ADMIN,
            parent=None,
            status=SubUserStatus.ACTIVE,
            display_name=display_name,
            password=password,
        )
        audit.record(
            session,
            actor_id=None,
            action="account.created",
            target_kind="account",
            target_id=account.id,
            details={"role": Role.VENDOR_ADMIN.value},
        )
        session.commit()
        return account.id

    return _with_session(session_or_settings, work)


def create_reseller(
    session_or_settings: Session | ServerSettings,
    email: str,
    password: str,
    lpu: int,
    sensors: int,
    gpu_preset: bool,
    supported_sensors: Iterable[str] | None = None,
    display_name: str = "",
) -> str:
    """A reseller below the vendor admin, with a pool of one grant from the vendor.

    `supported_sensors=None` means the whole catalog. Returns the reseller's id.
    """

    def work(session: Session) -> str:
        email_ = _checked_email(email)
        accounts.check_new_password(password, email_)
        if lpu < 0 or sensors < 0:
            raise ValidationFailedError.on_field("lpu", "Counts cannot be negative.")
        sensor_ids = catalog.checked_ids(
            catalog.all_ids() if supported_sensors is None else supported_sensors,
            "supported_sensors",
        )
        if not sensor_ids:
            raise ValidationFailedError.on_field("supported_sensors", "Choose at least one.")
        vendor = _vendor_admin(session)
        reseller = accounts.add_account(
            session,
            email=email_,
            role=Role.RESELLER,
            parent=vendor,
            status=SubUserStatus.ACTIVE,
            display_name=display_name,
            password=password,
        )
        # The vendor is the source of all quota, so this grant has no parent grant.
        pool = Grant(
            grantor_id=vendor.id,
            grantee_id=reseller.id,
            parent_grant_id=None,
            supported_sensors=sensor_ids,
            gpu_preset=gpu_preset,
            lpu_total=lpu,
            lpu_used=0,
            sensor_total=sensors,
            sensor_used=0,
            created_at=utcnow(),
        )
        session.add(pool)
        session.flush()
        audit.record(
            session,
            actor_id=vendor.id,
            action="grant.created",
            target_kind="grant",
            target_id=pool.id,
            details={"grantee_id": reseller.id, "lpu": lpu, "sensors": sensors},
        )
        audit.record(
            session,
            actor_id=vendor.id,
            action="account.created",
            target_kind="account",
            target_id=reseller.id,
            details={"role": Role.RESELLER.value, "pool_grant_id": pool.id},
        )
        session.commit()
        return reseller.id

    return _with_session(session_or_settings, work)


def _claim_placeholder(
    session: Session, account: Account, email: str, password: str | None, display_name: str
) -> str:
    email = accounts.normalize_email(email)
    if email != account.email and accounts.by_email(session, email) is not None:
        raise EmailTakenError.on_field("email", "This email address is already in use.")
    account.email = email
    account.display_name = display_name.strip()
    account.password_hash = hash_password(password) if password is not None else None
    audit.record(
        session,
        actor_id=None,
        action="account.updated",
        target_kind="account",
        target_id=account.id,
        details={"email": email},
    )
    session.commit()
    return account.id


def _vendor_admin(session: Session) -> Account:
    vendor = session.scalar(
        select(Account)
        .where(Account.role == Role.VENDOR_ADMIN.value)
        .order_by(Account.created_at, Account.id)
        .limit(1)
    )
    if vendor is not None:
        return vendor
    return accounts.add_account(
        session,
        email=SYSTEM_VENDOR_EMAIL,
        role=Role.VENDOR_ADMIN,
        parent=None,
        status=SubUserStatus.ACTIVE,
        display_name="Vendor",
    )


def _checked_email(email: str) -> str:
    """The same rule as an address sent to the API (`schema.Email`), so every account made
    here can sign in."""
    try:
        schema.plain_address(email)
        return validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValidationFailedError.on_field("email", f"Not a valid email address. {exc}") from None
    except ValueError as exc:
        reason = str(exc).removeprefix(schema.EMAIL_PROBLEM_PREFIX)
        raise ValidationFailedError.on_field(
            "email", f"Not a valid email address. {reason}"
        ) from None


def _with_session(session_or_settings: Session | ServerSettings, work: Callable[[Session], T]) -> T:
    if isinstance(session_or_settings, Session):
        return work(session_or_settings)
    db = Database(session_or_settings.database_url)
    try:
        db.create_all()
        with db.session(write=True) as session:
            return work(session)
    finally:
        db.dispose()
