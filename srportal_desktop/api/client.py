"""Async client for the portal API v1: one method per endpoint, typed answers and errors."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from srportal_desktop import __version__
from srportal_desktop.api import schema
from srportal_desktop.api.errors import (
    AuthenticationError,
    PortalError,
    PortalUnavailableError,
    RateLimitedError,
)

ModelT = TypeVar("ModelT", bound=BaseModel)
ItemT = TypeVar("ItemT", bound=BaseModel)

_SENSOR_LIST = TypeAdapter(list[schema.Sensor])
PAGE_LIMIT = 200


class PortalClient:
    """Talks to one portal. Holds the session tokens; callers inject it where it is needed.

    `transport` lets tests talk to an ASGI app or a mock transport; the default is the network.
    """

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 20.0,
        on_tokens_changed: Callable[[schema.TokenPair | None], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        try:
            self._http = httpx.AsyncClient(
                base_url=self.base_url,
                transport=transport,
                timeout=timeout,
                headers={"User-Agent": f"srportal-desktop/{__version__}"},
            )
        except httpx.InvalidURL as exc:
            message = f"{base_url} is not a valid portal address: {exc}."
            raise PortalError(
                message, errors=[schema.FieldError(field="portal_url", message=message)]
            ) from exc
        self._tokens: schema.TokenPair | None = None
        self._on_tokens_changed = on_tokens_changed
        self._refresh_lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> PortalClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- session -------------------------------------------------------------------------------

    @property
    def signed_in(self) -> bool:
        return self._tokens is not None

    @property
    def tokens(self) -> schema.TokenPair | None:
        return self._tokens

    def set_tokens(self, tokens: schema.TokenPair | None) -> None:
        self._tokens = tokens
        if self._on_tokens_changed is not None:
            self._on_tokens_changed(tokens)

    async def login(self, email: str, password: str) -> schema.TokenPair:
        body = schema.LoginRequest(email=email, password=password)
        tokens = await self._call(
            "POST", "/v1/auth/login", json=body, answer=schema.TokenPair, auth=False
        )
        self.set_tokens(tokens)
        return tokens

    async def refresh(self) -> schema.TokenPair:
        if self._tokens is None:
            raise AuthenticationError("Not signed in.", status=401)
        body = schema.RefreshRequest(refresh_token=self._tokens.refresh_token)
        tokens = await self._call(
            "POST", "/v1/auth/refresh", json=body, answer=schema.TokenPair, auth=False
        )
        self.set_tokens(tokens)
        return tokens

    async def logout(self) -> None:
        if self._tokens is None:
            return
        body = schema.RefreshRequest(refresh_token=self._tokens.refresh_token)
        try:
            await self._call("POST", "/v1/auth/logout", json=body, auth=False)
        finally:
            self.set_tokens(None)

    async def accept_invite(self, token: str, password: str) -> schema.TokenPair:
        body = schema.AcceptInviteRequest(token=token, password=password)
        tokens = await self._call(
            "POST", "/v1/auth/accept-invite", json=body, answer=schema.TokenPair, auth=False
        )
        self.set_tokens(tokens)
        return tokens

    # --- account and catalog -------------------------------------------------------------------

    async def me(self) -> schema.Me:
        return await self._call("GET", "/v1/me", answer=schema.Me)

    async def sensors(self) -> list[schema.Sensor]:
        data = await self._call("GET", "/v1/sensors")
        return _SENSOR_LIST.validate_python(data)

    # --- sub-users -----------------------------------------------------------------------------

    async def list_sub_users(
        self, *, cursor: str | None = None, limit: int | None = None
    ) -> schema.Page[schema.SubUser]:
        return await self._page("/v1/sub-users", schema.SubUser, cursor=cursor, limit=limit)

    async def all_sub_users(self) -> list[schema.SubUser]:
        return [item async for item in self._walk("/v1/sub-users", schema.SubUser)]

    async def create_sub_user(self, body: schema.SubUserCreate) -> schema.SubUser:
        return await self._call("POST", "/v1/sub-users", json=body, answer=schema.SubUser)

    async def get_sub_user(self, sub_user_id: str) -> schema.SubUser:
        return await self._call("GET", f"/v1/sub-users/{sub_user_id}", answer=schema.SubUser)

    async def update_sub_user(self, sub_user_id: str, body: schema.SubUserPatch) -> schema.SubUser:
        return await self._call(
            "PATCH", f"/v1/sub-users/{sub_user_id}", json=body, answer=schema.SubUser
        )

    async def resend_invite(self, sub_user_id: str) -> None:
        await self._call("POST", f"/v1/sub-users/{sub_user_id}/resend-invite")

    # --- grants --------------------------------------------------------------------------------

    async def list_grants(
        self, grantee_id: str | None = None, *, cursor: str | None = None
    ) -> schema.Page[schema.Grant]:
        return await self._page("/v1/grants", schema.Grant, cursor=cursor, grantee_id=grantee_id)

    async def create_grant(
        self, body: schema.GrantCreate, *, idempotency_key: str | None = None
    ) -> schema.Grant:
        return await self._call(
            "POST", "/v1/grants", json=body, answer=schema.Grant, idempotency_key=idempotency_key
        )

    async def reclaim_grant(self, grant_id: str, body: schema.ReclaimRequest) -> schema.Grant:
        return await self._call(
            "POST", f"/v1/grants/{grant_id}/reclaim", json=body, answer=schema.Grant
        )

    # --- licenses ------------------------------------------------------------------------------

    async def list_licenses(
        self,
        *,
        owner_id: str | None = None,
        q: str | None = None,
        status: schema.LicenseStatus | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> schema.Page[schema.License]:
        return await self._page(
            "/v1/licenses",
            schema.License,
            cursor=cursor,
            limit=limit,
            owner_id=owner_id,
            q=q,
            status=status.value if status else None,
        )

    async def all_licenses(
        self,
        *,
        owner_id: str | None = None,
        q: str | None = None,
        status: schema.LicenseStatus | None = None,
    ) -> list[schema.License]:
        walk = self._walk(
            "/v1/licenses",
            schema.License,
            owner_id=owner_id,
            q=q,
            status=status.value if status else None,
        )
        return [item async for item in walk]

    async def create_license(
        self, body: schema.LicenseCreate, *, idempotency_key: str | None = None
    ) -> schema.License:
        return await self._call(
            "POST",
            "/v1/licenses",
            json=body,
            answer=schema.License,
            idempotency_key=idempotency_key,
        )

    async def bulk_create_licenses(
        self, body: schema.BulkCreate, *, idempotency_key: str | None = None
    ) -> list[schema.License]:
        result = await self._call(
            "POST",
            "/v1/licenses/bulk",
            json=body,
            answer=schema.BulkResult,
            idempotency_key=idempotency_key,
        )
        return result.items

    async def get_license(self, license_id: str) -> schema.License:
        return await self._call("GET", f"/v1/licenses/{license_id}", answer=schema.License)

    async def transfer_license(self, license_id: str, to_sub_user_id: str) -> schema.License:
        body = schema.TransferRequest(to_sub_user_id=to_sub_user_id)
        return await self._call(
            "POST", f"/v1/licenses/{license_id}/transfer", json=body, answer=schema.License
        )

    async def activate_license(self, license_id: str, machine_id: str) -> schema.Activation:
        body = schema.ActivateRequest(machine_id=machine_id)
        return await self._call(
            "POST", f"/v1/licenses/{license_id}/activate", json=body, answer=schema.Activation
        )

    async def deactivate_license(self, license_id: str) -> schema.License:
        return await self._call(
            "POST", f"/v1/licenses/{license_id}/deactivate", answer=schema.License
        )

    async def revoke_license(self, license_id: str) -> schema.License:
        return await self._call("POST", f"/v1/licenses/{license_id}/revoke", answer=schema.License)

    async def key_file(self, license_id: str) -> schema.KeyFile:
        return await self._call("GET", f"/v1/licenses/{license_id}/key-file", answer=schema.KeyFile)

    async def license_history(self, license_id: str) -> list[schema.HistoryEntry]:
        history = await self._call(
            "GET", f"/v1/licenses/{license_id}/history", answer=schema.History
        )
        return history.items

    async def signing_key(self) -> schema.SigningKey:
        return await self._call("GET", "/v1/signing-key", answer=schema.SigningKey)

    async def changes(self, cursor: str | None = None) -> schema.ChangeSet:
        return await self._call(
            "GET", "/v1/changes", params=_params(cursor=cursor), answer=schema.ChangeSet
        )

    # --- plumbing ------------------------------------------------------------------------------

    async def _page(self, path: str, item: type[ItemT], **params: Any) -> schema.Page[ItemT]:
        return await self._call(
            "GET",
            path,
            params=_params(**params),
            answer=schema.Page[item],  # type: ignore[valid-type]
        )

    async def _walk(self, path: str, item: type[ItemT], **params: Any) -> AsyncIterator[ItemT]:
        cursor: str | None = None
        while True:
            page = await self._page(path, item, cursor=cursor, limit=PAGE_LIMIT, **params)
            for entry in page.items:
                yield entry
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: BaseModel | None = None,
        params: Mapping[str, str] | None = None,
        answer: type[ModelT] | None = None,
        auth: bool = True,
        idempotency_key: str | None = None,
    ) -> Any:
        headers: dict[str, str] = {}
        if method == "POST" and path in _QUOTA_SPENDING_PATHS:
            # A retried request with the same key never spends twice.
            headers["Idempotency-Key"] = idempotency_key or uuid.uuid4().hex
        content = json.model_dump_json().encode() if json is not None else None
        if content is not None:
            headers["Content-Type"] = "application/json"
        response = await self._send(method, path, content, params, headers, auth=auth)
        if response.status_code == 401 and auth and await self._refresh_after(response):
            response = await self._send(method, path, content, params, headers, auth=auth)
        if response.is_error:
            raise _error_from(response)
        if answer is None:
            return response.json() if response.content else None
        try:
            return answer.model_validate_json(response.content)
        except PydanticValidationError as exc:
            raise PortalError(
                f"The portal sent an answer this app does not understand ({path}).",
                status=response.status_code,
            ) from exc

    async def _send(
        self,
        method: str,
        path: str,
        content: bytes | None,
        params: Mapping[str, str] | None,
        headers: dict[str, str],
        *,
        auth: bool,
    ) -> httpx.Response:
        if auth:
            if self._tokens is None:
                raise AuthenticationError("Not signed in.", status=401)
            headers = {**headers, "Authorization": f"Bearer {self._tokens.access_token}"}
        try:
            return await self._http.request(
                method, path, content=content, params=params, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise PortalUnavailableError(
                f"The portal at {self.base_url} did not answer in time."
            ) from exc
        except httpx.TransportError as exc:
            raise PortalUnavailableError(
                f"Cannot reach the portal at {self.base_url}. Check the address and your "
                f"network connection, then try again. ({_reason(exc)})"
            ) from exc

    async def _refresh_after(self, rejected: httpx.Response) -> bool:
        """The access token ran out: rotate it once, True when the request may be retried."""
        used_token = rejected.request.headers.get("Authorization", "").removeprefix("Bearer ")
        async with self._refresh_lock:
            if self._tokens is None:
                return False
            if self._tokens.access_token != used_token:
                return True  # another request already refreshed while this one waited
            try:
                await self.refresh()
            except AuthenticationError:
                self.set_tokens(None)
                return False
            return True


_QUOTA_SPENDING_PATHS = frozenset({"/v1/grants", "/v1/licenses", "/v1/licenses/bulk"})


def _params(**values: Any) -> dict[str, str]:
    return {key: str(value) for key, value in values.items() if value is not None and value != ""}


def _error_from(response: httpx.Response) -> PortalError:
    try:
        problem = schema.Problem.model_validate_json(response.content)
    except PydanticValidationError:
        return PortalError(
            f"The portal answered {response.status_code} {response.reason_phrase}.",
            status=response.status_code,
        )
    error = PortalError.from_problem(problem)
    if isinstance(error, RateLimitedError):
        retry_after = response.headers.get("Retry-After")
        error.retry_after = float(retry_after) if retry_after and retry_after.isdigit() else None
    return error


def _reason(error: httpx.TransportError) -> str:
    """httpx's words for what failed, as the end of a sentence."""
    text = str(error).strip() or type(error).__name__
    return text if text.endswith(".") else f"{text}."
