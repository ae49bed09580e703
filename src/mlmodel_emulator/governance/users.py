"""Users and teams: /api/v1/users and /api/v1/teams, and the team_member table between them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final

from sqlalchemy import Connection

from mlmodel_emulator.common.versioning import FieldSpec
from mlmodel_emulator.governance import access, repository
from mlmodel_emulator.governance.entities import (
    COMMON_TRACKED,
    Doc,
    Kind,
    Prepared,
    by_name,
    reference,
    references_by_id,
)
from mlmodel_emulator.governance.repository import EntityStore
from mlmodel_emulator.governance.schemas import CreateTeam, CreateUser, TeamType

USER: Final = "user"
TEAM: Final = "team"


def _expand(
    connection: Connection,
    docs: list[Doc],
    relation: str,
    linked: Mapping[str, list[str]],
    store: EntityStore,
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
    entity_type = USER
    collection = "/v1/users"
    store = repository.users
    tracked = (
        *COMMON_TRACKED,
        FieldSpec("email", "scalar"),
        FieldSpec("isAdmin", "scalar"),
        FieldSpec("isBot", "scalar"),
        FieldSpec("teams", "list"),
    )
    defaults: ClassVar[Mapping[str, Any]] = {"isBot": False, "isAdmin": False}
    relation = "teams"
    reference_fields = ("teams",)

    def lookup_fqn(self, name: str) -> str:
        return access.user_fqn(name)

    def prepare(self, connection: Connection, request: CreateUser) -> Prepared:
        # UserMapper keeps the name and the email lower-case.
        name = request.name.lower()
        links = None
        if request.teams is not None:
            ids = [str(team_id) for team_id in request.teams]
            links = references_by_id(connection, repository.teams, TEAM, ids)
        return Prepared(
            name=name,
            fqn=access.user_fqn(name),
            fields={
                "displayName": request.display_name,
                "description": request.description,
                "email": request.email.lower(),
                "isBot": request.is_bot,
                "isAdmin": request.is_admin,
            },
            links=links,
        )

    def expand(self, connection: Connection, docs: list[Doc]) -> list[Doc]:
        linked = repository.team_ids_of_users(connection, [doc["id"] for doc in docs])
        return _expand(connection, docs, "teams", linked, repository.teams, TEAM)

    def save_links(self, connection: Connection, entity_id: str, links: list[Doc]) -> None:
        repository.set_teams_of_user(connection, entity_id, [ref["id"] for ref in links])

    def remove(self, connection: Connection, doc: Doc) -> None:
        repository.remove_members_of_user(connection, doc["id"])
        self.store.hard_delete(connection, doc["id"])


class Teams(Kind[CreateTeam]):
    entity_type = TEAM
    collection = "/v1/teams"
    store = repository.teams
    tracked = (
        *COMMON_TRACKED,
        FieldSpec("teamType", "scalar"),
        FieldSpec("email", "scalar"),
        FieldSpec("users", "list"),
    )
    # team.json: teamType defaults to Group.
    defaults: ClassVar[Mapping[str, Any]] = {"teamType": TeamType.Group.value}
    relation = "users"
    reference_fields = ("users",)

    def prepare(self, connection: Connection, request: CreateTeam) -> Prepared:
        links = None
        if request.users is not None:
            ids = [str(user_id) for user_id in request.users]
            links = references_by_id(connection, repository.users, USER, ids)
        return Prepared(
            name=request.name,
            fqn=self.lookup_fqn(request.name),
            fields={
                "displayName": request.display_name,
                "description": request.description,
                "teamType": request.team_type,
                "email": request.email,
            },
            links=links,
        )

    def expand(self, connection: Connection, docs: list[Doc]) -> list[Doc]:
        linked = repository.user_ids_of_teams(connection, [doc["id"] for doc in docs])
        return _expand(connection, docs, "users", linked, repository.users, USER)

    def save_links(self, connection: Connection, entity_id: str, links: list[Doc]) -> None:
        repository.set_users_of_team(connection, entity_id, [ref["id"] for ref in links])

    def remove(self, connection: Connection, doc: Doc) -> None:
        repository.remove_members_of_team(connection, doc["id"])
        self.store.hard_delete(connection, doc["id"])


USERS: Final = Users()
TEAMS: Final = Teams()
