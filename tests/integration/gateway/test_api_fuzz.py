"""Property-based fuzzing of every service's API: schemathesis generates requests for every
operation of each /openapi.json (a few examples each) and no answer is a 5xx.

On the gateway the caller holds every role and sees every customer, so requests get past
authorization into the services behind it; an agent limited to one pool fuzzes the same
routes. The services behind the gateway are fuzzed directly too, as the gateway and other
internal callers reach them."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase

from arrears.gateway.domain.access import Role
from tests.integration.gateway.conftest import Stack

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]
EXAMPLES = 3


@pytest.fixture(scope="module")
def fuzzed(stack: Stack) -> Stack:
    stack.pool("pool-f", "owner-f")
    stack.register("F-1", "owner-f")
    stack.invoice("F-1", "F-INV-1")
    stack.wait_for_aging("F-1")
    return stack


def fuzz(url: str, headers: dict[str, str]) -> tuple[int, set[int], list[str]]:
    """(operations, statuses seen, failures) of a few generated requests per operation."""
    schema = schemathesis.openapi.from_url(url + "/openapi.json")
    failures: list[str] = []
    statuses: set[int] = set()
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @hypothesis.settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis.given(case=operation.as_strategy())
        def no_server_error(case: schemathesis.Case) -> None:
            response = case.call(headers=headers, timeout=30)
            statuses.add(response.status_code)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: "
                    f"{response.text[:300]}"
                )

        no_server_error()
    return operations, statuses, failures


@pytest.mark.parametrize("caller", ["everything", "pool agent"])
def test_no_generated_request_gets_a_server_error(fuzzed: Stack, caller: str) -> None:
    stack = fuzzed
    _id, text = (
        stack.token("fuzz", set(Role), may_view_all=True)
        if caller == "everything"
        else stack.token("fuzz", {Role.AGENT}, ("pool-f",))
    )
    operations, statuses, failures = fuzz(
        stack.urls["gateway"], {"Authorization": f"Bearer {text}"}
    )
    assert operations >= 30
    assert failures == []
    assert {200, 404} <= statuses, "requests got past authentication into the services"
    if caller == "everything":
        assert 422 in statuses, statuses


@pytest.mark.parametrize("service", ["ledger", "aging", "timeline", "summary", "notifier"])
def test_no_generated_request_to_a_service_behind_the_gateway_gets_a_server_error(
    fuzzed: Stack, service: str
) -> None:
    operations, statuses, failures = fuzz(fuzzed.urls[service], {"X-Arrears-Actor": "fuzz"})
    assert operations >= 3
    assert failures == []
    assert 422 in statuses, statuses
