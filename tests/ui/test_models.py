"""The Qt models over plain data: checked by qtmodeltester, sorting and filtering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from PySide6.QtCore import Qt

from srportal_desktop.api.schema import License, LicenseStatus, Pool, SubUser, SubUserStatus
from srportal_desktop.ui.models.license_table import (
    LicenseColumn,
    LicenseFilterProxy,
    LicenseTableModel,
)
from srportal_desktop.ui.models.sub_user_list import (
    EntryKind,
    SubUserFilterProxy,
    SubUserListModel,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def make_license(name: str, owner: str = "me", **changes: object) -> License:
    values: dict[str, object] = {
        "id": f"id-{name}",
        "name": name,
        "owner_id": owner,
        "sensor_models": ["ouster-os1-64"],
        "sensor_count": 4,
        "gpu_preset": False,
        "notes": "",
        "status": LicenseStatus.NOT_ACTIVATED,
        "machine_id": None,
        "issued_at": NOW,
        "activated_at": None,
        "expires_at": None,
    }
    values.update(changes)
    return License.model_validate(values)


def make_sub_user(user_id: str, name: str, status: SubUserStatus = SubUserStatus.ACTIVE) -> SubUser:
    return SubUser(
        id=user_id,
        email=f"{user_id}@example.com",
        display_name=name,
        status=status,
        created_at=NOW,
        pool=Pool(lpu_total=5, lpu_available=2, lpu_used=3),
    )


def license_model() -> LicenseTableModel:
    owners = {"me": "Me", "u1": "Northwind"}
    return LicenseTableModel(
        owner_label=lambda owner: owners.get(owner, owner),
        sensor_label=lambda sensor: {"ouster-os1-64": "Ouster OS1-64"}.get(sensor, sensor),
        clock=lambda: NOW,
    )


def test_license_table_model_passes_qtmodeltester(qtmodeltester: object) -> None:
    model = license_model()
    model.set_licenses([make_license("Site-A_1"), make_license("Depot", owner="u1")])
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    proxy = LicenseFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)  # type: ignore[attr-defined]


def test_license_table_shows_what_a_person_reads() -> None:
    model = license_model()
    active = make_license(
        "Depot",
        owner="u1",
        status=LicenseStatus.ACTIVE,
        machine_id="lpu-77",
        activated_at=NOW - timedelta(days=340),
        expires_at=NOW + timedelta(days=25),
        gpu_preset=True,
    )
    model.set_licenses([make_license("Site-A_1"), active])

    def cell(row: int, column: LicenseColumn) -> object:
        return model.index(row, column).data(Qt.ItemDataRole.DisplayRole)

    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in LicenseColumn] == [
        "Name",
        "Owner",
        "Sensor models",
        "Sensors",
        "GPU preset",
        "Status",
        "Machine",
        "Expires",
    ]
    assert cell(0, LicenseColumn.OWNER) == "Me"
    assert cell(0, LicenseColumn.SENSOR_MODELS) == "Ouster OS1-64"
    assert cell(0, LicenseColumn.STATUS) == "Not activated"
    assert cell(0, LicenseColumn.MACHINE) == "—"
    assert cell(1, LicenseColumn.OWNER) == "Northwind"
    assert cell(1, LicenseColumn.GPU_PRESET) == "Yes"
    assert cell(1, LicenseColumn.STATUS) == "Expiring soon"
    assert cell(1, LicenseColumn.MACHINE) == "lpu-77"


def test_names_sort_naturally_and_the_proxy_filters_by_owner_and_text() -> None:
    model = license_model()
    model.set_licenses(
        [make_license(f"Site-A_{n}") for n in (10, 2, 1)] + [make_license("Depot", owner="u1")]
    )
    proxy = LicenseFilterProxy()
    proxy.setSourceModel(model)
    proxy.sort(LicenseColumn.NAME, Qt.SortOrder.AscendingOrder)
    names = [proxy.license_at(row).name for row in range(proxy.rowCount())]
    assert names == ["Depot", "Site-A_1", "Site-A_2", "Site-A_10"]

    proxy.set_owner("u1")
    assert [proxy.license_at(r).name for r in range(proxy.rowCount())] == ["Depot"]
    proxy.set_owner(None)
    proxy.set_search_text("  site-a_1 ")
    assert [proxy.license_at(r).name for r in range(proxy.rowCount())] == ["Site-A_1", "Site-A_10"]
    proxy.set_search_text("northwind")  # owner column text matches too
    assert [proxy.license_at(r).name for r in range(proxy.rowCount())] == ["Depot"]


def test_upsert_replaces_known_rows_and_appends_new_ones() -> None:
    model = license_model()
    model.set_licenses([make_license("A"), make_license("B")])
    model.upsert([make_license("B", owner="u1"), make_license("C")])
    assert [lic.name for lic in model.licenses()] == ["A", "B", "C"]
    assert model.license_at(1).owner_id == "u1"


def test_sub_user_list_keeps_fixed_entries_on_top_and_searches(qtmodeltester: object) -> None:
    model = SubUserListModel()
    model.set_sub_users(
        [
            make_sub_user("u2", "Harbor Logistics", SubUserStatus.INVITED),
            make_sub_user("u1", "Northwind Robotics"),
        ]
    )
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    titles = [model.index(r).data() for r in range(model.rowCount())]
    assert titles == [
        "My licenses",
        "All licenses",
        "Harbor Logistics (invited)",
        "Northwind Robotics",
    ]

    proxy = SubUserFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)  # type: ignore[attr-defined]
    proxy.set_search_text("u1@EXAMPLE")
    kinds = [proxy.entry_at(r).kind for r in range(proxy.rowCount())]
    assert kinds == [EntryKind.MY_LICENSES, EntryKind.ALL_LICENSES, EntryKind.SUB_USER]
    assert proxy.entry_at(2).title == "Northwind Robotics"
