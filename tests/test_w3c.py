"""The W3C SPARQL 1.1 suites against our endpoint over HTTP (see ``tests/w3c/harness.py``).

Every case is a parametrized test with a readable id. A case listed in ``tests/w3c/known_failures.txt`` is
expected to fail (xfail with its reason); the test fails if it passes, so the list stays honest. Any other case
must pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from helpers.server import live_server
from kg.settings import Settings
from w3c import harness

pytestmark = pytest.mark.skipif(
    not harness.suite_available(), reason=f"the W3C test suite is not at {harness.SUITE}"
)

KNOWN_FAILURES_FILE = Path(__file__).parent / "w3c" / "known_failures.txt"
QUERY_CASES = harness.query_cases() if harness.suite_available() else []
PROTOCOL_CASES = harness.protocol_cases() if harness.suite_available() else []
SD_IDS = ["service-description/returns-rdf", "service-description/has-endpoint-triple", "service-description/conforms-to-schema"]
KNOWN = harness.read_known_failures(KNOWN_FAILURES_FILE)


@pytest.fixture(scope="module")
def w3c_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("w3c") / "store"
    failures = harness.build_store(folder, QUERY_CASES, harness.protocol_graphs(PROTOCOL_CASES))
    settings = Settings(store=str(folder), query_timeout=20, max_queries_per_client=64, result_cache_bytes=0)
    with live_server(settings) as url:
        yield url, failures


@pytest.fixture(scope="module")
def w3c_client(w3c_server: tuple[str, dict[str, str]]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=w3c_server[0], timeout=60) as client:
        yield client


def _judge(ident: str, failure: str | None) -> None:
    if ident in KNOWN:
        if failure is None:
            pytest.fail(f"{ident} passes now: remove it from {KNOWN_FAILURES_FILE.name}")
        pytest.xfail(KNOWN[ident])
    if failure is not None:
        pytest.fail(f"{ident}: {failure}")


@pytest.mark.parametrize("case", QUERY_CASES, ids=[c.id for c in QUERY_CASES])
def test_query(case: harness.QueryCase, w3c_client: httpx.Client, w3c_server: tuple[str, dict[str, str]]) -> None:
    _judge(case.id, harness.run_query_case(w3c_client, case, w3c_server[1]))


@pytest.mark.parametrize("case", PROTOCOL_CASES, ids=[c.id for c in PROTOCOL_CASES])
def test_protocol(case: harness.ProtocolCase, w3c_client: httpx.Client) -> None:
    _judge(case.id, harness.run_protocol_case(w3c_client, case))


@pytest.mark.parametrize("ident", SD_IDS)
def test_service_description(ident: str, w3c_client: httpx.Client, w3c_server: tuple[str, dict[str, str]]) -> None:
    results = dict(harness.service_description_checks(w3c_client, w3c_server[0]))
    _judge(ident, results[ident])


def test_known_failures_name_real_cases() -> None:
    ids = {c.id for c in QUERY_CASES} | {c.id for c in PROTOCOL_CASES} | set(SD_IDS)
    assert set(KNOWN) <= ids, sorted(set(KNOWN) - ids)


def test_suite_is_all_there() -> None:
    """No filter hides cases: the manifests' counts."""
    kinds = [c.kind for c in QUERY_CASES]
    assert len(PROTOCOL_CASES) == 34
    assert kinds.count("eval") >= 220 and kinds.count("syntax+") + kinds.count("syntax-") >= 90
