"""The REST lookup: ``GET /api/{name}`` for each file ``queries/{name}.rq``, generated at start-up.

Each operation takes the parameters its file declares (typed, in the OpenAPI document ``/openapi.json`` and the
interactive docs ``/docs``) plus ``limit``/``offset`` (pagination) and ``format`` (``json``, ``jsonld``, ``csv``;
else the ``Accept`` header decides). Parameter values are bound to the query's variables as RDF terms
(``substitutions``), never written into its text; a parameter that names a resource (``resolves:``) accepts the
resource's key, its canonical IRI or an exact label, and an unknown one is a 404.

Answers: JSON ``{"operation", "total", "limit", "offset", "next", "prev", "items": [{field: value}]}`` with one
member per result field in every item (``null`` when unbound), its JSON-LD context linked in a ``Link`` header
(``rel="http://www.w3.org/ns/json-ld#context"``, served at ``/api/{name}/context.jsonld``; ``application/ld+json``
carries it inline), or CSV. ``Link`` headers ``next``/``prev``, ``X-Total-Count``, a strong ``ETag`` (``304`` for a
matching ``If-None-Match``). Errors are problem+json: 422 for a bad parameter, 404 for an unknown resource or path.

The whole answer of the query is computed (and kept by the result cache) and the page cut from it, so ``total`` and
the pages agree with each other.

The router is built when the application asks for this module's ``router`` (:func:`build_router` over
``queries/``), so every application reads the folder afresh and a bad file stops its start-up.
"""

from __future__ import annotations

import csv
import hashlib
import inspect
import io
import json
import logging
from pathlib import Path
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from api.deps import get_limiter, get_query_service, get_settings
from api.negotiation import TABLE_FORMATS, choose
from api.queries import (
    MAX_VALUE_LENGTH,
    RESOLVABLE,
    Kind,
    NamedQuery,
    Parameter,
    QueryFileError,
    iri_term,
    load_queries,
    rows_of,
)
from kg.errors import BadParameter, NotAcceptable, NotFound
from kg.namespaces import BASE, ID_BASE, PREFIXES
from kg.paths import QUERIES_DIR

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
API_VOCAB = BASE + "api#"
HYDRA = "http://www.w3.org/ns/hydra/core#"
JSONLD_CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"
#: Members of the JSON answer around the items; no result field may take these names.
ENVELOPE = ("operation", "total", "limit", "offset", "next", "prev", "items")
MEDIA_TYPES = {"json": "application/json", "jsonld": "application/ld+json", "csv": "text/csv"}
_JSON_RESULTS = next(f for f in TABLE_FORMATS if f.media_type == "application/sparql-results+json")
_SCALAR = {"type": ["string", "integer", "number", "boolean", "null"]}
_PROBLEM = {"application/problem+json": {"schema": {"type": "object", "properties": {
    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
    "detail": {"type": "string"}}}}}
_LABEL_PROPERTIES = "skos:prefLabel|rdfs:label|skos:altLabel|dcterms:title"


# --- resolving names of resources --------------------------------------------------------------------------------


def _resolve_query(kind: str) -> str:
    """The query finding the resources of ``kind`` whose IRI is one of ``?iri1..?iri4`` or with label ``?label``
    (its classes are our constants; the values come as substitutions)."""
    classes = " ".join(f"<{c}>" for c in RESOLVABLE[kind][1])
    return f"""PREFIX skos: <{PREFIXES['skos']}>
PREFIX rdfs: <{PREFIXES['rdfs']}>
PREFIX dcterms: <{PREFIXES['dcterms']}>
SELECT DISTINCT ?resource ?iri1 ?iri2 ?iri3 ?iri4 ?label WHERE {{
  VALUES ?class {{ {classes} }}
  ?resource a ?class .
  FILTER(COALESCE(?resource = ?iri1, false) || COALESCE(?resource = ?iri2, false)
         || COALESCE(?resource = ?iri3, false) || COALESCE(?resource = ?iri4, false)
         || EXISTS {{ ?resource {_LABEL_PROPERTIES} ?name FILTER(STR(?name) = ?label) }})
}}
ORDER BY ?resource
LIMIT 20"""


