"""All SQL of the governance entities; works in JSON documents, never in wire models."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    func,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from mlmodel_emulator.common import versioning
from mlmodel_emulator.common.paging import Cursor
from mlmodel_emulator.db.statements import insert_missing
from mlmodel_emulator.errors import EntityAlreadyExists
from mlmodel_emulator.governance.models import (
    ClassificationRecord,
    DomainRecord,
    TagRecord,
    TeamMemberRecord,
    TeamRecord,
    UserRecord,
)

Doc = dict[str, Any]


def _no_extra_columns(_: Doc) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class EntityStore:
    """The SQL every governance table answers the same way: one JSON document per row."""

    table: Table
    # Columns beyond the shared ones, derived from the document like the rest.
    extra_columns: Callable[[Doc], dict[str, Any]] = field(default=_no_extra_columns)

    def row(self, doc: Doc) -> dict[str, Any]:
        """The indexed columns, derived from the document so that the two never disagree."""
        return {
            "id": doc["id"],
            "name": doc["name"],
            "fqn": doc["fullyQualifiedName"],
            "deleted": doc["deleted"],
            "version_tenths": versioning.from_wire(doc["version"]),
            "updated_at": doc["updatedAt"],
            "doc": doc,
            **self.extra_columns(doc),
        }

    def include_filter(self, include: str) -> ColumnElement[bool] | None:
        """include.json: non-deleted, deleted or all."""
        if include == "non-deleted":
            return self.table.c.deleted.is_(False)
        if include == "deleted":
            return self.table.c.deleted.is_(True)
        return None

    @cached_property
    def _lookups(self) -> dict[tuple[str, bool], Select[Any]]:
        # Built once per table: building a statement costs about as much as running it,
        # and the user lookup runs on every request.
        lookups: dict[tuple[str, bool], Select[Any]] = {}
        for column in ("id", "fqn"):
            statement = select(self.table.c.doc).where(self.table.c[column] == bindparam("key"))
            lookups[(column, False)] = statement
            lookups[(column, True)] = statement.with_for_update()
        return lookups

    def get_by_id(
        self, connection: Connection, entity_id: str, *, for_update: bool = False
    ) -> Doc | None:
        statement = self._lookups[("id", for_update)]
        doc: Doc | None = connection.execute(statement, {"key": entity_id}).scalar_one_or_none()
        return doc

    def get_by_fqn(
        self, connection: Connection, fqn: str, *, for_update: bool = False
    ) -> Doc | None:
        statement = self._lookups[("fqn", for_update)]
        doc: Doc | None = connection.execute(statement, {"key": fqn}).scalar_one_or_none()
        return doc

    def get_many_by_id(self, connection: Connection, ids: Collection[str]) -> dict[str, Doc]:
        """Documents by id, in one statement; ids that match nothing are left out."""
        if not ids:
            return {}
        statement = select(self.table.c.doc).where(self.table.c.id.in_(set(ids)))
        return {doc["id"]: doc for doc in connection.execute(statement).scalars()}

    def get_many_by_fqn(self, connection: Connection, fqns: Collection[str]) -> dict[str, Doc]:
        """Documents by FQN, in one statement; FQNs that match nothing are left out."""
        if not fqns:
            return {}
        statement = select(self.table.c.doc).where(self.table.c.fqn.in_(set(fqns)))
        return {doc["fullyQualifiedName"]: doc for doc in connection.execute(statement).scalars()}

    def add(self, connection: Connection, doc: Doc) -> bool:
        """Insert a new entity; False when its FQN (or another unique column) is taken."""
        return bool(self.add_many(connection, [doc]))

    def add_many(self, connection: Connection, docs: Sequence[Doc]) -> set[str]:
        """Insert new entities in one statement; return the FQNs that were inserted.

        A row that collides with any unique column (FQN, a user's email) is skipped, even
        when another transaction inserted the colliding row meanwhile.
        """
        rows = [self.row(doc) for doc in docs]
        inserted = insert_missing(connection, self.table, rows, self.table.c.fqn, any_conflict=True)
        return {str(fqn) for fqn in inserted}

    def replace_many(self, connection: Connection, docs: Sequence[Doc]) -> None:
        """Overwrite current documents (one executemany).

        409 when one takes a unique value (a user's email) that another entity holds.
        """
        if not docs:
            return
        rows = [{("b_" + key): value for key, value in self.row(doc).items()} for doc in docs]
        statement = (
            update(self.table)
            .where(self.table.c.id == bindparam("b_id"))
            .values({key: bindparam("b_" + key) for key in self.row(docs[0]) if key != "id"})
        )
        try:
            connection.execute(statement, rows)
        except IntegrityError:
            raise EntityAlreadyExists() from None

    def count(self, connection: Connection, include: str, *extra: ColumnElement[bool]) -> int:
        statement = select(func.count()).select_from(self.table).where(*self._conditions(include))
        return int(connection.execute(statement.where(*extra)).scalar_one())

    def list_page(
        self,
        connection: Connection,
        *extra: ColumnElement[bool],
        include: str,
        limit: int,
        after: Cursor | None,
        before: Cursor | None,
    ) -> list[Doc]:
        """Up to `limit` documents in (name, id) order, after or before a cursor.

        Before a cursor, the rows come back nearest first (descending); the caller reverses them.
        """
        c = self.table.c
        conditions = [*self._conditions(include), *extra]
        order = (c.name.asc(), c.id.asc())
        if after is not None:
            conditions.append(or_(c.name > after.name, and_(c.name == after.name, c.id > after.id)))
        if before is not None:
            conditions.append(
                or_(c.name < before.name, and_(c.name == before.name, c.id < before.id))
            )
            order = (c.name.desc(), c.id.desc())
        statement = select(c.doc).where(*conditions).order_by(*order).limit(limit)
        return list(connection.execute(statement).scalars())

    def hard_delete(self, connection: Connection, entity_id: str) -> None:
        connection.execute(delete(self.table).where(self.table.c.id == entity_id))

    def _conditions(self, include: str) -> list[ColumnElement[bool]]:
        condition = self.include_filter(include)
        return [] if condition is None else [condition]


def _user_columns(doc: Doc) -> dict[str, Any]:
    return {"email": doc["email"]}


def _tag_columns(doc: Doc) -> dict[str, Any]:
    return {"classification_id": doc["classification"]["id"]}


users = EntityStore(cast(Table, UserRecord.__table__), _user_columns)
teams = EntityStore(cast(Table, TeamRecord.__table__))
domains = EntityStore(cast(Table, DomainRecord.__table__))
classifications = EntityStore(cast(Table, ClassificationRecord.__table__))
tags = EntityStore(cast(Table, TagRecord.__table__), _tag_columns)

_members = cast(Table, TeamMemberRecord.__table__)


def schema_ready(connection: Connection) -> bool:
    """Whether the migration that made these tables has run."""
    return all(
        inspect(connection).has_table(store.table.name)
        for store in (users, teams, domains, classifications, tags)
    )


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


def remove_members_of_user(connection: Connection, user_id: str) -> None:
    connection.execute(delete(_members).where(_members.c.user_id == user_id))


def remove_members_of_team(connection: Connection, team_id: str) -> None:
    connection.execute(delete(_members).where(_members.c.team_id == team_id))


# ---------------------------------------------------------------------------- tags


def tags_of_classification(connection: Connection, classification_id: str) -> list[Doc]:
    statement = select(tags.table.c.doc).where(tags.table.c.classification_id == classification_id)
    return list(connection.execute(statement).scalars())


def in_classification(classification_id: str) -> ColumnElement[bool]:
    """The list filter for the tags of one classification."""
    return tags.table.c.classification_id == classification_id


def delete_tags_of_classification(connection: Connection, classification_id: str) -> None:
    connection.execute(
        delete(tags.table).where(tags.table.c.classification_id == classification_id)
    )
