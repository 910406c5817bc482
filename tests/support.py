"""Helpers for UI scenarios written as coroutines on the qasync loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

import shiboken6
from PySide6.QtWidgets import QApplication, QWidget

W = TypeVar("W", bound=QWidget)


async def wait_until(
    condition: Callable[[], object], *, within: float = 10.0, what: str = ""
) -> None:
    """Poll `condition` between asyncio steps, so tasks and Qt events both make progress."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:.0f} s waiting for {what or condition}")
        await asyncio.sleep(0.02)


async def wait_for_window(kind: type[W], *, within: float = 10.0) -> W:
    """The first visible top-level widget of `kind` (a dialog opened with `open()`)."""
    found: list[W] = []

    def visible() -> bool:
        found[:] = [
            w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()
        ]
        return bool(found)

    await wait_until(visible, within=within, what=f"a visible {kind.__name__}")
    return found[0]


def is_closed(widget: QWidget) -> bool:
    """Hidden, or already deleted by `deleteLater()` once its caller was done with it."""
    return not shiboken6.isValid(widget) or not widget.isVisible()


async def wait_closed(widget: QWidget, *, within: float = 10.0) -> None:
    name = type(widget).__name__
    await wait_until(lambda: is_closed(widget), within=within, what=f"the {name} to close")


def child(widget: QWidget, kind: type[W], name: str) -> W:
    found = widget.findChild(kind, name)
    assert found is not None, f"{type(widget).__name__} has no {kind.__name__} named {name!r}"
    return found
