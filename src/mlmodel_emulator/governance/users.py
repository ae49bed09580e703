"""Users and teams: /api/v1/users and /api/v1/teams, and the team_member table between them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from sqlalchemy import Connection

from mlmodel_emulator.entities.answers import by_name, reference
from mlmodel_emulator.entities.kind import (
    DESCRIPTION,
    DISPLAY_NAME,
    Caller,
    Doc,
    Field,
    Kind,
    Prepared,
    Rule,
)
from mlmodel_emulator.entities.store import Store
from mlmodel_emulator.errors import EntityNotFound
from mlmodel_emulator.governance import repository
from mlmodel_emulator.governance.schemas import CreateTeam, CreateUser, TeamType

USER: Final = "user"
TEAM: Final = "team"


def references_by_id(
    connection: Connection, store: Store, entity_type: str, ids: Sequence[str]
) -> list[Doc]:
    """References to the entities of these ids, sorted by name, in one statement.

    The first id that names no entity (soft-deleted ones count) is a 404.
    """
    found = store.get_many_by_id(connection, ids)
    for entity_id in ids:
        if entity_id not in found:
            raise EntityNotFound(entity_type, entity_id)
    return by_name(reference(doc, entity_type) for doc in found.values())


def _expand(
    connection: Connection,
    docs: list[Doc],
    relation: str,
    linked: Mapping[str, list[str]],
    store: Store,
    entity_type: str,
) -> list[Doc]:
    """Fill a relation field from team_member: one statement for the pairs, one for the docs."""
    others = store.get_many_by_id(connection, {id_ for ids in linked.values() for id_ in ids})
    return [
        {
            **doc,
            relation: by_name(
                reference(others[id_], entity_type)
                for id_ in linked.get(doc["id"], [])
                if id_ in others
            ),
        }
        for doc in docs
    ]


class Users(Kind[CreateUser]):
    admin_only = True
    keeps_history = False
    entity_type = USER
    collection = "/v1/users"
    store = repository.users
    create_model = CreateUser
    fields = (
        DISPLAY_NAME,
        DESCRIPTION,
        Field("email"),
        Field("isBot", Rule.KEEP, default=False),
        Field("isAdmin", Rule.KEEP, default=False),
        Field("teams", Rule.KEEP, "list"),
    )
    linked_field = "teams"
    reference_fields = ("teams",)

    def lookup_fqn(self, name: str) -> str:
        return repository.user_fqn(name)

    def prepare(self, connection: Connection, request: CreateUser, caller: Caller) -> Prepared:
        # UserMapper keeps the name and the email lower-case.
        name = request.name.lower()
        links = None
        if request.teams is not None:
            ids = [str(team_id) for team_id in request.teams]
            links = references_by_id(connection, repository.teams, TEAM, ids)
        return Prepared(
            name=name,
            fqn=repository.user_fqn(name),
            fields={
                "displayName": request.display_name,
                "description": request.description,
                "email": request.email.lower(),
                "isBot": request.is_bot,
                "isAdmin": request.is_admin,
            },
            links=links,
        )

    def expand(self, connection: Connection, docs: list[Doc], fields: frozenset[str]) -> list[Doc]:
        linked = repository.team_ids_of_users(connection, [doc["id"] for doc in docs])
        return _expand(connection, docs, "teams", linked, repository.teams, TEAM)

    def save_links(self, connection: Connection, entity_id: str, links: list[Doc]) -> None:
        repository.set_teams_of_user(connection, entity_id, [ref["id"] for ref in links])

    def remove_links(self, connection: Connection, entity_ids: Sequence[str]) -> None:
        repository.remove_members_of_users(connection, entity_ids)


class Teams(Kind[CreateTeam]):
    admin_only = True
    keeps_history = False
    entity_type = TEAM
    collection = "/v1/teams"
    store = repository.teams
    create_model = CreateTeam
    fields = (
        DISPLAY_NAME,
        DESCRIPTION,
        # team.json: teamType defaults to Group.
        Field("teamType", Rule.KEEP, default=TeamType.Group.value),
        Field("email"),
        Field("users", Rule.KEEP, "list"),
    )
    linked_field = "users"
    reference_fields = ("users",)

    def prepare(self, connection: Connection, request: CreateTeam, caller: Caller) -> Prepared:
        links = None
        if request.users is not None:
            ids = [str(user_id) for user_id in request.users]
            links = references_by_id(connection, repository.users, USER, ids)
        return self.named(request, links=links, teamType=request.team_type, email=request.email)

    def expand(self, connection: Connection, docs: list[Doc], fields: frozenset[str]) -> list[Doc]:
        linked = repository.user_ids_of_teams(connection, [doc["id"] for doc in docs])
        return _expand(connection, docs, "users", linked, repository.users, USER)

    def save_links(self, connection: Connection, entity_id: str, links: list[Doc]) -> None:
        repository.set_users_of_team(connection, entity_id, [ref["id"] for ref in links])

    def remove_links(self, connection: Connection, entity_ids: Sequence[str]) -> None:
        repository.remove_members_of_teams(connection, entity_ids)


USERS: Final = Users()
TEAMS: Final = Teams()
