"""Security headers on every response, as a plain ASGI middleware (no buffering: streamed answers stay streamed).

- ``X-Content-Type-Options: nosniff`` everywhere (a SPARQL result or a Turtle file is never run as a script);
- ``Referrer-Policy: same-origin`` everywhere (query texts in our URLs do not leak to other sites);
- on HTML responses that do not set their own ``Content-Security-Policy`` (our pages and the query page set
  stricter ones), :data:`DEFAULT_HTML_CSP`, which still lets the OpenAPI pages ``/docs`` and ``/redoc`` load
  their scripts from FastAPI's CDN.

A header a route sets itself is left as it is.
"""

from __future__ import annotations

from typing import Any

#: For HTML that sets no policy of its own (FastAPI's /docs and /redoc use an inline script and jsDelivr).
DEFAULT_HTML_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
_ALWAYS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"))


class SecurityHeadersMiddleware:
    """Adds the headers above to every HTTP response of ``app``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                for name, value in _ALWAYS:
                    if name not in names:
                        headers.append((name, value))
                content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
                if content_type.startswith(b"text/html") and b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", DEFAULT_HTML_CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
