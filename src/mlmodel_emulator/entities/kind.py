"""What an entity type declares to the shared core: its fields and their rules, its tables,
its relations and who may change it. The core (`entities.core`) does the rest alike for
every kind."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Final, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Connection

from mlmodel_emulator.auth.secrets import SecretCipher
from mlmodel_emulator.auth.tokens import Principal
from mlmodel_emulator.clock import RANDOM_IDS, Ids
from mlmodel_emulator.common.names import quote_name
from mlmodel_emulator.common.versioning import FieldSpec
from mlmodel_emulator.entities import permissions
from mlmodel_emulator.errors import ApiError, BadRequest

if TYPE_CHECKING:
    from mlmodel_emulator.entities.store import Store

Doc = dict[str, Any]
R = TypeVar("R", bound=BaseModel)

# changeEventType.json: what happened to an entity, as X-OpenMetadata-Change says.
CREATED: Final = "entityCreated"
UPDATED: Final = "entityUpdated"
NO_CHANGE: Final = "entityNoChange"
SOFT_DELETED: Final = "entitySoftDeleted"
DELETED: Final = "entityDeleted"
RESTORED: Final = "entityRestored"
FIELDS_CHANGED: Final = "entityFieldsChanged"


class Rule(StrEnum):
    """How a PUT treats a field of its request, as EntityUpdater decides field by field."""

    # Replaced by the request's value; a request that leaves it out removes it.
    SET = "set"
    # As SET, but a bot (without overrideMetadata) keeps a description someone wrote.
    DESCRIPTION = "description"
    # Replaced when the request gives a value, kept when it leaves the field out.
    KEEP = "keep"
    # Replaced only by a non-empty list: a PUT cannot remove ownership.
    OWNERS = "owners"
    # Merged with the stored labels, never removed (EntityUtil.mergeTags).
    TAGS = "tags"
    # Replaced by a non-empty list; a bot keeps the domains already set.
    DOMAINS = "domains"
    # Set at creation; a request that would change it is refused.
    FIXED = "fixed"


@dataclass(frozen=True, slots=True)
class Field:
    """One field a create request sets: how a PUT merges it and how a change is recorded."""

    name: str
    rule: Rule = Rule.SET
    # versioning.FieldSpec kind ("scalar", "json", "list", "secret"); None: not recorded.
    record: str | None = "scalar"
    # The identity of a list item, for recording list changes.
    key: str = "id"
    # The value a new entity gets when the request leaves the field out.
    default: Any = None

    def initial(self) -> Any:
        # Most defaults are None or []; a deep copy of those costs a bulk of new entities
        # about 3%.
        if self.default is None:
            return None
        if self.default == []:
            return []
        return copy.deepcopy(self.default)

    def spec(self) -> FieldSpec | None:
        return None if self.record is None else FieldSpec(self.name, self.record, self.key)


# What every entity shares (EntityUpdater.updateInternal): its description, its display
# name, and whether it is deleted.
DESCRIPTION: Final = Field("description", Rule.DESCRIPTION)
DISPLAY_NAME: Final = Field("displayName", Rule.SET)
OWNERS: Final = Field("owners", Rule.OWNERS, "list", default=[])
TAGS: Final = Field("tags", Rule.TAGS, "list", key="tagFQN", default=[])
DOMAINS: Final = Field("domains", Rule.DOMAINS, "list", default=[])
DELETED_SPEC: Final = FieldSpec("deleted", "scalar")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who acts, when, and under which settings; the router fills it per request, so the
    rules stay deterministic under test."""

    principal: Principal
    now_ms: int
    cipher: SecretCipher | None = None
    strict: bool = False
    admin_users: frozenset[str] = frozenset()
    users: permissions.UserCache | None = None
    # The request's If-Match header: writes go ahead only on the version it names.
    if_match: str | None = None
    # Where /api is served, for the hrefs of the entity a PATCH is applied to.
    base_url: str = ""
    # PATCHes by the same user within this window are merged into one version.
    session_ms: int = 0
    # Where the ids of new entities, jobs and events come from.
    ids: Ids = RANDOM_IDS

    def actor(self, connection: Connection) -> permissions.Actor:
        """The user behind the token; 401 when there is none (or a deleted one)."""
        return permissions.actor_for(connection, self.principal, self.admin_users, self.users)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A create request checked against the database.

    `fields` holds the stored form of what the request sets (None where it sets nothing);
    `links` the references of the kind's linked field (a user's teams), None when the
    request leaves them as they are; `parent` the entity this one belongs to.
    """

    name: str
    fqn: str
    fields: Doc
    links: list[Doc] | None = None
    parent: Doc | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a write did: the entity (as stored, or as it was just before it went) and how
    it changed (one of the change types above)."""

    doc: Doc
    change: str

    @property
    def created(self) -> bool:
        return self.change == CREATED