def _resolve_by_iri_query(kind: str, count: int) -> str:
    """The query keeping those of ``?iri1..?iri{count}`` that are resources of ``kind``: one index lookup each
    (the label query of :func:`_resolve_query` walks every resource of the classes, seconds at 10M triples)."""
    classes = " ".join(f"<{c}>" for c in RESOLVABLE[kind][1])
    branches = " UNION ".join(f"{{ ?iri{i} a ?class . BIND(?iri{i} AS ?resource) }}" for i in range(1, count + 1))
    projected = " ".join(f"?iri{i}" for i in range(1, count + 1))  # substituted variables must be projected
    return (f"SELECT DISTINCT ?resource {projected} WHERE {{ VALUES ?class {{ {classes} }} {branches} }} "
            "ORDER BY ?resource LIMIT 20")


def typed_resources(store: Any, candidates: list[Any], classes: tuple[str, ...] | list[str]) -> list[str]:
    """Those of ``candidates`` (pyoxigraph ``NamedNode``) that have one of ``classes`` as ``rdf:type`` in some
    graph of ``store``, sorted (what :func:`_resolve_by_iri_query` answers): at most one index seek per candidate
    and class, whatever the store's size."""
    import pyoxigraph as ox

    rdf_type = ox.NamedNode(PREFIXES["rdf"] + "type")
    class_nodes = [ox.NamedNode(c) for c in classes]
    found = {term.value for term in candidates
             if any(next(store.quads_for_pattern(term, rdf_type, c), None) is not None for c in class_nodes)}
    return sorted(found)


def candidate_iris(kind: str, value: str, request: Request) -> list[str]:
    """The IRIs ``value`` may stand for: a key gives ``{ID_BASE}{type}/{key}`` for each type of ``kind``; an IRI on
    the canonical base, the configured base or this server's ``/id/`` is mapped to the canonical IRI."""
    import re

    types = RESOLVABLE[kind][0]
    if value.startswith(("http://", "https://", "urn:")):
        settings = get_settings(request)
        for base in (ID_BASE, str(settings.base_iri).rstrip("/") + "/id/", str(request.base_url).rstrip("/") + "/id/"):
            if value.startswith(base):
                return [ID_BASE + value[len(base):]]
        return [value]
    if re.fullmatch(r"[a-z0-9][a-z0-9.\-]*(?:/[a-z0-9][a-z0-9.\-]*)*", value):
        return [ID_BASE + t + "/" + value for t in types]
    return []


async def resolve(request: Request, parameter: Parameter, value: str) -> Any:
    """The IRI (a pyoxigraph ``NamedNode``) of the resource ``value`` names for ``parameter`` (``resolves:``).

    Raises :class:`kg.errors.NotFound` when nothing matches and :class:`kg.errors.BadParameter` when a label
    matches several resources and no IRI matches.
    """
    import pyoxigraph as ox

    assert parameter.resolves is not None
    kind = parameter.resolves
    substitutions: dict[str, Any] = {"label": ox.Literal(value)}
    candidates = []
    for iri in candidate_iris(kind, value, request)[:4]:
        try:
            candidates.append(iri_term(iri, parameter.name))
        except BadParameter:
            continue
    for index, term in enumerate(candidates, start=1):
        substitutions[f"iri{index}"] = term
    if candidates:
        # A key or IRI naming a resource (the usual case) is found by index lookups alone; an IRI match wins over
        # label matches anyway, so the label query runs only when none matched.
        store = await get_query_service(request).engine.probe_store()
        if store is not None:
            # In the server process: one index seek per candidate and class, no worker hop.
            matched = typed_resources(store, candidates, RESOLVABLE[kind][1])
        else:
            iris = {f"iri{i}": term for i, term in enumerate(candidates, start=1)}
            rows = await _run(request, _resolve_by_iri_query(kind, len(candidates)), ("resource",), iris)
            matched = [str(row["resource"]) for row in rows if row["resource"]]
        if matched:
            return ox.NamedNode(matched[0])
    rows = await _run(request, _resolve_query(kind), ("resource",), substitutions)
    found = [str(row["resource"]) for row in rows if row["resource"]]
    by_iri = [iri for iri in found if any(iri == c.value for c in candidates)]
    if by_iri:
        return ox.NamedNode(by_iri[0])
    if len(found) == 1:
        return ox.NamedNode(found[0])
    if found:
        raise BadParameter(
            f"{parameter.name}: {value[:60]!r} is the label of several {kind} resources; use a key or IRI: "
            + ", ".join(found[:5]),
            parameter=parameter.name,
        )
    raise NotFound(f"{parameter.name}: no {kind} {value[:80]!r} (give its key, its IRI or an exact label)",
                   parameter=parameter.name)


