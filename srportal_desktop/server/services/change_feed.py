"""Recording the change feed: every commit that changed something appends feed rows.

`audit.record` marks its target (`mark`); just before the transaction commits, the marks
become `ChangeRecord` rows naming each changed object, its tenant and its holder (the account
in whose view it lies). A change shows in more than one list, so a mark also covers what it
alters as a side effect: a license marks its grant (the counters) and that grant's holder (the
pool of `/v1/me` and of the sub-user list); a grant marks its parent grant and both holders.

A feed reader must never miss a row. Rows are therefore numbered in commit order: on SQLite a
write transaction holds the database's only write lock from its first write to its commit, and
on PostgreSQL a transaction takes a transaction-scoped advisory lock before it inserts feed rows
and keeps it until it has committed. Sequence numbers are drawn under that lock, so a row with
a smaller `seq` is always visible before any row with a larger one: a reader that has seen `seq`
N can never later find a new row below N. Holding the lock costs only the last few statements
of a writing transaction, not its whole run.

When an object changes holder (a license transferred), the previous holder gets a row too, read
from the feed itself (its latest row for that object), so the old holder learns it is gone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import event, func, insert, select, text
from sqlalchemy.orm import Session, SessionTransaction

from srportal_desktop.server.models import Account, ChangeRecord, Grant, License, utcnow

LICENSE = "license"
GRANT = "grant"
ACCOUNT = "account"
KINDS = frozenset({LICENSE, GRANT, ACCOUNT})

# A constant every server process shares: it names the PostgreSQL advisory lock of the feed.
_PG_FEED_LOCK_KEY = 0x53524346  # "SRCF"
_MARKS = "srportal.change_feed.marks"
_CHUNK = 500  # ids per IN (...) list, well inside every backend's parameter limit

T = TypeVar("T")


@dataclass(frozen=True)
class _Place:
    tenant_id: str
    holder_id: str


def mark(session: Session, kind: str, entity_id: str) -> None:
    """Note that an object changed in this transaction; the feed gets it at commit."""
    if kind in KINDS:
        marks: set[tuple[str, str]] = session.info.setdefault(_MARKS, set())
        marks.add((kind, entity_id))


@event.listens_for(Session, "before_commit")
def _record_marks(session: Session) -> None:
    marks: set[tuple[str, str]] | None = session.info.pop(_MARKS, None)
    if marks:
        record(session, marks)


@event.listens_for(Session, "after_transaction_end")
def _forget_marks(session: Session, transaction: SessionTransaction) -> None:
    # A rolled-back transaction changed nothing; its marks must not reach the next one.
    if transaction.parent is None:
        session.info.pop(_MARKS, None)


def record(session: Session, marks: Iterable[tuple[str, str]]) -> None:
    """Add the feed rows for these changed objects to the current transaction."""
    session.flush()  # what the marks refer to must be readable below
    wanted: dict[str, set[str]] = {LICENSE: set(), GRANT: set(), ACCOUNT: set()}
    for kind, entity_id in marks:
        wanted[kind].add(entity_id)

    places: dict[tuple[str, str], _Place] = {}
    grant_ids = set(wanted[GRANT])
    for license_id, tenant_id, owner_id, grant_id in _rows(
        session,
        (License.id, License.tenant_id, License.owner_id, License.grant_id),
        wanted[LICENSE],
    ):
        places[(LICENSE, license_id)] = _Place(tenant_id, owner_id)
        if grant_id is not None:
            grant_ids.add(grant_id)

    holders: dict[str, str] = {}  # grant → grantee
    parents: set[str] = set()
    for grant_id, grantee_id, parent_id in _rows(
        session, (Grant.id, Grant.grantee_id, Grant.parent_grant_id), grant_ids
    ):
        holders[grant_id] = grantee_id
        if parent_id is not None and parent_id not in grant_ids:
            parents.add(parent_id)
    for grant_id, grantee_id, _parent in _rows(
        session, (Grant.id, Grant.grantee_id, Grant.parent_grant_id), parents
    ):
        holders[grant_id] = grantee_id

    tenants = dict(
        _rows(session, (Account.id, Account.tenant_id), wanted[ACCOUNT] | set(holders.values()))
    )
    for account_id, tenant_id in tenants.items():
        places[(ACCOUNT, account_id)] = _Place(tenant_id, account_id)
    for grant_id, grantee_id in holders.items():
        places[(GRANT, grant_id)] = _Place(tenants[grantee_id], grantee_id)

    # Objects marked but gone by now are recorded with where they were, from their last row.
    keys = set(places) | {(kind, i) for kind, ids in wanted.items() for i in ids}
    _lock_feed(session)
    previous = _latest_places(session, keys)
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for kind, entity_id in sorted(keys):
        current = places.get((kind, entity_id))
        before = previous.get((kind, entity_id))
        for place in dict.fromkeys(p for p in (before, current) if p is not None):
            rows.append(
                {
                    "at": now,
                    "tenant_id": place.tenant_id,
                    "kind": kind,
                    "entity_id": entity_id,
                    "holder_id": place.holder_id,
                }
            )
    if rows:
        # One multi-row INSERT; the numbers are drawn now, under the lock taken above.
        session.execute(insert(ChangeRecord), rows)


def _lock_feed(session: Session) -> None:
    """Serialise feed inserts until commit on PostgreSQL (SQLite writers are serial already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_FEED_LOCK_KEY})


def _latest_places(
    session: Session, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], _Place]:
    """Where each object was at its latest feed row (objects without one are left out)."""
    found: dict[tuple[str, str], _Place] = {}
    by_id = {entity_id: kind for kind, entity_id in keys}
    for chunk in _chunks(sorted(by_id)):
        latest = (
            select(func.max(ChangeRecord.seq))
            .where(ChangeRecord.entity_id.in_(chunk))
            .group_by(ChangeRecord.kind, ChangeRecord.entity_id)
        )
        rows = session.execute(
            select(
                ChangeRecord.kind,
                ChangeRecord.entity_id,
                ChangeRecord.tenant_id,
                ChangeRecord.holder_id,
            ).where(ChangeRecord.seq.in_(latest))
        )
        for kind, entity_id, tenant_id, holder_id in rows:
            if by_id.get(entity_id) == kind:
                found[(kind, entity_id)] = _Place(tenant_id, holder_id)
    return found


def _rows(session: Session, columns: Sequence[Any], ids: Iterable[str]) -> Iterator[Any]:
    """Rows of `columns` (first one the key) for `ids`, straight from the database."""
    key = columns[0]
    for chunk in _chunks(sorted(ids)):
        yield from session.execute(select(*columns).where(key.in_(chunk)))


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
