"""The ``kg`` command: one entry point, one subcommand per job.

Every option also reads a ``KG_*`` environment variable (shown in ``--help``); the options override it.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from kg import __version__
from kg.errors import KGError
from kg.settings import Settings

app = typer.Typer(
    name="kg",
    help="Build, check, query and serve the knowledge graph of intergovernmental declarations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

StoreOpt = Annotated[
    Optional[str],
    typer.Option(
        "--store",
        envvar="KG_STORE",
        help="Folder of the embedded Oxigraph store, or the URL of a SPARQL 1.1 endpoint [default: data/store].",
        show_envvar=True,
    ),
]


def _settings(**overrides: object) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _fail(exc: KGError) -> None:
    typer.secho(f"error: {exc.detail}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kg {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More log output (-vv for debug).")] = 0,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@app.command()
def validate(
    skip_reasoner: Annotated[
        bool, typer.Option("--skip-reasoner", envvar="KG_SKIP_REASONER", help="Do not run HermiT (needs Java).")
    ] = False,
    ontology_dir: Annotated[
        Optional[Path],
        typer.Option(
            "--ontology-dir",
            envvar="KG_ONTOLOGY_DIR",
            help="Folder to check instead of the project's ontology/ (e.g. a copy with your changes).",
            show_envvar=True,
        ),
    ] = None,
    docs: Annotated[
        Optional[Path],
        typer.Option("--docs", help="Also write the HTML documentation of the ontology to this file."),
    ] = None,
    check: Annotated[
        Optional[list[str]],
        typer.Option(
            "--check",
            help="Run only this check (repeatable): 'declared terms', 'labels and metadata', 'OWL 2 DL typing', "
            "'identity links', 'SHACL shapes', 'HermiT'. Parsing always runs.",
        ),
    ] = None,
) -> None:
    """Check the ontology, schemes, reference data and shapes: parsing, declared terms, labels and comments,
    OWL 2 DL typing, identity links, SHACL on the reference data, and HermiT consistency and classification.
    Exits 1 on any failure."""
    from kg.validate import print_report, run_checks

    try:
        report = run_checks(reasoner=not skip_reasoner, ontology_dir=ontology_dir, only=check or None)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--check") from exc
    print_report(report)
    if docs is not None:
        from kg.docs import write_ontology_html

        try:
            write_ontology_html(docs, ontology_dir=ontology_dir)
        except KGError as exc:
            _fail(exc)
        typer.echo(f"wrote {docs}")
    if not report.ok:
        raise typer.Exit(code=1)


@app.command()
def serve(
    store: StoreOpt = None,
    host: Annotated[
        Optional[str], typer.Option("--host", envvar="KG_HOST", show_envvar=True, help="Address to listen on [default: 127.0.0.1].")
    ] = None,
    port: Annotated[
        Optional[int], typer.Option("--port", envvar="KG_PORT", show_envvar=True, help="Port to listen on [default: 8000].")
    ] = None,
    query_timeout: Annotated[
        Optional[float],
        typer.Option(
            "--query-timeout", envvar="KG_QUERY_TIMEOUT", show_envvar=True, help="Seconds a query may run [default: 30]."
        ),
    ] = None,
    workers: Annotated[
        Optional[int],
        typer.Option("--workers", envvar="KG_WORKERS", show_envvar=True, help="Query worker processes [default: 2]."),
    ] = None,
    get: Annotated[
        Optional[str],
        typer.Option("--get", help="Answer one GET of this path in-process, print the body, exit 1 unless 200."),
    ] = None,
) -> None:
    """Serve the SPARQL endpoint, linked data and REST API over the store (default 127.0.0.1:8000)."""
    settings = _settings(store=store, host=host, port=port, query_timeout=query_timeout, workers=workers)
    try:
        if get is not None:
            from api.server import get_once

            status, content_type, body = get_once(settings, get)
            sys.stdout.buffer.write(body)
            if body and not body.endswith(b"\n"):
                sys.stdout.buffer.write(b"\n")
            sys.stdout.flush()
            if status != 200:
                typer.secho(f"GET {get}: {status} ({content_type})", fg=typer.colors.RED, err=True)
                raise typer.Exit(code=1)
            return
        from api.server import serve as run_server

        run_server(settings)
    except KGError as exc:
        _fail(exc)


# -- build, ingest, query, export (kg.build, kg.ingest, kg.store) -------------------------------------------------


def _progress_wanted() -> bool:
    return sys.stderr.isatty()


@app.command()
def build(
    store: StoreOpt = None,
    corpus: Annotated[
        Optional[Path],
        typer.Option("--corpus", help="Folder of bundled declarations (with corpus.toml) [default: kg/corpus]."),
    ] = None,
    no_dumps: Annotated[bool, typer.Option("--no-dumps", help="Do not write the dumps beside the store.")] = False,
) -> None:
    """Build the store from the ontology, the reference data and the bundled declarations (SHACL-checked, clause
    kinds materialised). An embedded store is built in a new folder and swapped in only when complete; dumps go
    to DIR/../dumps."""
    from kg.build import build_store
    from kg.paths import CORPUS_DIR

    try:
        report = build_store(
            _settings(store=store), corpus_dir=corpus or CORPUS_DIR, progress=_progress_wanted(), dumps=not no_dumps
        )
    except KGError as exc:
        _fail(exc)
        return
    typer.echo(
        f"built {report.store}: {report.triples} triples in {len(report.graphs)} graphs, "
        f"{len(report.declarations)} declarations ({', '.join(report.declarations)}) in {report.seconds:.1f} s"
    )
    for dump in report.dumps:
        typer.echo(f"dump: {dump}")


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Declaration documents: UTF-8 text, HTML or PDF.")],
    store: StoreOpt = None,
    title: Annotated[Optional[str], typer.Option("--title", help="Title, when the text has none (one file).")] = None,
    date: Annotated[Optional[str], typer.Option("--date", help="Date of adoption, YYYY-MM-DD.")] = None,
    place: Annotated[
        Optional[str], typer.Option("--place", help="Place of adoption: a key (mayan-riviera) or an IRI.")
    ] = None,
    adopter: Annotated[
        Optional[list[str]], typer.Option("--adopter", help="An adopting actor (state/mexico or an IRI); repeatable.")
    ] = None,
    key: Annotated[Optional[str], typer.Option("--key", help="Key of the declaration's IRIs (one file).")] = None,
    no_dumps: Annotated[
        bool,
        typer.Option(
            "--no-dumps",
            help="Do not rewrite the dumps (DIR/../dumps: declarations.nq.gz, declarations.ttl) after the ingest; "
            "they stay as they were until the next build or ingest. For bulk runs: each refresh exports the whole "
            "store.",
        ),
    ] = False,
) -> None:
    """Add or replace declarations: each file is read, extracted and checked against the shapes before anything
    is written; checked declarations and their links are written in groups (up to 100 new declarations by a
    journaled bulk load, replacements in one transaction), each group wholly or not at all. A file that fails is reported with its reason and leaves the store unchanged; the others load. Then the
    dumps beside an embedded store are rewritten (skip with --no-dumps). Exits 1 if any file failed."""
    from kg.errors import StoreError
    from kg.ingest import ingest_files, parse_metadata, write_dumps
    from kg.store import is_remote, open_store

    try:
        metadata = parse_metadata(title=title, date=date, place=place, adopters=adopter, key=key)
        settings = _settings(store=store)
        remote = is_remote(settings.store)
        if not remote and not Path(settings.store).is_dir():
            raise StoreError(f"no store at {settings.store} (run `kg build --store {settings.store}` first)")
        dumps = []
        with open_store(settings) as st:
            report = ingest_files(st, files, link_threshold=settings.link_threshold,
                                  link_max_per_clause=settings.link_max_per_clause, **metadata)
            if not remote and not no_dumps and any(f.ok for f in report.files):
                from kg.build import dumps_dir

                dumps = write_dumps(st, dumps_dir(settings.store))
    except KGError as exc:
        _fail(exc)
        return
    for f in report.files:
        if f.ok:
            verb = "replaced" if f.replaced else "added"
            typer.echo(f"{verb} {f.key}: {f.clauses} clauses, {f.triples} triples ({f.path})")
            for warning in f.warnings:
                typer.secho(f"  warning: {warning}", fg=typer.colors.YELLOW, err=True)
        else:
            typer.secho(f"refused {f.reason}", fg=typer.colors.RED, err=True)
    for dump in dumps:
        typer.echo(f"dump: {dump}")
    if not report.ok:
        raise typer.Exit(code=1)


@app.command()
def link(
    store: StoreOpt = None,
    threshold: Annotated[
        Optional[float],
        typer.Option(
            "--threshold", envvar="KG_LINK_THRESHOLD", show_envvar=True,
            help="Lowest combined score (0..1) kept for a related-clause link [default: the setting].",
        ),
    ] = None,
) -> None:
    """Rebuild the links graph alone (citations, shared forums, related clauses; graph/links) from the
    declarations in the store, in one transaction. kg build and kg ingest keep it up to date themselves."""
    import time

    from kg.link import link_store
    from kg.store import open_store

    try:
        settings = _settings(store=store, link_threshold=threshold)
        started = time.perf_counter()
        with open_store(settings) as st:
            count = link_store(st, threshold=settings.link_threshold, max_per_clause=settings.link_max_per_clause)
    except KGError as exc:
        _fail(exc)
        return
    except ValueError as exc:  # pydantic: a threshold outside 0..1
        raise typer.BadParameter(str(exc), param_hint="--threshold") from exc
    typer.echo(f"linked {settings.store}: {count} triples in graph/links in {time.perf_counter() - started:.1f} s")


_RESULT_FORMATS = ("table", "json", "csv", "tsv", "xml", "ttl", "nt")


@app.command()
def query(
    sparql: Annotated[str, typer.Argument(help="A SPARQL query, @FILE to read it from a file, or - for stdin.")],
    store: StoreOpt = None,
    format: Annotated[
        Optional[str],
        typer.Option("--format", "-f", help="table, json, csv, tsv, xml (SELECT/ASK); ttl, nt (CONSTRUCT/DESCRIBE)."),
    ] = None,
) -> None:
    """Answer a SPARQL query from the terminal (the default graph is the union of all graphs)."""
    from kg.export import print_results
    from kg.errors import BadInput
    from kg.store import open_store

    try:
        if format is not None and format not in _RESULT_FORMATS:
            raise BadInput(f"--format {format!r}: use one of {', '.join(_RESULT_FORMATS)}")
        if sparql == "-":
            text = sys.stdin.read()
        elif sparql.startswith("@"):
            try:
                text = Path(sparql[1:]).read_text(encoding="utf-8")
            except OSError as exc:
                raise BadInput(f"cannot read the query file {sparql[1:]}: {exc.strerror or exc}") from None
        else:
            text = sparql
        with open_store(_settings(store=store), read_only=True) as st:
            print_results(st.query(text), format)
    except KGError as exc:
        _fail(exc)


@app.command()
def export(
    output: Annotated[str, typer.Option("--output", "-o", help="File to write (.gz: compressed), or - for stdout.")],
    store: StoreOpt = None,
    format: Annotated[
        str, typer.Option("--format", "-f", help="nq or trig: every named graph; ttl or nt: the union of the graphs.")
    ] = "nq",
) -> None:
    """Write a dump of the store."""
    from kg.errors import BadInput
    from kg.store import open_store

    try:
        if format not in ("nq", "trig", "ttl", "nt"):
            raise BadInput(f"--format {format!r}: use nq, trig, ttl or nt")
        with open_store(_settings(store=store), read_only=True) as st:
            if output == "-":
                st.export(sys.stdout.buffer, format)  # type: ignore[arg-type]
            else:
                st.export(output, format)  # type: ignore[arg-type]
    except KGError as exc:
        _fail(exc)


@app.command("settings")
def show_settings() -> None:
    """List every setting with its environment variable, current value and meaning."""
    current = Settings()
    for name, field in Settings.model_fields.items():
        typer.echo(f"KG_{name.upper():<26} {getattr(current, name)!s:<40} {field.description}")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KGError as exc:  # pragma: no cover - typer handles Exit itself
        typer.secho(f"error: {exc.detail}", fg=typer.colors.RED, err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