# --- running -----------------------------------------------------------------------------------------------------


async def _run(
    request: Request, sparql: str, fields: tuple[str, ...], substitutions: dict[str, Any]
) -> list[dict[str, Any]]:
    """The rows of ``sparql`` (JSON values, one member per field) with ``substitutions`` bound, through the app's
    query service (checks, time limit, cache). Raises what :meth:`api.querying.QueryService.answer` raises."""
    service = get_query_service(request)
    answer = await service.answer(sparql, _JSON_RESULTS, substitutions=substitutions or None)
    data = b"".join([chunk async for chunk in answer.chunks])
    return rows_of(orjson.loads(data), fields)


async def bind(request: Request, query: NamedQuery, values: dict[str, Any]) -> dict[str, Any]:
    """The substitutions for ``values`` (parameter name -> value from the URL; None when absent): checked,
    defaults applied, resources resolved. Raises BadParameter (422) or NotFound (404)."""
    substitutions: dict[str, Any] = {}
    for parameter in query.parameters:
        raw = values.get(parameter.name)
        if raw is None:
            raw = parameter.default
        if raw is None:
            if parameter.required:
                raise BadParameter(f"{parameter.name}: required", parameter=parameter.name)
            continue
        checked = parameter.check(raw)
        if parameter.resolves:
            substitutions[parameter.name] = await resolve(request, parameter, str(checked))
        else:
            substitutions[parameter.name] = parameter.term(checked)
    return substitutions


def context_of(query: NamedQuery) -> dict[str, Any]:
    """The JSON-LD context of ``query``'s JSON answers: the envelope as a Hydra collection, each field as the term
    its front matter maps it to (else ``api:{field}``)."""
    context: dict[str, Any] = {
        "@version": 1.1,
        **{p: PREFIXES[p] for p in ("dec", "dcterms", "skos", "rdfs", "xsd", "cito")},
        "hydra": HYDRA,
        "api": API_VOCAB,
        "operation": "api:operation",
        "total": "hydra:totalItems",
        "limit": "api:limit",
        "offset": "api:offset",
        "next": {"@id": "hydra:next", "@type": "@id"},
        "prev": {"@id": "hydra:previous", "@type": "@id"},
        "items": {"@id": "hydra:member", "@container": "@set"},
    }
    for field in query.fields:
        context[field] = query.meta.fields.get(field, f"api:{field}")
    return {"@context": context}


def _context_url(request: Request, query: NamedQuery) -> str:
    """The URL of the operation's context document, with the route's path template looked up once per app
    (``url_for`` walks every route of the app on each call, a tenth of a millisecond per REST call)."""
    template: str | None = getattr(request.app.state, "rest_context_path", None)
    if template is None:
        template = request.app.state.rest_context_path = str(request.app.url_path_for("rest_context", name="{name}"))
    return str(request.base_url).rstrip("/") + template.replace("{name}", query.name)


def _json(document: dict[str, Any]) -> bytes:
    """``document`` as compact UTF-8 JSON: orjson (a tenth of the time of ``json.dumps``), or ``json`` for the
    integers past 64 bits orjson refuses (an ``xsd:integer`` may be any size)."""
    try:
        return orjson.dumps(document)
    except orjson.JSONEncodeError:
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _etag(body: bytes, media_type: str) -> str:
    return '"' + hashlib.blake2b(media_type.encode() + b"\0" + body, digest_size=16).hexdigest() + '"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)


