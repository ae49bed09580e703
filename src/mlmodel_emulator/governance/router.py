"""HTTP routes of users, teams, domains, classifications and tags: parse, call, answer."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from mlmodel_emulator.common.api import ResponseModel
from mlmodel_emulator.db.session import Database
from mlmodel_emulator.deps import (
    BaseUrlDep,
    DatabaseDep,
    PrincipalDep,
    SettingsDep,
    get_principal,
    now_ms,
)
from mlmodel_emulator.governance import classifications, entities
from mlmodel_emulator.governance.classifications import CLASSIFICATIONS, TAGS
from mlmodel_emulator.governance.domains import DOMAINS
from mlmodel_emulator.governance.entities import Caller, Kind, ListQuery
from mlmodel_emulator.governance.schemas import (
    Classification,
    ClassificationList,
    CreateClassification,
    CreateDomain,
    CreateTag,
    CreateTeam,
    CreateUser,
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
from mlmodel_emulator.responses import CHANGE_HEADER, json_response


class Include(StrEnum):
    """include.json."""

    non_deleted = "non-deleted"
    deleted = "deleted"
    all = "all"


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorMessage} for status in (400, 401, 403, 404, 409)
}

LimitQuery = Annotated[int, Query(ge=0, le=1_000_000, description="Page size, 0 for the total.")]
IncludeQuery = Annotated[Include, Query(description="non-deleted, deleted or all.")]
HardDeleteQuery = Annotated[
    bool, Query(alias="hardDelete", description="Remove the entity instead of marking it deleted.")
]


async def _caller(principal: PrincipalDep, settings: SettingsDep) -> Caller:
    return Caller(principal=principal, now_ms=now_ms(), admin_users=settings.admin_users)


CallerDep = Annotated[Caller, Depends(_caller)]


def _new_router(kind: Kind[Any], tag: str) -> APIRouter:
    # Reading needs a valid token too; writing also needs an admin (the services check it).
    return APIRouter(prefix=kind.collection, tags=[tag], dependencies=[Depends(get_principal)])


def _answer(kind: Kind[Any], doc: entities.Doc, base_url: str) -> dict[str, Any]:
    return entities.to_response(kind, doc, base_url=base_url)


def _created(
    database: Database, kind: Kind[Any], request: Any, caller: Caller, base_url: str
) -> Response:
    doc = database.write(entities.create, kind, request, caller=caller)
    body = _answer(kind, doc, base_url)
    headers = {"Location": body["href"], CHANGE_HEADER: entities.CREATED}
    return json_response(body, status_code=201, headers=headers)


def _upserted(
    database: Database, kind: Kind[Any], request: Any, caller: Caller, base_url: str
) -> Response:
    upsert = database.write(entities.create_or_update, kind, request, caller=caller)
    return json_response(
        _answer(kind, upsert.doc, base_url),
        status_code=201 if upsert.created else 200,
        headers={CHANGE_HEADER: upsert.change},
    )


def _listed(database: Database, kind: Kind[Any], query: ListQuery, base_url: str) -> Response:
    page = database.read(entities.list_page, kind, query)
    data = [_answer(kind, doc, base_url) for doc in page.docs]
    return json_response({"data": data, "paging": page.paging})


def _add_read_and_delete_routes(
    router: APIRouter,
    kind: Kind[Any],
    model: type[ResponseModel],
    list_model: type[ResponseModel] | None,
) -> None:
    """The routes every kind answers alike: list, get and delete by id or by name."""
    entity = kind.entity_type
    one = {200: {"model": model}, **ERRORS}

    if list_model is not None:

        @router.get(
            "",
            response_model=None,
            responses={200: {"model": list_model}, **ERRORS},
            name=f"list_{entity}",
            description=f"List {entity} entities in name order, a page at a time.",
        )
        async def list_entities(
            database: DatabaseDep,
            base_url: BaseUrlDep,
            limit: LimitQuery = 10,
            before: str | None = None,
            after: str | None = None,
            include: IncludeQuery = Include.non_deleted,
        ) -> Response:
            query = ListQuery(limit=limit, before=before, after=after, include=include)
            return _listed(database, kind, query, base_url)

    @router.get(
        "/name/{fqn:path}",
        response_model=None,
        responses=one,
        name=f"get_{entity}_by_name",
        description=f"Get a {entity} by its fully qualified name.",
    )
    async def get_by_name(
        fqn: str,
        database: DatabaseDep,
        base_url: BaseUrlDep,
        include: IncludeQuery = Include.non_deleted,
    ) -> Response:
        doc = database.read(entities.get_by_name, kind, fqn, include=include)
        return json_response(_answer(kind, doc, base_url))

    @router.get(
        "/{id}",
        response_model=None,
        responses=one,
        name=f"get_{entity}",
        description=f"Get a {entity} by its id.",
    )
    async def get_by_id(
        id: uuid.UUID,
        database: DatabaseDep,
        base_url: BaseUrlDep,
        include: IncludeQuery = Include.non_deleted,
    ) -> Response:
        doc = database.read(entities.get_by_id, kind, str(id), include=include)
        return json_response(_answer(kind, doc, base_url))

    @router.delete(
        "/name/{fqn:path}",
        response_model=None,
        responses=one,
        name=f"delete_{entity}_by_name",
        description=f"Delete a {entity} by its fully qualified name (admins only).",
    )
    async def delete_by_name(
        fqn: str,
        database: DatabaseDep,
        base_url: BaseUrlDep,
        caller: CallerDep,
        hard_delete: HardDeleteQuery = False,
    ) -> Response:
        deleted = database.write(
            entities.delete_by_name, kind, fqn, hard=hard_delete, caller=caller
        )
        body = _answer(kind, deleted.doc, base_url)
        return json_response(body, headers={CHANGE_HEADER: deleted.change})

    @router.delete(
        "/{id}",
        response_model=None,
        responses=one,
        name=f"delete_{entity}",
        description=f"Delete a {entity} by its id (admins only).",
    )
    async def delete_by_id(
        id: uuid.UUID,
        database: DatabaseDep,
        base_url: BaseUrlDep,
        caller: CallerDep,
        hard_delete: HardDeleteQuery = False,
    ) -> Response:
        deleted = database.write(
            entities.delete_by_id, kind, str(id), hard=hard_delete, caller=caller
        )
        body = _answer(kind, deleted.doc, base_url)
        return json_response(body, headers={CHANGE_HEADER: deleted.change})


def _write_responses(model: type[ResponseModel]) -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model}, 201: {"model": model}, **ERRORS}


# ---------------------------------------------------------------------------- users

users_router = _new_router(USERS, "users")


@users_router.post("", status_code=201, response_model=None, responses=_write_responses(User))
async def create_user(
    request: CreateUser, database: DatabaseDep, base_url: BaseUrlDep, caller: CallerDep
) -> Response:
    """Create a user (admins only); 409 if the name or the email is taken."""
    return _created(database, USERS, request, caller, base_url)


@users_router.put("", response_model=None, responses=_write_responses(User))
async def create_or_update_user(
    request: CreateUser, database: DatabaseDep, base_url: BaseUrlDep, caller: CallerDep
) -> Response:
    """Create a user (201) or update the one of that name (200); admins only."""
    return _upserted(database, USERS, request, caller, base_url)


_add_read_and_delete_routes(users_router, USERS, User, UserList)

# ---------------------------------------------------------------------------- teams

teams_router = _new_router(TEAMS, "teams")


@teams_router.post("", status_code=201, response_model=None, responses=_write_responses(Team))
async def create_team(
    request: CreateTeam, database: DatabaseDep, base_url: BaseUrlDep, caller: CallerDep
) -> Response:
    """Create a team (admins only); 409 if the name is taken."""
    return _created(database, TEAMS, request, caller, base_url)


@teams_router.put("", response_model=None, responses=_write_responses(Team))
async def create_or_update_team(
    request: CreateTeam, database: DatabaseDep, base_url: BaseUrlDep, caller: CallerDep
) -> Response:
    """Create a team (201) or update the one of that name (200); admins only."""
    return _upserted(database, TEAMS, request, caller, base_url)


_add_read_and_delete_routes(teams_router, TEAMS, Team, TeamList)

# ---------------------------------------------------------------------------- domains

domains_router = _new_router(DOMAINS, "domains")


@domains_router.post("", status_code=201, response_model=None, responses=_write_responses(Domain))
async def create_domain(
    request: CreateDomain, database: DatabaseDep, base_url: BaseUrlDep, caller: CallerDep
) -> Response:
    """Create a domain (admins only); 409 if the name is taken."""
    return _created(database, DOMAINS, request, caller, base_url)


@domains_router.put("", response_model=None, responses=_write_responses(Domain))
async def create_or_update_domain(
    request: CreateDomain, database: DatabaseDep, base_url: BaseUrlDep, caller: CallerDep
) -> Response:
    """Create a domain (201) or update the one of that name (200); admins only."""
    return _upserted(database, DOMAINS, request, caller, base_url)


_add_read_and_delete_routes(domains_router, DOMAINS, Domain, DomainList)

# ---------------------------------------------------------------------------- classifications

classifications_router = _new_router(CLASSIFICATIONS, "classifications")


@classifications_router.post(
    "", status_code=201, response_model=None, responses=_write_responses(Classification)
)
async def create_classification(
    request: CreateClassification, database: DatabaseDep, base_url: BaseUrlDep, caller: CallerDep
) -> Response:
    """Create a classification (admins only); 409 if the name is taken."""
    return _created(database, CLASSIFICATIONS, request, caller, base_url)


@classifications_router.put("", response_model=None, responses=_write_responses(Classification))
async def create_or_update_classification(
    request: CreateClassification, database: DatabaseDep, base_url: BaseUrlDep, caller: CallerDep
) -> Response:
    """Create a classification (201) or update the one of that name (200); admins only."""
    return _upserted(database, CLASSIFICATIONS, request, caller, base_url)


_add_read_and_delete_routes(
    classifications_router, CLASSIFICATIONS, Classification, ClassificationList
)

# ---------------------------------------------------------------------------- tags

tags_router = _new_router(TAGS, "tags")


@tags_router.get("", response_model=None, responses={200: {"model": TagList}, **ERRORS})
async def list_tags(
    database: DatabaseDep,
    base_url: BaseUrlDep,
    parent: Annotated[
        str | None, Query(description="Only the tags of this classification (its FQN).")
    ] = None,
    limit: LimitQuery = 10,
    before: str | None = None,
    after: str | None = None,
    include: IncludeQuery = Include.non_deleted,
) -> Response:
    """List tags in name order, a page at a time; `parent` keeps one classification's."""
    query = ListQuery(limit=limit, before=before, after=after, include=include)
    page = database.read(classifications.list_tags, parent, query)
    data = [_answer(TAGS, doc, base_url) for doc in page.docs]
    return json_response({"data": data, "paging": page.paging})


@tags_router.post("", status_code=201, response_model=None, responses=_write_responses(Tag))
async def create_tag(
    request: CreateTag, database: DatabaseDep, base_url: BaseUrlDep, caller: CallerDep
) -> Response:
    """Create a tag in a classification (admins only); 409 if the FQN is taken."""
    return _created(database, TAGS, request, caller, base_url)


@tags_router.put("", response_model=None, responses=_write_responses(Tag))
async def create_or_update_tag(
    request: CreateTag, database: DatabaseDep, base_url: BaseUrlDep, caller: CallerDep
) -> Response:
    """Create a tag (201) or update the one of that FQN (200); admins only."""
    return _upserted(database, TAGS, request, caller, base_url)


_add_read_and_delete_routes(tags_router, TAGS, Tag, None)
