"""The license table: a thin Qt model over a plain list of licenses, and its filter proxy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor

from srportal_desktop.api.schema import License, LicenseStatus

EXPIRING_SOON = timedelta(days=30)
LICENSE_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2

AnyIndex = QModelIndex | QPersistentModelIndex


class LicenseColumn(IntEnum):
    NAME = 0
    OWNER = 1
    SENSOR_MODELS = 2
    SENSOR_COUNT = 3
    GPU_PRESET = 4
    STATUS = 5
    MACHINE = 6
    EXPIRES = 7

    @property
    def title(self) -> str:
        return _TITLES[self]


_TITLES = {
    LicenseColumn.NAME: "Name",
    LicenseColumn.OWNER: "Owner",
    LicenseColumn.SENSOR_MODELS: "Sensor models",
    LicenseColumn.SENSOR_COUNT: "Sensors",
    LicenseColumn.GPU_PRESET: "GPU preset",
    LicenseColumn.STATUS: "Status",
    LicenseColumn.MACHINE: "Machine",
    LicenseColumn.EXPIRES: "Expires",
}

_STATUS_TEXT = {
    LicenseStatus.NOT_ACTIVATED: "Not activated",
    LicenseStatus.ACTIVE: "Active",
    LicenseStatus.EXPIRED: "Expired",
    LicenseStatus.REVOKED: "Revoked",
}


def status_text(lic: License, now: datetime) -> str:
    if lic.status is LicenseStatus.ACTIVE and is_expiring_soon(lic, now):
        return "Expiring soon"
    return _STATUS_TEXT[lic.status]


def is_expiring_soon(lic: License, now: datetime) -> bool:
    return (
        lic.status is LicenseStatus.ACTIVE
        and lic.expires_at is not None
        and lic.expires_at - now <= EXPIRING_SOON
    )


class LicenseTableModel(QAbstractTableModel):
    """Rows are `License` objects; `owner_label` turns an owner id into a person's name."""

    def __init__(
        self,
        *,
        owner_label: Callable[[str], str],
        sensor_label: Callable[[str], str],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._licenses: list[License] = []
        self._owner_label = owner_label
        self._sensor_label = sensor_label
        self._clock = clock

    # --- plain-data side ---------------------------------------------------------------------

    def set_licenses(self, licenses: Sequence[License]) -> None:
        self.beginResetModel()
        self._licenses = list(licenses)
        self.endResetModel()

    def licenses(self) -> list[License]:
        return list(self._licenses)

    def license_at(self, row: int) -> License:
        return self._licenses[row]

    def row_of(self, license_id: str) -> int | None:
        for row, lic in enumerate(self._licenses):
            if lic.id == license_id:
                return row
        return None

    def upsert(self, licenses: Sequence[License]) -> None:
        """Replace rows in place where the id is known, append the rest."""
        appended: list[License] = []
        for lic in licenses:
            row = self.row_of(lic.id)
            if row is None:
                appended.append(lic)
                continue
            self._licenses[row] = lic
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(LicenseColumn) - 1))
        if appended:
            first = len(self._licenses)
            self.beginInsertRows(QModelIndex(), first, first + len(appended) - 1)
            self._licenses.extend(appended)
            self.endInsertRows()

    def refresh_labels(self) -> None:
        """Owner or sensor names changed: repaint every row without touching the data."""
        if self._licenses:
            last = self.index(len(self._licenses) - 1, len(LicenseColumn) - 1)
            self.dataChanged.emit(self.index(0, 0), last)

    # --- Qt side -----------------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._licenses)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(LicenseColumn)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(LicenseColumn):
            return LicenseColumn(section).title
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._licenses):
            return None
        lic = self._licenses[index.row()]
        column = LicenseColumn(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(lic, column)
        if role == SORT_ROLE:
            return self._sort_key(lic, column)
        if role == LICENSE_ROLE:
            return lic
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(lic, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column is LicenseColumn.SENSOR_COUNT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column is LicenseColumn.STATUS:
            return self._status_brush(lic)
        return None

    def _display(self, lic: License, column: LicenseColumn) -> str:
        match column:
            case LicenseColumn.NAME:
                return lic.name
            case LicenseColumn.OWNER:
                return self._owner_label(lic.owner_id)
            case LicenseColumn.SENSOR_MODELS:
                return ", ".join(self._sensor_label(s) for s in lic.sensor_models)
            case LicenseColumn.SENSOR_COUNT:
                return str(lic.sensor_count)
            case LicenseColumn.GPU_PRESET:
                return "Yes" if lic.gpu_preset else "No"
            case LicenseColumn.STATUS:
                return status_text(lic, self._clock())
            case LicenseColumn.MACHINE:
                return lic.machine_id or "—"
            case LicenseColumn.EXPIRES:
                if lic.expires_at is None:
                    return "On activation + 1 year"
                return lic.expires_at.astimezone().strftime("%Y-%m-%d")

    def _sort_key(self, lic: License, column: LicenseColumn) -> Any:
        match column:
            case LicenseColumn.SENSOR_COUNT:
                return lic.sensor_count
            case LicenseColumn.EXPIRES:
                # Unactivated licenses sort after every dated one.
                return lic.expires_at.timestamp() if lic.expires_at else float("inf")
            case LicenseColumn.NAME:
                return _natural_key(lic.name)
            case _:
                return self._display(lic, column).casefold()

    def _tooltip(self, lic: License, column: LicenseColumn) -> str | None:
        if column is LicenseColumn.NAME and lic.notes:
            return lic.notes
        if column is LicenseColumn.EXPIRES and lic.expires_at is None:
            return "The annual term starts when the license is activated on a machine."
        if column is LicenseColumn.SENSOR_MODELS:
            return "\n".join(self._sensor_label(s) for s in lic.sensor_models)
        return None

    def _status_brush(self, lic: License) -> QBrush | None:
        if lic.status in (LicenseStatus.EXPIRED, LicenseStatus.REVOKED):
            return QBrush(QColor("#b3261e"))
        if is_expiring_soon(lic, self._clock()):
            return QBrush(QColor("#9a6700"))
        if lic.status is LicenseStatus.ACTIVE:
            return QBrush(QColor("#1e7e34"))
        return None


def _natural_key(name: str) -> tuple[object, ...]:
    """`Site-A_2` sorts before `Site-A_10`."""
    parts: list[object] = []
    digits = ""
    text = ""
    for ch in name.casefold():
        if ch.isdigit():
            if text:
                parts.append((1, text))
                text = ""
            digits += ch
        else:
            if digits:
                parts.append((0, int(digits)))
                digits = ""
            text += ch
    if digits:
        parts.append((0, int(digits)))
    if text:
        parts.append((1, text))
    return tuple(parts)


class LicenseFilterProxy(QSortFilterProxyModel):
    """Narrows the table to one owner (or everyone) and to rows matching the search text."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._owner_id: str | None = None
        self._needle = ""
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def set_owner(self, owner_id: str | None) -> None:
        """`None` shows every license the caller manages."""
        if owner_id != self._owner_id:
            self.beginFilterChange()
            self._owner_id = owner_id
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_search_text(self, text: str) -> None:
        needle = text.strip().casefold()
        if needle != self._needle:
            self.beginFilterChange()
            self._needle = needle
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def license_at(self, proxy_row: int) -> License:
        source = self.mapToSource(self.index(proxy_row, 0))
        lic = self.sourceModel().data(source, LICENSE_ROLE)
        assert isinstance(lic, License)
        return lic

    def lessThan(self, left: AnyIndex, right: AnyIndex) -> bool:
        # Sort keys are Python values (natural-order tuples), which QVariant cannot compare.
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        try:
            return bool(a < b)
        except TypeError:
            return str(a) < str(b)

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        model = self.sourceModel()
        lic = model.data(model.index(source_row, 0, source_parent), LICENSE_ROLE)
        if not isinstance(lic, License):
            return False
        if self._owner_id is not None and lic.owner_id != self._owner_id:
            return False
        if not self._needle:
            return True
        return any(
            self._needle
            in str(model.data(model.index(source_row, column, source_parent))).casefold()
            for column in LicenseColumn
        )
