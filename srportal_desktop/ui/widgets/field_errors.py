"""Form rows with a red message under the input, keyed by the schema's field paths."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pydantic import ValidationError
from PySide6.QtCore import QEvent, Qt, SignalInstance
from PySide6.QtWidgets import QAbstractSpinBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from srportal_desktop.api.schema import EMAIL_PROBLEM_PREFIX
from srportal_desktop.ui.widgets.colors import error_colors


class FieldErrorLabel(QLabel):
    """Red, word-wrapped text that explains what is wrong with the input above it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self._apply_colors()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.ApplicationPaletteChange:
            self._apply_colors()
        super().changeEvent(event)

    def _apply_colors(self) -> None:
        self.setStyleSheet(f"color: {error_colors().text};")


@dataclass
class _Field:
    input: QWidget
    error: FieldErrorLabel
    required_message: str


class FieldErrors:
    """The form's inputs by field path (`name`, `template.name`, `lpu`) and their error lines.

    A message for `supported_sensors.0` lands on `supported_sensors`: the longest registered
    path that is a prefix of the message's path at a dot boundary.
    """

    def __init__(self, on_cleared: Callable[[], None] | None = None) -> None:
        self._fields: dict[str, _Field] = {}
        # Called after an edit cleared a field's message (the form may then tidy up).
        self._on_cleared = on_cleared

    def add_row(
        self,
        form: QFormLayout,
        label_text: str,
        field: QWidget,
        *,
        key: str,
        focus: QWidget | None = None,
        required_message: str = "",
    ) -> QLabel:
        """Add `label_text: field` with a hidden error line under the input; returns the label."""
        focus = focus or field
        label = QLabel(label_text)
        label.setBuddy(focus)
        error = FieldErrorLabel()
        error.setObjectName(f"{focus.objectName() or key}Error")
        error.hide()
        # The input and its message share one form row, so the label stays beside the input.
        cell = QWidget()
        column = QVBoxLayout(cell)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(field)
        column.addWidget(error)
        cell.setFocusProxy(focus)
        form.addRow(label, cell)
        self._fields[key] = _Field(focus, error, required_message)
        # Once the person changes the input, the message about its old value is stale.
        edited = _edited_signal(field)
        if edited is not None:
            edited.connect(lambda *_args, key=key: self._clear_one(key))
        return label

    def _clear_one(self, key: str) -> None:
        field = self._fields[key]
        if not field.error.text():
            return
        field.error.clear()
        field.input.setAccessibleDescription("")
        field.error.hide()
        if self._on_cleared is not None:
            self._on_cleared()

    def key_for(self, path: str) -> str | None:
        parts = path.split(".")
        for end in range(len(parts), 0, -1):
            candidate = ".".join(parts[:end])
            if candidate in self._fields:
                return candidate
        return None

    def show(self, messages: Mapping[str, str]) -> dict[str, str]:
        """Put each message under its field; returns those no field of this form takes."""
        unplaced: dict[str, str] = {}
        for path, message in messages.items():
            key = self.key_for(path)
            if key is None:
                unplaced[path] = message
                continue
            field = self._fields[key]
            if field.error.text():
                continue
            field.error.setText(message)
            field.input.setAccessibleDescription(message)
            field.error.show()
        return unplaced

    def clear(self) -> None:
        for field in self._fields.values():
            field.error.clear()
            field.input.setAccessibleDescription("")
            field.error.hide()

    def shown(self) -> dict[str, str]:
        """Field path → the message shown under it, for the fields that have one."""
        return {key: f.error.text() for key, f in self._fields.items() if f.error.text()}

    def focus_first_error(self) -> bool:
        for field in self._fields.values():
            if field.error.text():
                focus_and_select(field.input)
                return True
        return False

    def messages_from(self, error: ValidationError) -> dict[str, str]:
        """Readable messages by field path from a schema ValidationError."""
        messages: dict[str, str] = {}
        for item in error.errors():
            path = ".".join(str(part) for part in item["loc"])
            key = self.key_for(path)
            required = self._fields[key].required_message if key else ""
            blank = _is_blank(item["input"])
            message = required if required and blank else _sentence(item["msg"])
            messages.setdefault(key or path, message)
        return messages


# The signal each kind of input emits when its value changes, in order of preference: a
# person's edit (textEdited) over any change, and a composite's own `changed`.
_EDIT_SIGNALS = ("textEdited", "changed", "valueChanged", "toggled", "textChanged")


def _edited_signal(widget: QWidget) -> SignalInstance | None:
    for name in _EDIT_SIGNALS:
        signal = getattr(widget, name, None)
        if isinstance(signal, SignalInstance):
            return signal
    return None


def focus_and_select(widget: QWidget) -> None:
    """Focus an input and select its text, so retyping replaces what was refused."""
    widget.setFocus(Qt.FocusReason.OtherFocusReason)
    if isinstance(widget, QLineEdit | QAbstractSpinBox):
        widget.selectAll()


def _is_blank(value: object) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | tuple | set) and not value


def _sentence(message: str) -> str:
    message = message.removeprefix("Value error, ").strip()
    message = message.replace(EMAIL_PROBLEM_PREFIX, "Not a valid email address. ")
    if not message:
        return message
    message = message[0].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else f"{message}."
