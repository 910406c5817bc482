"""Activation, signed key files, deactivation (rehost) and revocation of licenses.

The term is annual and starts at the first activation: `expires_at = activated_at + 365 days`.
Moving a license to another machine (deactivate, then activate elsewhere) keeps the original
`activated_at` and `expires_at`: a rehost does not buy a new year. A deactivated license reads
`not_activated` with no `machine_id` while its term keeps running; once the term is over it reads
`expired` and cannot be activated again. Each deactivation is counted, and at most
`max_deactivations_per_year` are allowed in any 365 days.

Revoking ends a license for good. A license that was never activated gives its quota (1 LPU and
its `sensor_count` sensor licenses) back to the grant it came from, in the same transaction. A
license that was ever activated gives nothing back: its term was consumed, and a key file already
issued stays verifiable offline until its `expires_at` (a portal that checks online sees
`revoked`).

Every change takes the license's row lock first, so concurrent requests on one license are
decided one after the other, and writes an audit record in the same transaction.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from srportal_desktop.api import schema
from srportal_desktop.api.schema import LicenseStatus
from srportal_desktop.server.errors import InvalidStateError, ValidationFailedError
from srportal_desktop.server.models import Account, License, LicenseDeactivation, utcnow
from srportal_desktop.server.services import audit, license_status, licenses, quota, tree, views
from srportal_desktop.server.signing import Signer

TERM = timedelta(days=365)
DEACTIVATION_WINDOW = timedelta(days=365)
KEY_FILE_VERSION = 1


def activate(
    session: Session,
    signer: Signer,
    caller: Account,
    license_id: str,
    request: schema.ActivateRequest,
) -> schema.Activation:
    """Bind the license to `machine_id` and sign its key file; repeating it changes nothing."""
    machine_id = _checked_machine_id(request.machine_id)
    row = licenses.visible_license(session, caller, license_id, for_update=True)
    now = _now()
    status = license_status.effective(row, now)
    _refuse_ended(row, status, "activated")
    if status == LicenseStatus.ACTIVE:
        if row.machine_id != machine_id:
            raise InvalidStateError.on_field(
                "machine_id",
                "The license is active on another machine.",
                f"{row.name} is active on another machine; deactivate it first.",
            )
        return schema.Activation(license=views.license_(row), key_file=_sign(signer, row))

    first = row.activated_at is None
    if first:
        row.activated_at = now
        row.expires_at = now + TERM
    row.status = LicenseStatus.ACTIVE.value
    row.machine_id = machine_id
    audit.record(
        session,
        actor_id=caller.id,
        action="license.activated",
        target_kind="license",
        target_id=row.id,
        details={
            "machine_id": machine_id,
            "rehost": not first,
            "expires_at": _iso(_term_date(row.expires_at)),
        },
    )
    session.commit()
    return schema.Activation(license=views.license_(row), key_file=_sign(signer, row))


def key_file(session: Session, signer: Signer, caller: Account, license_id: str) -> schema.KeyFile:
    """The signed key file of an active license (the same bytes `activate` answered)."""
    row = licenses.visible_license(session, caller, license_id)
    status = license_status.effective(row)
    if status != LicenseStatus.ACTIVE:
        raise InvalidStateError(
            f"{row.name} is {_describe(status)}; only an active license has a key file."
        )
    return _sign(signer, row)


def deactivate(
    session: Session, caller: Account, license_id: str, *, yearly_limit: int
) -> schema.License:
    """Free the machine binding for a rehost; the term keeps running."""
    row = licenses.visible_license(session, caller, license_id, for_update=True)
    now = _now()
    status = license_status.effective(row, now)
    _refuse_ended(row, status, "deactivated")
    if status != LicenseStatus.ACTIVE:
        raise InvalidStateError(f"{row.name} is not activated on any machine.")

    recent = list(
        session.scalars(
            select(LicenseDeactivation.at)
            .where(
                LicenseDeactivation.license_id == row.id,
                LicenseDeactivation.at > now - DEACTIVATION_WINDOW,
            )
            .order_by(LicenseDeactivation.at)
        )
    )
    if len(recent) >= yearly_limit:
        raise InvalidStateError(_limit_detail(row.name, recent, yearly_limit))

    machine_id = row.machine_id or ""
    session.add(
        LicenseDeactivation(license_id=row.id, machine_id=machine_id, actor_id=caller.id, at=now)
    )
    row.status = LicenseStatus.NOT_ACTIVATED.value
    row.machine_id = None
    row.deactivation_count = (row.deactivation_count or 0) + 1
    audit.record(
        session,
        actor_id=caller.id,
        action="license.deactivated",
        target_kind="license",
        target_id=row.id,
        details={
            "machine_id": machine_id,
            "deactivations_in_year": len(recent) + 1,
            "yearly_limit": yearly_limit,
        },
    )
    session.commit()
    return views.license_(row)


def revoke(session: Session, caller: Account, license_id: str) -> schema.License:
    """End the license for good; a never-activated one returns its quota to its grant."""
    tree.require_manager(caller, "revoke licenses")
    row = licenses.visible_license(session, caller, license_id, for_update=True)
    if row.status == LicenseStatus.REVOKED:
        raise InvalidStateError(f"{row.name} is already revoked.")

    # Only a license never activated gives its units back: an activated term was consumed.
    returned_to = row.grant_id if row.activated_at is None else None
    if returned_to is not None:
        quota.give_back(session, returned_to, 1, row.sensor_count)
    previous = license_status.effective(row)
    row.status = LicenseStatus.REVOKED.value
    row.revoked_at = _now()
    audit.record(
        session,
        actor_id=caller.id,
        action="license.revoked",
        target_kind="license",
        target_id=row.id,
        details={
            "previous_status": previous.value,
            "machine_id": row.machine_id,
            "grant_id": row.grant_id,
            "returned_lpu": 1 if returned_to else 0,
            "returned_sensors": row.sensor_count if returned_to else 0,
        },
    )
    session.commit()
    return views.license_(row)


# --- helpers -----------------------------------------------------------------------------------


def payload(row: License) -> dict[str, object]:
    """What a key file states about the license: only facts that a rehost or a re-read keep."""
    return {
        "version": KEY_FILE_VERSION,
        "license_id": row.id,
        "name": row.name,
        "machine_id": row.machine_id,
        "sensor_models": list(row.sensor_models),
        "sensor_count": row.sensor_count,
        "gpu_preset": row.gpu_preset,
        "issued_at": _iso(row.issued_at),
        "activated_at": _iso(_term_date(row.activated_at)),
        "expires_at": _iso(_term_date(row.expires_at)),
    }


def _sign(signer: Signer, row: License) -> schema.KeyFile:
    return signer.sign(payload(row))


def _refuse_ended(row: License, status: LicenseStatus, verb: str) -> None:
    if status == LicenseStatus.REVOKED:
        raise InvalidStateError(f"{row.name} is revoked and cannot be {verb}.")
    if status == LicenseStatus.EXPIRED:
        ended = _iso(_term_date(row.expires_at))
        raise InvalidStateError(f"{row.name} expired on {ended} and cannot be {verb}.")


def _limit_detail(name: str, recent: list[datetime], limit: int) -> str:
    if limit == 0:
        return f"{name} cannot be deactivated: this portal allows no rehosts."
    # The window must drop to limit - 1 entries before another deactivation fits.
    next_at = recent[len(recent) - limit] + DEACTIVATION_WINDOW
    return (
        f"{name} was deactivated {len(recent)} times in the last 365 days, the most allowed "
        f"({limit}); the next deactivation is possible from {_iso(next_at)}."
    )


def _checked_machine_id(value: str) -> str:
    stripped = value.strip()
    if not stripped or any(unicodedata.category(ch).startswith("C") for ch in stripped):
        raise ValidationFailedError.on_field(
            "machine_id", "Must be non-empty printable text without control characters."
        )
    return stripped


def _now() -> datetime:
    # Whole seconds: the key file's times then equal the license's exactly.
    return utcnow().replace(microsecond=0)


def _term_date(value: datetime | None) -> datetime:
    assert value is not None, "an activated license has its term dates"
    return value


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe(status: LicenseStatus) -> str:
    return {
        LicenseStatus.NOT_ACTIVATED: "not activated",
        LicenseStatus.EXPIRED: "expired",
        LicenseStatus.REVOKED: "revoked",
        LicenseStatus.ACTIVE: "active",
    }[status]
