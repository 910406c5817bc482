"""Keyset (cursor) pagination over (created_at, id): stable under inserts, no offsets.

A page ends at a row's sort key and the next one starts strictly after it, so rows inserted
while a client walks the pages never shift what it has not read yet: every row that existed
when the walk began is returned exactly once, and `id` breaks ties between rows created in the
same instant. Rows inserted meanwhile appear at the end (they are newer) or not at all.

Cursors are opaque to clients: URL-safe base64 of a small JSON value.
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
# Far more than any cursor this server writes; longer input is refused before decoding it.
MAX_CURSOR_LENGTH = 512


class _Keyed(Protocol):
    id: str
    created_at: datetime


RowT = TypeVar("RowT", bound=_Keyed)
SelectT = TypeVar("SelectT", bound=Select[Any])


def encode_token(value: object) -> str:
    raw = json.dumps(value, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(text: str) -> Any:
    """The JSON value inside a token; ValueError if it is not one of ours."""
    if len(text) > MAX_CURSOR_LENGTH:
        raise ValueError("cursor too long")
    try:
        padded = text + "=" * (-len(text) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (binascii.Error, UnicodeError) as exc:
        raise ValueError("not a cursor") from exc


def invalid_cursor() -> ValidationFailedError:
    return ValidationFailedError.on_field(
        "cursor", "This cursor is not valid; start again from the first page."
    )


def aware(text: object) -> datetime:
    """An ISO 8601 time with a UTC offset; ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError("not a time")
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError("time without offset")
    return at


@dataclass(frozen=True)
class Cursor:
    created_at: datetime
    id: str

    def encode(self) -> str:
        return encode_token([self.created_at.isoformat(), self.id])

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            value = decode_token(text)
            if not isinstance(value, list) or len(value) != 2:
                raise ValueError("not a list cursor")
            created, row_id = value
            if not isinstance(row_id, str) or not row_id:
                raise ValueError("no row id")
            return cls(aware(created), row_id)
        except ValueError:
            raise invalid_cursor() from None


def check_limit(limit: int | None, default: int = DEFAULT_LIMIT) -> int:
    if limit is None:
        return default
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
