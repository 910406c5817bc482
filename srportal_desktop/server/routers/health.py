"""Probes for a supervisor or load balancer: `/healthz` (alive) and `/readyz` (can serve)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.exc import SQLAlchemyError

from srportal_desktop.api.schema import ErrorCode
from srportal_desktop.server.deps import ServerContext, get_context
from srportal_desktop.server.errors import ProblemError
from srportal_desktop.server.routers.common import problems

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

ContextDep = Annotated[ServerContext, Depends(get_context)]


class NotReadyError(ProblemError):
    code = ErrorCode.SERVICE_UNAVAILABLE
    status = 503


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers. It touches nothing else, so a database outage does not
    make a supervisor restart healthy workers."""
    return {"status": "ok"}


@router.get("/readyz", responses=problems(503))
def readyz(context: ContextDep) -> dict[str, str]:
    """Readiness: the database answers and its schema is the one this build expects."""
    try:
        current = context.db.schema_is_current()
    except SQLAlchemyError as exc:
        log.warning("readiness check: database unreachable: %s", exc)
        raise NotReadyError("The database cannot be reached.") from None
    if not current:
        raise NotReadyError("The database schema is not up to date: run `srportal-server migrate`.")
    return {"status": "ready"}
