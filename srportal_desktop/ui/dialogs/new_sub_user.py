"""Add a sub-user by email: confirm, create, tell the user the notification went out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QMessageBox, QWidget

from srportal_desktop.api.schema import MAX_NAME_LENGTH, SubUser, SubUserCreate
from srportal_desktop.ui.async_tools import ask_confirmation, show_message
from srportal_desktop.ui.dialogs.form_dialog import FIX_FIELDS, FormDialog, FormRefusalError
from srportal_desktop.ui.icons import icon


class SubUserClient(Protocol):
    async def create_sub_user(self, body: SubUserCreate, /) -> SubUser: ...


class NewSubUserDialog(FormDialog[SubUserCreate, SubUser]):
    def __init__(
        self,
        client: SubUserClient,
        existing: Sequence[SubUser] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            title="New Sub-User", submit_text="Add", busy_text="Adding…", parent=parent
        )
        self.setWindowIcon(icon("add-user"))
        self._client = client
        # Known sub-users are refused before asking, instead of after a round trip.
        self._existing = {sub_user.email.casefold(): sub_user for sub_user in existing}
        self.created: SubUser | None = None

        intro = QLabel(
            "The sub-user gets an email with an activation link to set their password.",
            self.body,
        )
        intro.setWordWrap(True)
        self.email_edit = QLineEdit(self.body)
        self.email_edit.setObjectName("emailEdit")
        self.email_edit.setPlaceholderText("name@example.com")
        self.display_name_edit = QLineEdit(self.body)
        self.display_name_edit.setObjectName("displayNameEdit")
        self.display_name_edit.setPlaceholderText("Optional, e.g. the company name")
        self.display_name_edit.setMaxLength(MAX_NAME_LENGTH)

        form = QFormLayout(self.body)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(intro)
        self.fields.add_row(
            form,
            "&Email:",
            self.email_edit,
            key="email",
            required_message="Enter the sub-user's email address.",
        )
        self.fields.add_row(form, "&Display name:", self.display_name_edit, key="display_name")
        self.email_edit.setFocus()

    def build_request(self) -> SubUserCreate:
        request = SubUserCreate(
            email=self.email_edit.text().strip(),
            display_name=self.display_name_edit.text().strip(),
        )
        known = self._existing.get(request.email.casefold())
        if known is not None:
            named = f" ({known.label})" if known.label != known.email else ""
            raise FormRefusalError(FIX_FIELDS, {"email": f"Already one of your sub-users{named}."})
        return request

    async def confirm(self, request: SubUserCreate) -> bool:
        return await ask_confirmation(
            self,
            "Add Sub-User",
            f"Add {request.email} as a sub-user?",
            informative_text=(
                f"A notification email with an activation link will be sent to {request.email}."
            ),
            confirm_label="Add",
        )

    async def send(self, request: SubUserCreate, idempotency_key: str) -> SubUser:
        return await self._client.create_sub_user(request)

    async def finish(self, result: SubUser) -> None:
        self.created = result
        if result.invite_email_sent is False:
            await show_message(
                self,
                "Sub-User Added",
                f"{result.email} was added, but the notification email could not be sent.",
                icon=QMessageBox.Icon.Warning,
                informative_text="The sub-user exists; the invitation can be sent again later.",
            )
        else:
            await show_message(self, "Sub-User Added", f"Notification sent to {result.email}")
        self.accept()
