"""What happens to a license after it exists: activation on a machine, its key file, a
rehost, revocation, and the table's export. The window provides selection, progress and the
status line; this module holds the steps and their wording."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from PySide6.QtCore import QAbstractItemModel
from PySide6.QtWidgets import QMessageBox, QWidget
from qasync import asyncSlot

from srportal_desktop.api.schema import KeyFile, License
from srportal_desktop.ui.async_tools import run_dialog, show_message
from srportal_desktop.ui.confirmations import confirm_deactivate, confirm_revoke
from srportal_desktop.ui.dialogs.activate import ActivateDialog
from srportal_desktop.ui.file_saving import (
    ask_save_path,
    ask_where_to_save_key_file,
    safe_file_stem,
    write_key_file,
    write_text,
)
from srportal_desktop.ui.table_export import table_as_csv

if TYPE_CHECKING:
    from srportal_desktop.api.client import PortalClient

T = TypeVar("T")


class OperationsHost(Protocol):
    """The window these operations run in."""

    def widget(self) -> QWidget: ...
    def selected_license(self) -> License | None: ...
    def select_license(self, license_id: str) -> bool: ...
    def shown_title(self) -> str: ...
    def shown_licenses(self) -> QAbstractItemModel: ...
    async def run(self, label: str, work: Awaitable[T]) -> T | None: ...
    async def reload(self) -> bool: ...
    def announce(self, text: str) -> None: ...


class LicenseOperations:
    def __init__(self, host: OperationsHost, client: PortalClient) -> None:
        self._host = host
        self._client = client

    @asyncSlot()
    async def activate(self) -> None:
        lic = self._host.selected_license()
        if lic is None:
            return
        dialog = ActivateDialog(self._client, lic, parent=self._host.widget())
        await run_dialog(dialog)
        activation = dialog.activation
        dialog.deleteLater()
        if activation is None:
            return
        await self._host.reload()
        self._host.select_license(lic.id)
        self._host.announce(f"Activated {lic.name} on {activation.license.machine_id}.")
        await self._save_key_file(activation.license, activation.key_file)

    @asyncSlot()
    async def save_key_file(self) -> None:
        lic = self._host.selected_license()
        if lic is None:
            return
        key_file = await self._host.run("Fetching the key file…", self._client.key_file(lic.id))
        if key_file is not None:
            await self._save_key_file(lic, key_file)

    @asyncSlot()
    async def deactivate(self) -> None:
        lic = self._host.selected_license()
        if lic is None or not await confirm_deactivate(self._host.widget(), lic):
            return
        freed = await self._host.run("Deactivating…", self._client.deactivate_license(lic.id))
        if freed is not None:
            await self._host.reload()
            self._host.select_license(freed.id)
            self._host.announce(
                f"Deactivated {freed.name}; it can be activated on another machine."
            )

    @asyncSlot()
    async def revoke(self) -> None:
        lic = self._host.selected_license()
        if lic is None or not await confirm_revoke(self._host.widget(), lic):
            return
        revoked = await self._host.run("Revoking…", self._client.revoke_license(lic.id))
        if revoked is not None:
            await self._host.reload()
            self._host.announce(f"Revoked {revoked.name}.")
            self._host.select_license(revoked.id)

    @asyncSlot()
    async def export_csv(self) -> None:
        # What the table shows now (filter, search and sort), as it shows it.
        shown = self._host.shown_licenses()
        text, count = table_as_csv(shown), shown.rowCount()
        path = await ask_save_path(
            self._host.widget(),
            "Export Licenses to CSV",
            f"{safe_file_stem(self._host.shown_title(), 'licenses')}.csv",
            "CSV files (*.csv)",
            "csv",
        )
        if path is None:
            return
        # With a byte order mark, spreadsheet programs read names like "Zürich" correctly.
        if await self._write_or_say_why(path, write_text(path, text, encoding="utf-8-sig")):
            noun = "license" if count == 1 else "licenses"
            self._host.announce(f"Exported {count} {noun} to {path}.")

    async def _save_key_file(self, lic: License, key_file: KeyFile) -> None:
        path = await ask_where_to_save_key_file(self._host.widget(), lic.name)
        if path is None:
            return
        if await self._write_or_say_why(path, write_key_file(path, key_file)):
            self._host.announce(f"Saved the key file of {lic.name} to {path}.")

    async def _write_or_say_why(self, path: Path, writing: Awaitable[None]) -> bool:
        try:
            await writing
        except OSError as error:
            await show_message(
                self._host.widget(),
                "SR License Portal",
                f"The file could not be saved to {path}.",
                icon=QMessageBox.Icon.Warning,
                informative_text=error.strerror or str(error),
            )
            return False
        return True
