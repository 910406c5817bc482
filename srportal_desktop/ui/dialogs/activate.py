"""Activate a license on a machine: binds it and starts its annual term; gives the key file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QWidget

from srportal_desktop.api.schema import ActivateRequest, Activation, License
from srportal_desktop.ui.dialogs.form_dialog import FormDialog
from srportal_desktop.ui.icons import icon

TERM = timedelta(days=365)


class ActivationClient(Protocol):
    async def activate_license(self, license_id: str, machine_id: str, /) -> Activation: ...


class ActivateDialog(FormDialog[ActivateRequest, Activation]):
    def __init__(
        self, client: ActivationClient, license: License, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            title=f"Activate {license.name}",
            submit_text="Activate",
            busy_text="Activating…",
            parent=parent,
        )
        self.setWindowIcon(icon("licenses"))
        self._client = client
        self._license = license
        self.activation: Activation | None = None

        intro = QLabel(self._consequence(), self.body)
        intro.setObjectName("activationIntro")
        intro.setWordWrap(True)
        self.machine_edit = QLineEdit(self.body)
        self.machine_edit.setObjectName("machineEdit")
        self.machine_edit.setPlaceholderText("The processing machine's ID, e.g. LPU-0042")

        form = QFormLayout(self.body)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(intro)
        self.fields.add_row(
            form,
            "&Machine ID:",
            self.machine_edit,
            key="machine_id",
            required_message="Enter the ID of the machine this license runs on.",
        )
        self.machine_edit.setFocus()

    def _consequence(self) -> str:
        if self._license.activated_at is None:
            ends = (datetime.now(UTC) + TERM).date()
            term = f"Its one-year term starts now and runs until about {ends:%Y-%m-%d}."
        else:
            until = (
                f" until {self._license.expires_at:%Y-%m-%d}" if self._license.expires_at else ""
            )
            term = f"Its term started at the first activation and keeps running{until}."
        return (
            f"{self._license.name} will be bound to the machine below, and you get its signed key "
            f"file to install there. {term}"
        )

    def build_request(self) -> ActivateRequest:
        return ActivateRequest(machine_id=self.machine_edit.text().strip())

    async def send(self, request: ActivateRequest, idempotency_key: str) -> Activation:
        return await self._client.activate_license(self._license.id, request.machine_id)

    async def finish(self, result: Activation) -> None:
        self.activation = result
        self.accept()
