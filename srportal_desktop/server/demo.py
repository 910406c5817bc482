"""Demo data: a reseller with a full pool, two sub-users and a few licenses.

`seed_demo` is idempotent: each piece is created only if missing, so it is safe to run on every
start of the embedded demo server.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from srportal_desktop.api import schema
from srportal_desktop.api.schema import Role, SubUserStatus
from srportal_desktop.server.bootstrap import create_reseller
from srportal_desktop.server.db import Database
from srportal_desktop.server.models import Account, Grant, License
from srportal_desktop.server.services import accounts, audit, grants, licenses
from srportal_desktop.server.settings import ServerSettings

DEMO_RESELLER_EMAIL = "reseller@demo.example"
DEMO_RESELLER_PASSWORD = "demo-reseller-pass"
DEMO_RESELLER_NAME = "Demo Reseller"
DEMO_RESELLER_LPU = 100
DEMO_RESELLER_SENSORS = 400
# The active demo sub-user signs in with this password; the invited one has none yet.
DEMO_SUB_USER_PASSWORD = "demo-subuser-pass"


@dataclass(frozen=True)
class DemoSubUser:
    display_name: str
    email: str
    status: SubUserStatus


NORTHWIND = DemoSubUser("Northwind Robotics", "ops@northwind.example", SubUserStatus.ACTIVE)
HARBOR = DemoSubUser("Harbor Logistics", "it@harbor.example", SubUserStatus.INVITED)
DEMO_SUB_USERS = (NORTHWIND, HARBOR)

_NORTHWIND_GRANT = {
    "supported_sensors": ["ouster-os1-64", "ouster-os1-128", "velodyne-vlp-16"],
    "lpu": 10,
    "sensors": 40,
    "gpu_preset": False,
}
_RESELLER_LICENSES = (
    schema.LicenseCreate(
        name="Demo Warehouse Gate",
        sensor_models=["ouster-os1-64"],
        sensor_count=2,
        notes="Loading bay, two sensors over the gate.",
    ),
    schema.LicenseCreate(
        name="Demo Parking Deck",
        sensor_models=["hesai-pandarxt32"],
        sensor_count=4,
    ),
    schema.LicenseCreate(
        name="Demo Rail Crossing",
        sensor_models=["velodyne-vlp-32c", "ouster-os2-128"],
        sensor_count=3,
        gpu_preset=True,
        notes="GPU preset for the long-range sensor.",
    ),
)
_NORTHWIND_BULK = schema.BulkCreate(
    template=schema.LicenseTemplate(
        name="Northwind Dock", sensor_models=["ouster-os1-128"], sensor_count=2
    ),
    copies=3,
)


def seed_demo(settings: ServerSettings) -> None:
    """Create whatever part of the demo data is missing."""
    db = Database(settings.database_url)
    try:
        db.create_all()
        with db.session(write=True) as session:
            _seed(session)
    finally:
        db.dispose()


def _seed(session: Session) -> None:
    reseller = accounts.by_email(session, DEMO_RESELLER_EMAIL)
    if reseller is None:
        create_reseller(
            session,
            DEMO_RESELLER_EMAIL,
            DEMO_RESELLER_PASSWORD,
            lpu=DEMO_RESELLER_LPU,
            sensors=DEMO_RESELLER_SENSORS,
            gpu_preset=True,
            display_name=DEMO_RESELLER_NAME,
        )
        reseller = accounts.by_email(session, DEMO_RESELLER_EMAIL)
        assert reseller is not None

    members = {demo.email: _ensure_sub_user(session, reseller, demo) for demo in DEMO_SUB_USERS}
    northwind = members[NORTHWIND.email]

    if not _exists(session, Grant.grantee_id == northwind.id):
        grant_request = schema.GrantCreate.model_validate(
            {**_NORTHWIND_GRANT, "grantee_id": northwind.id}
        )
        grants.create_grant(session, reseller, grant_request)
    if not _exists(session, License.owner_id == reseller.id):
        for request in _RESELLER_LICENSES:
            licenses.create_license(session, reseller, request)
    if not _exists(session, License.owner_id == northwind.id):
        licenses.create_bulk(session, northwind, _NORTHWIND_BULK)
    session.commit()


def _ensure_sub_user(session: Session, reseller: Account, demo: DemoSubUser) -> Account:
    existing = accounts.by_email(session, demo.email)
    if existing is not None:
        return existing
    account = accounts.add_account(
        session,
        email=demo.email,
        role=Role.SUB_USER,
        parent=reseller,
        status=demo.status,
        display_name=demo.display_name,
        password=DEMO_SUB_USER_PASSWORD if demo.status == SubUserStatus.ACTIVE else None,
        tenant_id=reseller.tenant_id,
    )
    audit.record(
        session,
        actor_id=reseller.id,
        action="sub_user.invited",
        target_kind="account",
        target_id=account.id,
        details={"email": account.email, "display_name": account.display_name, "demo": True},
    )
    session.commit()
    return account


def _exists(session: Session, condition: ColumnElement[bool]) -> bool:
    return bool(session.scalar(select(exists().where(condition))))
