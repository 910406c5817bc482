"""The reseller's main job, driven through real widgets against a real portal on loopback."""

from __future__ import annotations

import asyncio
import csv
import email
import email.message
import email.policy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QFileDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from srportal_desktop.api import schema
from srportal_desktop.api.client import PortalClient
from srportal_desktop.keyfile import verify_key_file
from srportal_desktop.ui.dialogs.accept_invite import AcceptInviteDialog
from srportal_desktop.ui.dialogs.activate import ActivateDialog
from srportal_desktop.ui.dialogs.bulk_create import BulkCreateDialog
from srportal_desktop.ui.dialogs.grant import GrantDialog
from srportal_desktop.ui.dialogs.new_sub_user import NewSubUserDialog
from srportal_desktop.ui.dialogs.sign_in import SignInDialog
from srportal_desktop.ui.dialogs.transfer import TransferDialog
from srportal_desktop.ui.main_window import MainWindow
from srportal_desktop.ui.models.license_table import LicenseColumn
from srportal_desktop.ui.models.sub_user_list import EntryKind
from srportal_desktop.ui.session import DesktopSession
from tests.conftest import RunningPortal
from tests.support import child, wait_closed, wait_for_window, wait_until

SENSOR_A = "Ouster OS1-64"
SENSOR_B = "Hesai PandarXT32"
TECH_EMAIL = "tech@example.com"
TECH_NAME = "Field Tech Crew"


# --- driving widgets like a person ----------------------------------------------------------


def type_into(qtbot: QtBot, widget: QLineEdit | QAbstractSpinBox, text: str) -> None:
    """Replace the widget's text by typing, as a person would."""
    widget.setFocus()
    widget.selectAll()
    qtbot.keyClick(widget, Qt.Key.Key_Backspace)
    qtbot.keyClicks(widget, text)


def check_sensor(qtbot: QtBot, dialog: QWidget, label: str) -> None:
    sensor_list = child(dialog, QListWidget, "sensorList")
    items = sensor_list.findItems(label, Qt.MatchFlag.MatchStartsWith)
    assert items, f"{label} is not in the sensor checklist"
    sensor_list.setFocus()
    sensor_list.setCurrentItem(items[0])
    qtbot.keyClick(sensor_list, Qt.Key.Key_Space)
    assert items[0].checkState() == Qt.CheckState.Checked


def click(qtbot: QtBot, dialog: QWidget, name: str) -> None:
    button = child(dialog, QPushButton, name)
    assert button.isEnabled(), f"{name} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


async def answer_message_box(qtbot: QtBot, button_text: str) -> str:
    """Click `button_text` on the message box that opens next; returns the box's text."""
    box = await wait_for_window(QMessageBox)
    text = box.text()
    buttons = [b for b in box.buttons() if b.text().replace("&", "") == button_text]
    assert buttons, f"no {button_text!r} button on {text!r}"
    qtbot.mouseClick(buttons[0], Qt.MouseButton.LeftButton)
    await wait_closed(box)
    return text


def pool_text(window: MainWindow) -> str:
    return child(window, QLabel, "poolLabel").text()


def table_rows(window: MainWindow) -> dict[str, dict[LicenseColumn, str]]:
    view = window.license_view
    model = view.model()
    rows: dict[str, dict[LicenseColumn, str]] = {}
    for row in range(model.rowCount()):
        cells = {column: str(model.index(row, column).data()) for column in LicenseColumn}
        rows[cells[LicenseColumn.NAME]] = cells
    return rows


def select_sub_user(window: MainWindow, label: str) -> None:
    row = next(
        r
        for r in range(window.sub_user_model.rowCount())
        if window.sub_user_model.entry(r).title == label
    )
    sub_user = window.sub_user_model.entry(row).sub_user
    assert sub_user is not None
    window.select_entry(EntryKind.SUB_USER, sub_user.id)


@asynccontextmanager
async def signed_in_reseller(portal: RunningPortal) -> AsyncIterator[PortalClient]:
    """The reseller's own client beside the app: to set data up and to check the portal."""
    async with PortalClient(portal.base_url) as client:
        await client.login(portal.reseller_email, portal.reseller_password)
        yield client


