"""``/sparql``: the SPARQL 1.1 Protocol endpoint (https://www.w3.org/TR/sparql11-protocol/), read-only.

- ``GET /sparql?query=...``, ``POST`` form-encoded (``query=...``), ``POST`` ``application/sparql-query``; each with
  ``default-graph-uri``/``named-graph-uri`` (repeatable). Without them the default graph is the union of all
  named graphs.
- Results by content negotiation (``Accept`` with q-values) or a ``format`` parameter; 406 when nothing fits.
- ``GET /sparql`` without a query: the service description (Turtle, RDF/XML, JSON-LD...), or the query page for
  a browser.
- Refused: updates (``update=``, ``application/sparql-update``, or an update as the query: 403), ``LOAD`` and
  ``SERVICE`` (403), graphs not in the store (403), bodies over ``max_request_bytes`` (413), more than
  ``max_queries_per_client`` running queries from one client (429), unsupported body types (415).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from api.deps import LimiterDep, QueryServiceDep, SettingsDep
from api.negotiation import FORMAT_PARAMETER, choose, negotiate_result_format
from api.routers.service import DESCRIPTION_FORMATS, service_description
from api.safety import analyse_query
from kg.errors import BadInput, Forbidden, NotAcceptable, TooLarge, UnsupportedMediaType

log = logging.getLogger(__name__)

router = APIRouter(tags=["SPARQL"])

FORM_TYPE = "application/x-www-form-urlencoded"
QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"
UPDATES_REFUSED = "SPARQL updates are not accepted: this endpoint is read-only"


def _query_page() -> Callable[[Request], Response] | None:
    """The query page's response function, when the query page module is present."""
    try:
        from api.routers.ui import query_page_response
    except ModuleNotFoundError as exc:
        if exc.name != "api.routers.ui":
            raise
        return None
    return query_page_response


def _prefers_html(request: Request, offers: list[str]) -> bool:
    """Whether the client ranks text/html above every other offer (offered last, so ``*/*`` is not enough)."""
    return choose(request.headers.get("accept"), [*offers, "text/html"]) == "text/html"


def _root_url(request: Request) -> str:
    return str(request.base_url)


def _endpoint_url(request: Request) -> str:
    return str(request.url.replace(query="", fragment=""))


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the request body ({declared} bytes) is larger than the {limit} bytes accepted", limit=limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge(f"the request body is larger than the {limit} bytes accepted", limit=limit)
    return bytes(body)


def _media_type(header: str | None) -> tuple[str, str | None]:
    """(media type, charset) of a Content-Type header; ("", None) when absent."""
    if not header:
        return "", None
    head, *params = header.split(";")
    charset = None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return head.strip().lower(), charset


def _require_utf8(charset: str | None) -> None:
    if charset not in (None, "utf-8", "utf8"):
        raise UnsupportedMediaType(f"charset={charset} is not supported: send the request in UTF-8")


def _decode(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"the {what} is not valid UTF-8: {exc}") from None


def _pairs_from_form(body: bytes) -> list[tuple[str, str]]:
    text = _decode(body, "form body")
    try:
        return parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadInput(f"the form body cannot be decoded: {exc}") from None


async def _answer(
    request: Request,
    service: QueryServiceDep,
    limiter: LimiterDep,
    query: str,
    params: list[tuple[str, str]],
) -> Response:
    info = analyse_query(query, base_iri=_endpoint_url(request))
    formats = [p for name, p in params if name == "format"]
    result_format = negotiate_result_format(
        request.headers.get("accept"), formats[-1] if formats else None, graph=info.is_graph_result
    )
    default_graphs = [value for name, value in params if name == "default-graph-uri"]
    named_graphs = [value for name, value in params if name == "named-graph-uri"]
    dataset_given = bool(default_graphs or named_graphs)
    client = request.client.host if request.client else "unknown"
    limiter.acquire(client)
    released = False
    try:
        answer = await service.answer(
            info,
            result_format,
            default_graphs=default_graphs if dataset_given else None,
            named_graphs=named_graphs if dataset_given else None,
            base_iri=_endpoint_url(request),
        )
    except BaseException:
        limiter.release(client)
        raise

    headers = {"Vary": "Accept", "X-Cache": "hit" if answer.cached else "miss"}
    if answer.complete is not None:
        limiter.release(client)
        return Response(answer.complete, media_type=result_format.content_type, headers=headers)

    async def finish() -> None:
        nonlocal released
        if not released:
            released = True
            limiter.release(client)
            await answer.aclose()

    return _StreamingAnswer(answer.chunks, finish, media_type=result_format.content_type, headers=headers)


