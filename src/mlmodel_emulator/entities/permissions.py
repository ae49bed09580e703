"""Who may do what to an entity (DefaultAuthorizer and the default policies)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cachetools import TTLCache
from sqlalchemy import Connection

from mlmodel_emulator.auth.tokens import Principal
from mlmodel_emulator.errors import Forbidden, Unauthorized
from mlmodel_emulator.governance import repository


class Operation(StrEnum):
    """MetadataOperation values, as they appear in 403 messages."""

    Create = "Create"
    EditAll = "EditAll"
    EditDescription = "EditDescription"
    EditOwners = "EditOwners"
    EditTags = "EditTags"
    Delete = "Delete"


# IngestionBotPolicy.json: IngestionBotRule-Allow.
BOT_OPERATIONS = frozenset(
    {Operation.Create, Operation.EditAll, Operation.EditDescription, Operation.EditOwners}
    | {Operation.EditTags, Operation.Delete}
)


@dataclass(slots=True)
class Actor:
    """The caller as a user of this catalog."""

    name: str
    user_id: str
    is_admin: bool
    is_bot: bool
    _team_ids: set[str] | None = field(default=None, repr=False)

    def team_ids(self, connection: Connection) -> set[str]:
        if self._team_ids is None:
            self._team_ids = repository.team_ids_of_user(connection, self.user_id)
        return self._team_ids


class UserCache:
    """Users read recently, so that a token's user is not read again on every request.

    A change to a user (deleted, made admin) reaches requests within `ttl` seconds. Users
    that do not exist are never remembered, so a user is usable as soon as it is created.
    """

    def __init__(self, ttl: float = 2.0, size: int = 1024) -> None:
        self._users: TTLCache[str, dict[str, Any]] = TTLCache(size, ttl)

    def clear(self) -> None:
        self._users.clear()

    def get(self, connection: Connection, name: str) -> dict[str, Any] | None:
        user = self._users.get(name)
        if user is None:
            user = repository.get_user_by_name(connection, name)
            if user is not None:
                self._users[name] = user
        return user


def actor_for(
    connection: Connection,
    principal: Principal,
    admin_users: Collection[str],
    users: UserCache | None = None,
) -> Actor:
    """The user behind a token; a token for no user, or a deleted one, is refused (401)."""
    user = (
        users.get(connection, principal.name)
        if users is not None
        else repository.get_user_by_name(connection, principal.name)
    )
    if user is None:
        raise Unauthorized(f"Not Authorized! User {principal.name} does not exist")
    if user.get("deleted"):
        raise Unauthorized(f"Not Authorized! User {principal.name} is deleted")
    is_bot = bool(user.get("isBot")) or principal.is_bot
    admin_names = {name.lower() for name in admin_users}
    is_admin = not is_bot and (bool(user.get("isAdmin")) or user["name"] in admin_names)
    return Actor(name=principal.name, user_id=user["id"], is_admin=is_admin, is_bot=is_bot)


def _denied(actor: Actor, operations: Sequence[Operation]) -> Forbidden:
    listed = ", ".join(operation.value for operation in operations)
    return Forbidden(
        f"Principal: CatalogPrincipal{{name='{actor.name}'}} operations [{listed}] not allowed"
    )


def _owns(connection: Connection, actor: Actor, owners: Sequence[dict[str, Any]]) -> bool:
    """OrganizationPolicy's isOwner(): a user owner, or a member of an owning team."""
    for owner in owners:
        if owner.get("type") == "user" and owner.get("id") == actor.user_id:
            return True
    team_owners = {owner.get("id") for owner in owners if owner.get("type") == "team"}
    return bool(team_owners) and bool(team_owners & actor.team_ids(connection))


def authorize(
    connection: Connection,
    actor: Actor,
    operations: Sequence[Operation],
    owners: Sequence[dict[str, Any]] | None,
) -> None:
    """Allow admins anything, bots their policy's operations, owners the edits and delete,
    and anyone the owners of an entity that has none.

    `owners` are the stored entity's owners, or None for an entity that does not exist yet.
    """
    if actor.is_admin:
        return
    if actor.is_bot and all(operation in BOT_OPERATIONS for operation in operations):
        return
    if (
        owners is not None
        and Operation.Create not in operations
        and _owns(connection, actor, owners)
    ):
        return
    # OrganizationPolicy's NoOwner rule: anyone may claim or give an entity nobody owns.
    if owners is not None and not owners and set(operations) == {Operation.EditOwners}:
        return
    raise _denied(actor, operations)


def authorize_follower(actor: Actor, user_id: str) -> None:
    """Anyone may follow or unfollow as themselves; only an admin may do it for another user.

    EntityResource's follower guard (OpenMetadata PR #32322) sends a cross-user change
    through DefaultAuthorizer.authorizeAdmin, whose 403 says the caller is not admin.
    """
    if actor.user_id.lower() != user_id.lower():
        authorize_admin(actor)


def authorize_admin(actor: Actor) -> None:
    """403 unless the actor is an admin, worded as DefaultAuthorizer.authorizeAdmin."""
    if not actor.is_admin:
        raise Forbidden(f"Principal: CatalogPrincipal{{name='{actor.name}'}} is not admin")
