"""Unit tests of version arithmetic and change descriptions (common/versioning.py)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from mlmodel_emulator.common.versioning import (
    FIRST_VERSION,
    NEW_CONNECTION,
    OLD_CONNECTION,
    FieldSpec,
    diff,
    from_wire,
    next_version,
    to_wire,
)

FIELDS = (
    FieldSpec("description", "scalar"),
    FieldSpec("displayName", "scalar"),
    FieldSpec("deleted", "scalar"),
    FieldSpec("owners", "list"),
    FieldSpec("tags", "list", key="tagFQN"),
    FieldSpec("style", "json"),
    FieldSpec("connection", "secret"),
)

USER_A = {"id": "0b5c5a3e-0000-4000-8000-00000000000a", "type": "user", "name": "alice"}
USER_B = {"id": "0b5c5a3e-0000-4000-8000-00000000000b", "type": "user", "name": "bob"}
PII = {"tagFQN": "PII.Sensitive", "source": "Classification", "labelType": "Manual"}
TIER = {"tagFQN": "Tier.Tier1", "source": "Classification", "labelType": "Manual"}
MLFLOW = {"config": {"type": "Mlflow", "trackingUri": "http://a:5000", "registryUri": "x"}}


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _change(
    *,
    added: list[dict[str, Any]] | None = None,
    updated: list[dict[str, Any]] | None = None,
    deleted: list[dict[str, Any]] | None = None,
    previous: float = 0.1,
) -> dict[str, Any]:
    return {
        "fieldsAdded": added or [],
        "fieldsUpdated": updated or [],
        "fieldsDeleted": deleted or [],
        "previousVersion": previous,
    }


# ---------------------------------------------------------------------------- arithmetic


def test_first_version_is_one_tenth() -> None:
    assert to_wire(FIRST_VERSION) == 0.1


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(0.1, 0.2, id="first_bump"),
        pytest.param(0.2, 0.3, id="float_sum_would_drift"),
        pytest.param(0.9, 1.0, id="tenths_carry_into_units"),
        pytest.param(1.0, 1.1, id="after_a_whole_number"),
        pytest.param(9.9, 10.0, id="into_two_digits"),
    ],
)
def test_next_version_any_version_adds_exactly_one_tenth(before: float, after: float) -> None:
    bumped = to_wire(next_version(from_wire(before)))

    assert bumped == after
    assert repr(bumped) == repr(after)


def test_next_version_hundred_bumps_from_first_gives_ten_point_one() -> None:
    tenths = FIRST_VERSION

    for _ in range(100):
        tenths = next_version(tenths)

    assert tenths == 101
    assert to_wire(tenths) == 10.1
    assert repr(to_wire(tenths)) == "10.1"


@pytest.mark.parametrize(
    ("tenths", "text"),
    [
        pytest.param(1, "0.1", id="first"),
        pytest.param(3, "0.3", id="three_tenths"),
        pytest.param(10, "1.0", id="one"),
        pytest.param(11, "1.1", id="one_point_one"),
        pytest.param(101, "10.1", id="ten_point_one"),
        pytest.param(12345, "1234.5", id="large"),
    ],
)
def test_to_wire_whole_tenths_gives_shortest_decimal_float(tenths: int, text: str) -> None:
    assert repr(to_wire(tenths)) == text


@pytest.mark.parametrize(
    ("value", "tenths"),
    [
        pytest.param(0.1, 1, id="float_first"),
        pytest.param("0.1", 1, id="string_first"),
        pytest.param("0.10", 1, id="trailing_zero"),
        pytest.param(0.3, 3, id="float_three_tenths"),
        pytest.param(1.0, 10, id="float_one"),
        pytest.param(1, 10, id="int_one"),
        pytest.param("1", 10, id="string_int"),
        pytest.param("1.0", 10, id="string_one"),
        pytest.param(10.1, 101, id="float_ten_point_one"),
        pytest.param("10.1", 101, id="string_ten_point_one"),
    ],
)
def test_from_wire_multiple_of_a_tenth_returns_tenths(value: float | str, tenths: int) -> None:
    assert from_wire(value) == tenths


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param(" ", id="blank"),
        pytest.param("abc", id="word"),
        pytest.param("0.1.1", id="two_dots"),
        pytest.param("1,0", id="comma"),
        pytest.param("0x1", id="hex"),
        pytest.param("0.15", id="hundredths"),
        pytest.param(0.05, id="float_below_a_tenth"),
        pytest.param("0", id="zero"),
        pytest.param(0, id="int_zero"),
        pytest.param("-0.1", id="negative"),
        pytest.param("NaN", id="nan"),
        pytest.param("sNaN", id="signalling_nan"),
        pytest.param("Infinity", id="infinity"),
        pytest.param("-Infinity", id="negative_infinity"),
        pytest.param("1e999999999", id="exponent_overflow"),
        pytest.param("1e-999999999", id="exponent_underflow"),
    ],
)
def test_from_wire_invalid_version_raises_value_error(value: float | str) -> None:
    with pytest.raises(ValueError, match="Invalid version"):
        from_wire(value)


def test_from_wire_every_wire_version_round_trips() -> None:
    tenths = range(1, 2001)

    from_floats = [from_wire(to_wire(t)) for t in tenths]
    from_texts = [from_wire(str(to_wire(t))) for t in tenths]

    assert from_floats == list(tenths)
    assert from_texts == list(tenths)


# ---------------------------------------------------------------------------- diff


def test_connection_placeholders_are_json_quoted_strings() -> None:
    assert OLD_CONNECTION == '"old-encrypted-value"'
    assert NEW_CONNECTION == '"new-encrypted-value"'


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param({}, id="empty"),
        pytest.param(
            {
                "description": "d",
                "displayName": "D",
                "deleted": False,
                "owners": [USER_A],
                "tags": [PII],
                "style": {"color": "#fff"},
                "connection": MLFLOW,
            },
            id="every_field",
        ),
    ],
)
def test_diff_identical_documents_returns_none(doc: dict[str, Any]) -> None:
    assert diff(doc, dict(doc), FIELDS, previous_version=0.1) is None


def test_diff_untracked_field_changed_returns_none() -> None:
    assert diff({"href": "a"}, {"href": "b"}, FIELDS, previous_version=0.1) is None


def test_diff_missing_key_and_null_are_the_same_returns_none() -> None:
    assert diff({}, {"description": None, "owners": None}, FIELDS, previous_version=0.1) is None


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            None,
            "d",
            _change(added=[{"name": "description", "newValue": "d"}]),
            id="null_to_text_added",
        ),
        pytest.param(
            "d",
            "e",
            _change(updated=[{"name": "description", "oldValue": "d", "newValue": "e"}]),
            id="text_to_text_updated",
        ),
        pytest.param(
            "d",
            None,
            _change(deleted=[{"name": "description", "oldValue": "d"}]),
            id="text_to_null_deleted",
        ),
        pytest.param(
            "",
            "d",
            _change(updated=[{"name": "description", "oldValue": "", "newValue": "d"}]),
            id="empty_to_text_updated",
        ),
        pytest.param(
            "d",
            "",
            _change(updated=[{"name": "description", "oldValue": "d", "newValue": ""}]),
            id="text_to_empty_updated",
        ),
        pytest.param(
            None,
            "",
            _change(added=[{"name": "description", "newValue": ""}]),
            id="null_to_empty_added",
        ),
        pytest.param(
            "",
            None,
            _change(deleted=[{"name": "description", "oldValue": ""}]),
            id="empty_to_null_deleted",
        ),
    ],
)
def test_diff_scalar_change_is_recorded_with_raw_values(
    old: str | None, new: str | None, expected: dict[str, Any]
) -> None:
    result = diff({"description": old}, {"description": new}, FIELDS, previous_version=0.1)

    assert result == expected


def test_diff_boolean_scalar_keeps_json_booleans() -> None:
    result = diff({"deleted": False}, {"deleted": True}, FIELDS, previous_version=0.4)

    assert result == _change(
        updated=[{"name": "deleted", "oldValue": False, "newValue": True}], previous=0.4
    )


def test_diff_list_items_gained_are_json_text_in_fields_added() -> None:
    result = diff({"owners": None}, {"owners": [USER_A]}, FIELDS, previous_version=0.1)

    assert result == _change(added=[{"name": "owners", "newValue": _json([USER_A])}])
    assert orjson.loads(result["fieldsAdded"][0]["newValue"]) == [USER_A]


def test_diff_list_items_lost_are_json_text_in_fields_deleted() -> None:
    result = diff({"owners": [USER_A, USER_B]}, {"owners": [USER_B]}, FIELDS, previous_version=0.1)

    assert result == _change(deleted=[{"name": "owners", "oldValue": _json([USER_A])}])


def test_diff_list_replaced_records_added_and_deleted_items() -> None:
    result = diff({"owners": [USER_A]}, {"owners": [USER_B]}, FIELDS, previous_version=0.2)

    assert result == _change(
        added=[{"name": "owners", "newValue": _json([USER_B])}],
        deleted=[{"name": "owners", "oldValue": _json([USER_A])}],
        previous=0.2,
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param([USER_A, USER_B], [USER_B, USER_A], id="reordered"),
        pytest.param([USER_A], [{**USER_A, "name": "renamed", "href": "h"}], id="same_id"),
        pytest.param(None, [], id="null_to_empty"),
        pytest.param([], None, id="empty_to_null"),
    ],
)
def test_diff_list_same_ids_returns_none(
    old: list[dict[str, Any]] | None, new: list[dict[str, Any]] | None
) -> None:
    assert diff({"owners": old}, {"owners": new}, FIELDS, previous_version=0.1) is None


def test_diff_tags_matched_by_tag_fqn_records_only_new_tag() -> None:
    relabelled = {**PII, "labelType": "Automated"}

    result = diff({"tags": [PII]}, {"tags": [relabelled, TIER]}, FIELDS, previous_version=0.1)

    assert result == _change(added=[{"name": "tags", "newValue": _json([TIER])}])


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            None,
            {"color": "#fff"},
            _change(added=[{"name": "style", "newValue": '{"color":"#fff"}'}]),
            id="added",
        ),
        pytest.param(
            {"color": "#fff"},
            {"color": "#000"},
            _change(
                updated=[
                    {
                        "name": "style",
                        "oldValue": '{"color":"#fff"}',
                        "newValue": '{"color":"#000"}',
                    }
                ]
            ),
            id="updated",
        ),
        pytest.param(
            {"color": "#fff"},
            None,
            _change(deleted=[{"name": "style", "oldValue": '{"color":"#fff"}'}]),
            id="deleted",
        ),
    ],
)
def test_diff_json_field_change_is_json_text(
    old: dict[str, Any] | None, new: dict[str, Any] | None, expected: dict[str, Any]
) -> None:
    assert diff({"style": old}, {"style": new}, FIELDS, previous_version=0.1) == expected


def test_diff_connection_changed_records_placeholders_not_config() -> None:
    changed = {"config": {**MLFLOW["config"], "trackingUri": "http://b:5000"}}

    result = diff({"connection": MLFLOW}, {"connection": changed}, FIELDS, previous_version=0.1)

    assert result == _change(
        updated=[
            {
                "name": "connection",
                "oldValue": '"old-encrypted-value"',
                "newValue": '"new-encrypted-value"',
            }
        ]
    )


def test_diff_connection_added_records_update_with_both_placeholders() -> None:
    # ServiceUpdater.updateConnection: recordChange("connection", "old-encrypted-value",
    # "new-encrypted-value", true): both values are non-null, so it is always an update.
    result = diff({}, {"connection": MLFLOW}, FIELDS, previous_version=0.1)

    assert result == _change(
        updated=[
            {
                "name": "connection",
                "oldValue": '"old-encrypted-value"',
                "newValue": '"new-encrypted-value"',
            }
        ]
    )


def test_diff_several_fields_each_list_sorted_by_name() -> None:
    original = {"style": {"color": "#fff"}, "displayName": "A", "description": "a"}
    updated = {
        "tags": [PII],
        "owners": [USER_A],
        "displayName": "B",
        "description": "b",
        "deleted": True,
    }

    result = diff(original, updated, FIELDS, previous_version=1.3)

    assert result is not None
    assert [c["name"] for c in result["fieldsAdded"]] == ["deleted", "owners", "tags"]
    assert [c["name"] for c in result["fieldsUpdated"]] == ["description", "displayName"]
    assert [c["name"] for c in result["fieldsDeleted"]] == ["style"]
    assert result["previousVersion"] == 1.3


def test_diff_inputs_are_not_mutated() -> None:
    original = {"owners": [USER_A], "description": "a"}
    updated = {"owners": [USER_B], "description": "b"}
    snapshot = orjson.dumps([original, updated])

    diff(original, updated, FIELDS, previous_version=0.1)

    assert orjson.dumps([original, updated]) == snapshot
