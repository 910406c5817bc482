"""Grant part of the pool to a sub-user: sensor models, LPU and sensor counts, GPU preset."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QWidget

from srportal_desktop.api.schema import Grant, GrantCreate, Pool, Sensor, SubUser
from srportal_desktop.ui.dialogs.form_dialog import FormDialog
from srportal_desktop.ui.icons import icon
from srportal_desktop.ui.widgets.pool_fields import count_spin, gpu_preset_check, spin_value
from srportal_desktop.ui.widgets.quota_line import (
    QuotaLine,
    after_grant_text,
    shortfall,
    shortfall_fields,
)
from srportal_desktop.ui.widgets.sensor_checklist import SensorChecklist, pool_sensors

NOTHING_TO_GRANT = "Grant at least one LPU or sensor license."


class GrantClient(Protocol):
    async def create_grant(
        self, body: GrantCreate, /, *, idempotency_key: str | None = None
    ) -> Grant: ...


class GrantDialog(FormDialog[GrantCreate, Grant]):
    def __init__(
        self,
        client: GrantClient,
        sub_user: SubUser,
        pool: Pool,
        sensors: Sequence[Sensor],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            title=f"Grant Licenses to {sub_user.label}",
            submit_text="Grant",
            busy_text="Granting…",
            parent=parent,
        )
        self.setWindowIcon(icon("grant"))
        self._client = client
        self._sub_user = sub_user
        self._pool = pool
        self.created: Grant | None = None

        intro = QLabel(self._intro(sub_user), self.body)
        intro.setObjectName("introLabel")
        intro.setTextFormat(Qt.TextFormat.PlainText)
        intro.setWordWrap(True)
        # The whole catalog, so the user sees which models the pool leaves out.
        known = {sensor.id for sensor in sensors}
        catalog = [*sensors, *(s for s in pool_sensors(pool, sensors) if s.id not in known)]
        self.sensor_list = SensorChecklist(catalog, pool.supported_sensors, self.body)
        if len(self.sensor_list.enabled_ids()) == 1:
            self.sensor_list.select_all()
        self.lpu_spin = count_spin("lpuSpin", parent=self.body)
        self.sensors_spin = count_spin("sensorsSpin", parent=self.body)
        self.gpu_check = gpu_preset_check(pool, self.body)
        self.quota_line = QuotaLine(self.body)

        form = QFormLayout(self.body)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(intro)
        self.fields.add_row(
            form,
            "&Supported sensors:",
            self.sensor_list,
            key="supported_sensors",
            focus=self.sensor_list.list,
            required_message="Choose at least one sensor model.",
        )
        self.fields.add_row(form, "Annual &LPU licenses:", self.lpu_spin, key="lpu")
        self.fields.add_row(form, "Annual s&ensor licenses:", self.sensors_spin, key="sensors")
        self.fields.add_row(form, "", self.gpu_check, key="gpu_preset")
        form.addRow(self.quota_line)

        self.lpu_spin.valueChanged.connect(self._update_quota)
        self.sensors_spin.valueChanged.connect(self._update_quota)
        self._update_quota()
        self.sensor_list.setFocus()

    @staticmethod
    def _intro(sub_user: SubUser) -> str:
        who = sub_user.email
        if sub_user.display_name:
            who = f"{sub_user.display_name} ({sub_user.email})"
        has = sub_user.pool
        if not (has.lpu_total or has.sensor_total):
            return f"Grant part of your pool to {who}."
        return (
            f"Grant part of your pool to {who}, who has {has.lpu_available} LPU and "
            f"{has.sensor_available} sensor licenses left."
        )

    def _update_quota(self) -> None:
        lpu, sensors = self.lpu_spin.value(), self.sensors_spin.value()
        missing = shortfall(self._pool, lpu, sensors)
        self.quota_line.set_status(
            missing or after_grant_text(self._pool, lpu, sensors), error=bool(missing)
        )

    def build_request(self) -> GrantCreate:
        lpu, sensors = spin_value(self.lpu_spin), spin_value(self.sensors_spin)
        refusals = shortfall_fields(self._pool, lpu, sensors, lpu_key="lpu", sensors_key="sensors")
        message = shortfall(self._pool, lpu, sensors)
        if lpu == 0 and sensors == 0:
            refusals["lpu"] = message = NOTHING_TO_GRANT
        return self.validated(
            lambda: GrantCreate(
                grantee_id=self._sub_user.id,
                supported_sensors=self.sensor_list.checked_ids(),
                lpu=lpu,
                sensors=sensors,
                gpu_preset=self.gpu_check.isChecked(),
            ),
            refusals,
            message,
        )

    async def send(self, request: GrantCreate, idempotency_key: str) -> Grant:
        return await self._client.create_grant(request, idempotency_key=idempotency_key)

    async def finish(self, result: Grant) -> None:
        self.created = result
        self.accept()
