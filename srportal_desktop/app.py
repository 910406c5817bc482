"""Composition root: settings, portal client, (embedded server), sign-in and the main window."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from platformdirs import user_data_path

from srportal_desktop import __version__
from srportal_desktop.api.client import PortalClient

if TYPE_CHECKING:
    from srportal_desktop.server.embedded import EmbeddedServer

log = logging.getLogger("srportal_desktop")

APP_NAME = "srportal-desktop"
ORGANIZATION = "SR License Portal"
DEFAULT_PORTAL_URL = "https://portal.example.com"


@dataclass(frozen=True)
class Options:
    portal_url: str | None
    demo: bool
    screenshot: Path | None


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog=APP_NAME, description="Manage sub-users, quota and SENSR licenses."
    )
    parser.add_argument("--portal", metavar="URL", help="portal address, e.g. https://portal…")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start an embedded portal on 127.0.0.1 with demo data, and sign in to it",
    )
    parser.add_argument(
        "--screenshot",
        metavar="PATH",
        type=Path,
        help="render the main window to a PNG after sign-in and first load, then exit",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    args = parser.parse_args(argv)
    return Options(portal_url=args.portal, demo=args.demo, screenshot=args.screenshot)


def demo_data_dir() -> Path:
    """Where the embedded demo portal keeps its database and outbox (local, never roaming)."""
    return user_data_path(APP_NAME, appauthor=False, roaming=False) / "demo-portal"


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Alembic announces each of its plugins and contexts at INFO; its warnings still show.
    logging.getLogger("alembic").setLevel(logging.WARNING)

    # Qt is imported here so `--version` and `--help` work without a display.
    import qasync
    from PySide6.QtWidgets import QApplication

    from srportal_desktop.ui.icons import icon
    from srportal_desktop.ui.main_thread_gc import MainThreadGarbageCollector

    qt_app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(qt_app, QApplication)
    qt_app.setApplicationName(APP_NAME)
    qt_app.setOrganizationName(ORGANIZATION)
    qt_app.setApplicationDisplayName("SR License Portal")
    qt_app.setApplicationVersion(__version__)
    qt_app.setWindowIcon(icon("app"))
    # The session decides when to quit: between sign-in and the main window no window is open.
    qt_app.setQuitOnLastWindowClosed(False)
    sys.excepthook = _show_unexpected_error

    collector = MainThreadGarbageCollector()
    collector.start()
    loop = qasync.QEventLoop(qt_app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(run(options))
    finally:
        loop.close()
        collector.stop()


async def run(options: Options) -> int:
    """The whole session: connect, show the window, wait until it closes, clean up."""
    from srportal_desktop.ui.session import DesktopSession

    embedded = None
    if options.demo:
        embedded = await asyncio.to_thread(_start_demo_portal)
    try:
        session = DesktopSession(
            client_factory=PortalClient,
            portal_url=embedded.base_url if embedded else options.portal_url,
            demo_credentials=embedded.credentials if embedded else None,
            default_portal_url=DEFAULT_PORTAL_URL,
        )
        return await session.run(screenshot=options.screenshot)
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.server.stop)


@dataclass
class _DemoPortal:
    server: EmbeddedServer
    base_url: str
    credentials: tuple[str, str]


def _start_demo_portal() -> _DemoPortal:
    from srportal_desktop.server.demo import (
        DEMO_RESELLER_EMAIL,
        DEMO_RESELLER_PASSWORD,
        seed_demo,
    )
    from srportal_desktop.server.embedded import EmbeddedServer
    from srportal_desktop.server.settings import ServerSettings

    folder = demo_data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    settings = ServerSettings(
        database_url=f"sqlite:///{folder / 'portal.sqlite3'}",
        outbox_dir=folder / "outbox",
    )
    seed_demo(settings)
    server = EmbeddedServer(settings, links_to_itself=True)  # invitation links work in the demo
    base_url = server.start()
    log.info("demo portal at %s (data in %s, emails in %s)", base_url, folder, folder / "outbox")
    return _DemoPortal(server, base_url, (DEMO_RESELLER_EMAIL, DEMO_RESELLER_PASSWORD))


def _show_unexpected_error(
    kind: type[BaseException], error: BaseException, tb: TracebackType | None
) -> None:
    """One place for errors nothing else handled: log them and tell the user, without blocking."""
    log.error("unexpected error", exc_info=(kind, error, tb))
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QMessageBox

    if QApplication.instance() is None:
        return
    box = QMessageBox(
        QMessageBox.Icon.Critical,
        "SR License Portal",
        "Something went wrong. Your data on the portal is unchanged.",
        QMessageBox.StandardButton.Ok,
    )
    box.setDetailedText("".join(traceback.format_exception(kind, error, tb)))
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()


if __name__ == "__main__":
    raise SystemExit(main())