def _csv(fields: tuple[str, ...], rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow(["" if row[f] is None else str(row[f]).lower() if isinstance(row[f], bool) else row[f]
                         for f in fields])
    return out.getvalue().encode("utf-8")


def _media_type(request: Request, format_param: str | None) -> str:
    if format_param:
        return MEDIA_TYPES[format_param]
    chosen = choose(request.headers.get("accept"), ["application/json", "application/ld+json", "text/csv"])
    if chosen is None:
        raise NotAcceptable(
            "this operation answers application/json, application/ld+json or text/csv",
            available=list(MEDIA_TYPES.values()),
        )
    return chosen


async def answer(request: Request, query: NamedQuery, values: dict[str, Any], limit: int, offset: int,
                 format_param: str | None) -> Response:
    """The response of ``GET /api/{query.name}``; see the module docstring."""
    media_type = _media_type(request, format_param)
    limiter = get_limiter(request)
    client = request.client.host if request.client else "unknown"
    limiter.acquire(client)  # the same per-client limit as /sparql (429 beyond)
    try:
        substitutions = await bind(request, query, values)
        rows = await _run(request, query.sparql, query.fields, substitutions)
    finally:
        limiter.release(client)
    total = len(rows)
    page = rows[offset : offset + limit]
    links: list[str] = []
    next_url = prev_url = None
    if offset + limit < total:
        next_url = str(request.url.include_query_params(limit=limit, offset=offset + limit))
        links.append(f'<{next_url}>; rel="next"')
    if offset > 0:
        prev_url = str(request.url.include_query_params(limit=limit, offset=max(offset - limit, 0)))
        links.append(f'<{prev_url}>; rel="prev"')
    context_url = _context_url(request, query)
    if media_type == "text/csv":
        body = _csv(query.fields, page)
        content_type = "text/csv; charset=utf-8"
    else:
        document: dict[str, Any] = {}
        if media_type == "application/ld+json":
            document["@context"] = context_url
        else:
            links.append(f'<{context_url}>; rel="{JSONLD_CONTEXT_REL}"; type="application/ld+json"')
        document.update(operation=query.name, total=total, limit=limit, offset=offset, next=next_url,
                        prev=prev_url, items=page)
        body = _json(document)
        content_type = media_type
    etag = _etag(body, content_type)
    headers = {"ETag": etag, "X-Total-Count": str(total), "Cache-Control": "no-cache", "Vary": "Accept"}
    if links:
        headers["Link"] = ", ".join(links)
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=content_type, headers=headers)


# --- the router --------------------------------------------------------------------------------------------------


def _annotation(parameter: Parameter) -> Any:
    import datetime as dt

    if parameter.kind in (Kind.int, Kind.year):
        return int
    if parameter.kind is Kind.date:
        return dt.date
    if parameter.enum:
        return Literal[parameter.enum]  # type: ignore[valid-type]
    return str


def _query_param(parameter: Parameter) -> Any:
    description = parameter.description
    if parameter.resolves:
        description += f" Accepts the {parameter.resolves}'s key, its IRI or an exact label."
    extra: dict[str, Any] = {}
    if parameter.kind in (Kind.int, Kind.year):
        low, high = parameter.bounds
        extra.update(ge=low, le=high)
    elif parameter.kind in (Kind.iri, Kind.literal) and not parameter.enum:
        extra.update(min_length=1, max_length=MAX_VALUE_LENGTH)
        if parameter.pattern:
            extra["pattern"] = parameter.pattern
    default = ... if parameter.required else parameter.default
    return Query(default, alias=parameter.name, description=description.strip() or None, **extra)


def _responses(query: NamedQuery) -> dict[int | str, dict[str, Any]]:
    item = {"type": "object", "properties": {f: _SCALAR for f in query.fields}, "required": list(query.fields)}
    page = {
        "type": "object",
        "required": ["operation", "total", "limit", "offset", "items"],
        "properties": {
            "@context": {"type": "string"},
            "operation": {"type": "string"},
            "total": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "next": {"type": ["string", "null"]},
            "prev": {"type": ["string", "null"]},
            "items": {"type": "array", "items": item},
        },
    }
    return {
        200: {
            "description": "One page of the results (see `total`, and the `Link` headers `next`/`prev`).",
            "content": {
                "application/json": {"schema": page},
                "application/ld+json": {"schema": page},
                "text/csv": {"schema": {"type": "string"}},
            },
        },
        304: {"description": "Not modified (the `If-None-Match` ETag is current)."},
        404: {"description": "A parameter names no known resource.", "content": _PROBLEM},
        406: {"description": "No acceptable media type.", "content": _PROBLEM},
        422: {"description": "A parameter of the wrong kind or out of range.", "content": _PROBLEM},
        429: {"description": "Too many queries of this client running at once.", "content": _PROBLEM},
        503: {"description": "The query did not finish within the time limit.", "content": _PROBLEM},
    }


