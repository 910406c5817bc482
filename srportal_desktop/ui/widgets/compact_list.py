"""A list widget as tall as a few rows, so a long list scrolls instead of growing the dialog."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QListWidget, QWidget


class CompactList(QListWidget):
    def __init__(self, visible_rows: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._visible_rows = visible_rows
        self.setSpacing(1)  # room for descenders and underscores between rows
        model = self.model()
        model.rowsInserted.connect(self.updateGeometry)
        model.rowsRemoved.connect(self.updateGeometry)
        model.modelReset.connect(self.updateGeometry)

    def sizeHint(self) -> QSize:
        row_height = self.sizeHintForRow(0) if self.count() else self.fontMetrics().height()
        row_height += 2 * self.spacing()
        rows = max(1.0, min(self.count(), self._visible_rows))
        if self.count() > self._visible_rows:
            rows += 0.5  # a half row shows there is more to scroll to
        height = round(rows * row_height) + 2 * self.frameWidth()
        return QSize(super().sizeHint().width(), height)

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), self.sizeHint().height())
