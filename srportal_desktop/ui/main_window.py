"""The main window: pool summary, sub-user list, license table, and the actions on them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import (
    QAbstractItemModel,
    QByteArray,
    QModelIndex,
    QPoint,
    QSettings,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from srportal_desktop import __version__
from srportal_desktop.api.errors import PortalError
from srportal_desktop.api.schema import (
    License,
    LicenseStatus,
    Me,
    Pool,
    Role,
    Sensor,
    SubUser,
    SubUserStatus,
)
from srportal_desktop.ui.async_tools import run_dialog, show_message
from srportal_desktop.ui.dialogs.bulk_create import BulkCreateDialog
from srportal_desktop.ui.dialogs.create_license import CreateLicenseDialog
from srportal_desktop.ui.dialogs.grant import GrantDialog
from srportal_desktop.ui.dialogs.new_sub_user import NewSubUserDialog
from srportal_desktop.ui.dialogs.transfer import TransferDialog
from srportal_desktop.ui.icons import icon
from srportal_desktop.ui.license_operations import LicenseOperations
from srportal_desktop.ui.models.license_table import (
    LicenseColumn,
    LicenseFilterProxy,
    LicenseTableModel,
)
from srportal_desktop.ui.models.sub_user_list import (
    EntryKind,
    ListEntry,
    SubUserFilterProxy,
    SubUserListModel,
)
from srportal_desktop.ui.sub_user_operations import SubUserOperations
from srportal_desktop.ui.widgets.column_widths import fit_columns
from srportal_desktop.ui.widgets.empty_notice import EmptyNotice

if TYPE_CHECKING:
    from srportal_desktop.api.client import PortalClient

log = logging.getLogger(__name__)
ANNOUNCEMENT_MS = 10_000  # how long "Created …" and the like stay in the status bar
T = TypeVar("T")


def pool_summary(pool: Pool) -> str:
    """ "LPU 37 of 100 left · Sensors 120 of 400 left · GPU preset allowed"."""
    gpu = "GPU preset allowed" if pool.gpu_preset else "GPU preset not allowed"
    return (
        f"LPU {pool.lpu_available} of {pool.lpu_total} left · "
        f"Sensors {pool.sensor_available} of {pool.sensor_total} left · {gpu}"
    )


class MainWindow(QMainWindow):
    """Shows one signed-in account's business; every portal call is awaited on the loop."""

    data_loaded = Signal()
    sign_out_requested = Signal()
    closed = Signal()

    def __init__(self, client: PortalClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._client = client
        self._operations = LicenseOperations(self, client)
        self._sub_user_operations = SubUserOperations(self, client)
        self._me: Me | None = None
        self._sensors: list[Sensor] = []
        self._sensor_labels: dict[str, str] = {}
        self._busy_count = 0
        self._last_synced: datetime | None = None

        self.setObjectName("mainWindow")
        self.setWindowTitle("SR License Portal")
        self.setWindowIcon(icon("app"))

        self._sub_user_model = SubUserListModel(self)
        self._sub_user_proxy = SubUserFilterProxy(self)
        self._sub_user_proxy.setSourceModel(self._sub_user_model)
        self._license_model = LicenseTableModel(
            owner_label=self._owner_label, sensor_label=self._sensor_label, parent=self
        )
        self._license_proxy = LicenseFilterProxy(self)
        self._license_proxy.setSourceModel(self._license_model)

        self._build_actions()
        self._build_central()
        self._build_menus_and_toolbar()
        self._build_status_bar()
        self._update_actions()
        self._restore_geometry()

    # --- public --------------------------------------------------------------------------------

    @property
    def me(self) -> Me | None:
        return self._me

    @property
    def license_model(self) -> LicenseTableModel:
        return self._license_model

    @property
    def license_view(self) -> QTableView:
        return self._license_view

    @property
    def sub_user_model(self) -> SubUserListModel:
        return self._sub_user_model

    async def reload(self) -> bool:
        """Fetch everything the window shows; False (and a message) when it failed."""
        result = await self.run("Loading…", self._fetch_all())
        if result is None:
            return False
        me, sensors, sub_users, licenses = result
        self._apply(me, sensors, sub_users, licenses)
        return True

    def select_entry(self, kind: EntryKind, sub_user_id: str | None = None) -> None:
        for row in range(self._sub_user_proxy.rowCount()):
            entry = self._sub_user_proxy.entry_at(row)
            if entry.kind is not kind:
                continue
            if sub_user_id is None or (entry.sub_user and entry.sub_user.id == sub_user_id):
                self._sub_user_view.setCurrentIndex(self._sub_user_proxy.index(row, 0))
                return

    def select_license(self, license_id: str) -> bool:
        for row in range(self._license_proxy.rowCount()):
            if self._license_proxy.license_at(row).id == license_id:
                self._license_view.selectRow(row)
                return True
        return False

    # --- building ------------------------------------------------------------------------------

    def _build_actions(self) -> None:
        def action(text: str, icon_name: str, shortcut: str | None, tip: str) -> QAction:
            act = QAction(icon(icon_name), text, self)
            if shortcut:
                act.setShortcut(QKeySequence(shortcut))
            act.setToolTip(f"{tip} ({shortcut})" if shortcut else tip)
            act.setStatusTip(tip)
            return act

        self.new_sub_user_action = action(
            "New sub-user…", "add-user", "Ctrl+Shift+N", "Add a sub-user by email"
        )
        self.grant_action = action(
            "Grant license…",
            "grant",
            "Ctrl+G",
            "Grant quota from your pool to the selected sub-user",
        )
        self.create_license_action = action(
            "Create license…", "new-license", "Ctrl+N", "Create one license from your pool"
        )
        self.bulk_create_action = action(
            "Bulk create…", "bulk", "Ctrl+B", "Create several licenses named Name_1 … Name_N"
        )
        self.transfer_action = action(
            "Transfer…", "airplane", "Ctrl+T", "Transfer the selected license to a sub-user"
        )
        self.refresh_action = action("Refresh", "refresh", "F5", "Load the latest from the portal")
        self.sign_out_action = action("Sign out", "sign-out", None, "Sign out of the portal")
        self.quit_action = QAction("Quit", self)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.resend_invite_action = QAction("Resend invitation…", self)
        self.resend_invite_action.setStatusTip("Email the selected sub-user a new invitation")
        self.toggle_sub_user_action = QAction("Disable sub-user…", self)
        self.toggle_sub_user_action.setStatusTip("Stop or allow the sub-user's access")
        self.export_action = QAction("Export licenses to CSV…", self)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.setStatusTip("Save the licenses shown in the table as a CSV file")
        self.activate_action = QAction("Activate on machine…", self)
        self.activate_action.setStatusTip("Bind the license to a machine and get its key file")
        self.save_key_action = QAction("Save key file…", self)
        self.save_key_action.setStatusTip("Save the signed key file of the active license")
        self.deactivate_action = QAction("Deactivate (rehost)…", self)
        self.deactivate_action.setStatusTip("Free the machine so the license can move")
        self.revoke_action = QAction("Revoke license…", self)
        self.revoke_action.setStatusTip("End the selected license for good")
        self.copy_name_action = QAction("Copy name", self)
        self.copy_name_action.setShortcut(QKeySequence.StandardKey.Copy)
        self.about_action = QAction("About SR License Portal", self)

        self.new_sub_user_action.triggered.connect(self._on_new_sub_user)
        self.grant_action.triggered.connect(self._on_grant)
        self.create_license_action.triggered.connect(self._on_create_license)
        self.bulk_create_action.triggered.connect(self._on_bulk_create)
        self.transfer_action.triggered.connect(self._on_transfer)
        self.resend_invite_action.triggered.connect(self._sub_user_operations.resend_invite)
        self.toggle_sub_user_action.triggered.connect(self._sub_user_operations.toggle_enabled)
        self.revoke_action.triggered.connect(self._operations.revoke)
        self.activate_action.triggered.connect(self._operations.activate)
        self.export_action.triggered.connect(self._operations.export_csv)
        self.save_key_action.triggered.connect(self._operations.save_key_file)
        self.deactivate_action.triggered.connect(self._operations.deactivate)
        self.refresh_action.triggered.connect(self._on_refresh)
        self.sign_out_action.triggered.connect(self.sign_out_requested)
        self.quit_action.triggered.connect(self.close)
        self.copy_name_action.triggered.connect(self._copy_selected_name)
        self.about_action.triggered.connect(self._on_about)

    def _build_central(self) -> None:
        self._pool_label = QLabel("Loading…")
        self._pool_label.setObjectName("poolLabel")
        font = self._pool_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.1)
        font.setBold(True)
        self._pool_label.setFont(font)
        self._pool_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self._sub_user_search = QLineEdit()
        self._sub_user_search.setObjectName("subUserSearch")
        self._sub_user_search.setPlaceholderText("Search sub-users")
        self._sub_user_search.setClearButtonEnabled(True)
        self._sub_user_search.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self._sub_user_search.textChanged.connect(self._sub_user_proxy.set_search_text)

        self._sub_user_view = QListView()
        self._sub_user_view.setObjectName("subUserList")
        self._sub_user_view.setModel(self._sub_user_proxy)
        self._sub_user_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._sub_user_view.setUniformItemSizes(True)
        self._sub_user_view.setSpacing(2)
        self._sub_user_view.selectionModel().currentChanged.connect(self._on_entry_changed)
        self._sub_user_view.doubleClicked.connect(lambda _index: self.grant_action.trigger())

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self._sub_user_search)
        left_layout.addWidget(self._sub_user_view)

        self._selection_label = QLabel()
        self._selection_label.setObjectName("selectionLabel")
        self._selection_label.setWordWrap(True)

        self._license_search = QLineEdit()
        self._license_search.setObjectName("licenseSearch")
        self._license_search.setPlaceholderText("Search licenses by name, owner, sensor, machine")
        self._license_search.setClearButtonEnabled(True)
        self._license_search.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self._license_search.textChanged.connect(self._license_proxy.set_search_text)

        self._license_view = QTableView()
        self._license_view.setObjectName("licenseTable")
        self._license_view.setModel(self._license_proxy)
        self._license_view.setSortingEnabled(True)
        self._license_view.sortByColumn(LicenseColumn.NAME, Qt.SortOrder.AscendingOrder)
        self._license_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._license_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._license_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._license_view.setAlternatingRowColors(True)
        self._license_view.setWordWrap(False)
        self._license_view.verticalHeader().setVisible(False)
        header = self._license_view.horizontalHeader()
        header.setHighlightSections(False)
        header.setMinimumSectionSize(header.fontMetrics().averageCharWidth() * 6)
        self._license_view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self._columns_fitted = False
        self._license_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self._license_view.customContextMenuRequested.connect(self._show_license_menu)
        self._license_view.selectionModel().selectionChanged.connect(self._update_actions)
        self._license_proxy.modelReset.connect(self._update_actions)
        self._empty_notice = EmptyNotice(self._license_view, self._why_no_licenses)
        self._license_search.textChanged.connect(self._empty_notice.refresh)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self._selection_label)
        right_layout.addWidget(self._license_search)
        right_layout.addWidget(self._license_view)

        self._splitter = QSplitter(Qt.Orientation.Horizontal)
        self._splitter.setObjectName("mainSplitter")
        self._splitter.addWidget(left)
        self._splitter.addWidget(right)
        self._splitter.setStretchFactor(0, 0)
        self._splitter.setStretchFactor(1, 1)
        self._splitter.setSizes([240, 860])
        self._splitter.setChildrenCollapsible(False)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(10, 8, 10, 6)
        layout.addWidget(self._pool_label)
        layout.addWidget(self._splitter, 1)
        self.setCentralWidget(central)

    def _build_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.refresh_action)
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(self.sign_out_action)
        file_menu.addAction(self.quit_action)

        users_menu = bar.addMenu("&Sub-users")
        users_menu.addAction(self.new_sub_user_action)
        users_menu.addAction(self.grant_action)
        users_menu.addSeparator()
        users_menu.addAction(self.resend_invite_action)
        users_menu.addAction(self.toggle_sub_user_action)

        license_menu = bar.addMenu("&Licenses")
        license_menu.addAction(self.create_license_action)
        license_menu.addAction(self.bulk_create_action)
        license_menu.addSeparator()
        license_menu.addAction(self.transfer_action)
        license_menu.addAction(self.copy_name_action)
        license_menu.addSeparator()
        for act in (self.activate_action, self.save_key_action, self.deactivate_action):
            license_menu.addAction(act)
        license_menu.addSeparator()
        license_menu.addAction(self.revoke_action)

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about_action)

        toolbar = QToolBar("Main")
        toolbar.setObjectName("mainToolBar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for act in (self.new_sub_user_action, self.grant_action):
            toolbar.addAction(act)
        toolbar.addSeparator()
        for act in (self.create_license_action, self.bulk_create_action, self.transfer_action):
            toolbar.addAction(act)
        toolbar.addSeparator()
        toolbar.addAction(self.refresh_action)
        self.addToolBar(toolbar)

    def _build_status_bar(self) -> None:
        self._progress = QProgressBar()
        self._progress.setObjectName("busyIndicator")
        self._progress.setRange(0, 0)
        self._progress.setMaximumWidth(120)
        self._progress.setMaximumHeight(14)
        self._progress.setTextVisible(False)
        self._progress.hide()
        self._sync_label = QLabel()
        self._sync_label.setObjectName("syncLabel")
        status = self.statusBar()
        status.addPermanentWidget(self._progress)
        status.addPermanentWidget(self._sync_label)

    # --- data ----------------------------------------------------------------------------------

    async def _fetch_all(self) -> tuple[Me, list[Sensor], list[SubUser], list[License]]:
        me, sensors, licenses = await asyncio.gather(
            self._client.me(), self._client.sensors(), self._client.all_licenses()
        )
        sub_users: list[SubUser] = []
        if me.role is not Role.SUB_USER:
            sub_users = await self._client.all_sub_users()
        return me, sensors, sub_users, licenses

    def _apply(
        self, me: Me, sensors: list[Sensor], sub_users: list[SubUser], licenses: list[License]
    ) -> None:
        current = self._current_entry()
        self._me = me
        self._sensors = sensors
        self._sensor_labels = {s.id: s.label for s in sensors}
        self._sub_user_model.set_sub_users(sub_users)
        self._license_model.set_licenses(licenses)
        self._pool_label.setText(pool_summary(me.pool))
        self._pool_label.setToolTip(self._pool_tooltip(me.pool))
        self.setWindowTitle(f"SR License Portal — {me.display_name or me.email}")
        if current is None or current.kind is not EntryKind.SUB_USER:
            self.select_entry(current.kind if current else EntryKind.MY_LICENSES)
        else:
            assert current.sub_user is not None
            self.select_entry(EntryKind.SUB_USER, current.sub_user.id)
        self._refresh_selection_label()
        # Widths from every license, once; later loads only widen what new data needs.
        fit_columns(
            self._license_view,
            self._license_model,
            stretch=LicenseColumn.SENSOR_MODELS,
            grow_only=self._columns_fitted,
        )
        self._columns_fitted = True
        self._last_synced = datetime.now()
        self._sync_label.setText(f"Synced {self._last_synced:%H:%M:%S} · {self._client.base_url}")
        self._update_actions()
        self.data_loaded.emit()

    def _pool_tooltip(self, pool: Pool) -> str:
        sensors = ", ".join(self._sensor_label(s) for s in pool.supported_sensors) or "none"
        return (
            f"Annual LPU licenses: {pool.lpu_used} used of {pool.lpu_total}\n"
            f"Annual sensor licenses: {pool.sensor_used} used of {pool.sensor_total}\n"
            f"Supported sensors: {sensors}"
        )

    def _owner_label(self, owner_id: str) -> str:
        if self._me is not None and owner_id == self._me.id:
            return "Me"
        row = self._sub_user_model.row_of_sub_user(owner_id)
        if row is None:
            return owner_id
        return self._sub_user_model.entry(row).title

    def _sensor_label(self, sensor_id: str) -> str:
        return self._sensor_labels.get(sensor_id, sensor_id)

    # --- selection -----------------------------------------------------------------------------

    def _current_entry(self) -> ListEntry | None:
        index = self._sub_user_view.currentIndex()
        if not index.isValid():
            return None
        return self._sub_user_proxy.entry_at(index.row())

    def selected_sub_user(self) -> SubUser | None:
        entry = self._current_entry()
        return entry.sub_user if entry else None

    def selected_license(self) -> License | None:
        rows = self._license_view.selectionModel().selectedRows()
        if not rows:
            return None
        return self._license_proxy.license_at(rows[0].row())

    def _on_entry_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        entry = self._sub_user_proxy.entry_at(current.row()) if current.isValid() else None
        if entry is None or entry.kind is EntryKind.ALL_LICENSES:
            self._license_proxy.set_owner(None)
        elif entry.kind is EntryKind.MY_LICENSES:
            self._license_proxy.set_owner(self._me.id if self._me else None)
        else:
            assert entry.sub_user is not None
            self._license_proxy.set_owner(entry.sub_user.id)
        self._refresh_selection_label()
        self._update_actions()

    def _why_no_licenses(self) -> str:
        search = self._license_search.text().strip()
        if search:
            return f"No licenses match “{search}”."
        if self._me is None:
            return "Loading licenses…"
        entry = self._current_entry()
        if entry is not None and entry.sub_user is not None:
            return (
                f"{entry.sub_user.label} has no licenses yet. Transfer one to them, or grant "
                "them quota so they can create their own."
            )
        return "No licenses yet. Create one, or many at once with Bulk create."

    def _refresh_selection_label(self) -> None:
        # Always two lines, so the search box and the table do not jump between entries.
        entry = self._current_entry()
        licenses = self._license_model.licenses()
        if entry is None or entry.sub_user is None:
            title = entry.title if entry else "My licenses"
            if entry is not None and entry.kind is EntryKind.ALL_LICENSES:
                count, whose = len(licenses), "yours and your sub-users'"
            else:
                mine = self._me.id if self._me is not None else None
                count, whose = sum(lic.owner_id == mine for lic in licenses), "yours"
            self._selection_label.setText(f"<b>{_escape(title)}</b><br>{_licenses(count)}, {whose}")
            self._empty_notice.refresh()
            return
        sub_user = entry.sub_user
        pool = sub_user.pool
        status = sub_user.status.value.capitalize()
        granted = (
            f"Granted: LPU {pool.lpu_available} of {pool.lpu_total} left · "
            f"Sensors {pool.sensor_available} of {pool.sensor_total} left"
            if pool.lpu_total or pool.sensor_total
            else "No quota granted yet"
        )
        owned = sum(lic.owner_id == sub_user.id for lic in licenses)
        self._selection_label.setText(
            f"<b>{_escape(sub_user.label)}</b> · {_escape(sub_user.email)} · {status}<br>"
            f"{_licenses(owned)} · {granted}"
        )
        self._empty_notice.refresh()

    def _update_actions(self) -> None:
        busy = self._busy_count > 0
        can_manage = self._me is not None and self._me.role is not Role.SUB_USER
        sub_user = self.selected_sub_user()
        grantable = sub_user is not None and sub_user.status is not SubUserStatus.DISABLED
        self.new_sub_user_action.setEnabled(can_manage and not busy)
        self.grant_action.setEnabled(can_manage and grantable and not busy)
        self.create_license_action.setEnabled(self._me is not None and not busy)
        self.bulk_create_action.setEnabled(self._me is not None and not busy)
        lic = self.selected_license()
        self.transfer_action.setEnabled(can_manage and lic is not None and not busy)
        self.revoke_action.setEnabled(
            can_manage and lic is not None and lic.status is not LicenseStatus.REVOKED and not busy
        )
        bound = lic is not None and lic.status is LicenseStatus.ACTIVE
        self.activate_action.setEnabled(
            lic is not None and lic.status is LicenseStatus.NOT_ACTIVATED and not busy
        )
        self.save_key_action.setEnabled(bound and not busy)
        self.deactivate_action.setEnabled(bound and not busy)
        invited = sub_user is not None and sub_user.status is SubUserStatus.INVITED
        self.resend_invite_action.setEnabled(can_manage and invited and not busy)
        disabled = sub_user is not None and sub_user.status is SubUserStatus.DISABLED
        self.toggle_sub_user_action.setText("Enable sub-user" if disabled else "Disable sub-user…")
        self.toggle_sub_user_action.setEnabled(can_manage and sub_user is not None and not busy)
        self.copy_name_action.setEnabled(self.selected_license() is not None)
        self.refresh_action.setEnabled(not busy)

    # --- running work --------------------------------------------------------------------------

    async def run(self, label: str, work: Awaitable[T]) -> T | None:
        """Run one portal operation: progress while it runs, one place that reports failure."""
        self._busy_count += 1
        self._progress.show()
        self.statusBar().showMessage(label)
        self._update_actions()
        try:
            return await work
        except PortalError as error:
            log.warning("%s failed: %s", label, error.detail)
            self.statusBar().showMessage(error.detail, ANNOUNCEMENT_MS)
            await show_message(
                self, "SR License Portal", error.detail, icon=QMessageBox.Icon.Warning
            )
            return None
        finally:
            self._busy_count -= 1
            if self._busy_count == 0:
                self._progress.hide()
                if self.statusBar().currentMessage() == label:
                    self.statusBar().clearMessage()
            self._update_actions()

    # --- actions -------------------------------------------------------------------------------

    @asyncSlot()
    async def _on_refresh(self) -> None:
        await self.reload()

    @asyncSlot()
    async def _on_new_sub_user(self) -> None:
        dialog = NewSubUserDialog(self._client, self._sub_user_model.sub_users(), parent=self)
        if await run_dialog(dialog) and dialog.created is not None:
            created = dialog.created
            sent = "notification not sent" if created.invite_email_sent is False else "notified"
            reloaded = await self.reload()
            self.announce(f"Added sub-user {created.email} ({sent}).")
            if reloaded:
                self._sub_user_search.clear()
                self.select_entry(EntryKind.SUB_USER, created.id)
        dialog.deleteLater()

    @asyncSlot()
    async def _on_grant(self) -> None:
        sub_user = self.selected_sub_user()
        if sub_user is None or self._me is None:
            return
        dialog = GrantDialog(self._client, sub_user, self._me.pool, self._sensors, parent=self)
        if await run_dialog(dialog) and dialog.created is not None:
            grant = dialog.created
            await self.reload()
            self.announce(
                f"Granted {grant.lpu_total} LPU and {grant.sensor_total} sensor licenses to "
                f"{sub_user.label}."
            )
        dialog.deleteLater()

    @asyncSlot()
    async def _on_create_license(self) -> None:
        if self._me is None:
            return
        dialog = CreateLicenseDialog(self._client, self._me.pool, self._sensors, parent=self)
        if await run_dialog(dialog) and dialog.created is not None:
            created = dialog.created
            reloaded = await self.reload()
            self._announce_and_show(f"Created license {created.name}.", created.id, reloaded)
        dialog.deleteLater()

    @asyncSlot()
    async def _on_bulk_create(self) -> None:
        if self._me is None:
            return
        dialog = BulkCreateDialog(self._client, self._me.pool, self._sensors, parent=self)
        await run_dialog(dialog)
        if dialog.created:
            first, last = dialog.created[0], dialog.created[-1]
            count = len(dialog.created)
            names = first.name if count == 1 else f"{first.name} … {last.name}"
            reloaded = await self.reload()
            self._announce_and_show(
                f"Created {count} license{'s' if count > 1 else ''}: {names}.", first.id, reloaded
            )
        dialog.deleteLater()

    @asyncSlot()
    async def _on_transfer(self) -> None:
        lic = self.selected_license()
        if lic is None:
            return
        dialog = TransferDialog(
            self._client,
            lic,
            self._sub_user_model.sub_users(),
            self._owner_label(lic.owner_id),
            parent=self,
            sensors=self._sensors,
        )
        if await run_dialog(dialog) and dialog.transferred is not None:
            transferred = dialog.transferred
            reloaded = await self.reload()
            self._announce_and_show(
                f"Transferred {transferred.name} to {self._owner_label(transferred.owner_id)}.",
                transferred.id,
                reloaded,
            )
        dialog.deleteLater()

    @asyncSlot()
    async def _on_about(self) -> None:
        await show_message(
            self,
            "About SR License Portal",
            f"SR License Portal Desktop {__version__}",
            informative_text="Manage sub-users, quota and SENSR licenses for your customers.",
        )

    # --- what the operations need of the window ----------------------------------------------

    def widget(self) -> QWidget:
        return self

    def shown_title(self) -> str:
        entry = self._current_entry()
        return entry.title if entry is not None else "licenses"

    def shown_licenses(self) -> QAbstractItemModel:
        return self._license_proxy

    def announce(self, text: str) -> None:
        """What just succeeded, in the status bar for a while."""
        self.statusBar().showMessage(text, ANNOUNCEMENT_MS)

    def _announce_and_show(self, text: str, license_id: str, reloaded: bool) -> None:
        """Say what succeeded and, once the table has it, select the license it made or
        moved, switching to "All licenses" (and saying so) when the current view hides it."""
        if reloaded and not self.select_license(license_id):
            self.select_entry(EntryKind.ALL_LICENSES)
            self.select_license(license_id)
            text = f"{text} Shown under All licenses."
        self.announce(text)
        index = self._license_view.currentIndex()
        if reloaded and index.isValid():
            self._license_view.scrollTo(index)

    def _copy_selected_name(self) -> None:
        lic = self.selected_license()
        if lic is not None:
            QGuiApplication.clipboard().setText(lic.name)

    def _show_license_menu(self, pos: QPoint) -> None:
        index = self._license_view.indexAt(pos)
        if not index.isValid():
            return
        self._license_view.selectRow(index.row())
        menu = QMenu(self)
        menu.addAction(self.transfer_action)
        menu.addAction(self.copy_name_action)
        menu.addSeparator()
        for act in (self.activate_action, self.save_key_action, self.deactivate_action):
            menu.addAction(act)
        menu.addSeparator()
        menu.addAction(self.revoke_action)
        menu.popup(self._license_view.viewport().mapToGlobal(pos))

    # --- window state --------------------------------------------------------------------------

    def _restore_geometry(self) -> None:
        settings = QSettings()
        geometry = settings.value("mainWindow/geometry")
        if isinstance(geometry, QByteArray) and self.restoreGeometry(geometry):
            splitter = settings.value("mainWindow/splitter")
            if isinstance(splitter, QByteArray):
                self._splitter.restoreState(splitter)
        else:
            self.resize(1180, 700)

    def closeEvent(self, event: QCloseEvent) -> None:
        settings = QSettings()
        settings.setValue("mainWindow/geometry", self.saveGeometry())
        settings.setValue("mainWindow/splitter", self._splitter.saveState())
        super().closeEvent(event)
        self.closed.emit()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _licenses(count: int) -> str:
    return f"{count} license{'' if count == 1 else 's'}"
