"""The browser query page of ``/sparql`` and the static assets it needs.

The page is an editor with SPARQL highlighting and prefix completion, our example queries from ``queries/`` one
click away, results as a table, a permalink (``/sparql?query=...``) and downloads (``/sparql?query=...&format=csv``).
The editor and the results viewer are YASGUI's (``@zazuko/yasqe`` and ``@zazuko/yasr`` from the npm registry,
installed into ``node_modules/`` by ``make install``) and served by this router from there, so the page needs no
network but our own server. Without those files the page falls back to a plain text editor and a results table drawn
by our own script, and says so.

The endpoint router calls :func:`query_page_response` for a ``GET /sparql`` whose client prefers ``text/html``;
this module's :data:`router` serves ``/static/ui/{name}`` (our page's script and style) and
``/static/vendor/{name}`` (the YASGUI files).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from kg.errors import NotFound
from kg.namespaces import BASE, PREFIXES
from kg.paths import PROJECT_DIR, QUERIES_DIR

log = logging.getLogger(__name__)

API_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = API_DIR / "templates"
STATIC_DIR = API_DIR / "static"
NODE_MODULES_DIR = PROJECT_DIR / "node_modules"

# Public name under /static/vendor/ -> file inside node_modules. Only these are served from node_modules.
VENDOR_FILES: dict[str, str] = {
    "yasqe.min.js": "@zazuko/yasqe/build/yasqe.min.js",
    "yasqe.min.js.map": "@zazuko/yasqe/build/yasqe.min.js.map",
    "yasqe.min.css": "@zazuko/yasqe/build/yasqe.min.css",
    "yasr.min.js": "@zazuko/yasr/build/yasr.min.js",
    "yasr.min.js.map": "@zazuko/yasr/build/yasr.min.js.map",
    "yasr.min.css": "@zazuko/yasr/build/yasr.min.css",
}
# The files without which the page uses its plain fallback editor.
REQUIRED_VENDOR_FILES = ("yasqe.min.js", "yasqe.min.css", "yasr.min.js", "yasr.min.css")

_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
_STATIC_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'"
)
_ASSET_CACHE = "public, max-age=3600"
# Protocol parameters a permalink may carry besides the query; the page sends them with every run.
DATASET_PARAMETERS = ("default-graph-uri", "named-graph-uri")

router = APIRouter(tags=["query page"])


@dataclass(frozen=True)
class ExampleQuery:
    """One file of ``queries/`` as the page lists it.

    ``name`` is the file name without ``.rq``; ``summary``, ``description`` and ``tags`` come from the ``#+ ``
    front matter; ``query`` is the SPARQL text without the front-matter lines.
    """

    name: str
    summary: str
    query: str
    description: str = ""
    tags: list[str] = field(default_factory=list)


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split a query file into its ``#+ `` front matter (parsed as YAML) and the query text.

    Takes the file's text; returns the front matter as a dict (empty when there is none or it is not a YAML
    mapping) and the remaining text with leading blank lines removed. Never raises on bad front matter: it is
    logged and treated as empty, since the page must render whatever the folder holds.

    >>> meta, body = split_front_matter("#+ summary: All clauses\\n#+ tags: [clauses]\\nSELECT * WHERE {}\\n")
    >>> meta["summary"], meta["tags"], body
    ('All clauses', ['clauses'], 'SELECT * WHERE {}\\n')
    """
    # The same reader as the REST operations (api.queries), lenient here: the page shows whatever the folder holds.
    from api.queries import QueryFileError, read_front_matter
    from api.queries import split_front_matter as split_header

    try:
        return read_front_matter(text)
    except QueryFileError as exc:
        log.warning("unreadable front matter ignored: %s", exc)
        return {}, split_header(text)[1]


