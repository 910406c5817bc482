"""Render every dialog to PNG, as a person would see it, for review.

The pictures go to `$SRPORTAL_SCREENSHOT_DIR` when set (look at them there), else to the
test's temporary folder. The asserts check that each rendering has the size of a real dialog.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QDialog

from srportal_desktop.api.schema import License, LicenseStatus, Pool, Sensor, SubUser, SubUserStatus
from srportal_desktop.resources import load_sensor_catalog
from srportal_desktop.ui.dialogs.accept_invite import AcceptInviteDialog
from srportal_desktop.ui.dialogs.activate import ActivateDialog
from srportal_desktop.ui.dialogs.bulk_create import BulkCreateDialog
from srportal_desktop.ui.dialogs.create_license import CreateLicenseDialog
from srportal_desktop.ui.dialogs.grant import GrantDialog
from srportal_desktop.ui.dialogs.new_sub_user import NewSubUserDialog
from srportal_desktop.ui.dialogs.sign_in import SignInDialog
from srportal_desktop.ui.dialogs.transfer import TransferDialog

NOW = datetime(2026, 12, 3, tzinfo=UTC)
CATALOG = [Sensor.model_validate(s) for s in load_sensor_catalog()]
POOL = Pool(
    lpu_total=100,
    lpu_used=8,
    lpu_available=92,
    sensor_total=400,
    sensor_used=32,
    sensor_available=368,
    supported_sensors=[s.id for s in CATALOG[:20]],
    gpu_preset=True,
)
SUB_USER = SubUser(
    id="u1",
    email="ops@northwind.example",
    display_name="Northwind Robotics",
    status=SubUserStatus.ACTIVE,
    created_at=NOW,
    pool=Pool(lpu_total=5, lpu_available=5, sensor_total=20, sensor_available=20),
)
LICENSE = License(
    id="l2",
    name="Site-A_2",
    owner_id="me",
    sensor_models=[CATALOG[1].id],
    sensor_count=4,
    gpu_preset=False,
    notes="",
    status=LicenseStatus.ACTIVE,
    machine_id="lpu-0042",
    issued_at=NOW,
    activated_at=NOW,
    expires_at=NOW + timedelta(days=365),
)


FRESH = {"status": LicenseStatus.NOT_ACTIVATED, "activated_at": None, "expires_at": None}


async def _never_called(*_args: object) -> None:
    raise AssertionError("rendering sends nothing")


DIALOGS: dict[str, Callable[[], QDialog]] = {
    "activate": lambda: ActivateDialog(None, LICENSE.model_copy(update=FRESH)),  # type: ignore[arg-type]
    "accept_invite": lambda: AcceptInviteDialog(
        _never_called, portal_url="https://portal.example.com"
    ),
    "sign_in": lambda: SignInDialog(
        _never_called, portal_url="https://portal.example.com", email="sales@reseller.example"
    ),
    "new_sub_user": lambda: NewSubUserDialog(None),  # type: ignore[arg-type]
    "grant": lambda: GrantDialog(None, SUB_USER, POOL, CATALOG),  # type: ignore[arg-type]
    "create_license": lambda: CreateLicenseDialog(None, POOL, CATALOG),  # type: ignore[arg-type]
    "bulk_create": lambda: BulkCreateDialog(None, POOL, CATALOG),  # type: ignore[arg-type]
    "transfer": lambda: TransferDialog(
        None,  # type: ignore[arg-type]
        LICENSE,
        [SUB_USER],
        "Me",
        sensors=CATALOG,
    ),
}


@pytest.fixture
def shot_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SRPORTAL_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("name", sorted(DIALOGS))
def test_dialog_renders(name: str, qapp: QApplication, shot_dir: Path) -> None:
    dialog = DIALOGS[name]()
    dialog.show()
    dialog.adjustSize()
    qapp.processEvents()
    target = shot_dir / f"dialog_{name}.png"
    assert dialog.grab().save(str(target))
    image = QImage(str(target))
    assert image.width() >= 300
    assert image.height() >= 120
    dialog.close()
    dialog.deleteLater()
