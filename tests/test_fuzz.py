"""A bounded property-based run over the served OpenAPI document, on both databases.

Schemathesis generates requests for every operation the server documents, valid and not;
no answer may be a 5xx, and every error must be OpenMetadata's {"code", "message"} with
its status as the code (never FastAPI's {"detail"}, never a 422).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.live_server import RunningServer, mint_token
from tests.servers import server_on_fresh_database

# Examples per operation, valid and invalid ones: bounded, so that the run costs about a
# minute per database.
EXAMPLES_PER_OPERATION = 25


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    with server_on_fresh_database(request.param, tmp_path_factory.mktemp("fuzz")) as server:
        yield server


@pytest.fixture(scope="module")
def admin_headers(fuzzed_server: RunningServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token('admin', fuzzed_server.env)}"}


def _check_error_body(case: Any, response: Any) -> None:
    status = response.status_code
    if status < 400:
        return
    where = f"{case.method} {case.formatted_path}"
    assert status != 422, f"422 from {where}: {response.text[:300]}"
    body = response.json()
    assert isinstance(body, dict), (where, response.text[:300])
    assert set(body) == {"code", "message"}, (where, body)
    assert body["code"] == status, (where, body)
    assert isinstance(body["message"], str), (where, body)


def test_no_request_gets_a_server_error_or_a_foreign_error_body(
    fuzzed_server: RunningServer, admin_headers: dict[str, str]
) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzzed_server.base_url}/openapi.json")
    statuses: Counter[int] = Counter()
    failures: list[tuple[str, str]] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
        strategy = st.one_of([operation.as_strategy(generation_mode=mode) for mode in modes])

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        def fuzz(case: Any) -> None:
            response = case.call(headers=admin_headers, timeout=30)
            statuses[response.status_code] += 1
            case.validate_response(response, checks=[not_a_server_error])
            _check_error_body(case, response)

        try:
            fuzz()
        except Exception as failure:
            failures.append((operation.label, str(failure)[:1500]))

    report = {"operations": operations, "requests": statuses.total(), "statuses": statuses}
    print(f"\nfuzz: {report}")  # noqa: T201  (the figures, with -s)
    assert operations > 50, report
    assert failures == [], (failures, fuzzed_server.log_tail())
