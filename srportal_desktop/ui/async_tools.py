"""Running dialogs and background work on the qasync loop without nested event loops."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

log = logging.getLogger(__name__)

T = TypeVar("T")


async def run_dialog(dialog: QDialog) -> int:
    """Show `dialog` window-modally with `open()` and wait until it closes; returns its result.

    `exec()` would start a nested event loop that starves the asyncio tasks; this does not.
    """
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[int] = loop.create_future()

    def on_finished(result: int) -> None:
        if not finished.done():
            finished.set_result(result)

    dialog.finished.connect(on_finished)
    dialog.open()
    try:
        return await finished
    finally:
        dialog.finished.disconnect(on_finished)


async def show_message(
    parent: QWidget | None,
    title: str,
    text: str,
    *,
    icon: QMessageBox.Icon = QMessageBox.Icon.Information,
    informative_text: str = "",
) -> None:
    """A message box shown with `open()` and awaited (never the static helpers)."""
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    if informative_text:
        box.setInformativeText(informative_text)
    await run_dialog(box)
    box.deleteLater()


async def ask_confirmation(
    parent: QWidget | None,
    title: str,
    text: str,
    *,
    confirm_label: str,
    informative_text: str = "",
) -> bool:
    """Ask a yes/no question with a verb on the confirming button; True when confirmed."""
    box = QMessageBox(
        QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton, parent
    )
    if informative_text:
        box.setInformativeText(informative_text)
    confirm = box.addButton(confirm_label, QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(confirm)
    box.setEscapeButton(cancel)
    await run_dialog(box)
    confirmed = box.clickedButton() is confirm
    box.deleteLater()
    return confirmed


def spawn(coro: Awaitable[T], *, name: str = "") -> asyncio.Task[T]:
    """Start a coroutine on the running loop and log, rather than lose, what it raises."""
    task: asyncio.Task[T] = asyncio.ensure_future(coro)
    if name:
        task.set_name(name)
    _background_tasks.add(task)
    task.add_done_callback(_forget)
    return task


_background_tasks: set[asyncio.Task[object]] = set()


def _forget(task: asyncio.Task[object]) -> None:
    _background_tasks.discard(task)
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.error("background task %s failed", task.get_name(), exc_info=error)


ErrorSink = Callable[[BaseException], None]
