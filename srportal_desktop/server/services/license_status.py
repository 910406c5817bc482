"""A license's status as of now: expiry is computed at every read, never by a background job.

The stored status is what the last change set (`not_activated`, `active`, `revoked`); a license
whose term has run out (`expires_at <= now`) reads as `expired` unless it was revoked. That
includes a license deactivated for a rehost and not re-activated before its term ended. The
same rule exists twice, in Python for a loaded row and in SQL for list filters, and the two
must agree.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_

from srportal_desktop.api.schema import LicenseStatus
from srportal_desktop.server.models import License, utcnow


def effective(row: License, now: datetime | None = None) -> LicenseStatus:
    stored = LicenseStatus(row.status)
    if stored == LicenseStatus.REVOKED:
        return stored
    if row.expires_at is not None and row.expires_at <= (now or utcnow()):
        return LicenseStatus.EXPIRED
    return stored


def condition(status: LicenseStatus, now: datetime) -> ColumnElement[bool]:
    """SQL: the license's status as of `now` is `status`."""
    term_over = and_(License.expires_at.is_not(None), License.expires_at <= now)
    if status == LicenseStatus.REVOKED:
        return License.status == LicenseStatus.REVOKED.value
    if status == LicenseStatus.EXPIRED:
        return or_(
            License.status == LicenseStatus.EXPIRED.value,
            and_(License.status != LicenseStatus.REVOKED.value, term_over),
        )
    return and_(
        License.status == status.value,
        or_(License.expires_at.is_(None), License.expires_at > now),
    )
