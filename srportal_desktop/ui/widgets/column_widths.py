"""Column widths of a table from all of its data, not only the rows a filter shows now."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtWidgets import QHeaderView, QTableView

# Room for the cell margins and, in the header, the sort arrow.
_CELL_PADDING = 18
_HEADER_PADDING = 28


def fit_columns(
    view: QTableView,
    model: QAbstractItemModel,
    *,
    stretch: int,
    max_chars: int = 36,
    sample_rows: int = 1000,
    grow_only: bool = False,
) -> None:
    """Size every column but `stretch` to its widest text in `model` (the source model, so a
    filter that shows a few rows now does not leave the others too narrow later); `stretch`
    takes the space left. With `grow_only`, a column is only ever widened, so widths the
    person dragged survive a reload."""
    header = view.horizontalHeader()
    header.setStretchLastSection(False)
    cell_metrics, header_metrics = view.fontMetrics(), header.fontMetrics()
    widest = cell_metrics.averageCharWidth() * max_chars
    rows = min(model.rowCount(), sample_rows)
    for column in range(model.columnCount()):
        if column == stretch:
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
            continue
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        title = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
        needed = header_metrics.horizontalAdvance(title) + _HEADER_PADDING
        for row in range(rows):
            text = str(model.index(row, column).data() or "")
            needed = max(needed, cell_metrics.horizontalAdvance(text) + _CELL_PADDING)
        width = min(needed, widest)
        if grow_only:
            width = max(width, header.sectionSize(column))
        header.resizeSection(column, width)
