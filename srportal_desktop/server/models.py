"""The portal's tables (SQLAlchemy 2 typed declarative models).

Portable SQL only: the same models run on SQLite and PostgreSQL. Invariants that must hold under
concurrency are database constraints, not application checks: quota counters stay within
`0 <= used <= total`, license names are unique per tenant, emails are unique.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID_LENGTH = 36


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, whatever the backend keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use UTC-aware ones")
        value = value.astimezone(UTC)
        # SQLite keeps text: store UTC without an offset so text order is time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


ROLES = ("vendor_admin", "reseller", "sub_user")
ACCOUNT_STATUSES = ("invited", "active", "disabled")
LICENSE_STATUSES = ("not_activated", "active", "expired", "revoked")
TOKEN_KINDS = ("access", "refresh")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


class Account(Base):
    """A node of the account tree: vendor admin → reseller → sub-user (any depth)."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="ck_accounts_role"),
        CheckConstraint(_in("status", ACCOUNT_STATUSES), name="ck_accounts_status"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    # Stored normalised to lower case, so the unique index is case-insensitive.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("accounts.id"), index=True
    )
    # The account at the top of the tree below the vendor (the reseller); license names are
    # unique within it. A vendor admin or a reseller is its own tenant.
    tenant_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    status: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def label(self) -> str:
        return self.display_name or self.email


class Grant(Base):
    """A bucket of quota given by a grantor to a grantee, carved out of the parent grant."""

    __tablename__ = "grants"
    __table_args__ = (
        CheckConstraint("lpu_used >= 0 AND lpu_used <= lpu_total", name="ck_grants_lpu"),
        CheckConstraint(
            "sensor_used >= 0 AND sensor_used <= sensor_total", name="ck_grants_sensor"
        ),
        Index("ix_grants_grantee_created", "grantee_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    grantor_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), ForeignKey("accounts.id"))
    grantee_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("accounts.id"))
    # None for a pool handed out by the vendor: there is nothing above it to return units to.
    parent_grant_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("grants.id"), index=True
    )
    supported_sensors: Mapped[list[str]] = mapped_column(JSON)
    gpu_preset: Mapped[bool] = mapped_column(Boolean, default=False)
    lpu_total: Mapped[int] = mapped_column(Integer)
    lpu_used: Mapped[int] = mapped_column(Integer, default=0)
    sensor_total: Mapped[int] = mapped_column(Integer)
    sensor_used: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class License(Base):
    __tablename__ = "licenses"
    __table_args__ = (
        # Enforced by the database so two racing creations cannot both take a name.
        UniqueConstraint("tenant_id", "name_key", name="uq_licenses_tenant_name"),
        CheckConstraint("sensor_count >= 1", name="ck_licenses_sensor_count"),
        CheckConstraint(_in("status", LICENSE_STATUSES), name="ck_licenses_status"),
        Index("ix_licenses_owner_created", "owner_id", "created_at", "id"),
        Index("ix_licenses_tenant_created", "tenant_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(400))
    tenant_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    owner_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("accounts.id"))
    grant_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("grants.id"), index=True
    )
    sensor_models: Mapped[list[str]] = mapped_column(JSON)
    sensor_count: Mapped[int] = mapped_column(Integer)
    gpu_preset: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="not_activated")
    machine_id: Mapped[str | None] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Rehosts over the license's life; the yearly limit counts LicenseDeactivation rows.
    deactivation_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    revoked_at: Mapped[datetime | None] = mapped_column()


class LicenseDeactivation(Base):
    """One rehost of a license: the machine binding it freed, and when."""

    __tablename__ = "license_deactivations"
    __table_args__ = (Index("ix_license_deactivations_license_at", "license_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    license_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("licenses.id"))
    machine_id: Mapped[str] = mapped_column(String(200))
    actor_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """One change: who did what to which object, when. Append-only."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_target", "target_kind", "target_id", "id"),)

    # An integer key gives a total order for events recorded in the same instant.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target_kind: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ChangeRecord(Base):
    """The change feed behind `GET /v1/changes`: one row per object changed by a commit.

    `seq` grows in commit order (see services/change_feed.py). `holder_id` is the account in
    whose view the object lies (a license's owner, a grant's grantee, an account itself), so a
    sub-user reads only the rows it holds and a reseller only its tenant's rows.
    """

    __tablename__ = "change_feed"
    __table_args__ = (
        Index("ix_change_feed_tenant_seq", "tenant_id", "seq"),
        Index("ix_change_feed_holder_seq", "holder_id", "seq"),
        Index("ix_change_feed_entity_seq", "entity_id", "seq"),
        # AUTOINCREMENT: SQLite never hands out a number twice, even after rows are deleted.
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    tenant_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    kind: Mapped[str] = mapped_column(String(16))  # license, grant or account
    entity_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    holder_id: Mapped[str] = mapped_column(String(ID_LENGTH))


# Licenses whose term ran out since a client's last pull, found without a scan (delta sync).
Index("ix_licenses_tenant_expires", License.tenant_id, License.expires_at)
Index("ix_licenses_expires", License.expires_at)


class AuthToken(Base):
    """An opaque bearer token, stored only as its SHA-256 digest.

    A login starts a family; each refresh rotates within it, and presenting a refresh token
    that was already rotated revokes the whole family (it was stolen or replayed).
    """

    __tablename__ = "auth_tokens"
    __table_args__ = (CheckConstraint(_in("kind", TOKEN_KINDS), name="ck_auth_tokens_kind"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("accounts.id"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    expires_at: Mapped[datetime] = mapped_column()
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InviteToken(Base):
    """A one-time invitation code for a sub-user, stored only as its SHA-256 digest."""

    __tablename__ = "invite_tokens"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("accounts.id"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdempotencyRecord(Base):
    """The first answer to a quota-spending request sent with an `Idempotency-Key` header."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("account_id", "key", name="uq_idempotency_account_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("accounts.id"))
    key: Mapped[str] = mapped_column(String(200))
    # Which call and body the key was first used with, as a SHA-256 digest.
    fingerprint: Mapped[str] = mapped_column(String(64))
    # None while the first request is still in flight.
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RateLimitCounter(Base):
    """Attempts counted under one key (e.g. failed sign-ins from one IP) in one fixed window.

    Kept in the database so every server worker shares the same counts; a sliding window is
    estimated from the current and the previous window.
    """

    __tablename__ = "rate_limit_counters"
    __table_args__ = (Index("ix_rate_limit_window_start", "window_start"),)

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    # Seconds since the epoch at which the window opened (a multiple of the window length).
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer, default=0)
