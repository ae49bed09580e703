"""Entities as answered: references, hrefs, the fields asked for, masked secrets, ETags."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from mlmodel_emulator.auth.secrets import SecretCipher
from mlmodel_emulator.entities.kind import Doc, Kind
from mlmodel_emulator.errors import PreconditionFailed

# Where each entity type lives, for the href of entities and of references to them.
COLLECTIONS: Final[Mapping[str, str]] = {
    "user": "/v1/users",
    "team": "/v1/teams",
    "domain": "/v1/domains",
    "classification": "/v1/classifications",
    "tag": "/v1/tags",
    "mlmodelService": "/v1/services/mlmodelServices",
    "mlmodel": "/v1/mlmodels",
    "eventSubscription": "/v1/events/subscriptions",
}

# EntityRepository's text for a stale If-Match (PreconditionFailedException).
STALE_ENTITY: Final = "The entity has been modified by another user. Please refresh and retry."


def href(base_url: str, entity_type: str, entity_id: str) -> str:
    return f"{base_url}{COLLECTIONS[entity_type]}/{entity_id}"


def reference(doc: Doc, entity_type: str) -> Doc:
    """entityReference.json for a stored document, without href (answers add it)."""
    ref = {
        "id": doc["id"],
        "type": entity_type,
        "name": doc["name"],
        "fullyQualifiedName": doc["fullyQualifiedName"],
        "displayName": doc.get("displayName"),
        "deleted": doc["deleted"],
    }
    return {key: value for key, value in ref.items() if value is not None}


def by_name(refs: Iterable[Doc]) -> list[Doc]:
    return sorted(refs, key=lambda ref: (ref["name"], ref["id"]))


def with_href(ref: Doc, base_url: str) -> Doc:
    return {**ref, "href": href(base_url, ref["type"], ref["id"])}


def to_response(
    kind: Kind[Any],
    doc: Doc,
    *,
    fields: frozenset[str],
    base_url: str,
    cipher: SecretCipher | None = None,
    reveal_secrets: bool = False,
) -> Doc:
    """The entity as answered: relation fields only when asked for (as [] when empty), an
    absolute href on it and on each reference it holds, secrets masked unless the caller
    may see them (bots: shouldMaskPasswords)."""
    hidden = set(kind.unanswered_fields) | (kind.asked_fields() - fields)
    response = {key: value for key, value in doc.items() if key not in hidden}
    for name in kind.relation_fields:
        if name in fields:
            response.setdefault(name, [])
    for name in kind.reference_fields:
        value = response.get(name)
        if isinstance(value, list):
            response[name] = [with_href(ref, base_url) for ref in value]
        elif isinstance(value, dict):
            response[name] = with_href(value, base_url)
    response["href"] = href(base_url, kind.entity_type, doc["id"])
    return kind.present(response, cipher, reveal=reveal_secrets)


def etag(doc: Doc) -> str:
    """A strong ETag of the entity's state: its version and when it was last changed.

    The version alone cannot tell apart two PATCHes merged into one version; the time can.
    """
    return f'"{doc["version"]}-{doc["updatedAt"]}"'


def weak_etag(doc: Doc) -> str:
    """OpenMetadata's weak ETag, W/"<version>", as the official client's callers build it."""
    return f'W/"{doc["version"]}"'


def check_if_match(stored: Doc | None, if_match: str | None) -> None:
    """412 unless If-Match is absent, or names the stored entity's ETag, its weak
    W/"<version>", or * for any."""
    if if_match is None:
        return
    if stored is not None:
        tags = {tag.strip() for tag in if_match.split(",")}
        if tags & {"*", etag(stored), weak_etag(stored)}:
            return
    raise PreconditionFailed(STALE_ENTITY)
