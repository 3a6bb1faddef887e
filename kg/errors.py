"""One exception hierarchy for the whole project; each class carries the HTTP status it maps to.

The API maps these once, in an exception handler, to ``application/problem+json`` (RFC 9457); the CLI prints
their message and exits non-zero.
"""

from __future__ import annotations


class KGError(Exception):
    """Base of every error this project raises on purpose."""

    status = 500
    title = "Internal error"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class BadInput(KGError):
    """A document, file or argument that cannot be used as given."""

    status = 400
    title = "Bad input"


class NotADeclaration(BadInput):
    """The text was read, but it is not a declaration of the genre we ingest (no clauses, no title...)."""

    title = "Not a declaration"


class ShapeViolation(BadInput):
    """The triples made from a document do not satisfy the SHACL shapes."""

    title = "Shape violation"


class BadQuery(KGError):
    """A SPARQL query or update that does not parse."""

    status = 400
    title = "Bad SPARQL query"


class QueryNotEvaluable(BadQuery):
    """A SPARQL query that parses but that the engine cannot evaluate (an unknown function, say)."""

    status = 422
    title = "Query cannot be evaluated"


class Forbidden(KGError):
    """A well-formed request the public endpoint refuses (updates, LOAD, SERVICE, foreign FROM)."""

    status = 403
    title = "Forbidden"


class BadParameter(KGError):
    """A REST parameter of the wrong kind or out of range."""

    status = 422
    title = "Invalid parameter"


class NotFound(KGError):
    status = 404
    title = "Not found"


class NotAcceptable(KGError):
    status = 406
    title = "Not acceptable"


class UnsupportedMediaType(KGError):
    """A request body in a media type (or charset) the endpoint does not read."""

    status = 415
    title = "Unsupported media type"


class TooLarge(KGError):
    status = 413
    title = "Request too large"


class TooManyRequests(KGError):
    status = 429
    title = "Too many concurrent queries"


class QueryTimeout(KGError):
    status = 503
    title = "Query time limit exceeded"


class QueryTooLarge(KGError):
    """A query's worker grew past the memory limit and was stopped (like a time-limit overrun)."""

    status = 503
    title = "Query memory limit exceeded"


class StoreError(KGError):
    """The store (embedded or remote) failed."""

    status = 502
    title = "Store failure"


class ValidationFailed(KGError):
    """``kg validate`` found problems in the ontology or reference data."""

    status = 500
    title = "Validation failed"


class ReasonerUnavailable(KGError):
    """The DL reasoner (HermiT, run by owlready2 on Java) could not be run: Java is missing or it failed."""

    status = 503
    title = "Reasoner unavailable"
