"""The fields of a license, shared by single and bulk creation."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QLineEdit, QPlainTextEdit, QWidget

from srportal_desktop.api.schema import Pool, Sensor
from srportal_desktop.ui.widgets.field_errors import FieldErrors
from srportal_desktop.ui.widgets.pool_fields import count_spin, gpu_preset_check, spin_value
from srportal_desktop.ui.widgets.sensor_checklist import SensorChecklist, pool_sensors

_NOTES_LINES = 3


class LicenseTemplateForm(QWidget):
    """Name, sensor models (the pool's), sensor count, GPU preset and notes.

    `key_prefix` is where these fields sit in the request (`template.` for a bulk creation),
    so schema and server messages land under the right input.
    """

    changed = Signal()

    def __init__(
        self,
        pool: Pool,
        sensors: Sequence[Sensor],
        errors: FieldErrors,
        *,
        key_prefix: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.name_edit = QLineEdit(self)
        self.name_edit.setObjectName("nameEdit")
        self.name_edit.setPlaceholderText("e.g. Site-A")
        self.name_edit.setClearButtonEnabled(True)

        self.sensor_list = SensorChecklist(pool_sensors(pool, sensors), parent=self)
        if len(self.sensor_list.enabled_ids()) == 1:
            self.sensor_list.select_all()

        self.sensor_count_spin = count_spin("sensorCountSpin", minimum=1, parent=self)
        self.gpu_check = gpu_preset_check(pool, self)

        self.notes_edit = QPlainTextEdit(self)
        self.notes_edit.setObjectName("notesEdit")
        self.notes_edit.setTabChangesFocus(True)
        self.notes_edit.setPlaceholderText("Optional")
        margins = int(self.notes_edit.document().documentMargin() * 2)
        self.notes_edit.setFixedHeight(
            self.notes_edit.fontMetrics().lineSpacing() * _NOTES_LINES
            + margins
            + 2 * self.notes_edit.frameWidth()
        )

        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        errors.add_row(
            self.form,
            "&Name:",
            self.name_edit,
            key=f"{key_prefix}name",
            required_message="Enter a name for the license.",
        )
        errors.add_row(
            self.form,
            "&Sensor models:",
            self.sensor_list,
            key=f"{key_prefix}sensor_models",
            focus=self.sensor_list.list,
            required_message="Choose at least one sensor model.",
        )
        errors.add_row(
            self.form,
            "Sensor co&unt:",
            self.sensor_count_spin,
            key=f"{key_prefix}sensor_count",
        )
        errors.add_row(self.form, "", self.gpu_check, key=f"{key_prefix}gpu_preset")
        errors.add_row(self.form, "No&tes:", self.notes_edit, key=f"{key_prefix}notes")

        self.name_edit.textChanged.connect(self.changed)
        self.sensor_list.changed.connect(self.changed)
        self.sensor_count_spin.valueChanged.connect(self.changed)
        self.setFocusProxy(self.name_edit)

    def name(self) -> str:
        return self.name_edit.text().strip()

    def sensor_count(self) -> int:
        return spin_value(self.sensor_count_spin)

    def values(self) -> dict[str, object]:
        """The template as the schema's license fields (validated by the caller's model)."""
        return {
            "name": self.name_edit.text(),
            "sensor_models": self.sensor_list.checked_ids(),
            "sensor_count": self.sensor_count(),
            "gpu_preset": self.gpu_check.isChecked(),
            "notes": self.notes_edit.toPlainText(),
        }
