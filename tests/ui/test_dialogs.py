"""The dialogs on their own: live quota lines, local refusals, names, and how refusals show.

Only the error display uses a stand-in client (`RefusingClient`); what the portal really
does with a request is covered by the end-to-end tests against a real server.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from srportal_desktop.api.errors import (
    AuthenticationError,
    ConflictError,
    PortalError,
    PortalUnavailableError,
)
from srportal_desktop.api.schema import (
    ErrorCode,
    FieldError,
    License,
    LicenseStatus,
    Pool,
    Sensor,
    SubUser,
    SubUserStatus,
)
from srportal_desktop.resources import load_sensor_catalog
from srportal_desktop.ui.async_tools import run_dialog
from srportal_desktop.ui.dialogs.accept_invite import (
    AcceptInviteDialog,
    invitation_code,
    portal_of_link,
)
from srportal_desktop.ui.dialogs.bulk_create import BulkCreateDialog, preview_names
from srportal_desktop.ui.dialogs.create_license import CreateLicenseDialog
from srportal_desktop.ui.dialogs.form_dialog import FIX_FIELDS, FormRefusalError
from srportal_desktop.ui.dialogs.grant import NOTHING_TO_GRANT, GrantDialog
from srportal_desktop.ui.dialogs.new_sub_user import NewSubUserDialog
from srportal_desktop.ui.dialogs.sign_in import SignInDialog, normalized_url
from srportal_desktop.ui.dialogs.transfer import TransferDialog, completions, find_recipient
from srportal_desktop.ui.icons import icon
from srportal_desktop.ui.widgets.error_banner import ErrorBanner
from srportal_desktop.ui.widgets.sensor_checklist import SensorChecklist

W = TypeVar("W", bound=QWidget)
NOW = datetime(2025, 3, 1, tzinfo=UTC)
CATALOG = [Sensor(**entry) for entry in load_sensor_catalog()]
SUPPORTED = [sensor.id for sensor in CATALOG[:20]]
UNSUPPORTED = [sensor.id for sensor in CATALOG[20:]]


def make_pool(
    lpu: int = 100, sensors: int = 400, *, gpu: bool = True, supported: list[str] | None = None
) -> Pool:
    return Pool(
        lpu_total=lpu,
        lpu_available=lpu,
        sensor_total=sensors,
        sensor_available=sensors,
        supported_sensors=SUPPORTED if supported is None else supported,
        gpu_preset=gpu,
    )


def make_sub_user(
    sub_user_id: str,
    email: str,
    display_name: str = "",
    status: SubUserStatus = SubUserStatus.ACTIVE,
) -> SubUser:
    return SubUser(
        id=sub_user_id,
        email=email,
        display_name=display_name,
        status=status,
        created_at=NOW,
        pool=Pool(),
    )


NORTHWIND = make_sub_user("u1", "ops@northwind.example", "Northwind Robotics")
CONTOSO = make_sub_user("u2", "tech@contoso.example")
GHOST = make_sub_user("u3", "old@ghost.example", "Ghost Ltd", SubUserStatus.DISABLED)
TWIN_A = make_sub_user("u4", "a@twins.example", "Twins")
TWIN_B = make_sub_user("u5", "b@twins.example", "twins")
SITE_A_2 = License(
    id="lic-2",
    name="Site-A_2",
    owner_id="reseller",
    sensor_models=SUPPORTED[:2],
    sensor_count=4,
    gpu_preset=False,
    notes="",
    status=LicenseStatus.ACTIVE,
    machine_id="machine-1",
    issued_at=NOW,
    activated_at=NOW,
    expires_at=datetime.now(UTC) + timedelta(days=300),
)


class RefusingClient:
    """Stands in for the PortalClient where only the refusal matters.

    Every call is recorded; with no `error` any call fails the test (nothing may be sent);
    with `gate` the refusal waits until the test opens it, to look at the busy state.
    """

    def __init__(self, error: PortalError | None = None, gate: asyncio.Event | None = None):
        self.error = error
        self.gate = gate
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    async def _refuse(self, name: str, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((name, args, kwargs))
        if self.error is None:
            raise AssertionError(f"{name} was sent, but nothing should have been")
        if self.gate is not None:
            await self.gate.wait()
        raise self.error

    async def create_sub_user(self, body: Any, /) -> Any:
        return await self._refuse("create_sub_user", body)

    async def create_grant(self, body: Any, /, *, idempotency_key: str | None = None) -> Any:
        return await self._refuse("create_grant", body, idempotency_key=idempotency_key)

    async def create_license(self, body: Any, /, *, idempotency_key: str | None = None) -> Any:
        return await self._refuse("create_license", body, idempotency_key=idempotency_key)

    async def bulk_create_licenses(
        self, body: Any, /, *, idempotency_key: str | None = None
    ) -> Any:
        return await self._refuse("bulk_create_licenses", body, idempotency_key=idempotency_key)

    async def transfer_license(self, license_id: str, to_sub_user_id: str, /) -> Any:
        return await self._refuse("transfer_license", license_id, to_sub_user_id)


# --- driving widgets --------------------------------------------------------------------------


async def wait_until(condition: Callable[[], object], *, what: str = "", within: float = 5) -> None:
    """Poll between asyncio steps, so the dialog's tasks and Qt events both make progress."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.01)


