"""The error strip at the top of a dialog: what the portal or the form refused, in a sentence."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QStyle, QWidget

from srportal_desktop.ui.widgets.colors import error_colors


class ErrorBanner(QFrame):
    """Hidden while empty; `show_error(text)` shows it, `clear()` hides it again."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBanner")
        self.setAccessibleName("Error")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

        self._icon = QLabel(self)
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        standard = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        self._icon.setPixmap(standard.pixmap(size, size))
        self._icon.setAlignment(Qt.AlignmentFlag.AlignTop)

        self._label = QLabel(self)
        self._label.setObjectName("errorText")
        self._label.setTextFormat(Qt.TextFormat.PlainText)
        self._label.setWordWrap(True)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self._label, 1)

        self._apply_colors()
        self.hide()

    def text(self) -> str:
        return self._label.text()

    def show_error(self, text: str) -> None:
        if not text:
            self.clear()
            return
        self._label.setText(text)
        self.setAccessibleDescription(text)
        self.show()

    def clear(self) -> None:
        self._label.clear()
        self.setAccessibleDescription("")
        self.hide()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.ApplicationPaletteChange:
            self._apply_colors()
        super().changeEvent(event)

    def _apply_colors(self) -> None:
        colors = error_colors()
        self.setStyleSheet(
            f"#errorBanner {{ background-color: {colors.banner_background};"
            f" border: 1px solid {colors.banner_border}; border-radius: 4px; }}"
            f" #errorBanner QLabel {{ color: {colors.banner_text};"
            " background: transparent; border: none; }"
        )
