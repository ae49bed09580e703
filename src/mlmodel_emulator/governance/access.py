"""Who is an admin: the only callers who may change users, teams, domains and tags."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection

from mlmodel_emulator.auth.tokens import Principal
from mlmodel_emulator.common.names import quote_name
from mlmodel_emulator.errors import Forbidden
from mlmodel_emulator.governance import repository


def user_fqn(name: str) -> str:
    """UserMapper keeps user names lower-case; a token's principal may not be."""
    return quote_name(name.lower())


def is_admin(connection: Connection, principal: Principal, admin_users: Collection[str]) -> bool:
    """An admin is a user whose record says isAdmin, or one the settings name; never a bot."""
    if principal.is_bot:
        return False
    user = repository.users.get_by_fqn(connection, user_fqn(principal.name))
    if user is not None and user.get("isBot"):
        return False
    if principal.name.lower() in {name.lower() for name in admin_users}:
        return True
    return user is not None and not user["deleted"] and bool(user.get("isAdmin"))


def require_admin(
    connection: Connection, principal: Principal, admin_users: Collection[str]
) -> None:
    """CatalogExceptionMessage.notAdmin, as DefaultAuthorizer.authorizeAdmin answers."""
    if not is_admin(connection, principal, admin_users):
        raise Forbidden(f"Principal: CatalogPrincipal{{name='{principal.name}'}} is not admin")
