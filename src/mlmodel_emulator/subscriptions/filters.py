"""Which change events a subscription sends: its resources and the filters of its input,
checked when it is written and applied to each event (pure: JSON documents only).

The filter names and their argument names are those of OpenMetadata's alert catalog
(NotificationFilterOperation and its conditions: matchAnyEventType(${eventTypeList}),
matchAnyEntityFqn(${fqnList}), matchUpdatedBy(${updateByUserList})).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Final

from mlmodel_emulator.errors import BadRequest

Doc = dict[str, Any]

ALL: Final = "all"

# Each filter evaluated here, the argument it reads, and the event field it matches.
FILTERS: Final[Mapping[str, tuple[str, str]]] = {
    "filterByEventType": ("eventTypeList", "eventType"),
    "filterByFqn": ("fqnList", "entityFullyQualifiedName"),
    "filterByUpdaterName": ("updateByUserList", "userName"),
}


def check_resources(resources: list[str], known: Collection[str]) -> None:
    """Every resource is an entity type this server has, or "all"."""
    for resource in resources:
        if resource != ALL and resource not in known:
            raise BadRequest(
                f"Resource {resource} is not supported; use all or one of "
                f"{', '.join(sorted(known))}"
            )


def check_filters(filters: list[Doc], actions: list[Doc]) -> None:
    """Only filters this server evaluates, each with its own argument; no actions."""
    if actions:
        raise BadRequest("input.actions is not supported: only input.filters are evaluated")
    for item in filters:
        name = item["name"]
        if name not in FILTERS:
            raise BadRequest(
                f"Filter {name} is not supported; supported filters: {', '.join(FILTERS)}"
            )
        argument = FILTERS[name][0]
        for given in item.get("arguments", []):
            if given["name"] != argument:
                raise BadRequest(
                    f"Filter {name} takes the argument {argument}, not {given['name']}"
                )


def matches(resources: list[str], filters: list[Doc], event: Doc) -> bool:
    """Whether a subscription sends this event: its entity type is among the resources
    (or they say all), and every filter agrees (include: the event's value is among the
    argument's; exclude: it is not)."""
    if ALL not in resources and event.get("entityType") not in resources:
        return False
    for item in filters:
        argument, field = FILTERS[item["name"]]
        wanted = {
            value
            for given in item.get("arguments", [])
            if given["name"] == argument
            for value in given.get("input", [])
        }
        found = event.get(field) in wanted
        if found != (item.get("effect", "include") == "include"):
            return False
    return True