def child(widget: QWidget, kind: type[W], name: str) -> W:
    found = widget.findChild(kind, name)
    assert found is not None, f"no {kind.__name__} named {name!r}"
    return found


def type_into(qtbot: QtBot, widget: QLineEdit | QAbstractSpinBox, text: str) -> None:
    widget.setFocus()
    widget.selectAll()
    qtbot.keyClick(widget, Qt.Key.Key_Backspace)
    qtbot.keyClicks(widget, text)


def check_sensors(qtbot: QtBot, dialog: QWidget, *labels: str) -> None:
    sensor_list = child(dialog, QListWidget, "sensorList")
    sensor_list.setFocus()
    for label in labels:
        item = sensor_list.findItems(label, Qt.MatchFlag.MatchExactly)[0]
        sensor_list.setCurrentItem(item)
        qtbot.keyClick(sensor_list, Qt.Key.Key_Space)


def click(qtbot: QtBot, dialog: QWidget, name: str = "submitButton") -> None:
    qtbot.mouseClick(child(dialog, QPushButton, name), Qt.MouseButton.LeftButton)


def banner_text(dialog: QWidget) -> str:
    banner = child(dialog, ErrorBanner, "errorBanner")
    return banner.text() if banner.isVisible() else ""


def field_error(dialog: QWidget, input_name: str) -> str:
    label = child(dialog, QLabel, f"{input_name}Error")
    return label.text() if label.isVisible() else ""


async def message_box(owner: QWidget) -> QMessageBox:
    boxes: list[QMessageBox] = []

    def shown() -> bool:
        boxes[:] = [box for box in owner.findChildren(QMessageBox) if box.isVisible()]
        return bool(boxes)

    await wait_until(shown, what="a message box")
    return boxes[0]


async def answer(owner: QWidget, qtbot: QtBot, button_text: str) -> QMessageBox:
    box = await message_box(owner)
    button = next(b for b in box.buttons() if b.text().replace("&", "") == button_text)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: not box.isVisible(), what="the box to close")
    return box


def run_open(
    qloop: asyncio.AbstractEventLoop,
    dialog: QDialog,
    scenario: Callable[[asyncio.Task[int]], Awaitable[None]],
) -> None:
    """Open `dialog` as the app does (run_dialog) and drive it with `scenario(task)`."""

    async def main() -> None:
        opened = asyncio.ensure_future(run_dialog(dialog))
        await wait_until(dialog.isVisible, what="the dialog to open")
        try:
            await scenario(opened)
        finally:
            if dialog.isVisible():
                dialog.done(QDialog.DialogCode.Rejected)
            await asyncio.wait_for(opened, timeout=5)

    qloop.run_until_complete(asyncio.wait_for(main(), timeout=30))


@pytest.fixture(autouse=True)
def _no_leaked_windows(qapp: QApplication) -> Any:
    yield
    QApplication.processEvents()
    leaked = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    for widget in leaked:
        widget.close()
    assert not leaked, f"windows left open: {leaked}"


# --- shared widgets ---------------------------------------------------------------------------


def test_error_banner_is_hidden_while_empty(qtbot: QtBot) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    banner = ErrorBanner(parent)
    parent.show()
    assert not banner.isVisible()
    banner.show_error("The portal is not reachable.")
    assert banner.isVisible()
    assert banner.text() == "The portal is not reachable."
    banner.clear()
    assert not banner.isVisible()
    assert banner.text() == ""


def test_sensor_checklist_checks_only_enabled_models(qtbot: QtBot) -> None:
    checklist = SensorChecklist(CATALOG, SUPPORTED)
    qtbot.addWidget(checklist)
    with qtbot.waitSignal(checklist.changed):
        checklist.select_all()
    assert checklist.checked_ids() == SUPPORTED
    assert checklist.enabled_ids() == SUPPORTED
    assert checklist.summary.text() == f"20 of {len(SUPPORTED)} selected"
    checklist.set_checked_ids([SUPPORTED[1], UNSUPPORTED[0]])
    assert checklist.checked_ids() == [SUPPORTED[1]]
    qtbot.mouseClick(checklist.select_none_button, Qt.MouseButton.LeftButton)
    assert checklist.checked_ids() == []


ICONS = ["airplane", "add-user", "grant", "new-license", "bulk", "refresh", "sign-out", "app"]


@pytest.mark.parametrize("name", [*ICONS, "search", "licenses"])
def test_every_icon_renders(qapp: QApplication, name: str) -> None:
    image = icon(name).pixmap(24, 24).toImage()
    assert not image.isNull()
    opaque = sum(1 for x in range(24) for y in range(24) if image.pixelColor(x, y).alpha() > 0)
    assert opaque > 20, f"{name} draws almost nothing"


# --- grant ------------------------------------------------------------------------------------


