"""Create one license from the pool: 1 LPU and `sensor_count` sensors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from PySide6.QtWidgets import QVBoxLayout, QWidget

from srportal_desktop.api.schema import License, LicenseCreate, Pool, Sensor
from srportal_desktop.ui.dialogs.form_dialog import FormDialog
from srportal_desktop.ui.icons import icon
from srportal_desktop.ui.widgets.license_template_form import LicenseTemplateForm
from srportal_desktop.ui.widgets.quota_line import (
    QuotaLine,
    shortfall_fields,
    usage_refusal,
    usage_text,
)


class LicenseClient(Protocol):
    async def create_license(
        self, body: LicenseCreate, /, *, idempotency_key: str | None = None
    ) -> License: ...


class CreateLicenseDialog(FormDialog[LicenseCreate, License]):
    def __init__(
        self,
        client: LicenseClient,
        pool: Pool,
        sensors: Sequence[Sensor],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            title="Create License", submit_text="Create", busy_text="Creating…", parent=parent
        )
        self.setWindowIcon(icon("new-license"))
        self._client = client
        self._pool = pool
        self.created: License | None = None

        self.template = LicenseTemplateForm(pool, sensors, self.fields, parent=self.body)
        self.quota_line = QuotaLine(self.body)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.template)
        layout.addWidget(self.quota_line)

        self.template.changed.connect(self._update_quota)
        self._update_quota()
        self.template.setFocus()

    def _update_quota(self) -> None:
        sensors = self.template.sensor_count_spin.value()
        refusal = usage_refusal(self._pool, 1, sensors)
        self.quota_line.set_status(
            refusal or usage_text(self._pool, 1, sensors), error=bool(refusal)
        )

    def build_request(self) -> LicenseCreate:
        sensors = self.template.sensor_count()
        return self.validated(
            lambda: LicenseCreate.model_validate(self.template.values()),
            shortfall_fields(self._pool, 1, sensors, lpu_key=None, sensors_key="sensor_count"),
            usage_refusal(self._pool, 1, sensors),
        )

    async def send(self, request: LicenseCreate, idempotency_key: str) -> License:
        return await self._client.create_license(request, idempotency_key=idempotency_key)

    async def finish(self, result: License) -> None:
        self.created = result
        self.accept()
