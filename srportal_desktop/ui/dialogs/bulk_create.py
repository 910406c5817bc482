"""Create N licenses from one template, named `[Name]_1 … [Name]_N`, all or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QLabel,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from srportal_desktop.api.schema import (
    MAX_COPIES,
    BulkCreate,
    License,
    Pool,
    Sensor,
    bulk_names,
)
from srportal_desktop.ui.dialogs.form_dialog import FormDialog
from srportal_desktop.ui.icons import icon
from srportal_desktop.ui.widgets.compact_list import CompactList
from srportal_desktop.ui.widgets.license_template_form import LicenseTemplateForm
from srportal_desktop.ui.widgets.license_text import sensors_text
from srportal_desktop.ui.widgets.pool_fields import count_spin, spin_value
from srportal_desktop.ui.widgets.quota_line import (
    QuotaLine,
    plural,
    pool_after,
    shortfall_fields,
    usage_refusal,
    usage_text,
)

PREVIEW_HEAD = 3
_PREVIEW_ROWS = PREVIEW_HEAD + 2
_RESULT_ROWS = 10
_NAME_PLACEHOLDER = "[Name]"


def preview_names(name: str, copies: int) -> list[str]:
    """The names to show for a bulk creation: all of a few, else the first few, "…", the last."""
    names = bulk_names(name or _NAME_PLACEHOLDER, copies)
    if len(names) <= _PREVIEW_ROWS:
        return names
    return [*names[:PREVIEW_HEAD], "…", names[-1]]


class BulkClient(Protocol):
    async def bulk_create_licenses(
        self, body: BulkCreate, /, *, idempotency_key: str | None = None
    ) -> list[License]: ...


class BulkCreateDialog(FormDialog[BulkCreate, list[License]]):
    """A form page, then a page listing what was created (`created`) with a Close button."""

    def __init__(
        self,
        client: BulkClient,
        pool: Pool,
        sensors: Sequence[Sensor],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            title="Bulk Create Licenses",
            submit_text="Create",
            busy_text="Creating…",
            parent=parent,
        )
        self.setWindowIcon(icon("bulk"))
        self._client = client
        self._pool = pool
        self._sensors = list(sensors)
        self.created: list[License] = []

        # Two pages in a plain box rather than a QStackedWidget, which would keep the result
        # page as tall as the form.
        self.form_page = self._build_form_page(sensors)
        self.result_page = self._build_result_page()
        self.result_page.hide()
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.form_page)
        layout.addWidget(self.result_page)

        self.template.changed.connect(self._update_preview)
        self.copies_spin.valueChanged.connect(self._update_preview)
        self._update_preview()
        self.template.setFocus()

    def _build_form_page(self, sensors: Sequence[Sensor]) -> QWidget:
        page = QWidget()
        self.template = LicenseTemplateForm(
            self._pool, sensors, self.fields, key_prefix="template.", parent=page
        )
        self.copies_spin = count_spin("copiesSpin", minimum=1, maximum=MAX_COPIES, parent=page)
        self.preview_list = CompactList(_PREVIEW_ROWS, page)
        self.preview_list.setObjectName("previewList")
        self.preview_list.setAccessibleName("Names of the licenses to create")
        self.preview_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.preview_list.setSelectionMode(CompactList.SelectionMode.NoSelection)
        self.quota_line = QuotaLine(page)

        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.template)
        form = self.template.form
        self.fields.add_row(
            form, "Number of bulk creation co&pies:", self.copies_spin, key="copies"
        )
        form.addRow("Names:", self.preview_list)
        form.addRow(self.quota_line)
        return page

    def _build_result_page(self) -> QWidget:
        page = QWidget()
        self.result_label = QLabel(page)
        self.result_label.setObjectName("resultLabel")
        self.result_label.setWordWrap(True)
        self.result_details = QLabel(page)
        self.result_details.setObjectName("resultDetails")
        self.result_details.setWordWrap(True)
        self.result_list = CompactList(_RESULT_ROWS, page)
        self.result_list.setObjectName("resultList")
        self.result_list.setAccessibleName("Created licenses")
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.result_label)
        layout.addWidget(self.result_list, 1)
        layout.addWidget(self.result_details)
        return page

    def _update_preview(self) -> None:
        copies = self.copies_spin.value()
        sensors = copies * self.template.sensor_count_spin.value()
        self.preview_list.clear()
        self.preview_list.addItems(preview_names(self.template.name(), copies))
        refusal = usage_refusal(self._pool, copies, sensors)
        self.quota_line.set_status(
            refusal or usage_text(self._pool, copies, sensors), error=bool(refusal)
        )
        self.set_submit_text(f"Create {plural(copies, 'License')}")

    def build_request(self) -> BulkCreate:
        copies = spin_value(self.copies_spin)
        sensors = copies * self.template.sensor_count()
        return self.validated(
            lambda: BulkCreate.model_validate(
                {"template": self.template.values(), "copies": copies}
            ),
            shortfall_fields(
                self._pool, copies, sensors, lpu_key="copies", sensors_key="template.sensor_count"
            ),
            usage_refusal(self._pool, copies, sensors),
        )

    async def send(self, request: BulkCreate, idempotency_key: str) -> list[License]:
        return await self._client.bulk_create_licenses(request, idempotency_key=idempotency_key)

    async def finish(self, result: list[License]) -> None:
        self.created = result
        self._show_results(result)

    def _show_results(self, licenses: Sequence[License]) -> None:
        """Switch to the result page: what was created, and only a Close button."""
        self.result_label.setText(f"Created {plural(len(licenses), 'license')}:")
        if licenses:
            spent = len(licenses) * licenses[0].sensor_count
            self.result_details.setText(
                f"Each with {sensors_text(licenses[0], self._sensors)}.\n"
                f"Your pool now: {pool_after(self._pool, len(licenses), spent)}"
            )
        self.result_list.clear()
        for created in licenses:
            item = QListWidgetItem(created.name, self.result_list)
            item.setData(Qt.ItemDataRole.UserRole, created.id)
        self.form_page.hide()
        self.result_page.show()
        self.submit_button.hide()
        self.cancel_button.hide()
        copy = self.buttons.addButton("&Copy Names", QDialogButtonBox.ButtonRole.ActionRole)
        copy.setObjectName("copyNamesButton")
        copy.setAutoDefault(False)
        names = "\n".join(created.name for created in licenses)
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(names))
        close = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setObjectName("closeButton")
        close.setDefault(True)
        self.result_list.setCurrentRow(0)
        self.result_list.setFocus()
        self.adjustSize()

    def reject(self) -> None:
        # Once licenses exist, closing the result page in any way is a success.
        if self.created:
            self.accept()
        else:
            super().reject()