def grant_dialog(qtbot: QtBot, client: RefusingClient, pool: Pool | None = None) -> GrantDialog:
    dialog = GrantDialog(client, NORTHWIND, pool or make_pool(), CATALOG)
    qtbot.addWidget(dialog)
    return dialog


def test_grant_names_the_sub_user_and_offers_only_the_pools_models(qtbot: QtBot) -> None:
    dialog = grant_dialog(qtbot, RefusingClient(), make_pool(gpu=False))
    assert "Northwind Robotics" in dialog.windowTitle()
    sensor_list = child(dialog, QListWidget, "sensorList")
    assert sensor_list.count() == len(CATALOG)
    assert dialog.sensor_list.enabled_ids() == SUPPORTED
    assert sensor_list.item(0).text() == f"{CATALOG[0].make} {CATALOG[0].model}"
    gpu = child(dialog, QWidget, "gpuPresetCheck")
    assert not gpu.isEnabled()
    assert gpu.toolTip()


def test_grant_quota_line_follows_the_typing(qtbot: QtBot) -> None:
    dialog = grant_dialog(qtbot, RefusingClient())
    dialog.show()
    quota = dialog.quota_line
    assert quota.objectName() == "quotaLabel"
    type_into(qtbot, child(dialog, QAbstractSpinBox, "lpuSpin"), "5")
    type_into(qtbot, child(dialog, QAbstractSpinBox, "sensorsSpin"), "20")
    assert quota.text() == "After this grant: LPU 95 of 100 left · Sensors 380 of 400 left"
    assert not quota.is_error
    type_into(qtbot, child(dialog, QAbstractSpinBox, "lpuSpin"), "150")
    assert quota.text() == "Only 100 LPU licenses left"
    assert quota.is_error
    type_into(qtbot, child(dialog, QAbstractSpinBox, "sensorsSpin"), "401")
    assert quota.text() == "Only 100 LPU and 400 sensor licenses left"


