"""PUT /bulk: many creates or updates of one kind, each item validated and applied on its
own, in a fixed number of statements whatever the size of the request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection

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
    core.check_storable(request)
    return request


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
