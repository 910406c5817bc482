"""The base of every dialog that sends something: check locally, send, show what was refused.

The dialog owns its submission. A refusal, local or from the portal, goes to the banner and
under the fields; the dialog stays open with everything the user typed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from pydantic import ValidationError
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from srportal_desktop.api.errors import PortalError
from srportal_desktop.ui.widgets.error_banner import ErrorBanner
from srportal_desktop.ui.widgets.field_errors import FieldErrors

RequestT = TypeVar("RequestT")
ResultT = TypeVar("ResultT")

FIX_FIELDS = "Please correct the fields marked below."


class FormRefusalError(Exception):
    """What the form refuses before sending anything: a sentence and per-field messages."""

    def __init__(self, message: str, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})


class FormDialog(QDialog, Generic[RequestT, ResultT]):
    """Banner on top, the subclass's `body`, then platform-ordered buttons.

    Subclasses build `body`, implement `build_request` (raising ValidationError or
    FormRefusalError), `send` and `finish`; `confirm` may ask before sending.
    """

    def __init__(
        self,
        *,
        title: str,
        submit_text: str,
        busy_text: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self._busy_text = busy_text
        self._submit_text = submit_text
        self._submitting = False
        self._busy = False
        self._idempotency: tuple[RequestT, str] | None = None

        self.banner = ErrorBanner(self)
        self.fields = FieldErrors(on_cleared=self._on_field_error_cleared)
        self.body = QWidget(self)
        self.body.setObjectName("formBody")

        self.buttons = QDialogButtonBox(self)
        self.submit_button = QPushButton(submit_text, self)
        self.submit_button.setObjectName("submitButton")
        self.buttons.addButton(self.submit_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setObjectName("cancelButton")
        self.submit_button.setDefault(True)
        self.buttons.accepted.connect(self._on_submit)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.body, 1)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 70)

    # --- what subclasses provide ----------------------------------------------------------------

    def build_request(self) -> RequestT:
        """The request from the form; raises ValidationError or FormRefusalError."""
        raise NotImplementedError

    def validated(
        self,
        build: Callable[[], RequestT],
        refusals: Mapping[str, str] | None = None,
        message: str = "",
    ) -> RequestT:
        """`build()` the schema request; its errors and the form's own `refusals` (field path →
        message, with `message` for the banner) are reported together as one FormRefusalError."""
        refusals = dict(refusals or {})
        try:
            request = build()
        except ValidationError as error:
            fields = {**refusals, **self.fields.messages_from(error)}
            raise FormRefusalError("\n".join(filter(None, [message, FIX_FIELDS])), fields) from None
        if refusals or message:
            raise FormRefusalError(message or FIX_FIELDS, refusals)
        return request

    async def confirm(self, request: RequestT) -> bool:
        return True

    async def send(self, request: RequestT, idempotency_key: str) -> ResultT:
        raise NotImplementedError

    async def finish(self, result: ResultT) -> None:
        self.accept()

    def focus_after_error(self) -> None:
        self.fields.focus_first_error()

    # --- the submission -------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._busy

    def set_submit_text(self, text: str) -> None:
        self._submit_text = text
        if not self._busy:
            self.submit_button.setText(text)

    @asyncSlot()
    async def _on_submit(self) -> None:
        await self.submit()

    async def submit(self) -> bool:
        """Check, confirm, send, finish. False when refused or failed; the dialog stays open."""
        if self._submitting:
            return False
        self._submitting = True
        try:
            return await self._submit()
        finally:
            self._submitting = False

    async def _submit(self) -> bool:
        self.clear_errors()
        try:
            request = self.build_request()
        except ValidationError as error:
            self.show_refusal(FormRefusalError(FIX_FIELDS, self.fields.messages_from(error)))
            return False
        except FormRefusalError as refusal:
            self.show_refusal(refusal)
            return False
        if not await self.confirm(request):
            return False
        try:
            result = await self._send_busy(request)
        except PortalError as error:
            self.show_portal_error(error)
            return False
        self._idempotency = None
        await self.finish(result)
        return True

    async def _send_busy(self, request: RequestT) -> ResultT:
        # A retry of the very same request (after a time-out, say) reuses its key, so the
        # portal never spends quota twice for one intent.
        if self._idempotency is None or self._idempotency[0] != request:
            self._idempotency = (request, str(uuid.uuid4()))
        focused = QApplication.focusWidget()
        self._set_busy(True)
        try:
            return await self.send(request, self._idempotency[1])
        finally:
            self._set_busy(False)
            if focused is not None and self.isAncestorOf(focused):
                focused.setFocus(Qt.FocusReason.OtherFocusReason)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.body.setEnabled(not busy)
        self.submit_button.setEnabled(not busy)
        self.cancel_button.setEnabled(not busy)
        self.submit_button.setText(self._busy_text if busy else self._submit_text)
        if busy:
            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.unsetCursor()

    # --- showing refusals -----------------------------------------------------------------------

    def clear_errors(self) -> None:
        self.banner.clear()
        self.fields.clear()
        self.fit_to_contents()

    def show_refusal(self, refusal: FormRefusalError) -> None:
        unplaced = self.fields.show(refusal.fields)
        self._show_banner(refusal.message, unplaced)
        self.fit_to_contents()
        self.focus_after_error()

    def show_portal_error(self, error: PortalError) -> None:
        unplaced = self.fields.show(error.field_messages())
        self._show_banner(error.detail, unplaced)
        self.fit_to_contents()
        self.focus_after_error()

    def _on_field_error_cleared(self) -> None:
        # The banner summed up the fields' messages; with the last one gone it is stale too.
        if not self.fields.shown():
            self.banner.clear()
        self.fit_to_contents()

    def fit_to_contents(self) -> None:
        """Grow or shrink with the banner and error lines, keeping the width the person chose,
        so a message never squeezes the inputs or gets cut off."""
        layout = self.layout()
        if layout is None:
            return
        layout.activate()
        width = self.width()
        if layout.hasHeightForWidth():
            height = layout.totalHeightForWidth(width)
        else:
            height = layout.totalSizeHint().height()
        self.resize(width, max(height, layout.totalMinimumSize().height()))

    def _show_banner(self, message: str, unplaced: Mapping[str, str]) -> None:
        extra = [text for text in unplaced.values() if text not in message]
        self.banner.show_error("\n".join([message, *extra]))

    def reject(self) -> None:
        # Closing while a request is on its way would hide whether it happened.
        if self._busy:
            return
        super().reject()
