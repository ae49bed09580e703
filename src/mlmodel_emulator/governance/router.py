"""HTTP routes of users, teams, domains, classifications and tags: the shared entity routes
for create, read and delete (admins write, anyone with a token reads)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import ColumnElement, Connection

from mlmodel_emulator.entities.router import ListFilter, Routes, build_router
from mlmodel_emulator.governance import repository
from mlmodel_emulator.governance.classifications import CLASSIFICATIONS, TAGS
from mlmodel_emulator.governance.domains import DOMAINS
from mlmodel_emulator.governance.schemas import (
    Classification,
    ClassificationList,
    Domain,
    DomainList,
    ErrorMessage,
    Tag,
    TagList,
    Team,
    TeamList,
    User,
    UserList,
)
from mlmodel_emulator.governance.users import TEAMS, USERS

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorMessage} for status in (400, 401, 403, 404, 409)
}


def _governance(kind: Any, tag: str, model: Any, list_model: Any, **extra: Any) -> APIRouter:
    entity = kind.entity_type
    return build_router(
        Routes(
            kind=kind,
            tag=tag,
            one=entity,
            many=extra.pop("many", entity),
            label=entity,
            entity_model=model,
            list_model=list_model,
            errors=ERRORS,
            with_fields=False,
            full=False,
            **extra,
        )
    )


def in_classification(connection: Connection, fqn: str) -> ColumnElement[bool]:
    """`?parent=<fqn>`: the tags of one classification (none when there is no such one)."""
    classification = repository.classifications.get_by_fqn(
        connection, CLASSIFICATIONS.lookup_fqn(fqn)
    )
    return repository.in_classification(classification["id"] if classification else "")


users_router = _governance(USERS, "users", User, UserList)
teams_router = _governance(TEAMS, "teams", Team, TeamList)
domains_router = _governance(DOMAINS, "domains", Domain, DomainList)
classifications_router = _governance(
    CLASSIFICATIONS, "classifications", Classification, ClassificationList
)
tags_router = _governance(
    TAGS,
    "tags",
    Tag,
    TagList,
    many="tags",
    filters=(
        ListFilter("parent", "Only the tags of this classification (its FQN).", in_classification),
    ),
)
