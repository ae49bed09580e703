"""subscriptions.filters and the dispatcher's pure parts: which events a subscription sends,
the signature, the backoff."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from mlmodel_emulator.errors import BadRequest
from mlmodel_emulator.subscriptions.dispatcher import MAX_BACKOFF_MS, backoff_ms, signature
from mlmodel_emulator.subscriptions.filters import check_filters, matches

EVENT = {
    "eventType": "entityCreated",
    "entityType": "mlmodel",
    "entityFullyQualifiedName": "svc.churn",
    "userName": "admin",
}


def _filter(name: str, argument: str, values: list[str], effect: str = "include") -> dict:
    return {"name": name, "effect": effect, "arguments": [{"name": argument, "input": values}]}


@pytest.mark.parametrize(
    ("resources", "rules", "expected"),
    [
        (["all"], [], True),
        (["mlmodel"], [], True),
        (["mlmodelService"], [], False),
        ([], [], False),
        (["all"], [_filter("filterByFqn", "fqnList", ["svc.churn"])], True),
        (["all"], [_filter("filterByFqn", "fqnList", ["svc"])], False),
        (["all"], [_filter("filterByEventType", "eventTypeList", ["entityUpdated"])], False),
        (
            ["all"],
            [_filter("filterByUpdaterName", "updateByUserList", ["admin"], "exclude")],
            False,
        ),
        (["all"], [_filter("filterByUpdaterName", "updateByUserList", ["bot"], "exclude")], True),
        (
            ["all"],
            [
                _filter("filterByEventType", "eventTypeList", ["entityCreated"]),
                _filter("filterByFqn", "fqnList", ["other"]),
            ],
            False,
        ),
    ],
)
def test_matches_follows_resources_and_every_filter(resources, rules, expected):
    assert matches(resources, rules, EVENT) is expected


def test_check_filters_refuses_an_argument_of_another_filter():
    with pytest.raises(BadRequest) as raised:
        check_filters([_filter("filterByEventType", "fqnList", ["a"])], [])

    assert raised.value.message == (
        "Filter filterByEventType takes the argument eventTypeList, not fqnList"
    )


def test_signature_is_sha256_hmac_of_the_body_in_hex():
    body = b'{"id": "1"}'

    assert signature("key", body) == (
        "sha256=" + hmac.new(b"key", body, hashlib.sha256).hexdigest()
    )


def test_backoff_doubles_from_the_base_and_is_capped():
    assert [backoff_ms(1000, n) for n in (1, 2, 3, 4)] == [1000, 2000, 4000, 8000]
    assert backoff_ms(1000, 40) == MAX_BACKOFF_MS
