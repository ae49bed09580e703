"""Owners, domains and tags as other resources refer to them: checked, resolved, refreshed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import Connection

from mlmodel_emulator.common.names import quote_name
from mlmodel_emulator.entities.answers import by_name, href, reference
from mlmodel_emulator.entities.store import Store
from mlmodel_emulator.errors import BadRequest, EntityNotFound
from mlmodel_emulator.governance import repository

__all__ = [
    "domain_id_by_fqn",
    "href",
    "refresh_references",
    "refresh_tags",
    "resolve_domain_references",
    "resolve_domains",
    "resolve_follower",
    "resolve_owners",
    "resolve_tags",
]

Doc = dict[str, Any]

# Every function takes the caller's Connection and costs one statement per entity type, whatever
# the number of references. References come back without `href`: the caller, which knows the
# request's base URL, adds it with href(base_url, ref["type"], ref["id"]).

_STORES: Final[Mapping[str, Store]] = {
    "user": repository.users,
    "team": repository.teams,
    "domain": repository.domains,
}
# tagLabel.json's defaults.
_LABEL_DEFAULTS: Final[Mapping[str, str]] = {
    "source": "Classification",
    "labelType": "Manual",
    "state": "Confirmed",
}
# What a label copies from its tag (TagLabelUtil.applyTagCommonFields).
_TAG_FIELDS: Final = ("name", "displayName", "description", "style")


def _ids_of(refs: Sequence[Doc], entity_type: str) -> set[str]:
    return {str(ref["id"]).lower() for ref in refs if ref.get("type") == entity_type}


def resolve_owners(connection: Connection, refs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Owners as EntityRepository.validateOwners checks them, in the order given.

    A team must exist and be of type Group; a user must exist (soft-deleted ones count,
    as OpenMetadata reads owners with Include.ALL); no other type can own. Returns
    `{id, type, name, fullyQualifiedName, displayName?, deleted}` references sorted by
    name, each owner once.
    """
    users = repository.users.get_many_by_id(connection, _ids_of(refs, "user"))
    teams = repository.teams.get_many_by_id(connection, _ids_of(refs, "team"))
    owners: dict[tuple[str, str], Doc] = {}
    for ref in refs:
        entity_type, entity_id = ref.get("type"), str(ref.get("id"))
        if entity_type == "team":
            team = teams.get(entity_id.lower())
            if team is None:
                raise EntityNotFound("team", entity_id)
            if team["teamType"] != "Group":
                raise BadRequest(
                    f"Team of type {team['teamType']} can't own entities. "
                    "Only Team of type Group can own entities."
                )
            owners[("team", team["id"])] = reference(team, "team")
        elif entity_type == "user":
            user = users.get(entity_id.lower())
            if user is None:
                raise EntityNotFound("user", entity_id)
            owners[("user", user["id"])] = reference(user, "user")
        else:
            raise BadRequest(
                f"Entity of type {entity_type} can't be the owner. "
                "Only Team of type Group or a User can own entities."
            )
    return by_name(owners.values())


def resolve_domains(connection: Connection, fqns: list[str]) -> list[dict[str, Any]]:
    """Domains by FQN, as a create request names them; each must exist and not be deleted.

    A name holding a dot is also tried quoted, as GET /domains/name/{fqn} does. Returns
    `{id, type: "domain", name, fullyQualifiedName, displayName?, deleted}` references in
    the order given, each domain once.
    """
    found = repository.domains.get_many_by_fqn(
        connection, {candidate for fqn in fqns for candidate in (fqn, quote_name(fqn))}
    )
    domains: dict[str, Doc] = {}
    for fqn in fqns:
        doc = found.get(fqn) or found.get(quote_name(fqn))
        if doc is None or doc["deleted"]:
            raise EntityNotFound("domain", fqn)
        domains.setdefault(doc["id"], reference(doc, "domain"))
    return list(domains.values())


def patched_owners(connection: Connection, owners: Sequence[Any] | None) -> list[dict[str, Any]]:
    """The owners a PATCH sets (its model's references), resolved as a create request's are."""
    refs = [owner.to_json_dict() for owner in owners or []]
    return resolve_owners(connection, refs) if refs else []


def patched_domains(connection: Connection, domains: Sequence[Any] | None) -> list[dict[str, Any]]:
    """The domains a PATCH sets (its model's references), each resolved to a domain."""
    refs = [domain.to_json_dict() for domain in domains or []]
    return resolve_domain_references(connection, refs) if refs else []


