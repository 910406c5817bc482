"""`/v1/sub-users`: a manager's sub-users."""

from __future__ import annotations

from fastapi import APIRouter, status

from srportal_desktop.api import schema
from srportal_desktop.server.deps import CallerDep, MailerDep, SessionDep, SettingsDep
from srportal_desktop.server.routers.common import problems
from srportal_desktop.server.services import sub_users

router = APIRouter(
    prefix="/v1/sub-users", tags=["sub-users"], responses=problems(401, 403, 404, 422)
)


@router.get("")
def list_sub_users(
    caller: CallerDep,
    session: SessionDep,
    cursor: str | None = None,
    limit: int | None = None,
) -> schema.Page[schema.SubUser]:
    return sub_users.list_sub_users(session, caller, cursor=cursor, limit=limit)


@router.post("", status_code=status.HTTP_201_CREATED, responses=problems(409))
def create_sub_user(
    body: schema.SubUserCreate,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    mailer: MailerDep,
) -> schema.SubUser:
    return sub_users.create_sub_user(session, settings, mailer, caller, body)


@router.get("/{sub_user_id}")
def get_sub_user(sub_user_id: str, caller: CallerDep, session: SessionDep) -> schema.SubUser:
    return sub_users.get_sub_user(session, caller, sub_user_id)


@router.patch("/{sub_user_id}", responses=problems(409))
def patch_sub_user(
    sub_user_id: str, body: schema.SubUserPatch, caller: CallerDep, session: SessionDep
) -> schema.SubUser:
    return sub_users.patch_sub_user(session, caller, sub_user_id, body)


@router.post(
    "/{sub_user_id}/resend-invite",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problems(409, 503),
)
def resend_invite(
    sub_user_id: str,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    mailer: MailerDep,
) -> schema.SubUser:
    return sub_users.resend_invite(session, settings, mailer, caller, sub_user_id)


@router.get("/{sub_user_id}/history")
def history(sub_user_id: str, caller: CallerDep, session: SessionDep) -> schema.History:
    return sub_users.history(session, caller, sub_user_id)
