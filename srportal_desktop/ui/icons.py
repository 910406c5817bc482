"""The application's SVG icons, drawn in the palette's icon colour (dark grey or light grey)."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from srportal_desktop.resources import resource_path
from srportal_desktop.ui.widgets.colors import is_dark

# The stroke colour the SVG files are drawn with; swapped for a light grey on dark palettes.
_INK = "#3c4043"
_DARK_INK = "#e8eaed"
_SIZES = (16, 20, 24, 32, 48, 64, 96, 128, 256)


def icon(name: str) -> QIcon:
    """`resources/icons/{name}.svg` as an icon; needs a QGuiApplication."""
    return QIcon(_icon(name, _DARK_INK if is_dark() else _INK))


@cache
def _icon(name: str, ink: str) -> QIcon:
    svg = resource_path("icons", f"{name}.svg").read_text(encoding="utf-8")
    renderer = QSvgRenderer(QByteArray(svg.replace(_INK, ink).encode("utf-8")))
    if not renderer.isValid():
        raise ValueError(f"icons/{name}.svg is not a valid SVG image")
    result = QIcon()
    for size in _SIZES:
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        result.addPixmap(pixmap)
    return result