async def sign_in_through_dialog(
    qtbot: QtBot, portal: RunningPortal
) -> tuple[DesktopSession, asyncio.Task[int]]:
    session = DesktopSession(client_factory=PortalClient, portal_url=portal.base_url)
    running = asyncio.ensure_future(session.run())
    dialog = await wait_for_window(SignInDialog)
    assert child(dialog, QLineEdit, "portalUrlEdit").text() == portal.base_url
    type_into(qtbot, child(dialog, QLineEdit, "emailEdit"), portal.reseller_email)
    type_into(qtbot, child(dialog, QLineEdit, "passwordEdit"), portal.reseller_password)
    click(qtbot, dialog, "submitButton")
    await wait_until(
        lambda: session.window is not None and session.window.me is not None,
        what="the main window to load",
    )
    assert session.window is not None
    return session, running


async def server_pool(portal: RunningPortal) -> schema.Pool:
    async with signed_in_reseller(portal) as client:
        return (await client.me()).pool


# --- the scenario ---------------------------------------------------------------------------


def test_reseller_adds_grants_bulk_creates_and_transfers(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, portal: RunningPortal
) -> None:
    async def scenario() -> None:
        session, running = await sign_in_through_dialog(qtbot, portal)
        window = session.window
        assert window is not None
        assert pool_text(window) == (
            "LPU 100 of 100 left · Sensors 400 of 400 left · GPU preset allowed"
        )

        # Add a sub-user: confirm naming the address, then the notification message.
        window.new_sub_user_action.trigger()
        dialog = await wait_for_window(NewSubUserDialog)
        type_into(qtbot, child(dialog, QLineEdit, "emailEdit"), TECH_EMAIL)
        type_into(qtbot, child(dialog, QLineEdit, "displayNameEdit"), TECH_NAME)
        click(qtbot, dialog, "submitButton")
        question = await answer_message_box(qtbot, "Add")
        assert TECH_EMAIL in question
        notice = await answer_message_box(qtbot, "OK")
        assert f"Notification sent to {TECH_EMAIL}" in notice
        await wait_until(
            lambda: window.sub_user_model.row_of_sub_user(_sub_user_id(window, TECH_NAME)),
            what="the new sub-user in the list",
        )
        mails = list(portal.outbox.glob("*.eml"))
        assert len(mails) == 1
        message = email.message_from_bytes(mails[0].read_bytes())
        assert message["To"] == TECH_EMAIL

        # The new sub-user has nothing yet, and the empty table says so, and why.
        select_sub_user(window, TECH_NAME)
        empty = child(window, QLabel, "emptyNotice")
        assert empty.isVisible()
        assert empty.text().startswith(f"{TECH_NAME} has no licenses yet.")
        search = child(window, QLineEdit, "licenseSearch")
        type_into(qtbot, search, "zzz")
        assert empty.text() == "No licenses match “zzz”."
        search.clear()

        # Grant 5 LPU and 20 sensors, two sensor models, no GPU preset.
        await wait_until(window.grant_action.isEnabled, what="Grant to be enabled")
        window.grant_action.trigger()
        dialog = await wait_for_window(GrantDialog)
        check_sensor(qtbot, dialog, SENSOR_A)
        check_sensor(qtbot, dialog, SENSOR_B)
        type_into(qtbot, child(dialog, QAbstractSpinBox, "lpuSpin"), "5")
        type_into(qtbot, child(dialog, QAbstractSpinBox, "sensorsSpin"), "20")
        click(qtbot, dialog, "submitButton")
        await wait_closed(dialog)
        await wait_until(
            lambda: pool_text(window).startswith("LPU 95 of 100 left · Sensors 380 of 400"),
            what="the pool to shrink by the grant",
        )
        grants = await _grants_of(portal, _sub_user_id(window, TECH_NAME))
        assert len(grants) == 1
        assert (grants[0].lpu_total, grants[0].sensor_total, grants[0].gpu_preset) == (5, 20, False)
        assert sorted(grants[0].supported_sensors) == ["hesai-pandarxt32", "ouster-os1-64"]

        # Bulk-create three licenses from the template name Site-A.
        window.select_entry(EntryKind.MY_LICENSES)
        window.bulk_create_action.trigger()
        dialog = await wait_for_window(BulkCreateDialog)
        type_into(qtbot, child(dialog, QLineEdit, "nameEdit"), "Site-A")
        check_sensor(qtbot, dialog, SENSOR_A)
        type_into(qtbot, child(dialog, QAbstractSpinBox, "sensorCountSpin"), "4")
        type_into(qtbot, child(dialog, QAbstractSpinBox, "copiesSpin"), "3")
        preview = child(dialog, QListWidget, "previewList")
        assert [preview.item(i).text() for i in range(preview.count())] == [
            "Site-A_1",
            "Site-A_2",
            "Site-A_3",
        ]
        click(qtbot, dialog, "submitButton")
        results = child(dialog, QListWidget, "resultList")
        await wait_until(lambda: results.count() == 3, what="the list of created licenses")
        click(qtbot, dialog, "closeButton")
        await wait_closed(dialog)
        await wait_until(
            lambda: {"Site-A_1", "Site-A_2", "Site-A_3"} <= set(table_rows(window)),
            what="the new licenses in the table",
        )
        assert pool_text(window).startswith("LPU 92 of 100 left · Sensors 368 of 400 left")
        await wait_until(
            lambda: (
                window.statusBar().currentMessage() == "Created 3 licenses: Site-A_1 … Site-A_3."
            ),
            what="the bulk creation in the status bar",
        )

        # Transfer Site-A_2 to the sub-user, chosen by typing its name.
        assert window.select_license(_license_id(window, "Site-A_2"))
        window.transfer_action.trigger()
        dialog = await wait_for_window(TransferDialog)
        type_into(qtbot, child(dialog, QLineEdit, "subUserEdit"), TECH_NAME)
        click(qtbot, dialog, "submitButton")
        question = await answer_message_box(qtbot, "Transfer")
        assert question == f"Transfer Site-A_2 to {TECH_NAME}?"
        await wait_closed(dialog)
        await wait_until(
            lambda: table_rows(window).get("Site-A_2", {}).get(LicenseColumn.OWNER) == TECH_NAME,
            what="the new owner in the table",
        )
        # It left "My licenses", so the window moved to where it is now, and says so.
        assert window.statusBar().currentMessage() == (
            f"Transferred Site-A_2 to {TECH_NAME}. Shown under All licenses."
        )
        select_sub_user(window, TECH_NAME)
        await wait_until(lambda: set(table_rows(window)) == {"Site-A_2"})
        assert not child(window, QLabel, "emptyNotice").isVisible()

        # A grant larger than what is left: refused in the dialog, typed values kept.
        window.grant_action.trigger()
        dialog = await wait_for_window(GrantDialog)
        check_sensor(qtbot, dialog, SENSOR_A)
        type_into(qtbot, child(dialog, QAbstractSpinBox, "lpuSpin"), "93")
        type_into(qtbot, child(dialog, QAbstractSpinBox, "sensorsSpin"), "10")
        click(qtbot, dialog, "submitButton")
        banner = child(dialog, QWidget, "errorBanner")
        await wait_until(banner.isVisible, what="the refusal banner")
        assert "92" in child(banner, QLabel, "errorText").text()
        assert dialog.isVisible()
        assert child(dialog, QAbstractSpinBox, "lpuSpin").text() == "93"
        assert child(dialog, QAbstractSpinBox, "sensorsSpin").text() == "10"
        pool = await server_pool(portal)
        assert (pool.lpu_available, pool.sensor_available) == (92, 368)
        click(qtbot, dialog, "cancelButton")
        await wait_closed(dialog)

        window.close()
        assert await running == 0

    qloop.run_until_complete(asyncio.wait_for(scenario(), timeout=90))


