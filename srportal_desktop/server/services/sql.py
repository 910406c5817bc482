"""Small SQL helpers shared by the services."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Delete, Update
from sqlalchemy.orm import Session


def run(session: Session, statement: Update | Delete) -> CursorResult[Any]:
    """Run a bulk UPDATE/DELETE as plain SQL and return its result (for `rowcount`).

    The ORM does not mirror it into loaded objects; refresh the ones you read afterwards.
    """
    return cast(
        CursorResult[Any],
        session.execute(statement, execution_options={"synchronize_session": False}),
    )
