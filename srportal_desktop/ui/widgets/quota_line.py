"""What a grant or a license takes from the pool, as a live line of text."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QLabel, QWidget

from srportal_desktop.api.schema import Pool
from srportal_desktop.ui.widgets.colors import error_colors


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    word = singular if count == 1 else (plural_form or f"{singular}s")
    return f"{count} {word}"


def _left(count: int, what: str) -> str:
    return f"No {what}s left" if count <= 0 else f"Only {plural(count, what)} left"


def shortfall(pool: Pool, lpu: int, sensors: int) -> str:
    """Empty when `lpu` and `sensors` fit what the pool has left, else what is missing."""
    short_lpu = lpu > pool.lpu_available
    short_sensors = sensors > pool.sensor_available
    if short_lpu and short_sensors:
        return (
            f"Only {pool.lpu_available} LPU and "
            f"{plural(pool.sensor_available, 'sensor license')} left"
        )
    if short_lpu:
        return _left(pool.lpu_available, "LPU license")
    if short_sensors:
        return _left(pool.sensor_available, "sensor license")
    return ""


def shortfall_fields(
    pool: Pool, lpu: int, sensors: int, *, lpu_key: str | None, sensors_key: str | None
) -> dict[str, str]:
    """The shortfall as messages for the fields that cause it."""
    fields: dict[str, str] = {}
    if lpu_key and lpu > pool.lpu_available:
        fields[lpu_key] = f"More than the {plural(pool.lpu_available, 'LPU license')} left"
    if sensors_key and sensors > pool.sensor_available:
        fields[sensors_key] = (
            f"More than the {plural(pool.sensor_available, 'sensor license')} left"
        )
    return fields


def pool_after(pool: Pool, lpu: int, sensors: int) -> str:
    """The pool once `lpu` and `sensors` are spent, worded like the main window's summary."""
    return (
        f"LPU {pool.lpu_available - lpu} of {pool.lpu_total} left"
        f" · Sensors {pool.sensor_available - sensors} of {pool.sensor_total} left"
    )


def after_grant_text(pool: Pool, lpu: int, sensors: int) -> str:
    return f"After this grant: {pool_after(pool, lpu, sensors)}"


def _uses(lpu: int, sensors: int) -> str:
    return f"{plural(lpu, 'LPU', 'LPU')} and {plural(sensors, 'sensor')}"


def usage_text(pool: Pool, lpu: int, sensors: int) -> str:
    return f"Uses {_uses(lpu, sensors)}.\nAfter: {pool_after(pool, lpu, sensors)}"


def usage_refusal(pool: Pool, lpu: int, sensors: int) -> str:
    """Empty when it fits, else "Needs 3 LPU and 12 sensors — only 2 LPU licenses left"."""
    missing = shortfall(pool, lpu, sensors)
    if not missing:
        return ""
    return f"Needs {_uses(lpu, sensors)} — {missing[0].lower()}{missing[1:]}"


class QuotaLine(QLabel):
    """One line about the pool, in the error colour when what is asked does not fit."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("quotaLabel")
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self._error = False

    @property
    def is_error(self) -> bool:
        return self._error

    def set_status(self, text: str, *, error: bool = False) -> None:
        self.setText(text)
        self._error = error
        self._apply_colors()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.ApplicationPaletteChange:
            self._apply_colors()
        super().changeEvent(event)

    def _apply_colors(self) -> None:
        self.setStyleSheet(f"color: {error_colors().text};" if self._error else "")
