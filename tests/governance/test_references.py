"""governance.references: the checks and lookups the ML model service code relies on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from mlmodel_emulator.errors import ApiError, BadRequest, EntityNotFound
from mlmodel_emulator.governance import references, repository
from tests.governance.conftest import DOMAINS_URL, TAGS_URL, TEAMS_URL, USERS_URL, tag_request

UNKNOWN_ID = "3f2a1c7e-0000-4000-8000-000000000000"


def _raises(error_type: type[ApiError], message: str):
    return pytest.raises(error_type, match=f"^{re.escape(message)}")


@contextmanager
def _statements(connection) -> Iterator[list[str]]:
    """The SQL statements a block sends (SQLite's own BEGIN left out). On SQLite they are
    read from sqlite3's trace, which also sees the statements that skip SQLAlchemy
    (statements.Direct)."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        if statement != "BEGIN":
            seen.append(statement)

    if connection.dialect.name == "sqlite":
        raw = connection.connection.driver_connection
        raw.set_trace_callback(lambda statement: record(None, None, statement))
        try:
            yield seen
        finally:
            raw.set_trace_callback(None)
        return
    engine = connection.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _ref(entity, entity_type):
    ref = {
        "id": entity["id"],
        "type": entity_type,
        "name": entity["name"],
        "fullyQualifiedName": entity["fullyQualifiedName"],
        # Domain answers leave `deleted` out (the client's Domain has none); references keep it.
        "deleted": entity.get("deleted", False),
    }
    if "displayName" in entity:
        ref["displayName"] = entity["displayName"]
    return ref


# ---------------------------------------------------------------------------- owners


def test_resolve_owners_returns_references_sorted_by_name_once_each(make, connection):
    zed, amy = make("user", name="zed", displayName="Zed"), make("user", name="amy")
    team = make("team", name="mid")
    refs = [
        {"id": zed["id"], "type": "user"},
        {"id": team["id"], "type": "team"},
        {"id": amy["id"].upper(), "type": "user"},
        {"id": zed["id"], "type": "user", "name": "stale"},
    ]

    with _statements(connection) as statements:
        owners = references.resolve_owners(connection, refs)

    assert owners == [_ref(amy, "user"), _ref(team, "team"), _ref(zed, "user")]
    assert len(statements) == 2


@pytest.mark.parametrize("team_type", ["Department", "Division", "BusinessUnit", "Organization"])
def test_resolve_owners_team_not_group_is_400(make, connection, team_type):
    team = make("team", name="t", teamType=team_type)

    with _raises(
        BadRequest,
        f"Team of type {team_type} can't own entities. Only Team of type Group can own entities.",
    ):
        references.resolve_owners(connection, [{"id": team["id"], "type": "team"}])


@pytest.mark.parametrize("owner_type", ["user", "team"])
def test_resolve_owners_unknown_is_404(connection, owner_type):
    with _raises(EntityNotFound, f"{owner_type} instance for {UNKNOWN_ID} not found"):
        references.resolve_owners(connection, [{"id": UNKNOWN_ID, "type": owner_type}])


@pytest.mark.parametrize("owner_type", ["domain", "mlmodelService", "bot"])
def test_resolve_owners_other_type_is_400(connection, owner_type):
    with _raises(
        BadRequest,
        f"Entity of type {owner_type} can't be the owner. "
        "Only Team of type Group or a User can own entities.",
    ):
        references.resolve_owners(connection, [{"id": UNKNOWN_ID, "type": owner_type}])


def test_resolve_owners_reports_the_first_problem_in_order(connection):
    refs = [{"id": UNKNOWN_ID, "type": "user"}, {"id": UNKNOWN_ID, "type": "domain"}]

    with _raises(EntityNotFound, f"user instance for {UNKNOWN_ID} not found"):
        references.resolve_owners(connection, refs)


def test_resolve_owners_soft_deleted_user_still_owns(client, auth_headers, make, connection):
    jane = make("user", name="jane")
    client.delete(f"{USERS_URL}/{jane['id']}", headers=auth_headers)

    (owner,) = references.resolve_owners(connection, [{"id": jane["id"], "type": "user"}])

    assert owner["deleted"] is True


def test_resolve_owners_empty_list_sends_no_statement(connection):
    with _statements(connection) as statements:
        assert references.resolve_owners(connection, []) == []

    assert statements == []


# ---------------------------------------------------------------------------- domains


def test_resolve_domains_returns_references_in_order_once_each(make, connection):
    sales, emea = make("domain", name="Sales"), make("domain", name="sales.emea")

    domains = references.resolve_domains(connection, ["sales.emea", "Sales", '"sales.emea"'])

    assert domains == [_ref(emea, "domain"), _ref(sales, "domain")]


def test_resolve_domains_unknown_or_deleted_is_404(client, auth_headers, make, connection):
    gone = make("domain", name="Gone")
    client.delete(f"{DOMAINS_URL}/{gone['id']}", headers=auth_headers)

    with _raises(EntityNotFound, "domain instance for Nope not found"):
        references.resolve_domains(connection, ["Nope"])
    with _raises(EntityNotFound, "domain instance for Gone not found"):
        references.resolve_domains(connection, ["Gone"])


def test_domain_id_by_fqn(make, connection):
    sales = make("domain", name="Sales")

    assert references.domain_id_by_fqn(connection, "Sales") == sales["id"]
    with _raises(EntityNotFound, "domain instance for Nope not found"):
        references.domain_id_by_fqn(connection, "Nope")


# ---------------------------------------------------------------------------- tags


def test_resolve_tags_fills_from_tags_with_defaults_sorted_once_each(make, connection):
    gold = make("tag", name="Gold", displayName="Gold!", style={"color": "#FFD700"})
    labels = [
        {"tagFQN": "Quality.Gold", "name": "stale", "description": "stale"},
        {"tagFQN": "PII.Sensitive", "labelType": "Automated", "reason": "scanner"},
        {"tagFQN": "Quality.Gold", "state": "Suggested"},
    ]

    with _statements(connection) as statements:
        resolved = references.resolve_tags(connection, labels)

    assert resolved == [
        {
            "tagFQN": "PII.Sensitive",
            "name": "Sensitive",
            "description": (
                "PII which if lost, compromised, or disclosed without authorization, could "
                "result in substantial harm, embarrassment, inconvenience, or unfairness to an "
                "individual."
            ),
            "source": "Classification",
            "labelType": "Automated",
            "state": "Confirmed",
            "reason": "scanner",
        },
        {
            "tagFQN": "Quality.Gold",
            "name": "Gold",
            "displayName": "Gold!",
            "description": gold["description"],
            "style": {"color": "#FFD700"},
            "source": "Classification",
            "labelType": "Manual",
            "state": "Confirmed",
        },
    ]
    assert len(statements) == 2


def test_resolve_tags_unknown_is_404_and_glossary_is_404_of_its_term(connection):
    with _raises(EntityNotFound, "tag instance for invalidTag not found"):
        references.resolve_tags(connection, [{"tagFQN": "invalidTag"}])
    with _raises(EntityNotFound, "glossaryTerm instance for Glossary.Term not found"):
        references.resolve_tags(connection, [{"tagFQN": "Glossary.Term", "source": "Glossary"}])


def test_resolve_tags_soft_deleted_tag_is_404(client, auth_headers, make, connection):
    gold = make("tag", name="Gold")
    client.delete(f"{TAGS_URL}/{gold['id']}", headers=auth_headers)

    with _raises(EntityNotFound, "tag instance for Quality.Gold not found"):
        references.resolve_tags(connection, [{"tagFQN": "Quality.Gold"}])


def test_resolve_tags_two_of_a_mutually_exclusive_classification_is_400(connection):
    labels = [{"tagFQN": "Tier.Tier1"}, {"tagFQN": "PII.None"}, {"tagFQN": "Tier.Tier3"}]

    with _raises(
        BadRequest,
        "Tag labels Tier.Tier3 and Tier.Tier1 are mutually exclusive "
        "and can't be assigned together",
    ):
        references.resolve_tags(connection, labels)


def test_resolve_tags_two_of_a_plain_classification_are_fine(make, connection):
    make("tag", name="Gold")
    make("tag", name="Silver")

    resolved = references.resolve_tags(
        connection, [{"tagFQN": "Quality.Silver"}, {"tagFQN": "Quality.Gold"}]
    )

    assert [label["tagFQN"] for label in resolved] == ["Quality.Gold", "Quality.Silver"]


def test_resolve_tags_disabled_tag_or_classification_is_400(client, auth_headers, make, connection):
    make("tag", name="Gold", disabled=True)
    make("tag", name="Blue", classification="Colour")
    client.put(
        "/api/v1/classifications",
        json={"name": "Colour", "description": "x", "disabled": True},
        headers=auth_headers,
    )

    for fqn in ("Quality.Gold", "Colour.Blue"):
        with _raises(
            BadRequest, f"Tag label {fqn} is disabled and can't be assigned to a data asset."
        ):
            references.resolve_tags(connection, [{"tagFQN": fqn}])


def test_resolve_tags_checks_existence_then_exclusivity_then_disabled(make, connection):
    make("tag", name="Off", classification="Tier2Like", disabled=True)

    with _raises(EntityNotFound, "tag instance for Nope.Nope not found"):
        references.resolve_tags(
            connection,
            [{"tagFQN": "Tier.Tier1"}, {"tagFQN": "Tier.Tier2"}, {"tagFQN": "Nope.Nope"}],
        )
    with _raises(BadRequest, "Tag labels Tier.Tier2 and Tier.Tier1 are mutually exclusive"):
        references.resolve_tags(
            connection,
            [{"tagFQN": "Tier2Like.Off"}, {"tagFQN": "Tier.Tier1"}, {"tagFQN": "Tier.Tier2"}],
        )


# ---------------------------------------------------------------------------- refreshing


def test_refresh_references_reads_current_names_and_drops_hard_deleted(
    client, auth_headers, make, connection
):
    jane, john = make("user", name="jane"), make("user", name="john")
    team, sales = make("team", name="ds"), make("domain", name="Sales")
    stored = [
        {**_ref(jane, "user"), "displayName": "old"},
        _ref(team, "team"),
        _ref(john, "user"),
        _ref(sales, "domain"),
        {"id": UNKNOWN_ID, "type": "mlmodelService", "name": "svc"},
    ]
    client.put(USERS_URL, json={"name": "jane", "email": "jane@example.com"}, headers=auth_headers)
    client.put(TEAMS_URL, json={"name": "ds", "displayName": "Data Science"}, headers=auth_headers)
    client.delete(f"{USERS_URL}/{john['id']}?hardDelete=true", headers=auth_headers)
    client.delete(f"{DOMAINS_URL}/{sales['id']}", headers=auth_headers)

    with _statements(connection) as statements:
        refreshed = references.refresh_references(connection, stored)

    assert refreshed == [
        _ref(jane, "user"),
        {**_ref(team, "team"), "displayName": "Data Science"},
        {**_ref(sales, "domain"), "deleted": True},
        {"id": UNKNOWN_ID, "type": "mlmodelService", "name": "svc"},
    ]
    assert len(statements) == 3


def test_refresh_tags_reads_current_tag_fields_and_drops_hard_deleted(
    client, auth_headers, make, connection
):
    make("tag", name="Gold")
    silver = make("tag", name="Silver")
    stored = references.resolve_tags(
        connection,
        [{"tagFQN": "Quality.Gold", "labelType": "Derived"}, {"tagFQN": "Quality.Silver"}],
    )
    stored.append({"tagFQN": "Glossary.Term", "source": "Glossary", "name": "Term"})
    connection.rollback()
    client.put(TAGS_URL, json=tag_request("Gold", description="Shiny"), headers=auth_headers)
    client.delete(f"{TAGS_URL}/{silver['id']}?hardDelete=true", headers=auth_headers)

    refreshed = references.refresh_tags(connection, stored)

    assert refreshed == [
        {**stored[0], "description": "Shiny"},
        {"tagFQN": "Glossary.Term", "source": "Glossary", "name": "Term"},
    ]


# ---------------------------------------------------------------------------- users and teams


def test_get_user_by_name_returns_the_stored_document_any_case(connection):
    admin = repository.get_user_by_name(connection, "Admin")
    bot = repository.get_user_by_name(connection, "ingestion-bot")

    assert admin is not None
    assert bot is not None
    assert (admin["name"], admin["isAdmin"], admin["isBot"]) == ("admin", True, False)
    assert (bot["isAdmin"], bot["isBot"]) == (False, True)
    assert repository.get_user_by_name(connection, "nobody") is None


def test_team_ids_of_user_counts_both_sides_of_membership(client, auth_headers, make, connection):
    one, two = make("team", name="one"), make("team", name="two")
    jane = make("user", name="jane", teams=[one["id"]])
    client.put(TEAMS_URL, json={"name": "two", "users": [jane["id"]]}, headers=auth_headers)

    assert repository.team_ids_of_user(connection, jane["id"]) == {one["id"], two["id"]}
    assert repository.team_ids_of_user(connection, UNKNOWN_ID) == set()


def test_href_names_each_collection():
    base = "http://h/api"

    assert [references.href(base, kind, "x") for kind in ("user", "team", "domain")] == [
        "http://h/api/v1/users/x",
        "http://h/api/v1/teams/x",
        "http://h/api/v1/domains/x",
    ]