def test_grant_refuses_what_does_not_fit_keeps_the_values_and_sends_nothing(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    client = RefusingClient()
    dialog = grant_dialog(qtbot, client)

    async def scenario(opened: asyncio.Task[int]) -> None:
        check_sensors(qtbot, dialog, "Ouster OS1-64")
        type_into(qtbot, child(dialog, QAbstractSpinBox, "lpuSpin"), "101")
        type_into(qtbot, child(dialog, QAbstractSpinBox, "sensorsSpin"), "20")
        click(qtbot, dialog)
        await wait_until(lambda: banner_text(dialog), what="the refusal")
        assert banner_text(dialog) == "Only 100 LPU licenses left"
        assert field_error(dialog, "lpuSpin") == "More than the 100 LPU licenses left"
        assert field_error(dialog, "sensorsSpin") == ""
        assert child(dialog, QAbstractSpinBox, "lpuSpin").text() == "101"
        assert child(dialog, QAbstractSpinBox, "sensorsSpin").text() == "20"
        assert dialog.sensor_list.checked_ids() == ["ouster-os1-64"]
        assert QApplication.focusWidget() is child(dialog, QAbstractSpinBox, "lpuSpin")

        # Both counts zero, then no model checked: each refused with its own reason.
        type_into(qtbot, child(dialog, QAbstractSpinBox, "lpuSpin"), "0")
        type_into(qtbot, child(dialog, QAbstractSpinBox, "sensorsSpin"), "0")
        click(qtbot, dialog)
        await wait_until(lambda: banner_text(dialog) == NOTHING_TO_GRANT)
        type_into(qtbot, child(dialog, QAbstractSpinBox, "lpuSpin"), "1")
        dialog.sensor_list.select_none()
        click(qtbot, dialog)
        await wait_until(lambda: banner_text(dialog) == FIX_FIELDS)
        assert field_error(dialog, "sensorList") == "Choose at least one sensor model."
        assert field_error(dialog, "lpuSpin") == ""
        assert dialog.isVisible()
        assert not opened.done()
        assert_nothing_squeezed(dialog)

        # Fixing the field takes its message away, and the banner with the last one.
        check_sensors(qtbot, dialog, "Ouster OS1-64")
        assert field_error(dialog, "sensorList") == ""
        assert banner_text(dialog) == ""
        assert_nothing_squeezed(dialog)

    run_open(qloop, dialog, scenario)
    assert client.calls == []
    assert dialog.created is None


def assert_nothing_squeezed(dialog: QWidget) -> None:
    """Every visible input and message has at least the height it asks for."""
    QApplication.processEvents()
    layout = dialog.layout()
    assert layout is not None
    assert dialog.height() >= layout.totalHeightForWidth(dialog.width())
    for widget in dialog.findChildren(QWidget):
        if widget.objectName().startswith("qt_"):  # Qt's own parts inside a spin box
            continue
        if widget.isVisible() and isinstance(widget, QLabel | QLineEdit | QAbstractSpinBox):
            wanted = (
                widget.heightForWidth(widget.width())
                if widget.hasHeightForWidth()
                else widget.minimumSizeHint().height()
            )
            assert widget.height() >= wanted, (widget.objectName(), widget.height(), wanted)


def test_grant_shows_the_portals_refusal_and_stays_usable(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    gate = asyncio.Event()
    refusal = ConflictError(
        "Only 50 LPU licenses are left in your grant.",
        code=ErrorCode.QUOTA_EXCEEDED,
        errors=[FieldError(field="lpu", message="Only 50 left.")],
    )
    client = RefusingClient(refusal, gate)
    dialog = grant_dialog(qtbot, client)

    async def scenario(opened: asyncio.Task[int]) -> None:
        check_sensors(qtbot, dialog, "Ouster OS1-64", "Ouster OS1-128")
        type_into(qtbot, child(dialog, QAbstractSpinBox, "lpuSpin"), "60")
        type_into(qtbot, child(dialog, QAbstractSpinBox, "sensorsSpin"), "100")
        qtbot.keyClick(child(dialog, QAbstractSpinBox, "sensorsSpin"), Qt.Key.Key_Return)
        await wait_until(lambda: client.calls, what="the request")

        # Busy: no second submission, no closing while the answer is on its way.
        submit = child(dialog, QPushButton, "submitButton")
        assert submit.text() == "Granting…"
        assert not submit.isEnabled()
        assert not child(dialog, QPushButton, "cancelButton").isEnabled()
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
        assert dialog.isVisible()

        gate.set()
        await wait_until(lambda: banner_text(dialog), what="the portal's refusal")
        assert banner_text(dialog) == "Only 50 LPU licenses are left in your grant."
        assert field_error(dialog, "lpuSpin") == "Only 50 left."
        assert submit.isEnabled()
        assert submit.text() == "Grant"
        assert child(dialog, QAbstractSpinBox, "lpuSpin").text() == "60"
        assert child(dialog, QAbstractSpinBox, "sensorsSpin").text() == "100"
        assert dialog.sensor_list.checked_ids() == ["ouster-os1-64", "ouster-os1-128"]
        assert not opened.done()

    run_open(qloop, dialog, scenario)
    ((name, (body,), kwargs),) = client.calls
    assert name == "create_grant"
    assert (body.grantee_id, body.lpu, body.sensors) == ("u1", 60, 100)
    assert kwargs["idempotency_key"]


def test_a_retry_of_the_same_request_reuses_its_idempotency_key(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    client = RefusingClient(PortalUnavailableError("The portal cannot be reached."))
    dialog = grant_dialog(qtbot, client)
    dialog.sensor_list.set_checked_ids(["ouster-os1-64"])
    dialog.lpu_spin.setValue(2)

    async def scenario() -> None:
        assert not await dialog.submit()
        assert not await dialog.submit()
        dialog.lpu_spin.setValue(3)
        assert not await dialog.submit()

    qloop.run_until_complete(scenario())
    first, retry, changed = (kwargs["idempotency_key"] for _, _, kwargs in client.calls)
    assert first == retry
    assert changed != first
    assert dialog.banner.text() == "The portal cannot be reached."


# --- create license ---------------------------------------------------------------------------


def test_create_license_usage_line_and_local_refusal(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    client = RefusingClient()
    dialog = CreateLicenseDialog(client, make_pool(10, 40), CATALOG)
    qtbot.addWidget(dialog)
    quota = child(dialog, QLabel, "quotaLabel")

    async def scenario(opened: asyncio.Task[int]) -> None:
        type_into(qtbot, child(dialog, QAbstractSpinBox, "sensorCountSpin"), "4")
        assert (
            quota.text()
            == "Uses 1 LPU and 4 sensors.\nAfter: LPU 9 of 10 left · Sensors 36 of 40 left"
        )
        type_into(qtbot, child(dialog, QAbstractSpinBox, "sensorCountSpin"), "41")
        assert quota.text() == "Needs 1 LPU and 41 sensors — only 40 sensor licenses left"
        qtbot.keyClicks(child(dialog, QWidget, "notesEdit"), "for the north gate")
        click(qtbot, dialog)
        await wait_until(lambda: banner_text(dialog), what="the refusal")
        assert banner_text(dialog).splitlines() == [quota.text(), FIX_FIELDS]
        assert field_error(dialog, "nameEdit") == "Enter a name for the license."
        assert field_error(dialog, "sensorList") == "Choose at least one sensor model."
        assert field_error(dialog, "sensorCountSpin") == "More than the 40 sensor licenses left"
        assert QApplication.focusWidget() is child(dialog, QLineEdit, "nameEdit")
        assert child(dialog, QAbstractSpinBox, "sensorCountSpin").text() == "41"
        assert dialog.template.notes_edit.toPlainText() == "for the north gate"

    run_open(qloop, dialog, scenario)
    assert client.calls == []


def test_create_license_shows_a_name_taken_refusal_under_the_name(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    refusal = ConflictError(
        "A license named Site-B already exists.",
        code=ErrorCode.NAME_TAKEN,
        errors=[FieldError(field="name", message="This name is taken.")],
    )
    client = RefusingClient(refusal)
    dialog = CreateLicenseDialog(client, make_pool(), CATALOG)
    qtbot.addWidget(dialog)

    async def scenario(opened: asyncio.Task[int]) -> None:
        type_into(qtbot, child(dialog, QLineEdit, "nameEdit"), "Site-B")
        check_sensors(qtbot, dialog, "Velodyne VLP-16")
        qtbot.keyClick(child(dialog, QLineEdit, "nameEdit"), Qt.Key.Key_Return)
        await wait_until(lambda: banner_text(dialog), what="the refusal")
        assert banner_text(dialog) == "A license named Site-B already exists."
        assert field_error(dialog, "nameEdit") == "This name is taken."
        assert child(dialog, QLineEdit, "nameEdit").text() == "Site-B"
        assert QApplication.focusWidget() is child(dialog, QLineEdit, "nameEdit")

    run_open(qloop, dialog, scenario)
    ((_, (body,), _),) = client.calls
    assert (body.name, body.sensor_models, body.sensor_count) == ("Site-B", ["velodyne-vlp-16"], 1)


# --- bulk creation ----------------------------------------------------------------------------


def test_preview_names_show_the_first_few_and_the_last() -> None:
    assert preview_names("Site-A", 3) == ["Site-A_1", "Site-A_2", "Site-A_3"]
    assert preview_names("Site-A", 5) == [f"Site-A_{n}" for n in range(1, 6)]
    assert preview_names("Site-A", 50) == ["Site-A_1", "Site-A_2", "Site-A_3", "…", "Site-A_50"]
    assert preview_names("", 1) == ["[Name]_1"]


def test_bulk_preview_and_quota_follow_the_typing(qtbot: QtBot) -> None:
    dialog = BulkCreateDialog(RefusingClient(), make_pool(), CATALOG)
    qtbot.addWidget(dialog)
    dialog.show()
    preview = child(dialog, QListWidget, "previewList")
    type_into(qtbot, child(dialog, QLineEdit, "nameEdit"), "Site-A")
    type_into(qtbot, child(dialog, QAbstractSpinBox, "sensorCountSpin"), "4")
    type_into(qtbot, child(dialog, QAbstractSpinBox, "copiesSpin"), "3")
    assert [preview.item(i).text() for i in range(preview.count())] == [
        "Site-A_1",
        "Site-A_2",
        "Site-A_3",
    ]
    assert dialog.quota_line.text() == (
        "Uses 3 LPU and 12 sensors.\nAfter: LPU 97 of 100 left · Sensors 388 of 400 left"
    )
    assert child(dialog, QPushButton, "submitButton").text() == "Create 3 Licenses"
    type_into(qtbot, child(dialog, QAbstractSpinBox, "copiesSpin"), "120")
    assert preview.item(preview.count() - 1).text() == "Site-A_120"
    assert dialog.quota_line.is_error


def test_bulk_refuses_more_copies_than_the_pool_holds(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    client = RefusingClient()
    dialog = BulkCreateDialog(client, make_pool(), CATALOG)
    qtbot.addWidget(dialog)

    async def scenario(opened: asyncio.Task[int]) -> None:
        type_into(qtbot, child(dialog, QLineEdit, "nameEdit"), "Site-A")
        check_sensors(qtbot, dialog, "Ouster OS1-64")
        type_into(qtbot, child(dialog, QAbstractSpinBox, "copiesSpin"), "101")
        click(qtbot, dialog)
        await wait_until(lambda: banner_text(dialog), what="the refusal")
        assert banner_text(dialog) == ("Needs 101 LPU and 101 sensors — only 100 LPU licenses left")
        assert field_error(dialog, "copiesSpin") == "More than the 100 LPU licenses left"
        assert child(dialog, QAbstractSpinBox, "copiesSpin").text() == "101"
        assert child(dialog, QLineEdit, "nameEdit").text() == "Site-A"

    run_open(qloop, dialog, scenario)
    assert client.calls == []


def test_bulk_places_the_portals_template_errors_under_the_fields(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    refusal = ConflictError(
        "Site-A_2 is taken: no license was created.",
        code=ErrorCode.NAME_TAKEN,
        errors=[
            FieldError(field="template.name", message="Site-A_2 already exists."),
            FieldError(field="grant_id", message="No grant covers these sensors."),
        ],
    )
    client = RefusingClient(refusal)
    dialog = BulkCreateDialog(client, make_pool(), CATALOG)
    qtbot.addWidget(dialog)

    async def scenario(opened: asyncio.Task[int]) -> None:
        type_into(qtbot, child(dialog, QLineEdit, "nameEdit"), "Site-A")
        check_sensors(qtbot, dialog, "Ouster OS1-64")
        type_into(qtbot, child(dialog, QAbstractSpinBox, "copiesSpin"), "3")
        click(qtbot, dialog)
        await wait_until(lambda: banner_text(dialog), what="the refusal")
        # A message for a field the form does not have still reaches the user.
        assert banner_text(dialog).splitlines() == [
            "Site-A_2 is taken: no license was created.",
            "No grant covers these sensors.",
        ]
        assert field_error(dialog, "nameEdit") == "Site-A_2 already exists."
        assert not child(dialog, QListWidget, "resultList").isVisible()

    run_open(qloop, dialog, scenario)
    assert dialog.created == []


def test_bulk_result_page_lists_the_licenses_and_closing_it_accepts(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    dialog = BulkCreateDialog(RefusingClient(), make_pool(), CATALOG)
    qtbot.addWidget(dialog)
    created = [
        SITE_A_2.model_copy(update={"id": f"lic-{n}", "name": f"Site-A_{n}"}) for n in (1, 2, 3)
    ]
    results: list[int] = []

    async def scenario(opened: asyncio.Task[int]) -> None:
        await dialog.finish(created)
        result_list = child(dialog, QListWidget, "resultList")
        assert result_list.isVisible()
        assert [result_list.item(i).text() for i in range(3)] == [lic.name for lic in created]
        assert not child(dialog, QPushButton, "submitButton").isVisible()
        assert not child(dialog, QPushButton, "cancelButton").isVisible()
        details = child(dialog, QLabel, "resultDetails").text()
        assert details.endswith("Your pool now: LPU 97 of 100 left · Sensors 388 of 400 left")
        click(qtbot, dialog, "copyNamesButton")
        assert QGuiApplication.clipboard().text() == "Site-A_1\nSite-A_2\nSite-A_3"
        qtbot.keyClick(result_list, Qt.Key.Key_Escape)
        results.append(await asyncio.wait_for(opened, timeout=5))

    run_open(qloop, dialog, scenario)
    assert results == [QDialog.DialogCode.Accepted]
    assert dialog.created == created


# --- transfer ---------------------------------------------------------------------------------

SUB_USERS = [NORTHWIND, CONTOSO, GHOST, TWIN_A, TWIN_B]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Northwind Robotics", NORTHWIND),
        ("  northwind ROBOTICS ", NORTHWIND),
        ("OPS@northwind.example", NORTHWIND),
        ("tech@contoso.example", CONTOSO),
        ("a@twins.example", TWIN_A),
    ],
)
def test_transfer_picks_the_sub_user_by_exact_name_or_email(typed: str, expected: SubUser) -> None:
    assert find_recipient(typed, SUB_USERS, SITE_A_2) == expected


@pytest.mark.parametrize(
    ("typed", "owner", "reason"),
    [
        ("", "reseller", "Enter the name or email address of a sub-user."),
        ("Northwind", "reseller", "No sub-user is called “Northwind”. Pick one from the list."),
        ("ghost ltd", "reseller", "Ghost Ltd is disabled and cannot receive licenses."),
        ("TWINS", "reseller", "Several sub-users are called “TWINS”; type the email address"),
        ("Northwind Robotics", "u1", "Site-A_2 already belongs to Northwind Robotics."),
    ],
)
def test_transfer_refuses_unknown_ambiguous_disabled_or_current_owner(
    typed: str, owner: str, reason: str
) -> None:
    lic = SITE_A_2.model_copy(update={"owner_id": owner})
    with pytest.raises(FormRefusalError) as refused:
        find_recipient(typed, SUB_USERS, lic)
    assert refused.value.message.startswith(reason)
    assert refused.value.fields == {"to_sub_user_id": refused.value.message}


def test_transfer_completer_offers_each_possible_recipient_once(qtbot: QtBot) -> None:
    lic = SITE_A_2.model_copy(update={"owner_id": "u2"})
    assert completions(SUB_USERS, lic) == [
        "a@twins.example",
        "b@twins.example",
        "Northwind Robotics",
    ]
    dialog = TransferDialog(RefusingClient(), lic, SUB_USERS, "Contoso")
    qtbot.addWidget(dialog)
    completer = child(dialog, QLineEdit, "subUserEdit").completer()
    assert completer.caseSensitivity() == Qt.CaseSensitivity.CaseInsensitive
    assert completer.filterMode() == Qt.MatchFlag.MatchContains
    completer.setCompletionPrefix("ROBO")
    assert completer.completionCount() == 1
    assert completer.currentCompletion() == "Northwind Robotics"


def test_transfer_shows_the_license_and_who_the_typed_name_picks(qtbot: QtBot) -> None:
    dialog = TransferDialog(RefusingClient(), SITE_A_2, SUB_USERS, "Reseller A", sensors=CATALOG)
    qtbot.addWidget(dialog)
    assert child(dialog, QLabel, "licenseNameLabel").text() == "Site-A_2"
    assert child(dialog, QLabel, "licenseSensorsLabel").text() == (
        "4 sensors · Ouster OS0-128, Ouster OS1-64"
    )
    assert child(dialog, QLabel, "licenseStatusLabel").text().startswith("Active")
    assert child(dialog, QLabel, "currentOwnerLabel").text() == "Reseller A"
    assert not dialog.windowIcon().isNull()
    dialog.sub_user_edit.setText("northwind robotics")
    assert child(dialog, QLabel, "matchLabel").text() == (
        "Northwind Robotics · ops@northwind.example · Active"
    )
    dialog.sub_user_edit.setText("north")
    assert child(dialog, QLabel, "matchLabel").text().strip() == ""


def test_transfer_asks_first_and_shows_the_portals_refusal(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    refusal = ConflictError("Northwind Robotics was disabled a moment ago.")
    client = RefusingClient(refusal)
    dialog = TransferDialog(client, SITE_A_2, SUB_USERS, "Reseller A")
    qtbot.addWidget(dialog)

    async def scenario(opened: asyncio.Task[int]) -> None:
        type_into(qtbot, child(dialog, QLineEdit, "subUserEdit"), "Northwind Robotics")
        click(qtbot, dialog)
        box = await answer(dialog, qtbot, "Cancel")
        assert box.text() == "Transfer Site-A_2 to Northwind Robotics?"
        assert client.calls == []
        assert child(dialog, QLineEdit, "subUserEdit").text() == "Northwind Robotics"

        click(qtbot, dialog)
        await answer(dialog, qtbot, "Transfer")
        await wait_until(lambda: banner_text(dialog), what="the portal's refusal")
        assert banner_text(dialog) == "Northwind Robotics was disabled a moment ago."
        assert child(dialog, QLineEdit, "subUserEdit").text() == "Northwind Robotics"

        type_into(qtbot, child(dialog, QLineEdit, "subUserEdit"), "Nobody")
        click(qtbot, dialog)
        await wait_until(lambda: "Nobody" in banner_text(dialog), what="the local refusal")
        assert "Nobody" in field_error(dialog, "subUserEdit")

    run_open(qloop, dialog, scenario)
    assert client.calls == [("transfer_license", ("lic-2", "u1"), {})]
    assert dialog.transferred is None


# --- new sub-user -----------------------------------------------------------------------------


def test_new_sub_user_checks_the_address_before_asking(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    client = RefusingClient()
    dialog = NewSubUserDialog(client)
    qtbot.addWidget(dialog)

    async def scenario(opened: asyncio.Task[int]) -> None:
        type_into(qtbot, child(dialog, QLineEdit, "emailEdit"), "tech@")
        qtbot.keyClick(child(dialog, QLineEdit, "emailEdit"), Qt.Key.Key_Return)
        await wait_until(lambda: banner_text(dialog), what="the refusal")
        assert field_error(dialog, "emailEdit").startswith("Not a valid email address.")
        assert not [box for box in dialog.findChildren(QMessageBox) if box.isVisible()]

        child(dialog, QLineEdit, "emailEdit").clear()
        click(qtbot, dialog)
        await wait_until(lambda: field_error(dialog, "emailEdit").startswith("Enter"))

        # Declining the question goes back to the form with what was typed.
        type_into(qtbot, child(dialog, QLineEdit, "emailEdit"), "tech@example.com")
        type_into(qtbot, child(dialog, QLineEdit, "displayNameEdit"), "Field Tech Crew")
        click(qtbot, dialog)
        box = await answer(dialog, qtbot, "Cancel")
        assert box.text() == "Add tech@example.com as a sub-user?"
        assert box.informativeText() == (
            "A notification email with an activation link will be sent to tech@example.com."
        )
        assert banner_text(dialog) == ""
        assert child(dialog, QLineEdit, "emailEdit").text() == "tech@example.com"
        assert child(dialog, QLineEdit, "displayNameEdit").text() == "Field Tech Crew"
        assert dialog.isVisible()

    run_open(qloop, dialog, scenario)
    assert client.calls == []


def test_new_sub_user_refuses_a_known_sub_user_without_asking(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    client = RefusingClient()
    dialog = NewSubUserDialog(client, [NORTHWIND, CONTOSO])
    qtbot.addWidget(dialog)

    async def scenario(opened: asyncio.Task[int]) -> None:
        type_into(qtbot, child(dialog, QLineEdit, "emailEdit"), NORTHWIND.email.upper())
        click(qtbot, dialog)
        await wait_until(lambda: banner_text(dialog), what="the refusal")
        assert field_error(dialog, "emailEdit") == (
            f"Already one of your sub-users ({NORTHWIND.display_name})."
        )
        assert not [box for box in dialog.findChildren(QMessageBox) if box.isVisible()]
        assert child(dialog, QLineEdit, "emailEdit").text() == NORTHWIND.email.upper()

    run_open(qloop, dialog, scenario)
    assert client.calls == []


def test_new_sub_user_shows_email_taken_under_the_address(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    refusal = ConflictError(
        "tech@example.com is already registered.",
        code=ErrorCode.EMAIL_TAKEN,
        errors=[FieldError(field="email", message="This address is taken.")],
    )
    client = RefusingClient(refusal)
    dialog = NewSubUserDialog(client)
    qtbot.addWidget(dialog)

    async def scenario(opened: asyncio.Task[int]) -> None:
        type_into(qtbot, child(dialog, QLineEdit, "emailEdit"), "tech@example.com")
        click(qtbot, dialog)
        await answer(dialog, qtbot, "Add")
        await wait_until(lambda: banner_text(dialog), what="the refusal")
        assert banner_text(dialog) == "tech@example.com is already registered."
        assert field_error(dialog, "emailEdit") == "This address is taken."
        assert child(dialog, QLineEdit, "emailEdit").text() == "tech@example.com"
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
        await wait_until(opened.done, what="Esc to cancel")
        assert opened.result() == QDialog.DialogCode.Rejected

    run_open(qloop, dialog, scenario)
    assert [name for name, _, _ in client.calls] == ["create_sub_user"]
    assert dialog.created is None


# --- sign in ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "url"),
    [
        ("https://portal.example.com/", "https://portal.example.com"),
        ("portal.example.com", "https://portal.example.com"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
        ("ftp://portal.example.com", None),
        ("https://", None),
        ("", None),
    ],
)
def test_portal_address_is_checked(typed: str, url: str | None) -> None:
    assert normalized_url(typed) == url


def test_sign_in_failure_keeps_everything_and_focuses_the_password(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    attempts: list[tuple[str, str, str]] = []

    async def sign_in(url: str, email: str, password: str) -> None:
        attempts.append((url, email, password))
        raise AuthenticationError("The email address or password is wrong.")

    dialog = SignInDialog(sign_in, portal_url="portal.example.com", email="sales@reseller.example")
    qtbot.addWidget(dialog)

    async def scenario(opened: asyncio.Task[int]) -> None:
        assert QApplication.focusWidget() is child(dialog, QLineEdit, "passwordEdit")
        click(qtbot, dialog)
        await wait_until(lambda: field_error(dialog, "passwordEdit"), what="the refusal")
        assert field_error(dialog, "passwordEdit") == "Enter your password."
        assert attempts == []

        qtbot.keyClicks(child(dialog, QLineEdit, "passwordEdit"), "hunter2")
        qtbot.keyClick(child(dialog, QLineEdit, "passwordEdit"), Qt.Key.Key_Return)
        await wait_until(lambda: attempts, what="the sign-in")
        assert banner_text(dialog) == "The email address or password is wrong."
        assert child(dialog, QLineEdit, "portalUrlEdit").text() == "portal.example.com"
        assert child(dialog, QLineEdit, "emailEdit").text() == "sales@reseller.example"
        assert child(dialog, QLineEdit, "passwordEdit").text() == "hunter2"
        assert QApplication.focusWidget() is child(dialog, QLineEdit, "passwordEdit")

    run_open(qloop, dialog, scenario)
    assert attempts == [("https://portal.example.com", "sales@reseller.example", "hunter2")]


def test_sign_in_refuses_an_address_that_is_not_a_web_address(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    async def sign_in(url: str, email: str, password: str) -> None:
        raise AssertionError("nothing should be sent")

    dialog = SignInDialog(sign_in, portal_url="ftp://portal", email="sales@reseller.example")
    qtbot.addWidget(dialog)

    async def scenario(opened: asyncio.Task[int]) -> None:
        qtbot.keyClicks(child(dialog, QLineEdit, "passwordEdit"), "secret")
        click(qtbot, dialog)
        await wait_until(lambda: field_error(dialog, "portalUrlEdit"), what="the refusal")
        assert QApplication.focusWidget() is child(dialog, QLineEdit, "portalUrlEdit")

    run_open(qloop, dialog, scenario)


# --- accept invitation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pasted", "code", "portal"),
    [
        ("Xy_12-ab", "Xy_12-ab", None),
        ("  Xy_12-ab.\n", "Xy_12-ab", None),
        ("token=Xy_12-ab", "Xy_12-ab", None),
        ("https://p.example/accept-invite?token=Xy_1", "Xy_1", "https://p.example"),
        ("<https://p.example/accept-invite?token=Xy_1>", "Xy_1", "https://p.example"),
        ("https://p.example/accept-invite?token=Xy_1.", "Xy_1", "https://p.example"),
        ("https://p.example/accept-invite?tok\nen=Xy_1", "Xy_1", "https://p.example"),
        ("http://h:8000/portal/accept-invite?a=1&token=Q&b=2", "Q", "http://h:8000/portal"),
    ],
)
def test_the_code_and_the_portal_come_out_of_a_pasted_link(
    pasted: str, code: str, portal: str | None
) -> None:
    assert invitation_code(pasted) == code
    assert portal_of_link(pasted) == portal


def test_a_pasted_link_fills_in_an_empty_portal_address(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop
) -> None:
    accepted: list[tuple[str, str, str]] = []

    async def accept(url: str, code: str, password: str) -> None:
        accepted.append((url, code, password))

    dialog = AcceptInviteDialog(accept)
    qtbot.addWidget(dialog)

    async def scenario(opened: asyncio.Task[int]) -> None:
        type_into(
            qtbot, child(dialog, QLineEdit, "codeEdit"), "https://p.example/accept-invite?token=Q1"
        )
        type_into(qtbot, child(dialog, QLineEdit, "passwordEdit"), "long enough pass")
        type_into(qtbot, child(dialog, QLineEdit, "passwordAgainEdit"), "long enough pass")
        click(qtbot, dialog)
        await wait_until(opened.done, what="the dialog to accept")

    run_open(qloop, dialog, scenario)
    assert accepted == [("https://p.example", "Q1", "long enough pass")]
    assert child(dialog, QLineEdit, "portalUrlEdit").text() == "https://p.example"
