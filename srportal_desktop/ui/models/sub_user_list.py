"""The left-hand list: "My licenses", "All licenses", then the sub-users, searchable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QFont

from srportal_desktop.api.schema import SubUser, SubUserStatus

ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1

AnyIndex = QModelIndex | QPersistentModelIndex


class EntryKind(Enum):
    MY_LICENSES = "mine"
    ALL_LICENSES = "all"
    SUB_USER = "sub_user"


@dataclass(frozen=True)
class ListEntry:
    kind: EntryKind
    sub_user: SubUser | None = None

    @property
    def title(self) -> str:
        if self.kind is EntryKind.MY_LICENSES:
            return "My licenses"
        if self.kind is EntryKind.ALL_LICENSES:
            return "All licenses"
        assert self.sub_user is not None
        return self.sub_user.label


_FIXED_ENTRIES = (ListEntry(EntryKind.MY_LICENSES), ListEntry(EntryKind.ALL_LICENSES))

_STATUS_SUFFIX = {
    SubUserStatus.INVITED: " (invited)",
    SubUserStatus.DISABLED: " (disabled)",
    SubUserStatus.ACTIVE: "",
}


class SubUserListModel(QAbstractListModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sub_users: list[SubUser] = []

    def set_sub_users(self, sub_users: Sequence[SubUser]) -> None:
        self.beginResetModel()
        self._sub_users = sorted(sub_users, key=lambda s: s.label.casefold())
        self.endResetModel()

    def sub_users(self) -> list[SubUser]:
        return list(self._sub_users)

    def entry(self, row: int) -> ListEntry:
        if row < len(_FIXED_ENTRIES):
            return _FIXED_ENTRIES[row]
        return ListEntry(EntryKind.SUB_USER, self._sub_users[row - len(_FIXED_ENTRIES)])

    def row_of_sub_user(self, sub_user_id: str) -> int | None:
        for offset, sub_user in enumerate(self._sub_users):
            if sub_user.id == sub_user_id:
                return offset + len(_FIXED_ENTRIES)
        return None

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(_FIXED_ENTRIES) + len(self._sub_users)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < self.rowCount():
            return None
        entry = self.entry(index.row())
        sub_user = entry.sub_user
        if role == Qt.ItemDataRole.DisplayRole:
            if sub_user is None:
                return entry.title
            return entry.title + _STATUS_SUFFIX[sub_user.status]
        if role == ENTRY_ROLE:
            return entry
        if role == Qt.ItemDataRole.ToolTipRole and sub_user is not None:
            pool = sub_user.pool
            return (
                f"{sub_user.email}\n"
                f"LPU {pool.lpu_available} of {pool.lpu_total} left · "
                f"Sensors {pool.sensor_available} of {pool.sensor_total} left"
            )
        if role == Qt.ItemDataRole.FontRole and sub_user is None:
            font = QFont()
            font.setBold(True)
            return font
        disabled = sub_user is not None and sub_user.status is SubUserStatus.DISABLED
        if role == Qt.ItemDataRole.ForegroundRole and disabled:
            return Qt.GlobalColor.gray
        return None


class SubUserFilterProxy(QSortFilterProxyModel):
    """Search by name or email; the fixed entries always stay visible."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._needle = ""

    def set_search_text(self, text: str) -> None:
        needle = text.strip().casefold()
        if needle != self._needle:
            self.beginFilterChange()
            self._needle = needle
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def entry_at(self, proxy_row: int) -> ListEntry:
        entry = self.index(proxy_row, 0).data(ENTRY_ROLE)
        assert isinstance(entry, ListEntry)
        return entry

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        model = self.sourceModel()
        entry = model.data(model.index(source_row, 0, source_parent), ENTRY_ROLE)
        if not isinstance(entry, ListEntry) or entry.sub_user is None:
            return True
        if not self._needle:
            return True
        sub_user = entry.sub_user
        return self._needle in sub_user.display_name.casefold() or (
            self._needle in sub_user.email.casefold()
        )