def test_a_refusal_from_the_portal_keeps_the_grant_dialog_open_with_its_values(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, portal: RunningPortal
) -> None:
    """The pool shrinks on the portal while the dialog is open: the portal's refusal shows."""

    async def scenario() -> None:
        async with signed_in_reseller(portal) as other:
            await other.create_sub_user(
                schema.SubUserCreate(email=TECH_EMAIL, display_name=TECH_NAME)
            )
        session, running = await sign_in_through_dialog(qtbot, portal)
        window = session.window
        assert window is not None
        select_sub_user(window, TECH_NAME)
        window.grant_action.trigger()
        dialog = await wait_for_window(GrantDialog)
        check_sensor(qtbot, dialog, SENSOR_A)
        type_into(qtbot, child(dialog, QAbstractSpinBox, "lpuSpin"), "60")
        type_into(qtbot, child(dialog, QAbstractSpinBox, "sensorsSpin"), "100")

        # Someone else spends most of the pool in the meantime.
        async with signed_in_reseller(portal) as other:
            template = schema.LicenseTemplate(
                name="Elsewhere", sensor_models=["ouster-os1-64"], sensor_count=1
            )
            await other.bulk_create_licenses(schema.BulkCreate(template=template, copies=50))

        click(qtbot, dialog, "submitButton")
        banner = child(dialog, QWidget, "errorBanner")
        await wait_until(banner.isVisible, what="the portal's refusal")
        assert "50" in child(banner, QLabel, "errorText").text()
        assert dialog.isVisible()
        assert child(dialog, QAbstractSpinBox, "lpuSpin").text() == "60"
        assert child(dialog, QAbstractSpinBox, "sensorsSpin").text() == "100"
        assert child(dialog, QPushButton, "submitButton").isEnabled()
        assert await _grants_of(portal, _sub_user_id(window, TECH_NAME)) == []
        click(qtbot, dialog, "cancelButton")
        window.close()
        assert await running == 0

    qloop.run_until_complete(asyncio.wait_for(scenario(), timeout=60))


