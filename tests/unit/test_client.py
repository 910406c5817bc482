"""PortalClient against a real portal server on loopback."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable
from typing import TypeVar

import pytest

from srportal_desktop.api import schema
from srportal_desktop.api.client import PortalClient
from srportal_desktop.api.errors import (
    AuthenticationError,
    ConflictError,
    InputRejectedError,
    NotFoundError,
    PortalUnavailableError,
)
from tests.conftest import RunningPortal

T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


async def signed_in(portal: RunningPortal) -> PortalClient:
    client = PortalClient(portal.base_url)
    await client.login(portal.reseller_email, portal.reseller_password)
    return client


def test_login_and_me_report_the_pool(portal: RunningPortal) -> None:
    async def scenario() -> schema.Me:
        async with await signed_in(portal) as client:
            return await client.me()

    me = run(scenario())
    assert me.email == portal.reseller_email
    assert me.role is schema.Role.RESELLER
    assert (me.pool.lpu_total, me.pool.lpu_available) == (100, 100)
    assert (me.pool.sensor_total, me.pool.sensor_available) == (400, 400)
    assert me.pool.gpu_preset is True


def test_wrong_password_is_an_authentication_error_with_the_servers_words(
    portal: RunningPortal,
) -> None:
    async def scenario() -> None:
        async with PortalClient(portal.base_url) as client:
            await client.login(portal.reseller_email, "not the password")

    with pytest.raises(AuthenticationError) as caught:
        run(scenario())
    assert caught.value.status == 401
    assert caught.value.code is schema.ErrorCode.UNAUTHENTICATED
    assert caught.value.detail


def test_refusals_carry_code_detail_and_field_errors(portal: RunningPortal) -> None:
    async def scenario() -> tuple[ConflictError, InputRejectedError, NotFoundError]:
        async with await signed_in(portal) as client:
            await client.create_sub_user(schema.SubUserCreate(email="tech@example.com"))
            with pytest.raises(ConflictError) as taken:
                await client.create_sub_user(schema.SubUserCreate(email="TECH@example.com"))
            sub_users = await client.all_sub_users()
            body = schema.GrantCreate(
                grantee_id=sub_users[0].id,
                supported_sensors=["ouster-os1-64"],
                lpu=0,
                sensors=0,
            )
            with pytest.raises(InputRejectedError) as rejected:
                await client.create_grant(body)
            with pytest.raises(NotFoundError) as missing:
                await client.get_license("no-such-license")
            return taken.value, rejected.value, missing.value

    taken, rejected, missing = run(scenario())
    assert taken.code is schema.ErrorCode.EMAIL_TAKEN
    assert "tech@example.com" in taken.detail.lower()
    assert rejected.code is schema.ErrorCode.VALIDATION_FAILED
    assert rejected.errors, "a refused grant names the fields"
    assert missing.status == 404


def test_lists_walk_every_page(portal: RunningPortal) -> None:
    async def scenario() -> list[schema.License]:
        async with await signed_in(portal) as client:
            template = schema.LicenseTemplate(
                name="Fleet", sensor_models=["ouster-os1-64"], sensor_count=1
            )
            await client.bulk_create_licenses(schema.BulkCreate(template=template, copies=7))
            first = await client.list_licenses(limit=3)
            assert len(first.items) == 3
            assert first.next_cursor
            every: list[schema.License] = []
            cursor: str | None = None
            while True:
                page = await client.list_licenses(limit=3, cursor=cursor)
                every.extend(page.items)
                if not page.next_cursor:
                    return every
                cursor = page.next_cursor

    every = run(scenario())
    assert sorted(lic.name for lic in every) == sorted(f"Fleet_{n}" for n in range(1, 8))


def test_an_unreachable_portal_is_reported_as_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket closes

    async def scenario() -> None:
        async with PortalClient(f"http://127.0.0.1:{port}", timeout=2) as client:
            await client.login("someone@example.com", "password")

    with pytest.raises(PortalUnavailableError, match="Cannot reach the portal"):
        run(scenario())


def test_calls_before_sign_in_are_refused_locally() -> None:
    async def scenario() -> None:
        async with PortalClient("http://127.0.0.1:9") as client:
            await client.me()

    with pytest.raises(AuthenticationError, match="Not signed in"):
        run(scenario())
