"""`Idempotency-Key`: a retried quota-spending request returns the first answer, spends once.

The key's record, with the answer in it, is committed in the same transaction as the spend
(the spending services flush and leave the commit to `once`), so the unique index on
(account, key) makes a concurrent duplicate wait for, then see, the first one and its answer.
Refusals are not recorded: a retry after a refusal is tried afresh. A key is remembered for
`keep_for` (the `idempotency_key_ttl_hours` setting); the caller's older ones are dropped when
it next sends a key, after which such a key counts as new.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from srportal_desktop.server.errors import InvalidStateError, ValidationFailedError
from srportal_desktop.server.models import Account, IdempotencyRecord, utcnow

HEADER = "Idempotency-Key"

ResultT = TypeVar("ResultT", bound=BaseModel)


def once(
    session: Session,
    caller: Account,
    key: str | None,
    call: str,
    request: BaseModel,
    result_type: type[ResultT],
    run: Callable[[], ResultT],
    *,
    keep_for: timedelta,
) -> ResultT:
    """`run()` the first time `key` is seen for this caller; the stored answer afterwards.

    `run` spends without committing; this commits its work, together with the key's record.
    """
    if key is None:
        result = run()
        session.commit()
        return result
    key = key.strip()
    if not key:
        raise ValidationFailedError.on_field(HEADER, "Must not be empty.")
    fingerprint = _fingerprint(call, request)
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.account_id == caller.id,
            IdempotencyRecord.created_at < utcnow() - keep_for,
        )
    )

    earlier = _find(session, caller.id, key)
    if earlier is None:
        record = IdempotencyRecord(
            account_id=caller.id, key=key, fingerprint=fingerprint, created_at=utcnow()
        )
        session.add(record)
        try:
            session.flush()
        except IntegrityError:
            # The same key arrived concurrently and won; answer like it did.
            session.rollback()
            earlier = _find(session, caller.id, key)
            if earlier is None:
                raise
        else:
            result = run()
            record.response = result.model_dump(mode="json")
            session.commit()  # the spend, the key and its answer at once
            return result

    if earlier.fingerprint != fingerprint:
        raise ValidationFailedError.on_field(
            HEADER,
            "This key was already used for a different request.",
            "This Idempotency-Key was already used for a different request; use a new key.",
        )
    if earlier.response is None:  # a record written before answers were stored with it
        raise InvalidStateError(
            "The first request with this Idempotency-Key has not finished; retry shortly."
        )
    return result_type.model_validate(earlier.response)


def _find(session: Session, account_id: str, key: str) -> IdempotencyRecord | None:
    return session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.account_id == account_id, IdempotencyRecord.key == key
        )
    )


def _fingerprint(call: str, request: BaseModel) -> str:
    canonical = json.dumps(
        {"call": call, "body": request.model_dump(mode="json")},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
