"""A checklist of sensor models, shared by the grant and license dialogs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from srportal_desktop.api.schema import Pool, Sensor
from srportal_desktop.ui.widgets.compact_list import CompactList

_ID_ROLE = Qt.ItemDataRole.UserRole
_Predicate = Callable[[QListWidgetItem], bool]
_VISIBLE_ROWS = 8
_NOT_IN_POOL = "Your pool does not support this sensor model."


def pool_sensors(pool: Pool, catalog: Sequence[Sensor]) -> list[Sensor]:
    """The catalog's sensors the pool supports, in catalog order; unknown ids keep their id."""
    known = {sensor.id for sensor in catalog}
    supported = set(pool.supported_sensors)
    sensors = [sensor for sensor in catalog if sensor.id in supported]
    sensors += [
        Sensor(id=sensor_id, make=sensor_id, model="")
        for sensor_id in pool.supported_sensors
        if sensor_id not in known
    ]
    return sensors


class SensorChecklist(QWidget):
    """Checkable "make model" rows; ids outside `enabled_ids` are shown but cannot be checked."""

    changed = Signal()

    def __init__(
        self,
        sensors: Sequence[Sensor],
        enabled_ids: Iterable[str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        enabled = None if enabled_ids is None else set(enabled_ids)

        self.list = CompactList(_VISIBLE_ROWS, self)
        self.list.setObjectName("sensorList")
        self.list.setAccessibleName("Sensor models")
        self.list.setUniformItemSizes(True)
        if enabled is not None:
            # The models that can be chosen on top, the others after them for reference.
            sensors = sorted(sensors, key=lambda sensor: sensor.id not in enabled)
        for sensor in sensors:
            item = QListWidgetItem(sensor.label.strip(), self.list)
            item.setData(_ID_ROLE, sensor.id)
            item.setCheckState(Qt.CheckState.Unchecked)
            if enabled is None or sensor.id in enabled:
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            else:
                item.setFlags(Qt.ItemFlag.ItemIsUserCheckable)
                item.setToolTip(_NOT_IN_POOL)
        if self.list.count():
            self.list.setCurrentRow(0)

        self.select_all_button = QPushButton("Select &all", self)
        self.select_all_button.setObjectName("selectAllButton")
        self.select_none_button = QPushButton("Select n&one", self)
        self.select_none_button.setObjectName("selectNoneButton")
        for button in (self.select_all_button, self.select_none_button):
            button.setAutoDefault(False)
        self.summary = QLabel(self)
        self.summary.setObjectName("selectionLabel")

        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.select_all_button)
        buttons.addWidget(self.select_none_button)
        buttons.addStretch(1)
        buttons.addWidget(self.summary)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        self.setFocusProxy(self.list)

        self.select_all_button.clicked.connect(self.select_all)
        self.select_none_button.clicked.connect(self.select_none)
        self.list.itemChanged.connect(self._on_item_changed)
        self._update_summary()

    def _items(self) -> list[QListWidgetItem]:
        return [self.list.item(row) for row in range(self.list.count())]

    @staticmethod
    def _is_enabled(item: QListWidgetItem) -> bool:
        return bool(item.flags() & Qt.ItemFlag.ItemIsEnabled)

    def checked_ids(self) -> list[str]:
        return [
            str(item.data(_ID_ROLE))
            for item in self._items()
            if item.checkState() == Qt.CheckState.Checked and self._is_enabled(item)
        ]

    def enabled_ids(self) -> list[str]:
        return [str(item.data(_ID_ROLE)) for item in self._items() if self._is_enabled(item)]

    def set_checked_ids(self, ids: Iterable[str]) -> None:
        wanted = set(ids)
        self._set_checked(lambda item: str(item.data(_ID_ROLE)) in wanted)

    def select_all(self) -> None:
        self._set_checked(lambda item: True)

    def select_none(self) -> None:
        self._set_checked(lambda item: False)

    def _set_checked(self, predicate: _Predicate) -> None:
        # One `changed` for the whole update, not one per row.
        self.list.blockSignals(True)
        try:
            for item in self._items():
                checked = predicate(item) and self._is_enabled(item)
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        finally:
            self.list.blockSignals(False)
        self.list.viewport().update()
        self._on_item_changed()

    def _on_item_changed(self) -> None:
        self._update_summary()
        self.changed.emit()

    def _update_summary(self) -> None:
        available = len(self.enabled_ids())
        self.summary.setText(f"{len(self.checked_ids())} of {available} selected")