# Kind.tracked of each kind.
_TRACKED: dict[Kind[Any], tuple[FieldSpec, ...]] = {}

# Every kind made, by entity type, so that kinds can name each other without importing
# each other (a service's models, a model's service).
KINDS: dict[str, Kind[Any]] = {}


def kind_of(entity_type: str) -> Kind[Any]:
    return KINDS[entity_type]


@dataclass(frozen=True, slots=True)
class Children:
    """The entities of another kind that belong to this one (a service's models), by the
    column of the child's table that holds the parent's id."""

    entity_type: str
    column: str

    @property
    def kind(self) -> Kind[Any]:
        return kind_of(self.entity_type)


class Kind(Generic[R]):
    """One entity type. The defaults fit an entity of no one's and with no children,
    answered whole; subclasses declare what differs and override the hooks they need."""

    entity_type: ClassVar[str]
    collection: ClassVar[str]
    store: ClassVar[Store]
    create_model: ClassVar[type[BaseModel]]
    # What a create request sets, in the order a new entity's document lists them.
    fields: ClassVar[tuple[Field, ...]] = (DESCRIPTION, DISPLAY_NAME)
    # Answered only when `fields` asks for them (as [] when empty).
    relation_fields: ClassVar[tuple[str, ...]] = ()
    # Answered only when `fields` asks for them, and then only when set.
    optional_fields: ClassVar[tuple[str, ...]] = ()
    # What POST and PUT answers carry even without `fields`.
    write_response_fields: ClassVar[frozenset[str]] = frozenset()
    # Names `fields=` accepts besides the relation fields (EntityRepository.getFields).
    known_fields: ClassVar[frozenset[str]] = frozenset()
    # Fields that hold entity references, answered with an href each.
    reference_fields: ClassVar[tuple[str, ...]] = ()
    # Stored but never answered: the official client's model of this entity lacks them,
    # and it refuses a whole answer over one unknown key (client-report §5).
    unanswered_fields: ClassVar[tuple[str, ...]] = ()
    # Lists kept in the document of a new entity, empty, whatever the request says.
    initial_lists: ClassVar[tuple[str, ...]] = ()
    # Only admins write it (users, teams, domains, tags); others follow the owner policy.
    admin_only: ClassVar[bool] = False
    # Whether past versions are kept, and answered by /versions.
    keeps_history: ClassVar[bool] = True
    # The entities that belong to this one.
    children: ClassVar[tuple[Children, ...]] = ()
    # Whether every delete removes the entity for good, whatever hardDelete says.
    hard_delete_only: ClassVar[bool] = False
    # Whether a delete takes the children along without being asked to (recursive=true).
    deletes_children: ClassVar[bool] = False
    # A field whose unchanged value tells that the source did not change the entity: a PUT
    # that sends the stored value changes nothing (the sourceHash fast path).
    unchanged_when_same: ClassVar[str | None] = None
    # The field a linked relation lives in (another table), never stored in the document.
    linked_field: ClassVar[str | None] = None
    # PATCH: the changeable fields as a create request's would be validated, and the fields
    # besides the shared ones a patch leaves as stored whatever it says of them.
    patch_model: ClassVar[type[BaseModel]]
    patch_kept: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        KINDS[self.entity_type] = self

    # ------------------------------------------------------------------ derived

    def tracked(self) -> tuple[FieldSpec, ...]:
        """How each field's changes are recorded, `deleted` included (worked out once per
        kind: every update asks)."""
        tracked = _TRACKED.get(self)
        if tracked is None:
            specs = [spec for spec in (f.spec() for f in self.fields) if spec is not None]
            tracked = _TRACKED[self] = (*specs, DELETED_SPEC)
        return tracked

    def asked_fields(self) -> frozenset[str]:
        """Every field answered only when `fields` names it."""
        return frozenset(self.relation_fields) | frozenset(self.optional_fields)

    def field_names(self) -> frozenset[str]:
        """What `fields=` may name: those fields, and every other property."""
        return self.asked_fields() | self.known_fields

    def parse_fields(self, fields: str | None) -> frozenset[str]:
        """The fields a `fields` parameter asks for; '*' asks for all of them."""
        if not fields:
            return frozenset()
        names = {name.strip() for name in fields.split(",") if name.strip()}
        if "*" in names:
            return self.asked_fields()
        allowed = self.field_names()
        for name in sorted(names):
            if name not in allowed:
                raise BadRequest(f"Invalid field name {name}")
        return frozenset(names) & self.asked_fields()

    # ------------------------------------------------------------------ hooks

    def lookup_fqn(self, name: str) -> str:
        """The FQN a /name/{fqn} path names: a name holding a dot is quoted first."""
        return quote_name(name)

    def prepare(self, connection: Connection, request: R, caller: Caller) -> Prepared:
        """Check a create request against the database: its FQN, the entities it names."""
        raise NotImplementedError

    def prepare_many(
        self, connection: Connection, requests: Sequence[R], caller: Caller
    ) -> list[Prepared | ApiError]:
        """Prepare the items of a bulk request, each on its own; a kind may read what they
        share once (their parents)."""
        prepared: list[Prepared | ApiError] = []
        for request in requests:
            try:
                prepared.append(self.prepare(connection, request, caller))
            except ApiError as exc:
                prepared.append(exc)
        return prepared

    def named(
        self,
        request: Any,
        *,
        fqn: str | None = None,
        links: list[Doc] | None = None,
        parent: Doc | None = None,
        **fields: Any,
    ) -> Prepared:
        """A request prepared under its own name (and FQN, by default the name's): its
        display name and description, and the other fields given (as they are stored)."""
        return Prepared(
            name=request.name,
            fqn=self.lookup_fqn(request.name) if fqn is None else fqn,
            parent=parent,
            fields={
                "displayName": request.display_name,
                "description": request.description,
                **fields,
            },
            links=links,
        )

    def resolve(self, name: str, value: Any, original: Doc | None, prepared: Prepared) -> Any:
        """The stored value of a field the request sets, against the stored entity (None
        for a new one): where a masked secret is replaced by the stored one."""
        return value

    def expand(self, connection: Connection, docs: list[Doc], fields: frozenset[str]) -> list[Doc]:
        """The documents as answered, with the relation fields asked for made current."""
        return docs

    def save_links(self, connection: Connection, entity_id: str, links: list[Doc]) -> None:
        """Store the linked field of an entity."""

    def remove_links(self, connection: Connection, entity_ids: Sequence[str]) -> None:
        """Forget the linked field of entities about to be hard-deleted."""

    def check_patched(self, fields: Any) -> None:
        """What a patched entity may not hold beyond what its patch model checks."""

    def patched_value(
        self, connection: Connection, key: str, fields: Any, original: Doc, caller: Caller
    ) -> Any:
        """The stored form of one field a PATCH changed, from the validated patch model."""
        return fields.model_dump(mode="json", by_alias=True, exclude_none=True).get(key)

    def check_deletable(self, doc: Doc) -> None:
        """EntityRepository.checkSystemEntityDeletion: what the system provides stays."""
        if doc.get("provider") == "system":
            raise BadRequest(
                f"System entity [{doc['name']}] of type {self.entity_type} can not be deleted."
            )

    # Secrets: stored encrypted, compared in clear, answered masked unless to a bot.

    def seal(self, doc: Doc, cipher: SecretCipher | None) -> Doc:
        """The document as stored."""
        return doc

    def open(self, doc: Doc, cipher: SecretCipher | None) -> Doc:
        """The stored document in clear, as the rules compare it."""
        return doc

    def present(self, doc: Doc, cipher: SecretCipher | None, *, reveal: bool) -> Doc:
        """The stored document with its secrets shown (reveal) or masked."""
        return doc

    def mask_request(self, item: Any) -> Any:
        """A request as echoed in a bulk failure: never with its secrets."""
        return item


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What a list request asks for."""

    limit: int
    before: str | None = None
    after: str | None = None
    include: str = "non-deleted"
    fields: frozenset[str] = frozenset()
    filters: Sequence[Any] = field(default=())
