"""Response headers and error bodies over a live server: nosniff and Referrer-Policy on every response (errors
included), a Content-Security-Policy on every HTML page, CORS open to any origin but never with credentials, and no
stack trace or internal detail in any error body, a forced internal error included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from helpers.server import live_server
from kg.settings import Settings

SECRET = "secret-internal-detail-/etc/kg/passwords"
SEED = "lac-2010-migration-communique"
LEAKS = ("Traceback", 'File "', ".py", "RuntimeError", SECRET, "/work/", "site-packages")


@pytest.fixture(scope="module")
def base_url(built_store: Path) -> Iterator[str]:
    from api.app import create_app

    settings = Settings(store=str(built_store), max_request_bytes=4096, query_timeout=10)
    app = create_app(settings)

    async def boom() -> None:
        raise RuntimeError(SECRET)

    app.add_api_route("/test-only/boom", boom, methods=["GET"], include_in_schema=False)
    with live_server(settings, app=app) as url:
        yield url


#: (method, path, params, headers, body, expected status) of responses of every kind.
REQUESTS = [
    ("GET", "/sparql", {"query": "ASK {}"}, {}, None, 200),
    ("GET", "/sparql", {}, {"Accept": "text/turtle"}, None, 200),
    ("GET", "/sparql", {}, {"Accept": "text/html"}, None, 200),
    ("GET", f"/id/declaration/{SEED}", {}, {"Accept": "text/turtle"}, None, 303),
    ("GET", f"/doc/declaration/{SEED}", {}, {"Accept": "text/html"}, None, 200),
    ("GET", "/api/declarations", {}, {}, None, 200),
    ("GET", "/openapi.json", {}, {}, None, 200),
    ("GET", "/docs", {}, {}, None, 200),
    ("GET", "/no/such/path", {}, {}, None, 404),
    ("PUT", "/sparql", {}, {}, b"ASK {}", 405),
    ("GET", "/api/declarations", {"limit": "many"}, {}, None, 422),
    ("GET", "/sparql", {"query": "SELECT * WHERE { ?s ?p }"}, {}, None, 400),
    ("GET", "/sparql", {"query": "CLEAR ALL"}, {}, None, 403),
    ("GET", "/sparql", {"query": "ASK {}"}, {"Accept": "image/png"}, None, 406),
    ("POST", "/sparql", {}, {"Content-Type": "application/sparql-query"}, b"ASK {" + b"#" * 5000 + b"\n}", 413),
    ("POST", "/sparql", {}, {"Content-Type": "application/json"}, b'{"query": "ASK {}"}', 415),
    ("GET", "/test-only/boom", {}, {}, None, 500),
]


@pytest.mark.parametrize(("method", "path", "params", "headers", "body", "status"), REQUESTS,
                         ids=[f"{r[0]} {r[1]} {r[5]}" for r in REQUESTS])
def test_every_response_has_the_security_headers_and_no_internals(
    base_url: str, method: str, path: str, params: dict, headers: dict, body: bytes | None, status: int
) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        response = client.request(method, path, params=params, headers=headers, content=body)
    assert response.status_code == status, response.text[:300]
    assert response.headers.get("x-content-type-options") == "nosniff"
    assert response.headers.get("referrer-policy")
    if response.headers.get("content-type", "").startswith("text/html"):
        csp = response.headers.get("content-security-policy", "")
        assert "default-src" in csp and "object-src 'none'" in csp, csp
    if status >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == status and problem["title"] and problem["detail"]
        for leak in LEAKS:
            assert leak not in response.text, f"{leak!r} in the error body: {response.text[:300]}"


def test_cors_is_open_to_every_origin_but_never_with_credentials(base_url: str) -> None:
    origin = {"Origin": "https://elsewhere.example"}
    with httpx.Client(base_url=base_url, timeout=30) as client:
        simple = client.get("/sparql", params={"query": "ASK {}"}, headers={**origin, "Cookie": "session=1"})
        preflight = client.options("/sparql", headers={
            **origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type",
        })
        ld = client.get(f"/id/declaration/{SEED}", headers={**origin, "Accept": "text/turtle"}, follow_redirects=True)
    for response in (simple, preflight, ld):
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in response.headers
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "set-cookie" not in simple.headers
