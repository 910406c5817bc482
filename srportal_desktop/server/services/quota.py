"""Spending and returning quota: the only code that changes grant counters.

Every change is one conditional UPDATE whose WHERE clause re-checks what is left, inside the
caller's transaction, and the affected row count says whether it happened. Two requests racing
for the last units cannot both win, on SQLite or PostgreSQL, and the CHECK constraints on the
table stop anything that slips past.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from srportal_desktop.api.schema import FieldError
from srportal_desktop.server.errors import NotFoundError, QuotaExceededError, ValidationFailedError
from srportal_desktop.server.models import Grant
from srportal_desktop.server.services import catalog, sql


@dataclass(frozen=True)
class Need:
    """What a request takes from one grant."""

    sensors: Sequence[str]  # sensor models that grant must support
    gpu_preset: bool
    lpu: int
    sensor_units: int


@dataclass(frozen=True)
class Fields:
    """Request field names, so each refusal points at what the person typed."""

    sensors: str
    gpu_preset: str
    lpu: str | None  # None: nobody typed the LPU count (one license takes one)
    sensor_units: str
    grant: str = "grant_id"


def received_grants(session: Session, account_id: str) -> list[Grant]:
    return list(
        session.scalars(
            select(Grant).where(Grant.grantee_id == account_id).order_by(Grant.created_at, Grant.id)
        )
    )


def candidates(
    session: Session, holder_id: str, need: Need, fields: Fields, grant_id: str | None = None
) -> list[Grant]:
    """The holder's grants that allow this request (sensors and GPU), oldest first.

    Refuses with a field error when none does; whether enough is left is `spend`'s question.
    """
    grants = received_grants(session, holder_id)
    if not grants:
        raise QuotaExceededError(
            "You have no quota yet: nothing can be created until quota is granted to you."
        )
    if grant_id is not None:
        grants = [g for g in grants if g.id == grant_id]
        if not grants:
            raise NotFoundError.on_field(fields.grant, "You have no grant with this id.")

    wanted = set(need.sensors)
    covering = [g for g in grants if wanted <= set(g.supported_sensors)]
    if not covering:
        pooled = {s for g in grants for s in g.supported_sensors}
        missing = catalog.in_catalog_order(wanted - pooled)
        if missing:
            names = ", ".join(catalog.label(s) for s in missing)
            raise ValidationFailedError.on_field(
                fields.sensors,
                f"Not in your pool: {names}.",
                f"Your pool does not include these sensor models: {names}.",
            )
        raise ValidationFailedError.on_field(
            fields.sensors,
            "No single grant of yours covers all of these sensor models.",
            "No single grant of yours covers all of these sensor models; "
            "split the request by sensor model.",
        )
    if need.gpu_preset:
        covering = [g for g in covering if g.gpu_preset]
        if not covering:
            raise ValidationFailedError.on_field(
                fields.gpu_preset,
                "Your pool does not allow the GPU preset for these sensor models.",
            )
    return covering


def spend(session: Session, grants: Sequence[Grant], need: Need, fields: Fields) -> Grant:
    """Take `need` from the first of `grants` that still has enough; QuotaExceededError if none."""
    for grant in grants:
        if _take(session, grant.id, need.lpu, need.sensor_units):
            session.refresh(grant)
            return grant

    # Nothing changed; report what is left as of now.
    for grant in grants:
        session.refresh(grant)
    lpu_left = max(g.lpu_total - g.lpu_used for g in grants)
    sensors_left = max(g.sensor_total - g.sensor_used for g in grants)
    errors: list[tuple[str, str]] = []
    if need.lpu > lpu_left and fields.lpu is not None:
        errors.append((fields.lpu, f"Only {lpu_left} LPU licenses are left."))
    if need.sensor_units > sensors_left:
        errors.append((fields.sensor_units, f"Only {sensors_left} sensor licenses are left."))
    where = "" if len(grants) == 1 else " in any single grant that covers this request"
    raise QuotaExceededError(
        f"Not enough quota: this needs {need.lpu} LPU and {need.sensor_units} sensor licenses, "
        f"but only {lpu_left} LPU and {sensors_left} sensor licenses are left{where}.",
        errors=[FieldError(field=f, message=m) for f, m in errors],
    )


def give_back(session: Session, grant_id: str, lpu: int, sensor_units: int) -> None:
    """Return units to a grant (a reclaimed child grant's unused part)."""
    result = sql.run(
        session,
        update(Grant)
        .where(Grant.id == grant_id, Grant.lpu_used >= lpu, Grant.sensor_used >= sensor_units)
        .values(lpu_used=Grant.lpu_used - lpu, sensor_used=Grant.sensor_used - sensor_units),
    )
    if result.rowcount != 1:
        # The parent's counters always cover what its children hold; this is corruption.
        raise RuntimeError(f"grant {grant_id} cannot take back {lpu} LPU / {sensor_units} sensors")


def shrink(session: Session, grant_id: str, lpu: int, sensor_units: int) -> bool:
    """Lower a grant's totals by units it has not used; False when not that many are unused."""
    result = sql.run(
        session,
        update(Grant)
        .where(
            Grant.id == grant_id,
            Grant.lpu_total - Grant.lpu_used >= lpu,
            Grant.sensor_total - Grant.sensor_used >= sensor_units,
        )
        .values(lpu_total=Grant.lpu_total - lpu, sensor_total=Grant.sensor_total - sensor_units),
    )
    return result.rowcount == 1


def _take(session: Session, grant_id: str, lpu: int, sensor_units: int) -> bool:
    result = sql.run(
        session,
        update(Grant)
        .where(
            Grant.id == grant_id,
            Grant.lpu_total - Grant.lpu_used >= lpu,
            Grant.sensor_total - Grant.sensor_used >= sensor_units,
        )
        .values(lpu_used=Grant.lpu_used + lpu, sensor_used=Grant.sensor_used + sensor_units),
    )
    return result.rowcount == 1
