"""Accept an invitation: the code from the email and a new password, then signed in."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QWidget

from srportal_desktop.api.errors import AuthenticationError, PortalError
from srportal_desktop.api.schema import MIN_PASSWORD_LENGTH, AcceptInviteRequest
from srportal_desktop.ui.dialogs.form_dialog import FIX_FIELDS, FormDialog, FormRefusalError
from srportal_desktop.ui.dialogs.sign_in import BAD_URL, normalized_url
from srportal_desktop.ui.icons import icon

AcceptInvite = Callable[[str, str, str], Awaitable[None]]
"""`accept(portal_url, code, password)`: sets the password and signs in; raises PortalError."""

MISMATCH = "The two passwords differ: type the same password twice."


@dataclass(frozen=True)
class AcceptInviteForm:
    portal_url: str
    acceptance: AcceptInviteRequest


_TOKEN_IN_LINK = re.compile(r"(?:^|[?&])token=([\w-]+)")
_LINK = re.compile(r"https?://[^\s<>]+")


def invitation_code(text: str) -> str:
    """The code itself, also when the whole link from the email was pasted (with angle
    brackets, a full stop after it or a line break in it, as mail programs do)."""
    found = _TOKEN_IN_LINK.search("".join(text.split()))
    if found:
        return found.group(1)
    return text.strip().strip("<>.,;")


def portal_of_link(text: str) -> str | None:
    """The portal's address from a pasted invitation link (`…/accept-invite?token=…`)."""
    found = _LINK.search("".join(text.split()))
    if found is None or "/accept-invite" not in found.group():
        return None
    return normalized_url(found.group().partition("/accept-invite")[0])


class AcceptInviteDialog(FormDialog[AcceptInviteForm, None]):
    def __init__(
        self,
        accept: AcceptInvite,
        *,
        portal_url: str = "",
        code: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            title="Accept Invitation",
            submit_text="Activate and Sign In",
            busy_text="Activating…",
            parent=parent,
        )
        self.setWindowIcon(icon("app"))
        self._accept = accept

        intro = QLabel(
            "Enter the invitation code from your email (or paste the whole link) and choose "
            "the password you will sign in with from now on.",
            self.body,
        )
        intro.setWordWrap(True)
        self.portal_url_edit = QLineEdit(portal_url, self.body)
        self.portal_url_edit.setObjectName("portalUrlEdit")
        self.portal_url_edit.setPlaceholderText("https://portal.example.com")
        self.code_edit = QLineEdit(code, self.body)
        self.code_edit.setObjectName("codeEdit")
        self.code_edit.setPlaceholderText("From the invitation email")
        self.password_edit = QLineEdit(self.body)
        self.password_edit.setObjectName("passwordEdit")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText(f"At least {MIN_PASSWORD_LENGTH} characters")
        self.password_again_edit = QLineEdit(self.body)
        self.password_again_edit.setObjectName("passwordAgainEdit")
        self.password_again_edit.setEchoMode(QLineEdit.EchoMode.Password)

        form = QFormLayout(self.body)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(intro)
        self.fields.add_row(form, "&Portal:", self.portal_url_edit, key="portal_url")
        self.fields.add_row(
            form,
            "Invitation &code:",
            self.code_edit,
            key="token",
            required_message="Enter the invitation code from the email.",
        )
        self.fields.add_row(
            form,
            "New pass&word:",
            self.password_edit,
            key="password",
            required_message="Choose a password.",
        )
        self.fields.add_row(
            form,
            "Password &again:",
            self.password_again_edit,
            key="password_again",
            required_message="Type the password again.",
        )
        (self.code_edit if portal_url else self.portal_url_edit).setFocus()

    def build_request(self) -> AcceptInviteForm:
        if not self.portal_url_edit.text().strip():
            # A pasted link names its portal: no need to type it twice.
            self.portal_url_edit.setText(portal_of_link(self.code_edit.text()) or "")
        url = normalized_url(self.portal_url_edit.text())
        password, again = self.password_edit.text(), self.password_again_edit.text()
        refusals = {} if url else {"portal_url": BAD_URL}
        if password and again and password != again:
            refusals["password_again"] = MISMATCH
        if not again:
            refusals["password_again"] = "Type the password again."
        return self.validated(
            lambda: AcceptInviteForm(
                url or "",
                AcceptInviteRequest(
                    token=invitation_code(self.code_edit.text()), password=password
                ),
            ),
            refusals,
        )

    def show_portal_error(self, error: PortalError) -> None:
        if isinstance(error, AuthenticationError) and not error.errors:
            # An unknown, used or expired code is refused without naming a field: it is the
            # code's fault, so the message goes under the code.
            self.show_refusal(FormRefusalError(FIX_FIELDS, {"token": error.detail}))
            return
        super().show_portal_error(error)

    async def send(self, request: AcceptInviteForm, idempotency_key: str) -> None:
        acceptance = request.acceptance
        await self._accept(request.portal_url, acceptance.token, acceptance.password)
