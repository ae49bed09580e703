"""PUT /bulk: many creates or updates of one kind, each item validated and applied on its
own, in a fixed number of statements whatever the size of the request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum
from types import UnionType
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin

from annotated_types import BaseMetadata, GroupedMetadata
from pydantic import AfterValidator, BaseModel, ValidationError
from pydantic._internal._fields import PydanticMetadata
from pydantic_core import PydanticUndefined
from sqlalchemy import Connection

from mlmodel_emulator.common.api import plainly_storable, storable_problem
from mlmodel_emulator.common.names import check_entity_name
from mlmodel_emulator.entities import core
from mlmodel_emulator.entities.kind import (
    CREATED,
    NO_CHANGE,
    UPDATED,
    Caller,
    Doc,
    Kind,
    Prepared,
)
from mlmodel_emulator.entities.permissions import Actor, Operation
from mlmodel_emulator.errors import ApiError, BadRequest, describe_errors
from mlmodel_emulator.events import service as events
from mlmodel_emulator.jobs import service as jobs


@dataclass(slots=True)
class BulkResult:
    """bulkOperationResult.json, built item by item."""

    processed: int
    passed: list[dict[str, Any]]
    failed: list[dict[str, Any]]

    def fail(self, kind: Kind[Any], item: Any, error: ApiError) -> None:
        # The item is echoed as sent, but never its secrets.
        self.failed.append(
            {
                "request": kind.mask_request(item),
                "status": error.status_code,
                "message": error.message,
            }
        )

    def succeed(self, prepared: Prepared, change: str) -> None:
        status = 201 if change == CREATED else 200
        self.passed.append({"request": prepared.fqn, "status": status, "message": change})

    def to_json(self) -> dict[str, Any]:
        if not self.failed:
            status = "success"
        elif self.passed:
            status = "partialSuccess"
        else:
            status = "failure"
        return {
            "status": status,
            "numberOfRowsProcessed": self.processed,
            "numberOfRowsPassed": len(self.passed),
            "numberOfRowsFailed": len(self.failed),
            "successRequest": self.passed,
            "failedRequest": self.failed,
        }


def _request(kind: Kind[Any], item: Any) -> Any:
    """One item as a create request, or 400 as PUT would answer it."""
    try:
        request = kind.create_model.model_validate(item)
    except ValidationError as exc:
        raise BadRequest(describe_errors(exc.errors())) from None
    # The request's dump, which check_storable checks, holds only the item's own strings,
    # bools and plain JSON values, and constants (see _dump_from_item): when the item as
    # sent is plainly storable, so is the dump, and the dump need not be made.
    if not (_dump_from_item(kind.create_model) and plainly_storable(item)):
        core.check_storable(request)
    return request


# _dump_from_item of each create model.
_DUMP_FROM_ITEM: dict[type[BaseModel], bool] = {}
# Validators that return the string they are given, or refuse it.
_CHECKS_ONLY: Final = frozenset({check_entity_name})


def _dump_from_item(model: type[BaseModel]) -> bool:
    """Whether every value of a validated model's JSON dump is a string, bool or JSON value
    of the item it was validated from (unchanged), or a constant of the model that is
    storable: no field is a number (a string or float may become a large integer), none is
    converted by a validator or serializer."""
    known = _DUMP_FROM_ITEM.get(model)
    if known is None:
        known = _DUMP_FROM_ITEM[model] = _model_from_item(model, set())
    return known


def _model_from_item(model: type[BaseModel], seen: set[type[BaseModel]]) -> bool:
    if model in seen:
        return True
    seen.add(model)
    decorators = model.__pydantic_decorators__
    if any(
        (
            decorators.validators,
            decorators.field_validators,
            decorators.root_validators,
            decorators.field_serializers,
            decorators.model_serializers,
            decorators.model_validators,
            decorators.computed_fields,
        )
    ):
        return False
    for field in model.model_fields.values():
        if field.default_factory is not None:
            return False
        if field.default is not PydanticUndefined and (
            storable_problem(_constant(field.default)) is not None
        ):
            return False
        if not all(_checks_only(metadata) for metadata in field.metadata):
            return False
        if not _annotation_from_item(field.annotation, seen):
            return False
    return True


def _constant(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _checks_only(metadata: Any) -> bool:
    """A constraint, or a validator known to return its input unchanged."""
    if isinstance(metadata, AfterValidator):
        return metadata.func in _CHECKS_ONLY
    return isinstance(metadata, (BaseMetadata, GroupedMetadata, PydanticMetadata))


def _annotation_from_item(annotation: Any, seen: set[type[BaseModel]]) -> bool:
    if annotation is None or annotation is type(None) or annotation is str or annotation is bool:
        return True
    if annotation is Any:
        # Kept as sent (JSON values only, from a JSON body), dumped as is.
        return True
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return _model_from_item(annotation, seen)
        if issubclass(annotation, Enum):
            return all(storable_problem(member.value) is None for member in annotation)
        return False
    origin = get_origin(annotation)
    arguments = get_args(annotation)
    if origin is Literal:
        return all(storable_problem(_constant(value)) is None for value in arguments)
    if origin is Annotated:
        return all(_checks_only(metadata) for metadata in arguments[1:]) and (
            _annotation_from_item(arguments[0], seen)
        )
    if origin in (Union, UnionType, list):
        return all(_annotation_from_item(argument, seen) for argument in arguments)
    if origin is dict:
        return arguments[0] is str and _annotation_from_item(arguments[1], seen)
    return False


def create_or_update_many(
    connection: Connection,
    kind: Kind[Any],
    items: Sequence[Any],
    *,
    caller: Caller,
    override: bool = False,
) -> BulkResult:
    """Each item validated and applied on its own; an item that fails never fails the
    others. A name given twice is created once, then updated by its later occurrence.

    The names are locked first, all of them in one order (Store.lock_names), so that
    overlapping bulk requests queue instead of deadlocking.
    """
    actor = caller.actor(connection)
    result = BulkResult(processed=len(items), passed=[], failed=[])
    # Checked in two passes (each item's own validity, then what the items name, read
    # together), failures reported in the order of the items.
    checked: list[Any] = []
    for item in items:
        try:
            checked.append(_request(kind, item))
        except ApiError as exc:
            checked.append(exc)
    requests = [request for request in checked if not isinstance(request, ApiError)]
    prepared_items = iter(kind.prepare_many(connection, requests, caller))
    valid: list[tuple[Any, Prepared]] = []
    for item, request in zip(items, checked, strict=True):
        prepared = request if isinstance(request, ApiError) else next(prepared_items)
        if isinstance(prepared, ApiError):
            result.fail(kind, item, prepared)
        else:
            valid.append((item, prepared))
    fqns = [prepared.fqn for _, prepared in valid]
    kind.store.lock_names(connection, fqns)
    stored = kind.store.get_many_by_fqn(connection, fqns, for_update=True)
    opened = {fqn: kind.open(doc, caller.cipher) for fqn, doc in stored.items()}
    current = dict(opened)

    # Every version an item replaces, those made earlier in this batch included, so that
    # the history has no gaps.
    history: list[Doc] = []
    outcomes: list[tuple[Any, Prepared, str]] = []
    # The event of each item that changed something, in the order of the items.
    changes: list[tuple[str, Doc]] = []
    for item, prepared in valid:
        try:
            change = _apply(connection, kind, current, history, prepared, caller, actor, override)
        except ApiError as exc:
            result.fail(kind, item, exc)
            continue
        outcomes.append((item, prepared, change))
        doc = current[prepared.fqn]
        if change == CREATED:
            changes.append((prepared.fqn, core.change_event(kind, CREATED, doc, caller)))
        elif change == UPDATED:
            changes.append((prepared.fqn, core.versioned_event(kind, UPDATED, doc, caller)))

    seal = kind.seal
    new = {p.fqn for _, p, change in outcomes if change == CREATED}
    # Updated, or changed only where no version records it (a source fingerprint).
    changed = {fqn for fqn in stored if current[fqn] is not opened[fqn]}
    # New entities go in with their final state of this batch.
    lost = new - kind.store.add_many(
        connection,
        [core.stored_form(kind, seal(current[fqn], caller.cipher)) for fqn in sorted(new)],
    )
    if kind.keeps_history:
        kind.store.add_versions(
            connection,
            [
                core.stored_form(kind, seal(doc, caller.cipher))
                for doc in history
                if doc["fullyQualifiedName"] not in lost
            ],
        )
    kind.store.replace_many(
        connection,
        [core.stored_form(kind, seal(current[fqn], caller.cipher)) for fqn in sorted(changed)],
        previous=[stored[fqn] for fqn in sorted(changed)],
    )
    # One INSERT for the events of the whole request; an item lost to a concurrent create
    # records its own, as the single PUT it becomes.
    events.record(connection, [event for fqn, event in changes if fqn not in lost])
    for item, prepared, change in outcomes:
        if prepared.fqn in lost:
            # Created by another request meanwhile (only possible where names are not locked):
            # apply this item as a single PUT would.
            try:
                change = core.upsert(
                    connection, kind, prepared, caller, actor, override=override
                ).change
            except ApiError as exc:
                result.fail(kind, item, exc)
                continue
        result.succeed(prepared, change)
    return result


def create_or_update_later(
    connection: Connection,
    kind: Kind[Any],
    items: Sequence[Any],
    *,
    caller: Caller,
    override: bool = False,
    max_running: int,
) -> jobs.Started:
    """PUT /bulk?async=true: the caller is checked now and the job recorded; the bulk
    itself is the returned work, run after the answer in a transaction of its own, and its
    BulkOperationResult becomes the job's `result`."""
    caller.actor(connection)
    doc = jobs.start_bulk(
        connection,
        job_id=caller.ids.new(),
        entity_type=kind.entity_type,
        items=len(items),
        override_metadata=override,
        created_by=caller.principal.name,
        now_ms=caller.now_ms,
        max_running=max_running,
    )
    kept = list(items)

    def work(later: Connection, now_ms: int) -> Doc:
        result = create_or_update_many(
            later, kind, kept, caller=replace(caller, now_ms=now_ms), override=override
        )
        return result.to_json()

    return jobs.Started(doc=doc, work=work)


def _apply(
    connection: Connection,
    kind: Kind[Any],
    current: dict[str, Doc],
    history: list[Doc],
    prepared: Prepared,
    caller: Caller,
    actor: Actor,
    override: bool,
) -> str:
    """Apply one item to the batch's current documents (in clear); return its change."""
    original = current.get(prepared.fqn)
    if original is None:
        core.authorize(connection, kind, actor, [Operation.Create], None)
        current[prepared.fqn] = core.new_doc(kind, prepared, caller)
        return CREATED
    core.check_update(connection, kind, actor, original, prepared)
    if core.unchanged_at_source(kind, original, prepared):
        return NO_CHANGE
    merged = core.merged(connection, kind, original, prepared, actor, override=override)
    updated = core.next_version(kind, original, merged, caller)
    if updated is None:
        if merged != original:
            # Only what no version records changed: kept without a new version.
            current[prepared.fqn] = merged
        return NO_CHANGE
    history.append(original)
    current[prepared.fqn] = updated
    return UPDATED
