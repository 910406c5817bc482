"""Who may see and act on what: authorization follows the account tree.

A manager (vendor admin, reseller, or any deeper channel level) sees its whole subtree; a
sub-user sees only itself. Anything outside the caller's view is reported as not found, so ids
of other tenants leak nothing.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from srportal_desktop.api.schema import Role
from srportal_desktop.server.errors import ForbiddenError, NotFoundError
from srportal_desktop.server.models import Account


def is_manager(account: Account) -> bool:
    return account.role != Role.SUB_USER


def require_manager(caller: Account, action: str) -> None:
    if not is_manager(caller):
        raise ForbiddenError(f"Sub-users cannot {action}.")


def subtree_ids(root_id: str) -> Select[tuple[str]]:
    """Ids of `root_id` and every account below it (a recursive CTE: any depth, any backend)."""
    tree = select(Account.id).where(Account.id == root_id).cte("subtree", recursive=True)
    child = aliased(Account)
    tree = tree.union_all(select(child.id).where(child.parent_id == tree.c.id))
    return select(tree.c.id)


def in_view(column: InstrumentedAttribute[str], caller: Account) -> ColumnElement[bool]:
    """SQL condition: the account id in `column` is one the caller may see."""
    if not is_manager(caller):
        return column == caller.id
    return column.in_(subtree_ids(caller.id))


def visible_account(session: Session, caller: Account, account_id: str) -> Account:
    """The account if the caller may see it (itself or, for managers, its subtree)."""
    account = session.scalar(
        select(Account).where(Account.id == account_id, in_view(Account.id, caller))
    )
    if account is None:
        raise NotFoundError("No such account.")
    return account


def managed_account(session: Session, caller: Account, account_id: str, what: str) -> Account:
    """An account strictly below the caller; not found otherwise (including the caller)."""
    if account_id == caller.id:
        raise NotFoundError(f"No such {what}.")
    try:
        return visible_account(session, caller, account_id)
    except NotFoundError:
        raise NotFoundError(f"No such {what}.") from None


def child_role(parent: Account) -> Role:
    return Role.RESELLER if parent.role == Role.VENDOR_ADMIN else Role.SUB_USER


def tenant_of_child(parent: Account) -> str | None:
    """The tenant a new child joins; None when it starts its own (a reseller below the vendor)."""
    return None if parent.role == Role.VENDOR_ADMIN else parent.tenant_id
