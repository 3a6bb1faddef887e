"""Errors as ``application/problem+json`` (RFC 9457), mapped once for the whole application.

Every :class:`kg.errors.KGError` becomes a problem with its class's status and title and the error's detail;
Starlette's own HTTP errors (404 for an unknown path, 405 for a wrong method) and FastAPI's request validation
errors (422) get the same shape. Anything else is a fault of ours: logged with its traceback, answered 500 with
no internals.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kg.errors import KGError

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem_response(
    status: int, title: str, detail: str, *, instance: str | None = None, headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response. ``extra`` members are added when JSON can carry them."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    for key, value in extra.items():
        if key not in body and isinstance(value, (str, int, float, bool, list, type(None))):
            body[key] = value
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


async def _kg_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KGError)
    if exc.status >= 500:
        log.warning("%s %s -> %d %s: %s", request.method, request.url.path, exc.status, exc.title, exc.detail)
    headers = {"Retry-After": "1"} if exc.status in (429, 503) else None
    return problem_response(exc.status, exc.title, exc.detail, instance=request.url.path, headers=headers, **exc.extra)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    try:
        title = HTTPStatus(exc.status_code).phrase
    except ValueError:
        title = "Error"
    detail = exc.detail if isinstance(exc.detail, str) else title
    return problem_response(
        exc.status_code, title, detail, instance=request.url.path, headers=dict(exc.headers or {}) or None
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', '')}" for error in exc.errors()
    ]
    return problem_response(422, "Invalid parameter", "; ".join(errors) or "invalid request", instance=request.url.path)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    # Answered by Starlette's outermost error middleware, outside api.headers: the security headers are set here.
    return problem_response(
        500, "Internal error", "the server failed; the error has been logged",
        headers={"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"},
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error the application can raise to a problem+json response."""
    app.add_exception_handler(KGError, _kg_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
