"""Save a license key file where the person chooses, without blocking the window."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog, QWidget

from srportal_desktop.api.schema import KeyFile
from srportal_desktop.ui.async_tools import run_dialog

SUFFIX = ".license-key.json"
_UNSAFE = re.compile(r"[^\w.-]+")


def suggested_file_name(license_name: str) -> str:
    """A file name any system takes: the license's name with odd characters replaced."""
    stem = _UNSAFE.sub("_", license_name).strip("._") or "license"
    return f"{stem}{SUFFIX}"


async def ask_where_to_save(parent: QWidget, license_name: str) -> Path | None:
    """The save dialog, opened with `open()` and awaited; None when cancelled."""
    dialog = QFileDialog(parent, f"Save the Key File of {license_name}")
    dialog.setObjectName("keyFileDialog")
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    dialog.setNameFilters(["License key files (*.json)", "All files (*)"])
    dialog.setDefaultSuffix("json")
    dialog.setDirectory(str(_documents_folder()))
    dialog.selectFile(suggested_file_name(license_name))
    accepted = bool(await run_dialog(dialog))  # finished(int): 1 when accepted
    chosen = dialog.selectedFiles()
    dialog.deleteLater()
    return Path(chosen[0]) if accepted and chosen else None


def _documents_folder() -> Path:
    """The person's documents folder, else their home (some desktops name none, or one that
    does not exist)."""
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    folder = Path(found) if found else Path.home()
    return folder if folder.is_absolute() and folder.is_dir() else Path.home()


async def write_key_file(path: Path, key_file: KeyFile) -> None:
    """Write the file off the GUI thread; the whole file or, on failure, nothing there."""
    text = key_file.model_dump_json(indent=2) + "\n"
    await asyncio.to_thread(_write_atomically, path, text)


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
