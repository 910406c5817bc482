"""Delta sync: what changed in the caller's view after its cursor (`GET /v1/changes`).

A client keeps a map keyed by (kind, id): `upsert` replaces the entry with `data` (exactly what
the list/get endpoint of that kind returns now), `remove` deletes it. Kinds: `license`, `grant`,
`sub_user` (a manager's direct sub-users) and `me` (the caller's own account and pool).

Starting: ask with no cursor to get every object of the caller's view (the whole history is
replayed, each object once per batch with its current state). Or: ask for `cursor=latest`
FIRST, then list, then pull from that cursor; changes made while the lists were read come again
and are simply applied twice. Either way keep pulling while `has_more`.

Each answer is computed from the feed rows after the cursor (services/change_feed.py), scanning
only rows of the caller's tenant (a sub-user: only rows it holds), so the work is in proportion
to what changed, not to what exists. Objects are deduplicated, ordered by their latest change,
and judged by the caller's view as of now: visible → upsert, otherwise remove. Licenses whose
term ran out since the last pull are reported too: their status changes with time alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.orm import Session

from srportal_desktop.api import schema
from srportal_desktop.api.schema import Role
from srportal_desktop.server.models import Account, ChangeRecord, Grant, License, utcnow
from srportal_desktop.server.services import accounts, pagination, tree, views
from srportal_desktop.server.services.change_feed import ACCOUNT, GRANT, LICENSE

DEFAULT_LIMIT = 500
LATEST = schema.LATEST_CHANGES_CURSOR
_CURSOR_VERSION = 1

Key = tuple[str, str]  # (feed kind, id)
ModelT = TypeVar("ModelT", License, Grant, Account)


@dataclass(frozen=True)
class FeedCursor:
    """Where a client stands: the last feed row it was given, and how far expiries were told."""

    seq: int
    # Licenses whose term ends at or before `expiry_at` were reported, except, when
    # `expiry_id` is set, those ending exactly then with an id above it.
    expiry_at: datetime
    expiry_id: str | None = None

    def encode(self) -> str:
        return pagination.encode_token(
            {
                "v": _CURSOR_VERSION,
                "s": self.seq,
                "e": self.expiry_at.isoformat(),
                "i": self.expiry_id,
            }
        )

    @classmethod
    def decode(cls, text: str) -> FeedCursor:
        try:
            value = pagination.decode_token(text)
            if not isinstance(value, dict) or value.get("v") != _CURSOR_VERSION:
                raise ValueError("not a change cursor")
            seq, expiry_id = value.get("s"), value.get("i")
            if type(seq) is not int or seq < 0:
                raise ValueError("bad sequence")
            if expiry_id is not None and not isinstance(expiry_id, str):
                raise ValueError("bad expiry id")
            return cls(seq, pagination.aware(value.get("e")), expiry_id)
        except ValueError:
            raise pagination.invalid_cursor() from None


def changes_since(
    session: Session, caller: Account, cursor: str | None, limit: int | None
) -> schema.ChangeSet:
    size = pagination.check_limit(limit, default=DEFAULT_LIMIT)
    # Taken before anything is read: every status computed below is as of `now` or later.
    now = utcnow()
    if cursor == LATEST:
        latest = session.scalar(select(func.max(ChangeRecord.seq))) or 0
        return schema.ChangeSet(changes=[], cursor=FeedCursor(latest, now).encode(), has_more=False)
    start = FeedCursor.decode(cursor) if cursor else FeedCursor(0, now)

    rows = session.execute(
        select(ChangeRecord.seq, ChangeRecord.kind, ChangeRecord.entity_id)
        .where(ChangeRecord.seq > start.seq, _feed_scope(caller))
        .order_by(ChangeRecord.seq)
        .limit(size + 1)
    ).all()
    has_more = len(rows) > size
    rows = rows[:size]
    # Insertion order of a dict, re-inserting on every repeat: ordered by the latest change.
    touched: dict[Key, None] = {}
    for _seq, kind, entity_id in rows:
        touched.pop((kind, entity_id), None)
        touched[(kind, entity_id)] = None
    end = FeedCursor(rows[-1].seq if rows else start.seq, start.expiry_at, start.expiry_id)

    if not has_more:
        expired, end, has_more = _expired_since(session, caller, end, now, size - len(rows))
        for license_id in expired:
            touched.setdefault((LICENSE, license_id), None)

    return schema.ChangeSet(
        changes=_current(session, caller, list(touched)), cursor=end.encode(), has_more=has_more
    )


def _feed_scope(caller: Account) -> ColumnElement[bool]:
    """SQL: the feed rows that can concern the caller, answered from an index."""
    if caller.role == Role.VENDOR_ADMIN:
        return true()  # the vendor's view is every tenant
    if not tree.is_manager(caller):
        return ChangeRecord.holder_id == caller.id
    if caller.tenant_id == caller.id:
        return ChangeRecord.tenant_id == caller.id  # a reseller's tenant is its subtree
    return and_(
        ChangeRecord.tenant_id == caller.tenant_id,
        ChangeRecord.holder_id.in_(tree.subtree_ids(caller.id)),
    )


def _expired_since(
    session: Session, caller: Account, start: FeedCursor, now: datetime, room: int
) -> tuple[list[str], FeedCursor, bool]:
    """Licenses in view whose term ended after `start` and by `now`, at most `room` of them."""
    if now <= start.expiry_at:
        return [], start, False
    after = License.expires_at > start.expiry_at
    if start.expiry_id is not None:
        after = or_(
            after, and_(License.expires_at == start.expiry_at, License.id > start.expiry_id)
        )
    query = select(License.id, License.expires_at).where(
        after, License.expires_at <= now, tree.in_view(License.owner_id, caller)
    )
    if caller.role != Role.VENDOR_ADMIN:
        query = query.where(License.tenant_id == caller.tenant_id)  # the tenant's index
    found = session.execute(query.order_by(License.expires_at, License.id).limit(room + 1)).all()
    if len(found) <= room:
        return [row.id for row in found], FeedCursor(start.seq, now), False
    found = found[:room]
    if not found:
        return [], start, True
    last = found[-1]
    return [row.id for row in found], FeedCursor(start.seq, last.expires_at, last.id), True


def _current(session: Session, caller: Account, keys: Sequence[Key]) -> list[schema.Change]:
    """The changes for these objects: their state in the caller's view as of now."""
    ids: dict[str, list[str]] = {LICENSE: [], GRANT: [], ACCOUNT: []}
    for kind, entity_id in keys:
        ids[kind].append(entity_id)
    licenses = {
        row.id: views.license_(row)
        for row in _load(session, License, ids[LICENSE], tree.in_view(License.owner_id, caller))
    }
    grants = {
        row.id: views.grant(row)
        for row in _load(session, Grant, ids[GRANT], tree.in_view(Grant.grantee_id, caller))
    }
    found_accounts = {row.id: row for row in _load(session, Account, ids[ACCOUNT], true())}
    sub_users = _sub_users(
        session, [a for a in found_accounts.values() if a.parent_id == caller.id]
    )

    changes: list[schema.Change] = []
    for kind, entity_id in keys:
        if kind == LICENSE:
            changes.append(_change(schema.ChangeKind.LICENSE, entity_id, licenses.get(entity_id)))
        elif kind == GRANT:
            changes.append(_change(schema.ChangeKind.GRANT, entity_id, grants.get(entity_id)))
        elif entity_id == caller.id:
            changes.append(_change(schema.ChangeKind.ME, entity_id, accounts.me(session, caller)))
        elif entity_id in sub_users or entity_id not in found_accounts:
            changes.append(_change(schema.ChangeKind.SUB_USER, entity_id, sub_users.get(entity_id)))
        # Any other account (a sub-user's sub-user, say) is in none of the caller's lists.
    return changes


