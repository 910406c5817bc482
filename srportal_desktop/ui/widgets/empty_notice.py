"""A sentence in the middle of an empty table, so "no rows" never looks like "not loaded"."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QAbstractItemView, QLabel


class EmptyNotice(QLabel):
    """Shown over `view`'s viewport while its model has no rows; `describe()` gives the text
    (it knows why the table is empty: a search, a filter, or nothing there yet)."""

    def __init__(self, view: QAbstractItemView, describe: Callable[[], str]) -> None:
        super().__init__(view.viewport())
        self.setObjectName("emptyNotice")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._view = view
        self._describe = describe
        view.viewport().installEventFilter(self)
        model = view.model()
        for signal in (
            model.modelReset,
            model.rowsInserted,
            model.rowsRemoved,
            model.layoutChanged,
        ):
            signal.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        empty = self._view.model().rowCount() == 0
        if empty:
            self.setText(self._describe())
            self._place()
        self.setVisible(empty)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self._place()
        return False

    def _place(self) -> None:
        area = self._view.viewport().rect()
        margin = self.fontMetrics().averageCharWidth() * 4
        self.setGeometry(area.adjusted(margin, 0, -margin, 0))
