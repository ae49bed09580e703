"""common.api.storable_problem: what neither database can store, found by orjson or a walk."""

from __future__ import annotations

from typing import Any

import pytest

from mlmodel_emulator.common import api

FINE: list[Any] = [
    {"name": "svc", "tags": [], "n": 2**63 - 1, "m": -(2**63)},
    {"literal": "\\u0000", "nested": [{"a": [1.5, None, True]}]},
    {"deep": [[[2**53]]]},
    ("a tuple \x00 is not walked",),
    "",
]
PROBLEMS: list[tuple[Any, str]] = [
    ({"a": {"b": "x\x00y"}}, "query param a.b must not contain the NUL character"),
    ({"k\x00": 1}, "query param body must not contain the NUL character"),
    ({"a": ["ok", "\ud800"]}, "query param a[1] must not contain unpaired surrogates"),
    ({"big": [2**63]}, "query param big[0] must be an integer within 64 bits"),
    ({"small": -(2**63) - 1}, "query param small must be an integer within 64 bits"),
]


@pytest.mark.parametrize("value", FINE)
def test_storable_problem_none_for_what_both_databases_store(value: Any) -> None:
    assert api.storable_problem(value) is None


@pytest.mark.parametrize(("value", "message"), PROBLEMS)
def test_storable_problem_names_the_problem_and_its_path(value: Any, message: str) -> None:
    assert api.storable_problem(value) == message


def test_storable_problem_fine_value_is_not_walked_in_python(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(value: Any, path: str) -> str | None:
        raise AssertionError("walked in Python")

    monkeypatch.setattr(api, "_problem", refuse)

    assert api.storable_problem({"name": "svc", "connection": {"config": {"n": 1}}}) is None