def resolve_domain_references(
    connection: Connection, refs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Domains by reference, as a patched entity holds them; each must be a domain that
    exists and is not deleted. Returns references in the order given, each domain once."""
    found = repository.domains.get_many_by_id(connection, _ids_of(refs, "domain"))
    domains: dict[str, Doc] = {}
    for ref in refs:
        if ref.get("type") != "domain":
            raise BadRequest(f"Entity of type {ref.get('type')} can't be a domain")
        doc = found.get(str(ref.get("id")).lower())
        if doc is None or doc["deleted"]:
            raise EntityNotFound("domain", str(ref.get("id")))
        domains.setdefault(doc["id"], reference(doc, "domain"))
    return list(domains.values())


def domain_id_by_fqn(connection: Connection, fqn: str) -> str:
    """The id of a domain that is not deleted, for a `?domain=<fqn>` list filter (404 else)."""
    (domain,) = resolve_domains(connection, [fqn])
    return str(domain["id"])


def _label(label: Mapping[str, Any]) -> Doc:
    """A tag label with tagLabel.json's defaults filled in and null fields left out."""
    filled = {key: value for key, value in label.items() if value is not None}
    for key, default in _LABEL_DEFAULTS.items():
        filled.setdefault(key, default)
    return filled


def _from_tag(label: Doc, tag: Doc) -> Doc:
    """The label with its tag's name, displayName, description and style (or without)."""
    copied = {key: value for key, value in label.items() if key not in _TAG_FIELDS}
    copied.update({key: tag[key] for key in _TAG_FIELDS if tag.get(key) is not None})
    return copied


def resolve_tags(connection: Connection, labels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tag labels checked as EntityRepository.validateTags does, then filled from their tags.

    In this order: every tag must exist and not be deleted (404; a Glossary label is a
    404 for its glossary term, since no glossary exists here); no two labels may share a
    mutually exclusive classification (400, naming the later label first, as
    checkMutuallyExclusive does); no tag, nor its classification, may be disabled (400).
    A tagFQN given twice counts once. Returns the labels sorted by tagFQN.
    """
    unique: dict[str, Doc] = {}
    for label in labels:
        filled = _label(label)
        unique.setdefault(filled["tagFQN"], filled)
    wanted = [fqn for fqn, label in unique.items() if label["source"] != "Glossary"]
    tags = repository.tags.get_many_by_fqn(connection, wanted)
    for fqn, label in unique.items():
        if label["source"] == "Glossary":
            raise EntityNotFound("glossaryTerm", fqn)
        tag = tags.get(fqn)
        if tag is None or tag["deleted"]:
            raise EntityNotFound("tag", fqn)
    parents = repository.classifications.get_many_by_id(
        connection, {tag["classification"]["id"] for tag in tags.values()}
    )

    seen: dict[str, str] = {}
    for fqn in unique:
        parent = parents[tags[fqn]["classification"]["id"]]
        if parent["id"] in seen and parent.get("mutuallyExclusive"):
            raise BadRequest(
                f"Tag labels {fqn} and {seen[parent['id']]} are mutually exclusive "
                "and can't be assigned together"
            )
        seen[parent["id"]] = fqn
    for fqn in unique:
        tag = tags[fqn]
        if tag.get("disabled") or parents[tag["classification"]["id"]].get("disabled"):
            raise BadRequest(f"Tag label {fqn} is disabled and can't be assigned to a data asset.")
    return sorted(
        (_from_tag(label, tags[fqn]) for fqn, label in unique.items()),
        key=lambda label: label["tagFQN"],
    )


def refresh_references(connection: Connection, refs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored user, team and domain references, as their entities are now.

    name, fullyQualifiedName, displayName and deleted are read again by id; a reference
    whose entity is gone (hard-deleted) is left out. Other references, and the order, are
    kept.
    """
    current = {
        entity_type: store.get_many_by_id(connection, _ids_of(refs, entity_type))
        for entity_type, store in _STORES.items()
    }
    refreshed: list[Doc] = []
    for ref in refs:
        docs = current.get(ref.get("type", ""))
        if docs is None:
            refreshed.append(ref)
            continue
        doc = docs.get(str(ref["id"]).lower())
        if doc is not None:
            now = reference(doc, ref["type"])
            kept = {key: value for key, value in ref.items() if key != "displayName"}
            refreshed.append({**kept, **now})
    return refreshed


def refresh_tags(connection: Connection, labels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored tag labels, as their tags are now.

    name, displayName, description and style are read again by tagFQN; a label whose tag
    is gone (hard-deleted) is left out. Other label fields, Glossary labels and the order
    are kept.
    """
    classified = [label["tagFQN"] for label in labels if label.get("source") != "Glossary"]
    tags = repository.tags.get_many_by_fqn(connection, classified)
    refreshed: list[Doc] = []
    for label in labels:
        if label.get("source") == "Glossary":
            refreshed.append(label)
        elif label["tagFQN"] in tags:
            refreshed.append(_from_tag(label, tags[label["tagFQN"]]))
    return refreshed


def resolve_follower(connection: Connection, user_id: str) -> dict[str, Any]:
    """The user a follower change names, as a reference; 404 unless it exists undeleted.

    EntityRepository.addFollower and deleteFollower read the user with Include.NON_DELETED,
    so a soft-deleted user is not found either.
    """
    user = repository.users.get_by_id(connection, user_id.lower())
    if user is None or user["deleted"]:
        raise EntityNotFound("user", user_id)
    return reference(user, "user")
