"""The few colours the UI sets itself: error text and the error banner, light or dark."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QGuiApplication, QPalette


@dataclass(frozen=True)
class ErrorColors:
    text: str
    banner_text: str
    banner_background: str
    banner_border: str


_LIGHT = ErrorColors(
    text="#b3261e", banner_text="#8c1d18", banner_background="#fce8e6", banner_border="#f2b8b5"
)
_DARK = ErrorColors(
    text="#f2b8b5", banner_text="#f9dedc", banner_background="#5c1f1b", banner_border="#8c1d18"
)


def is_dark() -> bool:
    """Whether the application's palette is dark (it follows the system scheme on its own)."""
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightnessF() < 0.5


def error_colors() -> ErrorColors:
    return _DARK if is_dark() else _LIGHT
