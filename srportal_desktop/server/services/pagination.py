"""Keyset (cursor) pagination over (created_at, id): stable under inserts, no offsets.

The cursor is opaque to clients: URL-safe base64 of the last row's sort key.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from srportal_desktop.server.errors import ValidationFailedError

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class _Keyed(Protocol):
    id: str
    created_at: datetime


RowT = TypeVar("RowT", bound=_Keyed)
SelectT = TypeVar("SelectT", bound=Select[Any])


@dataclass(frozen=True)
class Cursor:
    created_at: datetime
    id: str

    def encode(self) -> str:
        raw = json.dumps([self.created_at.isoformat(), self.id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            padded = text + "=" * (-len(text) % 4)
            created, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
            at = datetime.fromisoformat(created)
            if at.tzinfo is None or not isinstance(row_id, str):
                raise ValueError("incomplete cursor")
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            raise ValidationFailedError.on_field(
                "cursor", "This cursor is not valid; start again from the first page."
            ) from None
        return cls(at, row_id)


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailedError.on_field("limit", f"Must be between 1 and {MAX_LIMIT}.")
    return limit


def keyset(
    query: SelectT,
    created_at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[str],
    cursor: str | None,
    limit: int,
) -> SelectT:
    """`query` restricted to rows after `cursor`, in order, one row more than a page."""
    if cursor:
        after = Cursor.decode(cursor)
        query = query.where(
            or_(
                created_at > after.created_at,
                and_(created_at == after.created_at, row_id > after.id),
            )
        )
    return query.order_by(created_at, row_id).limit(limit + 1)


def page(rows: Sequence[RowT], limit: int) -> tuple[list[RowT], str | None]:
    """The page and the cursor of the next one (None on the last page)."""
    items = list(rows[:limit])
    if len(rows) <= limit or not items:
        return items, None
    last = items[-1]
    return items, Cursor(last.created_at, last.id).encode()
