"""Sign in to a portal: its address, an email and a password."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLineEdit, QPushButton, QWidget

from srportal_desktop.api.errors import PortalError, PortalUnavailableError
from srportal_desktop.api.schema import LoginRequest
from srportal_desktop.ui.dialogs.form_dialog import FormDialog
from srportal_desktop.ui.icons import icon
from srportal_desktop.ui.widgets.field_errors import focus_and_select

SignIn = Callable[[str, str, str], Awaitable[None]]
"""`sign_in(portal_url, email, password)`; raises PortalError when the portal refuses."""

BAD_URL = "Enter the portal's web address, e.g. https://portal.example.com."


@dataclass(frozen=True)
class SignInRequest:
    portal_url: str
    login: LoginRequest


def normalized_url(text: str) -> str | None:
    """An http(s) address with a host, `https://` added when no scheme was typed; else None."""
    text = text.strip()
    if text and "://" not in text:
        text = f"https://{text}"
    text = text.rstrip("/")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - parsing the port is what tells a bad one
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return text


class SignInDialog(FormDialog[SignInRequest, None]):
    # The result when the person has an invitation to accept instead of a password.
    INVITATION = 2

    def __init__(
        self,
        sign_in: SignIn,
        *,
        portal_url: str = "",
        email: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            title="Sign In to SR License Portal",
            submit_text="Sign In",
            busy_text="Signing in…",
            parent=parent,
        )
        self.setWindowIcon(icon("app"))
        self._sign_in = sign_in

        self.portal_url_edit = QLineEdit(portal_url, self.body)
        self.portal_url_edit.setObjectName("portalUrlEdit")
        self.portal_url_edit.setPlaceholderText("https://portal.example.com")
        self.email_edit = QLineEdit(email, self.body)
        self.email_edit.setObjectName("emailEdit")
        self.email_edit.setPlaceholderText("name@example.com")
        self.password_edit = QLineEdit(self.body)
        self.password_edit.setObjectName("passwordEdit")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)

        form = QFormLayout(self.body)
        form.setContentsMargins(0, 0, 0, 0)
        self.fields.add_row(form, "&Portal:", self.portal_url_edit, key="portal_url")
        self.fields.add_row(
            form,
            "&Email:",
            self.email_edit,
            key="email",
            required_message="Enter the email address you sign in with.",
        )
        self.fields.add_row(
            form,
            "Pass&word:",
            self.password_edit,
            key="password",
            required_message="Enter your password.",
        )

        # Under the fields rather than among the buttons: it is another way in, not an answer.
        self.invitation_button = QPushButton("Invited? Accept your &invitation…", self.body)
        self.invitation_button.setObjectName("invitationButton")
        self.invitation_button.setFlat(True)
        self.invitation_button.setAutoDefault(False)
        self.invitation_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.invitation_button.clicked.connect(self._on_invitation)
        form.addRow("", self.invitation_button)
        form.setAlignment(self.invitation_button, Qt.AlignmentFlag.AlignLeft)

        edits = (self.portal_url_edit, self.email_edit, self.password_edit)
        next(edit for edit in edits if not edit.text() or edit is edits[-1]).setFocus()

    def _on_invitation(self) -> None:
        if not self.busy:
            self.done(self.INVITATION)

    def build_request(self) -> SignInRequest:
        url = normalized_url(self.portal_url_edit.text())
        refusals = {} if url else {"portal_url": BAD_URL}
        return self.validated(
            lambda: SignInRequest(
                url or "",
                LoginRequest(
                    email=self.email_edit.text().strip(), password=self.password_edit.text()
                ),
            ),
            refusals,
        )

    async def send(self, request: SignInRequest, idempotency_key: str) -> None:
        await self._sign_in(request.portal_url, request.login.email, request.login.password)

    def show_portal_error(self, error: PortalError) -> None:
        super().show_portal_error(error)
        if self.fields.shown():
            return
        # An unreachable portal is most often a mistyped address; otherwise wrong credentials
        # are the usual case, and retyping the password is the next step.
        unreachable = isinstance(error, PortalUnavailableError)
        focus_and_select(self.portal_url_edit if unreachable else self.password_edit)