def load_examples(folder: Path = QUERIES_DIR) -> list[ExampleQuery]:
    """The example queries of ``folder`` (``*.rq``), sorted by file name.

    Takes the folder (default: the project's ``queries/``); returns one :class:`ExampleQuery` per readable file,
    the summary falling back to the file name. A missing folder gives an empty list; an unreadable file is logged
    and left out.
    """
    examples: list[ExampleQuery] = []
    if not folder.is_dir():
        return examples
    for path in sorted(folder.glob("*.rq")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("example query %s left out: %s", path, exc)
            continue
        meta, body = split_front_matter(text)
        tags = meta.get("tags") or []
        if isinstance(tags, str):
            tags = [t.strip() for t in tags.split(",") if t.strip()]
        examples.append(
            ExampleQuery(
                name=path.stem,
                summary=str(meta.get("summary") or path.stem.replace("_", " ")).strip(),
                description=str(meta.get("description") or "").strip(),
                tags=[str(t) for t in tags] if isinstance(tags, list) else [],
                query=body,
            )
        )
    return examples


def vendor_available(node_modules: Path | None = None) -> bool:
    """Whether the YASGUI files the page needs are installed (``make install`` runs ``npm ci``).

    Takes the ``node_modules`` folder to look in (default: the project's); returns True when every file of
    :data:`REQUIRED_VENDOR_FILES` is there.
    """
    root = NODE_MODULES_DIR if node_modules is None else node_modules
    return all((root / VENDOR_FILES[name]).is_file() for name in REQUIRED_VENDOR_FILES)


@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _json_for_script(value: object) -> str:
    """JSON safe to place inside a ``<script type="application/json">`` element (no ``</script>`` breakout)."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _base_iri(request: Request) -> str:
    settings = getattr(request.app.state, "settings", None)
    return str(getattr(settings, "base_iri", None) or BASE)


def query_page_response(request: Request, query: str | None = None) -> HTMLResponse:
    """The query page as an HTML response.

    Takes the request (for the mount point ``root_path``, the app's settings in ``app.state.settings`` if any,
    and the ``query`` parameter of its URL) and an optional query, which defaults to that parameter: when there is
    one, the page opens with it in the editor and runs it at once, which is how a permalink ``/sparql?query=...``
    opened in a browser behaves. The URL's ``default-graph-uri`` and ``named-graph-uri`` parameters are kept: the
    page shows them and sends them with each run, in its permalinks and in its download links. Returns a 200
    ``text/html`` response with ``Vary: Accept`` (``/sparql`` answers machines with the service description) and a
    content security policy that lets the page load and fetch from our own origin only.
    """
    if query is None:
        query = request.query_params.get("query")
    root = request.scope.get("root_path", "").rstrip("/")
    has_vendor = vendor_available()
    examples = load_examples()
    config = {
        "endpoint": f"{root}/sparql",
        "idBase": _base_iri(request).rstrip("/") + "/id/",
        "localIdBase": f"{root}/id/",
        "prefixes": PREFIXES,
        "examples": [asdict(e) for e in examples],
        "query": query,
        "dataset": [[k, v] for k, v in request.query_params.multi_items() if k in DATASET_PARAMETERS],
        "autorun": query is not None and query.strip() != "",
        "editor": "yasgui" if has_vendor else "plain",
    }
    html = (
        _templates()
        .get_template("query.html")
        .render(
            root=root,
            static=f"{root}/static/ui",
            vendor=f"{root}/static/vendor",
            has_vendor=has_vendor,
            examples=examples,
            query=query or "",
            config_json=_json_for_script(config),
        )
    )
    return HTMLResponse(
        html,
        headers={
            "Vary": "Accept",
            "Cache-Control": "no-cache",
            "Content-Security-Policy": _CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        },
    )


def _file_response(path: Path) -> FileResponse:
    media_type = _MEDIA_TYPES.get(path.suffix, "application/octet-stream")
    return FileResponse(
        path,
        media_type=media_type,
        headers={"Cache-Control": _ASSET_CACHE, "X-Content-Type-Options": "nosniff"},
    )


@router.get("/static/ui/{name}", name="ui_static", include_in_schema=False)
def ui_static(name: str) -> FileResponse:
    """One file of ``api/static/`` (the page's script and style). Raises NotFound for anything else."""
    if not _STATIC_NAME_RE.match(name):
        raise NotFound(f"no static file {name!r}")
    path = STATIC_DIR / name
    if not path.is_file():
        raise NotFound(f"no static file {name!r}")
    return _file_response(path)


@router.get("/static/vendor/{name}", name="ui_vendor", include_in_schema=False)
def ui_vendor(name: str) -> FileResponse:
    """One YASGUI file from ``node_modules`` (see :data:`VENDOR_FILES`). Raises NotFound when it is not
    a listed file or is not installed (``make install`` runs ``npm ci``)."""
    relative = VENDOR_FILES.get(name)
    if relative is None:
        raise NotFound(f"no vendor file {name!r}")
    path = NODE_MODULES_DIR / relative
    if not path.is_file():
        raise NotFound(f"{name} is not installed: run `make install` (npm ci)")
    return _file_response(path)
