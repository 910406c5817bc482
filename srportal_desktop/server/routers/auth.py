"""`/v1/auth/*`: sign in, refresh, sign out, accept an invitation."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from srportal_desktop.api import schema
from srportal_desktop.server.deps import ClientIpDep, SessionDep, SettingsDep
from srportal_desktop.server.routers.common import problems
from srportal_desktop.server.services import auth

router = APIRouter(prefix="/v1/auth", tags=["auth"], responses=problems(401, 422))


@router.post("/login", responses=problems(429))
def login(
    body: schema.LoginRequest, session: SessionDep, settings: SettingsDep, client_ip: ClientIpDep
) -> schema.TokenPair:
    return auth.login(session, settings, str(body.email), body.password, client_ip)


@router.post("/refresh", responses=problems(429))
def refresh(
    body: schema.RefreshRequest, session: SessionDep, settings: SettingsDep, client_ip: ClientIpDep
) -> schema.TokenPair:
    return auth.refresh(session, settings, body.refresh_token, client_ip)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(body: schema.RefreshRequest, session: SessionDep) -> Response:
    auth.logout(session, body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/accept-invite", responses=problems(429))
def accept_invite(
    body: schema.AcceptInviteRequest,
    session: SessionDep,
    settings: SettingsDep,
    client_ip: ClientIpDep,
) -> schema.TokenPair:
    return auth.accept_invite(session, settings, body.token, body.password, client_ip)