def test_demo_screenshot_renders_the_main_window(
    qapp: QApplication, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    from srportal_desktop.app import Options, run

    target = tmp_path / "main.png"
    code = qloop.run_until_complete(
        asyncio.wait_for(run(Options(portal_url=None, demo=True, screenshot=target)), timeout=60)
    )
    assert code == 0
    assert target.stat().st_size > 10_000
    from PySide6.QtGui import QImage

    image = QImage(str(target))
    assert image.width() >= 800
    assert image.height() >= 500


# --- small readers ----------------------------------------------------------------------------


def _sub_user_id(window: MainWindow, label: str) -> str:
    for sub_user in window.sub_user_model.sub_users():
        if sub_user.label == label:
            return sub_user.id
    return ""


def _license_id(window: MainWindow, name: str) -> str:
    for lic in window.license_model.licenses():
        if lic.name == name:
            return lic.id
    raise AssertionError(f"no license {name}")


async def _grants_of(portal: RunningPortal, grantee_id: str) -> list[schema.Grant]:
    async with signed_in_reseller(portal) as client:
        return (await client.list_grants(grantee_id)).items


def test_sign_in_refusals_keep_what_was_typed_and_sign_out_asks_again(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, portal: RunningPortal
) -> None:
    async def scenario() -> None:
        session = DesktopSession(client_factory=PortalClient, portal_url=portal.base_url)
        running = asyncio.ensure_future(session.run())
        dialog = await wait_for_window(SignInDialog)
        url_edit = child(dialog, QLineEdit, "portalUrlEdit")
        email_edit = child(dialog, QLineEdit, "emailEdit")
        password_edit = child(dialog, QLineEdit, "passwordEdit")
        banner = child(dialog, QWidget, "errorBanner")

        # A portal address that is not one: refused under the field.
        type_into(qtbot, url_edit, "http://portal:port")
        type_into(qtbot, email_edit, portal.reseller_email)
        type_into(qtbot, password_edit, "wrong password")
        click(qtbot, dialog, "submitButton")
        await wait_until(banner.isVisible, what="the address refusal")
        assert url_edit.text() == "http://portal:port"

        # The right portal, the wrong password: the portal's words, nothing lost.
        type_into(qtbot, url_edit, portal.base_url)
        click(qtbot, dialog, "submitButton")
        await wait_until(
            lambda: "password" in child(banner, QLabel, "errorText").text().lower(),
            what="the portal's refusal of the password",
        )
        assert dialog.isVisible()
        assert email_edit.text() == portal.reseller_email
        assert password_edit.text() == "wrong password"

        type_into(qtbot, password_edit, portal.reseller_password)
        click(qtbot, dialog, "submitButton")
        await wait_until(lambda: session.window is not None and session.window.me is not None)
        window = session.window
        assert window is not None
        window.sign_out_action.trigger()

        # Signing out returns to the sign-in dialog, with the address and email remembered.
        dialog = await wait_for_window(SignInDialog)
        assert child(dialog, QLineEdit, "emailEdit").text() == portal.reseller_email
        click(qtbot, dialog, "cancelButton")
        assert await running == 0

    qloop.run_until_complete(asyncio.wait_for(scenario(), timeout=60))


def test_an_invited_sub_user_accepts_from_the_sign_in_dialog(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, portal: RunningPortal
) -> None:
    async def scenario() -> None:
        async with signed_in_reseller(portal) as reseller:
            await reseller.create_sub_user(schema.SubUserCreate(email=TECH_EMAIL))
        [mail_file] = portal.outbox.glob("*.eml")
        mail = email.message_from_bytes(mail_file.read_bytes(), policy=email.policy.default)
        assert isinstance(mail, email.message.EmailMessage)
        body = mail.get_body(("plain",))
        assert body is not None
        link = next(word for word in body.get_content().split() if "/accept-invite?token=" in word)

        session = DesktopSession(client_factory=PortalClient, portal_url=portal.base_url)
        running = asyncio.ensure_future(session.run())
        sign_in = await wait_for_window(SignInDialog)
        type_into(qtbot, child(sign_in, QLineEdit, "emailEdit"), TECH_EMAIL)
        type_into(qtbot, child(sign_in, QLineEdit, "passwordEdit"), "half remembered")
        click(qtbot, sign_in, "invitationButton")
        dialog = await wait_for_window(AcceptInviteDialog)
        assert child(dialog, QLineEdit, "portalUrlEdit").text() == portal.base_url

        # Back and forth between the two dialogs loses nothing that was typed.
        type_into(qtbot, child(dialog, QLineEdit, "codeEdit"), "first try")
        click(qtbot, dialog, "cancelButton")
        sign_in = await wait_for_window(SignInDialog)
        assert child(sign_in, QLineEdit, "emailEdit").text() == TECH_EMAIL
        assert child(sign_in, QLineEdit, "passwordEdit").text() == "half remembered"
        click(qtbot, sign_in, "invitationButton")
        dialog = await wait_for_window(AcceptInviteDialog)
        assert child(dialog, QLineEdit, "codeEdit").text() == "first try"
        code_edit = child(dialog, QLineEdit, "codeEdit")
        password_edit = child(dialog, QLineEdit, "passwordEdit")
        again_edit = child(dialog, QLineEdit, "passwordAgainEdit")

        # A code the portal does not know: its words under the code, the passwords kept.
        type_into(qtbot, code_edit, "not-the-code")
        type_into(qtbot, password_edit, "field tech password")
        type_into(qtbot, again_edit, "field tech password")
        click(qtbot, dialog, "submitButton")
        code_error = child(dialog, QLabel, "codeEditError")
        await wait_until(code_error.isVisible, what="the refusal of the code")
        assert again_edit.text() == "field tech password"
        # Typing a new code takes the stale message away.
        type_into(qtbot, code_edit, link)
        assert not code_error.isVisible()

        # The whole link pasted, and two different passwords: refused before sending.
        type_into(qtbot, code_edit, link)
        type_into(qtbot, password_edit, "field tech password")
        type_into(qtbot, again_edit, "field tech pasword")
        click(qtbot, dialog, "submitButton")
        again_error = child(dialog, QLabel, "passwordAgainEditError")
        await wait_until(again_error.isVisible, what="the mismatch under the second password")
        assert "differ" in again_error.text()
        assert (code_edit.text(), password_edit.text()) == (link, "field tech password")

        # Too short for the portal's policy: its words under the password, nothing lost.
        type_into(qtbot, password_edit, "short")
        type_into(qtbot, again_edit, "short")
        click(qtbot, dialog, "submitButton")
        password_error = child(dialog, QLabel, "passwordEditError")
        await wait_until(password_error.isVisible, what="the portal's password policy")
        assert "8 characters" in password_error.text()
        assert dialog.isVisible()
        assert code_edit.text() == link

        type_into(qtbot, password_edit, "field tech password")
        type_into(qtbot, again_edit, "field tech password")
        click(qtbot, dialog, "submitButton")
        await wait_until(
            lambda: session.window is not None and session.window.me is not None,
            what="the sub-user's main window",
        )
        window = session.window
        assert window is not None
        assert window.me is not None
        assert (window.me.email, window.me.role) == (TECH_EMAIL, schema.Role.SUB_USER)

        # From now on the password signs in, and the dialog remembers who did last.
        window.sign_out_action.trigger()
        sign_in = await wait_for_window(SignInDialog)
        assert child(sign_in, QLineEdit, "emailEdit").text() == TECH_EMAIL
        type_into(qtbot, child(sign_in, QLineEdit, "passwordEdit"), "field tech password")
        click(qtbot, sign_in, "submitButton")
        await wait_until(lambda: session.window is not None and session.window.me is not None)
        assert session.window is not None
        session.window.close()
        assert await running == 0

    qloop.run_until_complete(asyncio.wait_for(scenario(), timeout=60))


def test_the_reseller_resends_disables_enables_and_revokes_with_a_question_first(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, portal: RunningPortal
) -> None:
    async def scenario() -> None:
        async with signed_in_reseller(portal) as reseller:
            await reseller.create_sub_user(
                schema.SubUserCreate(email=TECH_EMAIL, display_name=TECH_NAME)
            )
            template = schema.LicenseCreate(
                name="Spare", sensor_models=["ouster-os1-64"], sensor_count=3
            )
            await reseller.create_license(template)
        session, running = await sign_in_through_dialog(qtbot, portal)
        window = session.window
        assert window is not None
        await wait_until(lambda: pool_text(window).startswith("LPU 99 of 100 left"))

        # Resend the invitation: asked first, then a second email with a new code.
        select_sub_user(window, TECH_NAME)
        assert window.resend_invite_action.isEnabled()
        window.resend_invite_action.trigger()
        assert TECH_EMAIL in await answer_message_box(qtbot, "Send")
        await wait_until(lambda: len(list(portal.outbox.glob("*.eml"))) == 2, what="the email")
        await wait_until(lambda: "new invitation" in window.statusBar().currentMessage())

        # Disable (asked first; declining changes nothing), then enable again.
        window.toggle_sub_user_action.trigger()
        await answer_message_box(qtbot, "Cancel")
        assert window.sub_user_model.sub_users()[0].status is schema.SubUserStatus.INVITED
        window.toggle_sub_user_action.trigger()
        assert await answer_message_box(qtbot, "Disable") == f"Disable {TECH_NAME}?"
        await wait_until(
            lambda: window.toggle_sub_user_action.text() == "Enable sub-user",
            what="the sub-user to be disabled",
        )
        assert not window.grant_action.isEnabled()  # no quota for a disabled sub-user
        window.toggle_sub_user_action.trigger()  # enabling asks nothing
        await wait_until(lambda: window.toggle_sub_user_action.text() == "Disable sub-user…")
        # Never accepted, so enabled means invited again.
        assert window.sub_user_model.sub_users()[0].status is schema.SubUserStatus.INVITED

        # Revoke the unused license: the question says its quota comes back, and it does.
        window.select_entry(EntryKind.MY_LICENSES)
        assert window.select_license(_license_id(window, "Spare"))
        window.revoke_action.trigger()
        assert await answer_message_box(qtbot, "Revoke") == "Revoke Spare? This cannot be undone."
        await wait_until(
            lambda: table_rows(window)["Spare"][LicenseColumn.STATUS] == "Revoked",
            what="the license to show as revoked",
        )
        assert pool_text(window).startswith("LPU 100 of 100 left · Sensors 400 of 400 left")
        assert not window.revoke_action.isEnabled()  # revoked once is revoked for good

        window.close()
        assert await running == 0

    qloop.run_until_complete(asyncio.wait_for(scenario(), timeout=60))


def test_a_technician_activates_saves_a_verifiable_key_file_and_rehosts(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, portal: RunningPortal, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with signed_in_reseller(portal) as reseller:
            template = schema.LicenseCreate(
                name="Gate 7/North", sensor_models=["ouster-os1-64"], sensor_count=2
            )
            created = await reseller.create_license(template)
            signing_key = await reseller.signing_key()
        session, running = await sign_in_through_dialog(qtbot, portal)
        window = session.window
        assert window is not None
        assert window.select_license(created.id)
        assert window.activate_action.isEnabled()
        assert not window.save_key_action.isEnabled()  # nothing to save before activation

        # Activate: an empty machine ID is refused in the dialog, then the save dialog follows.
        window.activate_action.trigger()
        dialog = await wait_for_window(ActivateDialog)
        assert "one-year term starts now" in child(dialog, QLabel, "activationIntro").text()
        click(qtbot, dialog, "submitButton")
        await wait_until(child(dialog, QLabel, "machineEditError").isVisible)
        type_into(qtbot, child(dialog, QLineEdit, "machineEdit"), "LPU-0042")
        click(qtbot, dialog, "submitButton")
        saving = await wait_for_window(QFileDialog)
        assert saving.selectedFiles()[0].endswith("Gate_7_North.license-key.json")
        # A person browses to the folder and keeps the suggested name.
        saving.setDirectory(str(tmp_path))
        saving.accept()
        target = tmp_path / "Gate_7_North.license-key.json"
        await wait_until(target.exists, what="the key file on disk")
        key_file = schema.KeyFile.model_validate_json(target.read_text(encoding="utf-8"))
        payload = verify_key_file(key_file, signing_key.public_key)
        assert payload["machine_id"] == "LPU-0042"
        rows = table_rows(window)
        assert rows["Gate 7/North"][LicenseColumn.MACHINE] == "LPU-0042"
        assert window.save_key_action.isEnabled()
        assert not window.activate_action.isEnabled()

        # Saving again asks where; cancelling writes nothing.
        window.save_key_action.trigger()
        saving = await wait_for_window(QFileDialog)
        saving.reject()
        await wait_closed(saving)

        # Deactivate for a rehost: asked first, then the machine is free again.
        assert window.select_license(created.id)
        window.deactivate_action.trigger()
        question = await answer_message_box(qtbot, "Deactivate")
        assert question == "Deactivate Gate 7/North on LPU-0042?"
        await wait_until(
            lambda: table_rows(window)["Gate 7/North"][LicenseColumn.MACHINE] == "—",
            what="the machine to be freed",
        )
        assert window.select_license(created.id)
        assert window.activate_action.isEnabled()

        window.close()
        assert await running == 0

    qloop.run_until_complete(asyncio.wait_for(scenario(), timeout=60))


def test_the_licenses_shown_export_to_csv_as_shown(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, portal: RunningPortal, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with signed_in_reseller(portal) as reseller:
            for name in ("Zürich, Gate 2", "Basel 1", "Zürich, Gate 10"):
                await reseller.create_license(
                    schema.LicenseCreate(name=name, sensor_models=["ouster-os1-64"], sensor_count=2)
                )
        session, running = await sign_in_through_dialog(qtbot, portal)
        window = session.window
        assert window is not None
        type_into(qtbot, child(window, QLineEdit, "licenseSearch"), "gate")
        window.export_action.trigger()
        saving = await wait_for_window(QFileDialog)
        assert saving.selectedFiles()[0].endswith("My_licenses.csv")
        saving.setDirectory(str(tmp_path))
        saving.accept()
        target = tmp_path / "My_licenses.csv"
        await wait_until(target.exists, what="the CSV file")
        with target.open(encoding="utf-8-sig", newline="") as file:
            rows = list(csv.reader(file))
        assert rows[0] == [column.title for column in LicenseColumn]
        # The search and the natural name order of the table; commas quoted; no placeholders.
        assert [row[0] for row in rows[1:]] == ["Zürich, Gate 2", "Zürich, Gate 10"]
        assert rows[1][LicenseColumn.SENSOR_MODELS] == SENSOR_A
        assert rows[1][LicenseColumn.MACHINE] == ""
        await wait_until(
            lambda: window.statusBar().currentMessage().startswith("Exported 2 licenses to "),
            what="the export in the status bar",
        )

        window.close()
        assert await running == 0

    qloop.run_until_complete(asyncio.wait_for(scenario(), timeout=60))
