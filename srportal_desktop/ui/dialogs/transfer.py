"""Transfer a license to a sub-user chosen by name (the portal's airplane button)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QCompleter, QFormLayout, QLabel, QLineEdit, QWidget

from srportal_desktop.api.schema import License, Sensor, SubUser, SubUserStatus
from srportal_desktop.ui.async_tools import ask_confirmation
from srportal_desktop.ui.dialogs.form_dialog import FormDialog, FormRefusalError
from srportal_desktop.ui.icons import icon
from srportal_desktop.ui.widgets.license_text import model_labels, sensors_text, status_text

NO_NAME = "Enter the name or email address of a sub-user."
_FIELD = "to_sub_user_id"


def find_recipient(text: str, sub_users: Sequence[SubUser], license: License) -> SubUser:
    """The one sub-user whose display name or email is `text` (any case) and who may receive
    `license`; raises FormRefusalError saying why not."""
    wanted = text.strip().casefold()
    if not wanted:
        raise _refusal(NO_NAME)
    matches = [s for s in sub_users if wanted in (s.email.casefold(), s.display_name.casefold())]
    eligible = [s for s in matches if s.status is not SubUserStatus.DISABLED]
    if not matches:
        raise _refusal(f"No sub-user is called “{text.strip()}”. Pick one from the list.")
    if not eligible:
        raise _refusal(f"{matches[0].label} is disabled and cannot receive licenses.")
    if len(eligible) > 1:
        raise _refusal(
            f"Several sub-users are called “{text.strip()}”; type the email address instead."
        )
    if eligible[0].id == license.owner_id:
        raise _refusal(f"{license.name} already belongs to {eligible[0].label}.")
    return eligible[0]


def completions(sub_users: Sequence[SubUser], license: License) -> list[str]:
    """What the completer offers: each possible recipient's name, or its email where two
    share a name, so every entry picks exactly one sub-user."""
    eligible = [
        s for s in sub_users if s.status is not SubUserStatus.DISABLED and s.id != license.owner_id
    ]
    names = Counter(s.label.casefold() for s in eligible)
    entries = {s.label if names[s.label.casefold()] == 1 else s.email for s in eligible}
    return sorted(entries, key=str.casefold)


def _refusal(message: str) -> FormRefusalError:
    return FormRefusalError(message, {_FIELD: message})


class TransferClient(Protocol):
    async def transfer_license(self, license_id: str, to_sub_user_id: str, /) -> License: ...


class TransferDialog(FormDialog[SubUser, License]):
    def __init__(
        self,
        client: TransferClient,
        license: License,
        sub_users: Sequence[SubUser],
        current_owner_label: str,
        parent: QWidget | None = None,
        *,
        sensors: Sequence[Sensor] = (),
    ) -> None:
        super().__init__(
            title=f"Transfer {license.name}",
            submit_text="Transfer",
            busy_text="Transferring…",
            parent=parent,
        )
        self.setWindowIcon(icon("airplane"))
        self.submit_button.setIcon(icon("airplane"))
        self._client = client
        self._license = license
        self._sub_users = list(sub_users)
        self.transferred: License | None = None

        form = QFormLayout(self.body)
        form.setContentsMargins(0, 0, 0, 0)
        for label, text, name, tip in (
            ("License:", license.name, "licenseNameLabel", ""),
            (
                "Sensors:",
                sensors_text(license, sensors),
                "licenseSensorsLabel",
                "\n".join(model_labels(license, sensors)),
            ),
            ("Status:", status_text(license), "licenseStatusLabel", ""),
            ("Current owner:", current_owner_label, "currentOwnerLabel", ""),
        ):
            value = QLabel(text, self.body)
            value.setObjectName(name)
            value.setToolTip(tip)
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(label, value)

        self.sub_user_edit = QLineEdit(self.body)
        self.sub_user_edit.setObjectName("subUserEdit")
        self.sub_user_edit.setPlaceholderText("Sub-user name or email")
        self.sub_user_edit.setClearButtonEnabled(True)
        self.completer = QCompleter(completions(self._sub_users, license), self.sub_user_edit)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.sub_user_edit.setCompleter(self.completer)
        self.match_label = QLabel(self.body)
        self.match_label.setObjectName("matchLabel")
        self.match_label.setTextFormat(Qt.TextFormat.PlainText)
        self.match_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        self.fields.add_row(form, "Transfer &to:", self.sub_user_edit, key=_FIELD)
        form.addRow("", self.match_label)

        self.sub_user_edit.textChanged.connect(self._update_match)
        self._update_match()
        self.sub_user_edit.setFocus()

    def _update_match(self) -> None:
        try:
            target = find_recipient(self.sub_user_edit.text(), self._sub_users, self._license)
        except FormRefusalError:
            self.match_label.setText(" ")
            return
        status = target.status.value.replace("_", " ").capitalize()
        details = [target.email] if target.display_name else []
        self.match_label.setText(" · ".join([target.label, *details, status]))

    def build_request(self) -> SubUser:
        return find_recipient(self.sub_user_edit.text(), self._sub_users, self._license)

    async def confirm(self, request: SubUser) -> bool:
        return await ask_confirmation(
            self,
            "Transfer License",
            f"Transfer {self._license.name} to {request.label}?",
            informative_text=" ".join(
                [
                    f"It moves to {request.email}'s licenses and keeps its key, activation "
                    "and expiry.",
                    # Allowed, but worth a second look: nobody may be there to use it yet.
                    f"{request.label} has not accepted the invitation yet."
                    if request.status is SubUserStatus.INVITED
                    else "",
                ]
            ).strip(),
            confirm_label="Transfer",
        )

    async def send(self, request: SubUser, idempotency_key: str) -> License:
        return await self._client.transfer_license(self._license.id, request.id)

    async def finish(self, result: License) -> None:
        self.transferred = result
        self.accept()
