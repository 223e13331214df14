"""Property-based tests of the HTTP API from its own ``/openapi.json`` (schemathesis, in-process ASGI).

The app runs over the seed index with the real model and the production guards switched on
(API key, CORS origin, 64 KiB body limit). For every operation schemathesis generates valid
(positive) and invalid (negative) requests, a bounded and derandomised 25 of each; every
response must be a non-5xx that matches the documented status codes, content type and schema,
and invalid data must be refused. Without the key, every operation but ``/health`` answers the
documented 401.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ttqa import QA
from ttqa.interfaces.http import ApiSettings, create_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

KEY = "schemathesis-key-0123456789"
AUTH = {"X-API-Key": KEY}
MAX_EXAMPLES = 25
PARAMETERLESS = {"/health", "/ready", "/info"}


@pytest.fixture(scope="module")
def app(seed_qa: QA) -> Iterator[FastAPI]:
    settings = ApiSettings(api_key=KEY, cors_origins=("https://app.example",))
    application = create_app(seed_qa, settings)
    with TestClient(application):  # runs the lifespan: the warm-up answers once
        assert application.state.readiness.wait(300), application.state.readiness.error
        yield application


@pytest.fixture(scope="module")
def schema(app: FastAPI) -> Any:
    import schemathesis

    return schemathesis.openapi.from_asgi("/openapi.json", app, headers=AUTH)


def _operations(schema: Any) -> list[Any]:
    return [cast(Any, result).ok() for result in schema.get_all_operations()]


def _checks() -> list[Callable[..., Any]]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        negative_data_rejection,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    # Not positive_data_acceptance: some schema-valid data is refused on purpose with a 422
    # (a question of only spaces or control characters, start/end past the article's end).
    return [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        negative_data_rejection,
    ]


def _run(operation: Any, mode: Any, call: Callable[[Any], Any]) -> bool:
    """Run the property for one operation and mode; ``False`` when there is nothing to generate."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        call(case)

    try:
        check()
    except Unsatisfiable:
        return False
    return True


def test_operations_are_all_documented(schema: Any) -> None:
    paths = {(op.method.upper(), op.path) for op in _operations(schema)}
    assert paths == {
        ("POST", "/ask"),
        ("POST", "/search"),
        ("GET", "/documents/{doc_id}"),
        ("GET", "/health"),
        ("GET", "/ready"),
        ("GET", "/info"),
    }


@pytest.mark.parametrize("mode_name", ["POSITIVE", "NEGATIVE"])
@pytest.mark.parametrize("path", ["/ask", "/search", "/documents/{doc_id}", "/health", "/ready", "/info"])
def test_no_server_errors_and_responses_match_the_schema(schema: Any, path: str, mode_name: str) -> None:
    from schemathesis import GenerationMode

    mode = GenerationMode[mode_name]
    (operation,) = [op for op in _operations(schema) if op.path == path]
    statuses: Counter[int] = Counter()
    checks = _checks()

    def call(case: Any) -> None:
        response = case.call(headers=AUTH)
        statuses[response.status_code] += 1
        assert response.status_code < 500, (case.as_curl_command(), response.text)
        case.validate_response(response, checks=checks, headers=AUTH)

    generated = _run(operation, mode, call)
    if not generated:  # nothing to make invalid in a parameterless GET
        assert mode is GenerationMode.NEGATIVE and path in PARAMETERLESS
        return
    assert statuses and max(statuses) < 500
    assert set(statuses) <= {200, 404, 413, 422}, statuses
    if mode is GenerationMode.POSITIVE and path != "/documents/{doc_id}":
        assert statuses[200] > 0, statuses
    elif mode is GenerationMode.NEGATIVE and path not in PARAMETERLESS:
        # (a parameterless GET's only negative data is the key header, which the call replaces)
        assert 422 in statuses or 404 in statuses, statuses


@pytest.mark.parametrize("path", ["/ask", "/search", "/documents/{doc_id}", "/ready", "/info"])
def test_without_the_key_every_guarded_operation_is_a_documented_401(schema: Any, path: str) -> None:
    from schemathesis import GenerationMode

    (operation,) = [op for op in _operations(schema) if op.path == path]
    statuses: Counter[int] = Counter()
    checks = _checks()[:5]  # a 401 is not a verdict on the data

    def call(case: Any) -> None:
        response = case.call()
        statuses[response.status_code] += 1
        case.validate_response(response, checks=checks)

    assert _run(operation, GenerationMode.POSITIVE, call)
    assert set(statuses) == {401}, statuses


def test_health_needs_no_key(schema: Any) -> None:
    from schemathesis import GenerationMode

    (operation,) = [op for op in _operations(schema) if op.path == "/health"]
    statuses: Counter[int] = Counter()

    def call(case: Any) -> None:
        response = case.call()
        statuses[response.status_code] += 1
        case.validate_response(response, checks=_checks())

    assert _run(operation, GenerationMode.POSITIVE, call)
    assert set(statuses) == {200}
