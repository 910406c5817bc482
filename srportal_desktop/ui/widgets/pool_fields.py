"""Inputs whose limits come from the pool: the GPU preset box and count spin boxes."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QSpinBox, QWidget

from srportal_desktop.api.schema import MAX_COUNT, Pool


def gpu_preset_check(pool: Pool, parent: QWidget | None = None) -> QCheckBox:
    """ "Allow GPU preset", disabled with the reason when the pool does not allow it."""
    check = QCheckBox("Allow &GPU preset", parent)
    check.setObjectName("gpuPresetCheck")
    if not pool.gpu_preset:
        check.setEnabled(False)
        check.setToolTip("Your pool does not allow the GPU preset.")
    return check


def count_spin(
    object_name: str, *, minimum: int = 0, maximum: int = MAX_COUNT, parent: QWidget | None = None
) -> QSpinBox:
    """A count input bounded only by the schema, so a too-large value gets a clear refusal
    instead of being clamped to what is left."""
    spin = QSpinBox(parent)
    spin.setObjectName(object_name)
    spin.setRange(minimum, maximum)
    spin.setGroupSeparatorShown(False)
    spin.setAccelerated(True)
    return spin


def spin_value(spin: QSpinBox) -> int:
    """The value of what is typed right now, even if the spin box has not taken it in yet."""
    spin.interpretText()
    return spin.value()