class _StreamingAnswer(StreamingResponse):
    """A streamed answer that always runs ``finish`` (release the client's slot, stop the query) once the
    response ends, however it ends: complete, failed, or cut by the client before or during the body."""

    def __init__(self, content: AsyncIterator[bytes], finish: Callable[[], Awaitable[None]], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._finish = finish

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._finish()


async def _describe_service(
    request: Request, service: QueryServiceDep, settings: SettingsDep, format_param: str | None = None
) -> Response:
    offers = list(DESCRIPTION_FORMATS)
    if format_param:
        media_type = FORMAT_PARAMETER.get(format_param.strip().lower(), (None, format_param.strip().lower()))[1]
        if media_type not in DESCRIPTION_FORMATS:
            raise NotAcceptable(f"format={format_param!r}: the service description is available as " + ", ".join(offers))
        chosen: str | None = media_type
    else:
        page = _query_page()
        if page is not None and _prefers_html(request, offers):
            return page(request)
        chosen = choose(request.headers.get("accept"), offers)
    if chosen is None:
        raise NotAcceptable(
            "the service description is available as " + ", ".join(offers), available=offers
        )
    graphs = await service.engine.graph_names()
    graph = service_description(_endpoint_url(request), _root_url(request), settings.base_iri, graphs)
    data = graph.serialize(format=DESCRIPTION_FORMATS[chosen], encoding="utf-8")
    media_type = chosen + ("; charset=utf-8" if chosen.startswith("text/") else "")
    return Response(data, media_type=media_type, headers={"Vary": "Accept"})


def _one(params: list[tuple[str, str]], name: str) -> str | None:
    values = [value for key, value in params if key == name]
    if len(values) > 1:
        raise BadInput(f"{len(values)} '{name}' parameters were given; send exactly one")
    return values[0] if values else None


@router.get(
    "/sparql",
    summary="SPARQL query (GET), or the service description / query page without a query",
    responses={200: {"description": "Query results, the service description, or the query page"}},
)
async def sparql_get(
    request: Request, service: QueryServiceDep, limiter: LimiterDep, settings: SettingsDep
) -> Response:
    """Answer ``?query=`` (with ``default-graph-uri``, ``named-graph-uri``, ``format``); without a query, the
    service description (or the query page for a browser)."""
    params = parse_qsl(request.url.query, keep_blank_values=True)
    if any(name == "update" for name, _ in params):
        raise Forbidden(UPDATES_REFUSED, reason="update")
    query = _one(params, "query")
    if query is None:
        return await _describe_service(request, service, settings, _one(params, "format"))
    if len(query.encode()) > settings.max_request_bytes:
        raise TooLarge(f"the query is larger than the {settings.max_request_bytes} bytes accepted")
    page = _query_page()
    if page is not None and not any(name == "format" for name, _ in params):
        offers = ["application/sparql-results+json", "text/turtle"]
        if _prefers_html(request, offers):
            return page(request)
    return await _answer(request, service, limiter, query, params)


@router.post(
    "/sparql",
    summary="SPARQL query (POST: form-encoded or application/sparql-query)",
    openapi_extra={
        "requestBody": {
            "content": {
                FORM_TYPE: {"schema": {"type": "object", "properties": {"query": {"type": "string"}}}},
                QUERY_TYPE: {"schema": {"type": "string"}},
            }
        }
    },
)
async def sparql_post(
    request: Request, service: QueryServiceDep, limiter: LimiterDep, settings: SettingsDep
) -> Response:
    """Answer a query sent in the body; updates are refused (403)."""
    url_params = parse_qsl(request.url.query, keep_blank_values=True)
    media_type, charset = _media_type(request.headers.get("content-type"))
    if media_type == UPDATE_TYPE or any(name in ("update", "using-graph-uri", "using-named-graph-uri") for name, _ in url_params):
        raise Forbidden(UPDATES_REFUSED, reason="update")
    if media_type not in (FORM_TYPE, QUERY_TYPE):
        shown = media_type or "no Content-Type"
        raise UnsupportedMediaType(
            f"a query is POSTed as {FORM_TYPE} (query=...) or as {QUERY_TYPE}, not as {shown}"
        )
    _require_utf8(charset)
    body = await _read_body(request, settings.max_request_bytes)
    params: list[tuple[str, Any]]
    if media_type == FORM_TYPE:
        form = _pairs_from_form(body)
        if any(name == "update" for name, _ in form):
            raise Forbidden(UPDATES_REFUSED, reason="update")
        query = _one(form, "query")
        if query is None:
            raise BadInput("the form has no 'query' parameter")
        params = [*url_params, *[(k, v) for k, v in form if k != "query"]]
    else:
        if any(name == "query" for name, _ in url_params):
            raise BadInput("a query was sent both in the URL and in the body; send one")
        query = _decode(body, "query")
        params = url_params
    return await _answer(request, service, limiter, query, params)
