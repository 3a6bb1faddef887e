"""Dereferenceable IRIs: ``/id/{type}/{key}`` answers 303 to its document ``/doc/{type}/{key}``.

``GET /id/declaration/lac-2010-migration-communique`` on any host names
``<https://w3id.org/declarations/id/declaration/lac-2010-migration-communique>`` (``Settings.base_iri``), and
answers ``303 See Other`` to the document in the form the client's ``Accept`` header asks for (see
:func:`api.describe.choose_form` for the rule: q-values, then specificity, then RDF over HTML when both are named
exactly, the server's order among wildcard matches): ``/doc/{type}/{key}`` for HTML, ``/doc/{type}/{key}.ttl``,
``.jsonld``, ``.rdf`` or ``.nt`` for the RDF forms.

``/doc/{type}/{key}`` is negotiated the same way (with ``Content-Location`` naming the form sent); the suffixed
URLs always give their form. Documents carry ``Vary: Accept`` where negotiated, a weak ``ETag`` per representation
and ``Last-Modified`` (304 for ``If-None-Match``/``If-Modified-Since``), ``Link`` headers to the other forms
(``rel="alternate"`` with their types) and to the resource (``rel="describes"``), and CORS for every origin.
The 303 carries ``Link: <doc>; rel="describedby"``.

Unknown IRIs are 404 (an HTML page for browsers, ``application/problem+json`` otherwise); an ``Accept`` header no
form fits is 406.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import QueryServiceDep
from api.describe import (
    CORS_HEADERS,
    FORM_BY_SUFFIX,
    FORM_BY_TYPE,
    HTML_TYPE,
    OFFERS,
    PREFLIGHT_HEADERS,
    RDF_FORMS,
    ResourceRef,
    base_iri_of,
    choose_form,
    describe,
    etag,
    exists,
    freshness,
    not_modified,
    parse_resource_path,
    prefers_html,
    problem_headers,
    root_of,
    serialize,
    split_suffix,
    validator_headers,
)
from api.problems import problem_response
from api.routers.pages import html_response, render_not_found, render_resource_page

log = logging.getLogger(__name__)

router = APIRouter(tags=["linked data"])


def not_found(request: Request, detail: str) -> Response:
    """404: an HTML page when the client prefers HTML, else problem+json; with CORS."""
    if prefers_html(request):
        return html_response(render_not_found(request, detail), status=404, headers={"Vary": "Accept"})
    return problem_response(404, "Not found", detail, instance=request.url.path, headers=problem_headers())


def not_acceptable(request: Request) -> Response:
    """406 naming the forms we have."""
    return problem_response(
        406,
        "Not acceptable",
        f"none of the accepted media types ({request.headers.get('accept')}) is available; "
        "this resource is available as " + ", ".join(OFFERS),
        instance=request.url.path,
        headers=problem_headers(),
        available=list(OFFERS),
    )


def _links(ref: ResourceRef, root: str, served: str | None) -> str:
    parts = [f'<{root}/doc/{ref.path}.{f.suffix}>; rel="alternate"; type="{f.media_type}"'
             for f in RDF_FORMS if f.media_type != served]
    if served != HTML_TYPE:
        parts.append(f'<{root}/doc/{ref.path}>; rel="alternate"; type="text/html"')
    parts.append(f'<{ref.iri}>; rel="describes"')
    return ", ".join(parts)


def _doc_url(ref: ResourceRef, root: str, media_type: str) -> str:
    if media_type == HTML_TYPE:
        return f"{root}/doc/{ref.path}"
    return f"{root}/doc/{ref.path}.{FORM_BY_TYPE[media_type].suffix}"


@router.head("/id/{path:path}", include_in_schema=False)
@router.get("/id/{path:path}", summary="A resource IRI: 303 to its document")
async def resource(request: Request, path: str, service: QueryServiceDep) -> Response:
    """303 to the document of ``<base_iri>id/{path}`` in the negotiated form; 404 unknown, 406 nothing fits."""
    ref = parse_resource_path(path, base_iri_of(request))
    if ref is None:
        return not_found(request, f"/id/{path} is not an IRI this dataset mints")
    chosen = choose_form(request.headers.get("accept"))
    if chosen is None:
        return not_acceptable(request)
    if not await exists(service, ref.iri):
        return not_found(request, f"nothing is known about <{ref.iri}>")
    root = root_of(request)
    target = _doc_url(ref, root, chosen)
    return RedirectResponse(
        target,
        status_code=303,
        headers={
            **CORS_HEADERS,
            "Vary": "Accept",
            "Cache-Control": "public, max-age=3600",
            "Link": f'<{target}>; rel="describedby"; type="{chosen}", ' + _links(ref, root, None),
        },
    )


@router.head("/doc/{path:path}", include_in_schema=False)
@router.get("/doc/{path:path}", summary="The document describing a resource")
async def document(request: Request, path: str, service: QueryServiceDep) -> Response:
    """The document of ``<base_iri>id/{path}``: HTML or RDF by negotiation, or the form of the path's suffix."""
    stem, suffix = split_suffix(path)
    ref = parse_resource_path(stem, base_iri_of(request))
    if ref is None:
        return not_found(request, f"/doc/{path} is not the document of an IRI this dataset mints")
    if suffix is None:
        chosen = choose_form(request.headers.get("accept"))
        if chosen is None:
            return not_acceptable(request)
    else:
        chosen = HTML_TYPE if suffix == "html" else FORM_BY_SUFFIX[suffix].media_type
    root = root_of(request)
    fresh = await freshness(request, service)
    tag = etag(fresh, ref.path, chosen)
    headers = {**CORS_HEADERS, **validator_headers(tag, fresh), "Link": _links(ref, root, chosen)}
    if suffix is None:
        headers["Vary"] = "Accept"
        headers["Content-Location"] = _doc_url(ref, root, chosen)
    if not_modified(request, tag, fresh):
        return Response(status_code=304, headers=headers)
    if chosen == HTML_TYPE:
        page = await render_resource_page(request, service, ref)
        if page is None:
            return not_found(request, f"nothing is known about <{ref.iri}>")
        return html_response(page, headers=headers)
    form = FORM_BY_TYPE[chosen]
    # The serialised document is kept in the result cache for this generation (the cache is emptied when the
    # store changes): a repeated document skips parsing, sorting and serialising the describe query's triples.
    key = ("linked-data document", fresh.generation, ref.iri, chosen)
    kept = service.cache.get(key)
    if kept is not None:
        return Response(b"".join(kept), media_type=form.content_type, headers=headers)
    triples = await describe(service, ref.iri)
    if not triples:
        return not_found(request, f"nothing is known about <{ref.iri}>")
    body = serialize(triples, form)
    service.cache.put(key, [body])
    return Response(body, media_type=form.content_type, headers=headers)


@router.options("/id/{path:path}", include_in_schema=False)
@router.options("/doc/{path:path}", include_in_schema=False)
async def preflight(path: str) -> Response:
    """CORS preflight: any origin may GET these."""
    return Response(status_code=204, headers=PREFLIGHT_HEADERS)