def _change(kind: schema.ChangeKind, entity_id: str, data: BaseModel | None) -> schema.Change:
    if data is None:
        return schema.Change(kind=kind, id=entity_id, op=schema.ChangeOp.REMOVE, data=None)
    return schema.Change(
        kind=kind, id=entity_id, op=schema.ChangeOp.UPSERT, data=data.model_dump(mode="json")
    )


def _load(
    session: Session, model: type[ModelT], ids: Iterable[str], condition: ColumnElement[bool]
) -> list[ModelT]:
    found: list[ModelT] = []
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), pagination.MAX_LIMIT):
        chunk = wanted[start : start + pagination.MAX_LIMIT]
        found.extend(session.scalars(select(model).where(model.id.in_(chunk), condition)))
    return found


def _sub_users(session: Session, children: Sequence[Account]) -> dict[str, schema.SubUser]:
    held: dict[str, list[Grant]] = {a.id: [] for a in children}
    for grant in _load_held(session, list(held)):
        held[grant.grantee_id].append(grant)
    return {a.id: views.sub_user(a, held[a.id]) for a in children}


def _load_held(session: Session, holder_ids: Sequence[str]) -> list[Grant]:
    if not holder_ids:
        return []
    return list(session.scalars(select(Grant).where(Grant.grantee_id.in_(holder_ids))))
