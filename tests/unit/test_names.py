"""Unit tests of entity name checks and FQN quoting (common/names.py)."""

from __future__ import annotations

import pytest
from pydantic_core import PydanticCustomError

from mlmodel_emulator.common.names import (
    NAME_MAX_LENGTH,
    NAME_PATTERN,
    check_entity_name,
    quote_name,
)


@pytest.mark.parametrize(
    ("name", "fqn"),
    [
        pytest.param("mlflow", "mlflow", id="plain_kept"),
        pytest.param("my_svc-1", "my_svc-1", id="punctuation_without_dot_kept"),
        pytest.param("my.svc", '"my.svc"', id="dot_quoted"),
        pytest.param("mlmodelService_foo.bar", '"mlmodelService_foo.bar"', id="om_test_name"),
        pytest.param("a..b.", '"a..b."', id="many_dots_quoted_once"),
        pytest.param(".", '"."', id="only_a_dot"),
        pytest.param("ünï.côdé", '"ünï.côdé"', id="non_ascii_dotted"),
        pytest.param('"my.svc"', '"my.svc"', id="already_quoted_kept"),
        pytest.param('say "hi".now', 'say "hi".now', id="inner_quote_kept"),
        pytest.param('a"b', 'a"b', id="quote_without_dot_kept"),
        pytest.param("my svc", "my svc", id="space_kept"),
        pytest.param("", "", id="empty_kept"),
    ],
)
def test_quote_name_any_name_follows_entity_interface_util(name: str, fqn: str) -> None:
    assert quote_name(name) == fqn


def test_quote_name_quoted_fqn_is_a_fixed_point() -> None:
    fqn = quote_name("my.svc")

    assert quote_name(fqn) == fqn


def test_name_limits_match_basic_json_entity_name() -> None:
    assert NAME_MAX_LENGTH == 256
    assert NAME_PATTERN == "^((?!::).)*$"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("a", id="one_char"),
        pytest.param("x" * 256, id="max_length"),
        pytest.param("é" * 256, id="max_length_non_ascii"),
        pytest.param("a:b", id="single_colon"),
        pytest.param(":a:", id="colons_apart"),
        pytest.param("my.svc", id="dotted"),
        pytest.param("sp ace", id="space"),
    ],
)
def test_check_entity_name_valid_name_returns_it(name: str) -> None:
    assert check_entity_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("", id="empty"),
        pytest.param("x" * 257, id="one_too_long"),
        pytest.param("x" * 10_000, id="far_too_long"),
        # Bean validation's @Size counts UTF-16 code units: 129 emoji are 258 of them.
        pytest.param("😀" * 129, id="astral_chars_count_as_utf16_units"),
    ],
)
def test_check_entity_name_bad_length_raises_size_error(name: str) -> None:
    with pytest.raises(PydanticCustomError) as raised:
        check_entity_name(name)

    assert raised.value.message() == "size must be between 1 and 256"
    assert raised.value.context == {"min_length": 1, "max_length": 256}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("invalid::Name", id="om_test_name"),
        pytest.param("::", id="only_colons"),
        pytest.param("a:::b", id="three_colons"),
        pytest.param("trailing::", id="trailing"),
        pytest.param("::leading", id="leading"),
    ],
)
def test_check_entity_name_double_colon_raises_pattern_error(name: str) -> None:
    with pytest.raises(PydanticCustomError) as raised:
        check_entity_name(name)

    assert raised.value.type == "name_pattern"
    assert raised.value.message() == 'must match "^((?!::).)*$"'


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("a\nb", id="line_feed"),
        pytest.param("a\rb", id="carriage_return"),
        pytest.param("a\u2028b", id="line_separator"),
        pytest.param("\u2029", id="paragraph_separator"),
        pytest.param("ab\u0085", id="next_line"),
    ],
)
def test_check_entity_name_line_terminator_raises_pattern_error(name: str) -> None:
    # The pattern is a Java regex: without DOTALL, '.' matches no line terminator.
    with pytest.raises(PydanticCustomError) as raised:
        check_entity_name(name)

    assert raised.value.type == "name_pattern"
    assert raised.value.message() == 'must match "^((?!::).)*$"'
