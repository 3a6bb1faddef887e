"""The common Python alternative, for comparison only: an rdflib ``Graph`` behind a minimal FastAPI SPARQL endpoint.

``python -m bench._rdflib_endpoint DATA.nt --port P`` parses the N-Triples file into one in-memory ``rdflib.Graph``
and answers ``GET/POST /sparql`` (``query`` parameter, form or query string) with SPARQL JSON results, as
rdflib-based endpoints do: the query runs in the server process with rdflib's own engine. ``GET /health`` answers
once the data is loaded. It has no time limit of its own: the benchmark's client gives up after its cap and
restarts the process (an rdflib query cannot be stopped from outside the process).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

log = logging.getLogger(__name__)


def make_app(data: Path) -> FastAPI:
    """A FastAPI app serving ``data`` (N-Triples) from an rdflib Graph; returns the app."""
    import rdflib

    graph = rdflib.Graph()
    started = time.perf_counter()
    graph.parse(str(data), format="nt")
    log.warning("rdflib loaded %d triples in %.1f s", len(graph), time.perf_counter() - started)
    app = FastAPI()

    @app.get("/health")
    def health() -> JSONResponse:
        return JSONResponse({"triples": len(graph)})

    def run(query: str) -> Response:
        try:
            result = graph.query(query)
        except Exception as exc:  # noqa: BLE001 - a comparison endpoint: report any failure as the client's
            return Response(str(exc), status_code=400, media_type="text/plain")
        body = result.serialize(format="json")
        return Response(body, media_type="application/sparql-results+json")

    @app.get("/sparql")
    def sparql_get(query: str) -> Response:
        return run(query)

    @app.post("/sparql")
    async def sparql_post(request: Request) -> Response:
        form = await request.form()
        return run(str(form["query"]))

    return app


def main(argv: list[str] | None = None) -> None:
    """Command line: load the data and serve until killed."""
    parser = argparse.ArgumentParser(prog="python -m bench._rdflib_endpoint", description=__doc__)
    parser.add_argument("data", type=Path, help="N-Triples file to serve")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    import uvicorn

    uvicorn.run(make_app(args.data), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
