"""Test-wide set-up: offscreen Qt, user folders redirected to a temporary place."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Before Qt or platformdirs read them: no display, and no test touches the real user folders.
_HOME = Path(tempfile.mkdtemp(prefix="srportal-tests-"))
os.environ["QT_QPA_PLATFORM"] = "offscreen"
for _variable, _folder in (
    ("XDG_CONFIG_HOME", "config"),
    ("XDG_DATA_HOME", "data"),
    ("XDG_CACHE_HOME", "cache"),
    ("XDG_STATE_HOME", "state"),
):
    os.environ[_variable] = str(_HOME / _folder)

import asyncio  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import pytest  # noqa: E402

RESELLER_EMAIL = "sales@reseller-a.example"
RESELLER_PASSWORD = "correct horse battery staple"


@dataclass
class RunningPortal:
    """A real portal server on a loopback port with its own fresh SQLite database."""

    base_url: str
    database_url: str
    outbox: Path
    reseller_email: str
    reseller_password: str
    reseller_id: str


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[RunningPortal]:
    from srportal_desktop.server.bootstrap import create_reseller
    from srportal_desktop.server.embedded import EmbeddedServer
    from srportal_desktop.server.settings import ServerSettings

    settings = ServerSettings(
        database_url=f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        outbox_dir=tmp_path / "outbox",
    )
    reseller_id = create_reseller(
        settings,
        email=RESELLER_EMAIL,
        password=RESELLER_PASSWORD,
        lpu=100,
        sensors=400,
        gpu_preset=True,
        display_name="Reseller A",
    )
    server = EmbeddedServer(settings)
    base_url = server.start()
    try:
        yield RunningPortal(
            base_url=base_url,
            database_url=settings.database_url,
            outbox=tmp_path / "outbox",
            reseller_email=RESELLER_EMAIL,
            reseller_password=RESELLER_PASSWORD,
            reseller_id=reseller_id,
        )
    finally:
        server.stop()


@pytest.fixture
def qloop(qapp: object) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync loop over the test's QApplication; run scenarios with `run_until_complete`."""
    import qasync
    from PySide6.QtWidgets import QApplication

    assert isinstance(qapp, QApplication)
    # Windows come and go between sign-in and the main window; the loop must outlive them.
    qapp.setQuitOnLastWindowClosed(False)
    from srportal_desktop.ui.main_thread_gc import MainThreadGarbageCollector

    collector = MainThreadGarbageCollector()
    collector.start()
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
        asyncio.set_event_loop(None)
        collector.stop()
        collector.deleteLater()


@pytest.fixture(autouse=True)
def _collect_garbage_on_the_main_thread() -> Iterator[None]:
    """Qt objects left in reference cycles are freed here, never on a server thread later."""
    yield
    import gc

    gc.collect()
