"""All SQL of the governance entities beyond their own tables: who is in which team."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, Table, delete, inspect, select

from mlmodel_emulator.common.names import quote_name
from mlmodel_emulator.db.statements import insert_missing
from mlmodel_emulator.entities.store import Store
from mlmodel_emulator.governance.models import (
    ClassificationRecord,
    DomainRecord,
    TagRecord,
    TeamMemberRecord,
    TeamRecord,
    UserRecord,
)

Doc = dict[str, Any]


def _user_columns(doc: Doc) -> dict[str, Any]:
    return {"email": doc["email"]}


def _tag_columns(doc: Doc) -> dict[str, Any]:
    return {"classification_id": doc["classification"]["id"]}


# A user's email is unique too: a new user that collides on it is skipped like one that
# collides on its name.
users = Store(cast(Table, UserRecord.__table__), extra_columns=_user_columns, any_conflict=True)
teams = Store(cast(Table, TeamRecord.__table__), any_conflict=True)
domains = Store(cast(Table, DomainRecord.__table__), any_conflict=True)
classifications = Store(cast(Table, ClassificationRecord.__table__), any_conflict=True)
tags = Store(cast(Table, TagRecord.__table__), extra_columns=_tag_columns, any_conflict=True)

_members = cast(Table, TeamMemberRecord.__table__)


def schema_ready(connection: Connection) -> bool:
    """Whether the migration that made these tables has run."""
    return all(
        inspect(connection).has_table(store.table.name)
        for store in (users, teams, domains, classifications, tags)
    )


def user_fqn(name: str) -> str:
    """UserMapper keeps user names lower-case; a token's principal may not be."""
    return quote_name(name.lower())


def get_user_by_name(connection: Connection, name: str) -> Doc | None:
    """The stored user document (isAdmin, isBot, deleted, ...) of a login name, any case.

    None when there is no such user; a soft-deleted user is returned too.
    """
    return users.get_by_fqn(connection, user_fqn(name))


# ---------------------------------------------------------------------------- team members


def team_ids_of_users(connection: Connection, user_ids: Collection[str]) -> dict[str, list[str]]:
    """The teams each user is in, in one statement."""
    if not user_ids:
        return {}
    statement = select(_members.c.user_id, _members.c.team_id).where(
        _members.c.user_id.in_(set(user_ids))
    )
    found: dict[str, list[str]] = {}
    for user_id, team_id in connection.execute(statement):
        found.setdefault(user_id, []).append(team_id)
    return found


def user_ids_of_teams(connection: Connection, team_ids: Collection[str]) -> dict[str, list[str]]:
    """The users each team holds, in one statement."""
    if not team_ids:
        return {}
    statement = select(_members.c.team_id, _members.c.user_id).where(
        _members.c.team_id.in_(set(team_ids))
    )
    found: dict[str, list[str]] = {}
    for team_id, user_id in connection.execute(statement):
        found.setdefault(team_id, []).append(user_id)
    return found


def team_ids_of_user(connection: Connection, user_id: str) -> set[str]:
    """The ids of the teams a user is in (team.users and user.teams are one relation here)."""
    return set(team_ids_of_users(connection, [user_id]).get(user_id, []))


def add_members(connection: Connection, pairs: Iterable[tuple[str, str]]) -> None:
    """Put users in teams, as (team id, user id) pairs; a pair already there stays as it is."""
    rows = [{"team_id": team_id, "user_id": user_id} for team_id, user_id in set(pairs)]
    insert_missing(connection, _members, rows, _members.c.team_id, any_conflict=True)


def set_teams_of_user(connection: Connection, user_id: str, team_ids: Collection[str]) -> None:
    """Make the user's teams exactly these."""
    connection.execute(
        delete(_members).where(
            _members.c.user_id == user_id, _members.c.team_id.not_in(set(team_ids))
        )
    )
    add_members(connection, ((team_id, user_id) for team_id in team_ids))


def set_users_of_team(connection: Connection, team_id: str, user_ids: Collection[str]) -> None:
    """Make the team's users exactly these."""
    connection.execute(
        delete(_members).where(
            _members.c.team_id == team_id, _members.c.user_id.not_in(set(user_ids))
        )
    )
    add_members(connection, ((team_id, user_id) for user_id in user_ids))


def remove_members_of_users(connection: Connection, user_ids: Collection[str]) -> None:
    connection.execute(delete(_members).where(_members.c.user_id.in_(list(user_ids))))


def remove_members_of_teams(connection: Connection, team_ids: Collection[str]) -> None:
    connection.execute(delete(_members).where(_members.c.team_id.in_(list(team_ids))))


# ---------------------------------------------------------------------------- tags


def in_classification(classification_id: str) -> ColumnElement[bool]:
    """The list filter for the tags of one classification."""
    return tags.column_is("classification_id", classification_id)
