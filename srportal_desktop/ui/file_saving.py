"""Save a file where the person chooses, without blocking the window."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog, QWidget

from srportal_desktop.api.schema import KeyFile
from srportal_desktop.ui.async_tools import run_dialog

KEY_FILE_SUFFIX = ".license-key.json"
_UNSAFE = re.compile(r"[^\w.-]+")


def safe_file_stem(name: str, fallback: str) -> str:
    """A file name any system takes: `name` with odd characters replaced."""
    return _UNSAFE.sub("_", name).strip("._") or fallback


def key_file_name(license_name: str) -> str:
    return f"{safe_file_stem(license_name, 'license')}{KEY_FILE_SUFFIX}"


async def ask_save_path(
    parent: QWidget, title: str, suggested_name: str, name_filter: str, suffix: str
) -> Path | None:
    """The save dialog, opened with `open()` and awaited; None when cancelled."""
    dialog = QFileDialog(parent, title)
    dialog.setObjectName("saveFileDialog")
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    dialog.setNameFilters([name_filter, "All files (*)"])
    dialog.setDefaultSuffix(suffix)
    dialog.setDirectory(str(_documents_folder()))
    dialog.selectFile(suggested_name)
    accepted = bool(await run_dialog(dialog))  # finished(int): 1 when accepted
    chosen = dialog.selectedFiles()
    dialog.deleteLater()
    return Path(chosen[0]) if accepted and chosen else None


async def ask_where_to_save_key_file(parent: QWidget, license_name: str) -> Path | None:
    return await ask_save_path(
        parent,
        f"Save the Key File of {license_name}",
        key_file_name(license_name),
        "License key files (*.json)",
        "json",
    )


async def write_key_file(path: Path, key_file: KeyFile) -> None:
    await write_text(path, key_file.model_dump_json(indent=2) + "\n")


async def write_text(path: Path, text: str, *, encoding: str = "utf-8") -> None:
    """Write the file off the GUI thread; the whole file or, on failure, nothing there."""
    await asyncio.to_thread(_write_atomically, path, text, encoding)


def _documents_folder() -> Path:
    """The person's documents folder, else their home (some desktops name none, or one that
    does not exist)."""
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    folder = Path(found) if found else Path.home()
    return folder if folder.is_absolute() and folder.is_dir() else Path.home()


def _write_atomically(path: Path, text: str, encoding: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    try:
        # newline="" keeps the text's own line ends (CSV wants \r\n on every system).
        with partial.open("w", encoding=encoding, newline="") as file:
            file.write(text)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
