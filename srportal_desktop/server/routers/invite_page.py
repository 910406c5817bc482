"""`/accept-invite`: the page the invitation email links to, for accepting in a browser.

A plain HTML form without scripts: the invitation code rides along in a hidden field and the
new password is posted back here. The rules are those of `POST /v1/auth/accept-invite` (the
same service call); the tokens it returns are revoked at once, because the browser only sets
the password and the person then signs in with the desktop app. Not part of the API document.
"""

from __future__ import annotations

from html import escape
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from srportal_desktop.server.deps import ClientIpDep, SessionDep, SettingsDep
from srportal_desktop.server.errors import ProblemError
from srportal_desktop.server.security import MIN_PASSWORD_LENGTH
from srportal_desktop.server.services import auth

router = APIRouter(include_in_schema=False)

MISMATCH = "The two passwords differ: type the same password twice."
NO_CODE = "This link has no invitation code. Open the link from your invitation email."
# As long as `POST /v1/auth/accept-invite` takes; longer is no code of ours.
MAX_TOKEN_LENGTH = 512

# Scripts, frames and outside resources are never needed here.
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # the address holds the invitation code
    "Cache-Control": "no-store",
}

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · SR License Portal</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 30rem; margin: 3rem auto; padding: 0 1rem;
       color: #1f2328; }}
label {{ display: block; margin-top: 1rem; }}
input[type=password] {{ width: 100%; padding: .4rem; font: inherit; box-sizing: border-box; }}
button {{ margin-top: 1.5rem; padding: .5rem 1.2rem; font: inherit; }}
.error {{ background: #fdecea; border: 1px solid #f5c2c0; padding: .6rem .8rem; }}
</style></head>
<body><h1>{title}</h1>{content}</body></html>
"""


def _page(
    title: str, content: str, status_code: int = 200, headers: dict[str, str] | None = None
) -> HTMLResponse:
    html = _PAGE.format(title=escape(title), content=content)
    return HTMLResponse(html, status_code=status_code, headers=_HEADERS | (headers or {}))


def _no_code() -> HTMLResponse:
    return _page("Activate your account", f'<p class="error">{escape(NO_CODE)}</p>', 400)


def _form(
    token: str, error: str = "", status_code: int = 200, headers: dict[str, str] | None = None
) -> HTMLResponse:
    notice = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    content = f"""{notice}
<p>Choose the password for your SR License Portal account (at least {MIN_PASSWORD_LENGTH}
characters). You then sign in with it in the SR License Portal Desktop app.</p>
<form method="post" action="accept-invite">
<input type="hidden" name="token" value="{escape(token)}">
<label>New password
<input type="password" name="password" autocomplete="new-password" required autofocus></label>
<label>New password, again
<input type="password" name="password_again" autocomplete="new-password" required></label>
<button type="submit">Activate account</button>
</form>"""
    return _page("Activate your account", content, status_code, headers)


@router.get("/accept-invite")
def invite_form(token: str = "") -> HTMLResponse:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return _no_code()
    return _form(token)


async def form_fields(request: Request) -> dict[str, str]:
    """The posted `application/x-www-form-urlencoded` fields, the first value of each."""
    body = (await request.body()).decode("utf-8", "replace")
    try:
        parsed = parse_qs(body, max_num_fields=10)
    except ValueError:  # more fields than any form of ours has
        parsed = {}
    return {name: values[0] for name, values in parsed.items()}


FormDep = Annotated[dict[str, str], Depends(form_fields)]


@router.post("/accept-invite")
def accept_invite_form(
    fields: FormDep, session: SessionDep, settings: SettingsDep, client_ip: ClientIpDep
) -> HTMLResponse:
    # A plain function: FastAPI runs it in its thread pool, off the event loop, as the
    # database calls and the password hashing need.
    token, password, again = (
        fields.get(name, "") for name in ("token", "password", "password_again")
    )
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return _no_code()
    if password != again:
        return _form(token, MISMATCH, 422)
    try:
        tokens = auth.accept_invite(session, settings, token, password, client_ip)
    except ProblemError as refusal:
        # Retry-After of a rate limit, as the API sends it.
        return _form(token, refusal.detail, refusal.status, refusal.headers)
    auth.logout(session, tokens.refresh_token)
    return _page(
        "Your account is active",
        "<p>Your password is set. Sign in with your email address and this password in the "
        "SR License Portal Desktop app.</p>",
    )
