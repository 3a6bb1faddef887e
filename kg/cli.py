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
) -> None:
    """Check the ontology, schemes, reference data and shapes: parsing, declared terms, labels and comments,
    OWL 2 DL typing, SHACL on the reference data, and HermiT consistency and classification. Exits 1 on any failure."""
    from kg.validate import print_report, run_checks

    report = run_checks(reasoner=not skip_reasoner, ontology_dir=ontology_dir)
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
