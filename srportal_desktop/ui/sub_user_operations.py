"""What a reseller does to a sub-user besides granting: resend the invitation, disable, enable.
The window provides selection, progress and the status line."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Protocol, TypeVar

from PySide6.QtWidgets import QWidget
from qasync import asyncSlot

from srportal_desktop.api.schema import SubUser, SubUserPatch, SubUserStatus
from srportal_desktop.ui.confirmations import confirm_disable, confirm_resend

if TYPE_CHECKING:
    from srportal_desktop.api.client import PortalClient

T = TypeVar("T")


class SubUserHost(Protocol):
    def widget(self) -> QWidget: ...
    def selected_sub_user(self) -> SubUser | None: ...
    async def run(self, label: str, work: Awaitable[T]) -> T | None: ...
    async def reload(self) -> bool: ...
    def announce(self, text: str) -> None: ...


class SubUserOperations:
    def __init__(self, host: SubUserHost, client: PortalClient) -> None:
        self._host = host
        self._client = client

    @asyncSlot()
    async def resend_invite(self) -> None:
        sub_user = self._host.selected_sub_user()
        if sub_user is None or not await confirm_resend(self._host.widget(), sub_user):
            return
        sent = await self._host.run("Sending the invitation…", self._resend(sub_user.id))
        if sent:
            self._host.announce(f"Sent a new invitation to {sub_user.email}.")

    async def _resend(self, sub_user_id: str) -> bool:
        await self._client.resend_invite(sub_user_id)
        return True

    @asyncSlot()
    async def toggle_enabled(self) -> None:
        sub_user = self._host.selected_sub_user()
        if sub_user is None:
            return
        enable = sub_user.status is SubUserStatus.DISABLED
        if not enable and not await confirm_disable(self._host.widget(), sub_user):
            return
        # An enabled sub-user who never accepted the invitation goes back to "invited".
        status = SubUserStatus.ACTIVE if enable else SubUserStatus.DISABLED
        changed = await self._host.run(
            "Enabling…" if enable else "Disabling…",
            self._client.update_sub_user(sub_user.id, SubUserPatch(status=status)),
        )
        if changed is not None:
            await self._host.reload()
            self._host.announce(f"{'Enabled' if enable else 'Disabled'} {changed.label}.")
