"""Unit tests of the opaque list cursors (common/paging.py)."""

from __future__ import annotations

import base64
import random
import string

import orjson
import pytest

from mlmodel_emulator.common.paging import Cursor, decode_cursor, encode_cursor
from mlmodel_emulator.errors import BadRequest

SERVICE_ID = "7c1f2b0e-3a4d-4e5f-8a9b-0c1d2e3f4a5b"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


@pytest.mark.parametrize(
    ("cursor", "encoded"),
    [
        pytest.param(Cursor(name="svc", id="1"), "eyJuYW1lIjoic3ZjIiwiaWQiOiIxIn0=", id="padded"),
        pytest.param(
            Cursor(name="a>?", id="1"), "eyJuYW1lIjoiYT4_IiwiaWQiOiIxIn0=", id="underscore"
        ),
        pytest.param(Cursor(name="ÿ~", id="1"), "eyJuYW1lIjoiw79-IiwiaWQiOiIxIn0=", id="dash"),
        pytest.param(
            Cursor(name="mlflow~?", id="1"),
            "eyJuYW1lIjoibWxmbG93fj8iLCJpZCI6IjEifQ==",
            id="double_padding",
        ),
    ],
)
def test_encode_cursor_any_cursor_gives_url_safe_padded_base64(
    cursor: Cursor, encoded: str
) -> None:
    assert encode_cursor(cursor) == encoded


def test_encode_cursor_payload_is_json_object_of_name_and_id() -> None:
    encoded = encode_cursor(Cursor(name="my.svc", id=SERVICE_ID))

    payload = orjson.loads(base64.urlsafe_b64decode(encoded))

    assert payload == {"name": "my.svc", "id": SERVICE_ID}
    assert len(encoded) % 4 == 0
    assert set(encoded) <= set(string.ascii_letters + string.digits + "-_=")


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("mlflow", id="plain"),
        pytest.param("my.svc", id="dotted"),
        pytest.param('"my.svc"', id="quoted"),
        pytest.param("ünïcødé 名前 😀", id="non_ascii"),
        pytest.param("a>?~ÿ", id="url_unsafe_in_standard_base64"),
        pytest.param("", id="empty"),
        pytest.param("x" * 256, id="longest_name"),
    ],
)
def test_decode_cursor_encoded_cursor_round_trips(name: str) -> None:
    cursor = Cursor(name=name, id=SERVICE_ID)

    assert decode_cursor(encode_cursor(cursor)) == cursor


def test_decode_cursor_padding_left_out_still_decodes() -> None:
    cursor = Cursor(name="mlflow~?", id="1")
    unpadded = encode_cursor(cursor).rstrip("=")

    assert decode_cursor(unpadded) == cursor


@pytest.mark.parametrize("value", [pytest.param(None, id="none"), pytest.param("", id="empty")])
def test_decode_cursor_no_cursor_returns_none(value: str | None) -> None:
    assert decode_cursor(value) is None


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("xx", id="short_garbage"),
        pytest.param("a", id="one_char"),
        pytest.param("!!!!", id="not_base64"),
        pytest.param("====", id="only_padding"),
        pytest.param("é", id="non_ascii"),
        pytest.param("\x00", id="nul"),
        pytest.param(_b64(b"mlflow"), id="old_name_only_cursor"),
        pytest.param(_b64(b"\xff\xfe\xfd"), id="not_utf8"),
        pytest.param(_b64(b'{"name":"a","id":"1"'), id="truncated_json"),
        pytest.param(_b64(b"[1,2]"), id="array"),
        pytest.param(_b64(b'"name"'), id="string"),
        pytest.param(_b64(b"42"), id="number"),
        pytest.param(_b64(b"null"), id="null"),
        pytest.param(_b64(b"{}"), id="empty_object"),
        pytest.param(_b64(b'{"name":"a"}'), id="missing_id"),
        pytest.param(_b64(b'{"id":"1"}'), id="missing_name"),
        pytest.param(_b64(b'{"name":1,"id":"1"}'), id="name_not_string"),
        pytest.param(_b64(b'{"name":"a","id":null}'), id="id_null"),
        pytest.param(_b64(b'{"name":"a","id":["1"]}'), id="id_array"),
        pytest.param(_b64(b"[" * 5000), id="deeply_nested"),
    ],
)
def test_decode_cursor_foreign_value_raises_bad_request(value: str) -> None:
    with pytest.raises(BadRequest) as raised:
        decode_cursor(value)

    assert raised.value.status_code == 400
    assert raised.value.message == f"Invalid paging cursor {value}"


def test_decode_cursor_random_text_raises_only_bad_request() -> None:
    rng = random.Random(20261127)
    alphabet = string.ascii_letters + string.digits + "-_=+/.{}\"' é"
    values = ["".join(rng.choices(alphabet, k=rng.randint(1, 40))) for _ in range(2000)]

    rejected = 0
    for value in values:
        try:
            decode_cursor(value)
        except BadRequest:
            rejected += 1

    assert rejected == len(values)
