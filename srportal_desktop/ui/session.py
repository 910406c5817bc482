"""One desktop session: sign in, show the main window, sign out or quit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings

from srportal_desktop.api.errors import PortalError
from srportal_desktop.ui.async_tools import run_dialog
from srportal_desktop.ui.dialogs.accept_invite import AcceptInviteDialog
from srportal_desktop.ui.dialogs.sign_in import SignInDialog
from srportal_desktop.ui.main_window import MainWindow

if TYPE_CHECKING:
    from srportal_desktop.api.client import PortalClient

log = logging.getLogger(__name__)


class DesktopSession:
    """Owns the portal client for the signed-in account and the window that shows it.

    `client_factory(url)` makes a client for a portal address; it is injected so the UI never
    builds HTTP machinery itself.
    """

    def __init__(
        self,
        *,
        client_factory: Callable[[str], PortalClient],
        portal_url: str | None,
        demo_credentials: tuple[str, str] | None = None,
        default_portal_url: str = "",
    ) -> None:
        self._client_factory = client_factory
        self._portal_url = portal_url
        self._demo_credentials = demo_credentials
        self._default_portal_url = default_portal_url
        self.client: PortalClient | None = None
        self.window: MainWindow | None = None

    async def run(self, *, screenshot: Path | None = None) -> int:
        """Returns the process exit code."""
        try:
            while True:
                client = await self._sign_in()
                if client is None:
                    return 0
                self.client = client
                outcome = await self._show_window(client, screenshot)
                if outcome != "sign_out":
                    return 0 if outcome == "closed" else 1
                await _quietly(client.logout())
                await client.aclose()
                self.client = None
                self._demo_credentials = None  # after signing out, ask who signs in next
        finally:
            if self.client is not None:
                await self.client.aclose()

    async def _sign_in(self) -> PortalClient | None:
        if self._demo_credentials is not None and self._portal_url:
            client = self._client_factory(self._portal_url)
            try:
                await client.login(*self._demo_credentials)
            except PortalError:
                await client.aclose()
                raise
            return client
        return await self._sign_in_interactively()

    async def _sign_in_interactively(self) -> PortalClient | None:
        """The sign-in dialog, and from it the invitation dialog, until signed in or cancelled."""
        settings = QSettings()
        signed_in: list[tuple[PortalClient, str]] = []

        async def sign_in(url: str, email: str, password: str) -> None:
            client = self._client_factory(url)
            try:
                await client.login(email, password)
            except BaseException:
                await client.aclose()
                raise
            signed_in.append((client, email))

        async def accept_invitation(url: str, code: str, password: str) -> None:
            client = self._client_factory(url)
            try:
                await client.accept_invite(code, password)
                me = await client.me()
            except BaseException:
                await client.aclose()
                raise
            signed_in.append((client, me.email))

        portal_url = (
            self._portal_url
            or str(settings.value("portal/url", "") or "")
            or self._default_portal_url
        )
        email = str(settings.value("portal/email", "") or "")
        password = code = ""  # kept only while going back and forth between the two dialogs
        while not signed_in:
            dialog = SignInDialog(sign_in, portal_url=portal_url, email=email)
            dialog.password_edit.setText(password)
            result = await run_dialog(dialog)
            portal_url = dialog.portal_url_edit.text()
            email = dialog.email_edit.text()
            password = dialog.password_edit.text()
            dialog.deleteLater()
            if result != SignInDialog.INVITATION:
                break
            invitation = AcceptInviteDialog(accept_invitation, portal_url=portal_url, code=code)
            await run_dialog(invitation)
            portal_url = invitation.portal_url_edit.text()
            code = invitation.code_edit.text()
            invitation.deleteLater()
        if not signed_in:
            return None
        client, email = signed_in[-1]
        settings.setValue("portal/url", client.base_url)
        settings.setValue("portal/email", email)
        return client

    async def _show_window(self, client: PortalClient, screenshot: Path | None) -> str:
        window = MainWindow(client)
        self.window = window
        loop = asyncio.get_running_loop()
        outcome: asyncio.Future[str] = loop.create_future()

        def finish(result: str) -> None:
            if not outcome.done():
                outcome.set_result(result)

        window.closed.connect(lambda: finish("closed"))
        window.sign_out_requested.connect(lambda: finish("sign_out"))
        if screenshot is not None:
            window.resize(1200, 720)  # the same picture whatever the last session left
        window.show()
        loaded = await window.reload()
        if screenshot is not None:
            await asyncio.sleep(0.05)  # let the first layout pass settle
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            saved = window.grab().save(str(screenshot))
            window.close()
            window.deleteLater()
            self.window = None
            return "closed" if loaded and saved else "failed"
        result = await outcome
        if result == "sign_out":
            window.close()
        window.deleteLater()
        self.window = None
        return result


async def _quietly(work: Awaitable[None]) -> None:
    try:
        await work
    except PortalError as error:
        log.info("ignored while signing out: %s", error.detail)
