"""The license table as CSV: the rows and columns a person sees, in the order they see them."""

from __future__ import annotations

import csv
import io

from PySide6.QtCore import QAbstractItemModel, Qt

# Shown in a cell when there is nothing; in a spreadsheet an empty cell says it better.
_PLACEHOLDERS = {"—"}


def table_as_csv(model: QAbstractItemModel) -> str:
    """Header row, then one row per model row, as displayed (a filter or sort proxy exports
    what it shows)."""
    out = io.StringIO()
    writer = csv.writer(out)  # RFC 4180: commas, quotes where needed, \r\n line ends
    columns = range(model.columnCount())
    writer.writerow(str(model.headerData(c, Qt.Orientation.Horizontal) or "") for c in columns)
    for row in range(model.rowCount()):
        cells = (str(model.index(row, c).data() or "") for c in columns)
        writer.writerow("" if cell in _PLACEHOLDERS else cell for cell in cells)
    return out.getvalue()
