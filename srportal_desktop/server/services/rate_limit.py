"""Throttling repeated attempts (sign-in guesses), shared by every worker through the database.

Each key counts attempts in fixed windows of `window_seconds`; the sliding window is estimated
as `previous * (1 - elapsed / window) + current`, which needs two rows per key and no list of
timestamps. An attempt is let through by one conditional UPDATE (`count < allowed`), so racing
workers cannot exceed the limit, exactly as quota spends work. An attempt that turns out fine
is handed back with `refund`, so only failures use up the budget.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from srportal_desktop.server.errors import RateLimitedError
from srportal_desktop.server.models import RateLimitCounter
from srportal_desktop.server.services import sql


@dataclass(frozen=True)
class Limit:
    """At most `attempts` under `key` within any `window_seconds`."""

    key: str
    attempts: int
    window_seconds: int


@dataclass(frozen=True)
class Hit:
    """One counted attempt, so that it can be handed back."""

    key: str
    window_start: int


@dataclass(frozen=True)
class Window:
    """Where `now` falls for a window length, and the counts that matter there."""

    start: int
    elapsed: float
    previous: int
    current: int


def attempt(session: Session, limits: Sequence[Limit], *, now: float | None = None) -> list[Hit]:
    """Count one attempt under every limit and commit, or raise RateLimitedError.

    When any limit is used up nothing is counted, and the error's Retry-After says (in whole
    seconds) when the tightest of them lets an attempt through again.
    """
    moment = time.time() if now is None else now
    _prune(session, limits, moment)
    hits: list[Hit] = []
    waits: list[int] = []
    for limit in limits:
        window = _window(session, limit, moment)
        if _take(session, limit, window):
            hits.append(Hit(limit.key, window.start))
        else:
            waits.append(retry_after(limit, window))
    if waits:
        session.rollback()
        wait = max(waits)
        raise RateLimitedError(
            f"Too many attempts. Try again in {_duration(wait)}.",
            headers={"Retry-After": str(wait)},
        )
    session.commit()
    return hits


def refund(session: Session, hits: Sequence[Hit]) -> None:
    """Take counted attempts back (in the caller's transaction): they were not abuse."""
    for hit in hits:
        sql.run(
            session,
            update(RateLimitCounter)
            .where(
                RateLimitCounter.key == hit.key,
                RateLimitCounter.window_start == hit.window_start,
                RateLimitCounter.count > 0,
            )
            .values(count=RateLimitCounter.count - 1),
        )


def allowed_now(limit: Limit, window: Window) -> int:
    """How high the current window's count may go right now."""
    weight = 1 - window.elapsed / limit.window_seconds
    return math.floor(limit.attempts - window.previous * weight + 1e-9)


def retry_after(limit: Limit, window: Window) -> int:
    """Whole seconds until one more attempt fits, if none is made meanwhile (at least 1)."""
    span, room = limit.window_seconds, limit.attempts - window.current - 1
    if room >= 0 and window.previous > 0:
        # Still in this window, once enough of the previous one has slid out.
        at = window.start + span * (1 - room / window.previous)
    else:
        # In the next window, where today's count becomes the sliding-out part.
        fade = max(0.0, 1 - (limit.attempts - 1) / window.current) if window.current else 0.0
        at = window.start + span + span * fade
    return max(1, math.ceil(at - (window.start + window.elapsed) - 1e-9))


def _window(session: Session, limit: Limit, now: float) -> Window:
    span = limit.window_seconds
    start = int(now // span) * span
    rows = session.execute(
        select(RateLimitCounter.window_start, RateLimitCounter.count).where(
            RateLimitCounter.key == limit.key,
            RateLimitCounter.window_start.in_([start - span, start]),
        )
    )
    counts = {window_start: count for window_start, count in rows}
    return Window(
        start=start,
        elapsed=now - start,
        previous=counts.get(start - span, 0),
        current=counts.get(start, 0),
    )


def _take(session: Session, limit: Limit, window: Window) -> bool:
    """Count one attempt if the limit allows it; False (nothing counted) otherwise."""
    _ensure_row(session, limit.key, window.start)
    taken = sql.run(
        session,
        update(RateLimitCounter)
        .where(
            RateLimitCounter.key == limit.key,
            RateLimitCounter.window_start == window.start,
            # Re-checked by the database against the count it holds now, not the one read.
            RateLimitCounter.count < allowed_now(limit, window),
        )
        .values(count=RateLimitCounter.count + 1),
    )
    return taken.rowcount == 1


def _ensure_row(session: Session, key: str, window_start: int) -> None:
    values = {"key": key, "window_start": window_start, "count": 0}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(postgresql.insert(RateLimitCounter).values(values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite.insert(RateLimitCounter).values(values).on_conflict_do_nothing())
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise NotImplementedError(f"rate limiting on {dialect}")


def _prune(session: Session, limits: Sequence[Limit], now: float) -> None:
    """Drop windows no estimate looks at any more (older than the previous one)."""
    if not limits:
        return
    cutoff = min(int(now // lim.window_seconds - 1) * lim.window_seconds for lim in limits)
    sql.run(session, delete(RateLimitCounter).where(RateLimitCounter.window_start < cutoff))


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"
