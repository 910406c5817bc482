"""The questions asked before changes that are hard to undo, worded with their consequences."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from srportal_desktop.api.schema import License, SubUser
from srportal_desktop.ui.async_tools import ask_confirmation


async def confirm_revoke(parent: QWidget, lic: License) -> bool:
    if lic.activated_at is None:
        consequence = (
            f"It was never activated, so its 1 LPU and {lic.sensor_count} sensor "
            f"license{'s' if lic.sensor_count != 1 else ''} go back to the pool they came from."
        )
    else:
        until = f" until {lic.expires_at:%Y-%m-%d}" if lic.expires_at else ""
        consequence = (
            "Its annual term has started, so nothing goes back to the pool. A key file "
            f"already handed out stays valid{until}."
        )
    return await ask_confirmation(
        parent,
        "Revoke License",
        f"Revoke {lic.name}? This cannot be undone.",
        informative_text=consequence,
        confirm_label="Revoke",
    )


async def confirm_disable(parent: QWidget, sub_user: SubUser) -> bool:
    return await ask_confirmation(
        parent,
        "Disable Sub-User",
        f"Disable {sub_user.label}?",
        informative_text=(
            f"{sub_user.email} is signed out and can no longer sign in or receive licenses. "
            "Their licenses and quota stay, and you can enable them again."
        ),
        confirm_label="Disable",
    )


async def confirm_resend(parent: QWidget, sub_user: SubUser) -> bool:
    return await ask_confirmation(
        parent,
        "Resend Invitation",
        f"Send the invitation to {sub_user.email} again?",
        informative_text="The code in the earlier invitation stops working.",
        confirm_label="Send",
    )


async def confirm_deactivate(parent: QWidget, lic: License) -> bool:
    until = f" until {lic.expires_at:%Y-%m-%d}" if lic.expires_at else ""
    return await ask_confirmation(
        parent,
        "Deactivate License",
        f"Deactivate {lic.name} on {lic.machine_id}?",
        informative_text=(
            f"The machine is freed so the license can be activated on another one (a rehost; "
            f"the portal allows a few a year, {lic.deactivation_count} used so far). Its term "
            f"keeps running{until}."
        ),
        confirm_label="Deactivate",
    )