def _operation(query: NamedQuery) -> Any:
    names = {f"p_{p.name}": p.name for p in query.parameters}

    async def endpoint(request: Request, **kwargs: Any) -> Response:
        values = {names[k]: v for k, v in kwargs.items() if k in names}
        return await answer(request, query, values, kwargs["limit"], kwargs["offset"], kwargs["format"])

    signature = [inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request)]
    for parameter in query.parameters:
        signature.append(inspect.Parameter(f"p_{parameter.name}", inspect.Parameter.KEYWORD_ONLY,
                                           default=_query_param(parameter), annotation=_annotation(parameter)))
    signature += [
        inspect.Parameter("limit", inspect.Parameter.KEYWORD_ONLY, annotation=int,
                          default=Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Rows per page.")),
        inspect.Parameter("offset", inspect.Parameter.KEYWORD_ONLY, annotation=int,
                          default=Query(0, ge=0, le=10_000_000, description="Rows skipped before the page.")),
        inspect.Parameter("format", inspect.Parameter.KEYWORD_ONLY,
                          annotation=Literal["json", "jsonld", "csv"],
                          default=Query(None, description="json, jsonld or csv (else the Accept header decides).")),
    ]
    endpoint.__signature__ = inspect.Signature(signature)  # type: ignore[attr-defined]
    endpoint.__name__ = f"api_{query.name}"
    return endpoint


def build_router(folder: Path = QUERIES_DIR) -> APIRouter:
    """A router with ``GET /api`` (the list of operations), ``GET /api/{name}`` and ``GET
    /api/{name}/context.jsonld`` for each query of ``folder``. Raises :class:`api.queries.QueryFileError` for a bad
    file (its path and line)."""
    queries = load_queries(folder)
    router = APIRouter(tags=["REST lookup"])

    for query in queries.values():
        clash = sorted(set(query.fields) & set(ENVELOPE))
        if clash:
            raise QueryFileError(f"{query.path}:1: result fields may not be named {', '.join(clash)}",
                                 file=str(query.path), line=1)
        router.add_api_route(
            f"/api/{query.name}",
            _operation(query),
            methods=["GET"],
            name=f"rest_{query.name}",
            operation_id=query.name,
            summary=query.meta.summary,
            description=query.meta.description or None,
            tags=list(query.meta.tags) or ["REST lookup"],
            responses=_responses(query),
            response_class=Response,
        )

    # One route serves the context documents of all operations: each route costs every request that is matched
    # after it (FastAPI tries the routes in order), and a route per operation doubled the REST router's length.
    async def context(name: str) -> JSONResponse:
        query = queries.get(name)
        if query is None:
            raise NotFound(f"no REST operation {name[:80]!r}: GET /api lists them")
        return JSONResponse(context_of(query), media_type="application/ld+json",
                            headers={"Cache-Control": "public, max-age=3600"})

    router.add_api_route("/api/{name}/context.jsonld", context, methods=["GET"], name="rest_context",
                         include_in_schema=False)

    async def index(request: Request) -> JSONResponse:
        """The operations of the REST lookup, with their summaries and parameters."""
        return JSONResponse({
            "operations": [
                {
                    "name": q.name,
                    "path": str(request.url_for(f"rest_{q.name}")),
                    "summary": q.meta.summary,
                    "tags": list(q.meta.tags),
                    "parameters": [p.model_dump(mode="json", exclude_none=True) for p in q.parameters],
                    "fields": list(q.fields),
                }
                for q in queries.values()
            ],
            "documentation": str(request.url_for("swagger_ui_html"))
            if _has_route(request, "swagger_ui_html")
            else None,
        })

    router.add_api_route("/api", index, methods=["GET"], name="rest_index", summary="The REST operations")
    return router


def _has_route(request: Request, name: str) -> bool:
    return any(getattr(route, "name", None) == name for route in request.app.routes)


def __getattr__(name: str) -> Any:
    """``router``: a new router over the project's ``queries/`` each time it is asked for (each application)."""
    if name == "router":
        return build_router(QUERIES_DIR)
    raise AttributeError(name)
