"""The quota invariants at the database level."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from srportal_desktop.server.bootstrap import create_reseller
from srportal_desktop.server.db import Database
from srportal_desktop.server.errors import QuotaExceededError
from srportal_desktop.server.models import Grant
from srportal_desktop.server.services import quota
from srportal_desktop.server.settings import ServerSettings
from tests.server.conftest import PASSWORD

FIELDS = quota.Fields(sensors="s", gpu_preset="g", lpu="l", sensor_units="u")


@pytest.fixture
def db(settings: ServerSettings) -> Iterator[Database]:
    database = Database(settings.database_url)
    database.create_all()
    yield database
    database.dispose()


def test_counters_cannot_leave_zero_to_total(db: Database) -> None:
    with db.session(write=True) as session:
        reseller = create_reseller(session, "q@reseller.example", PASSWORD, 5, 5, False)
        grant_id = session.scalars(select(Grant.id).where(Grant.grantee_id == reseller)).one()
    for values in ({"lpu_used": 6}, {"sensor_used": -1}, {"lpu_total": -1}):
        statement = update(Grant).where(Grant.id == grant_id).values(**values)
        with db.session(write=True) as session, pytest.raises(IntegrityError):
            session.execute(statement)


def test_spend_rechecks_in_the_database_not_in_memory(db: Database) -> None:
    with db.session(write=True) as session:
        reseller = create_reseller(session, "q@reseller.example", PASSWORD, 5, 5, False)
        need = quota.Need(sensors=["ouster-os1-64"], gpu_preset=False, lpu=3, sensor_units=0)
        options = quota.candidates(session, reseller, need, FIELDS)
        assert options[0].lpu_used == 0
        # Someone else spends 4 after we looked: our loaded grant is now stale.
        session.execute(update(Grant).values(lpu_used=4))
        with pytest.raises(QuotaExceededError, match="only 1 LPU"):
            quota.spend(session, options, need, FIELDS)
        session.rollback()
