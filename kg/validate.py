"""Checks of ``ontology/``: what ``kg validate`` runs and ``make test`` relies on.

:func:`run_checks` runs, in order: every Turtle file parses; no ``dec:`` term is used that ``declarations.ttl`` does
not declare; every term has English and Spanish labels and a comment, and the ontology its publishing metadata; the
OWL 2 DL typing rules hold (every property declared with one kind, used with the right kind of value); no two
resources share an ``owl:sameAs`` target or an ISO code; the SHACL
shapes hold on the schemes and reference data; and HermiT finds the whole consistent, no class unsatisfiable, and
the kind of a sample clause of each speech-act family. Each check gives readable lines; the report is ``ok`` only
when every check is.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from kg.errors import BadInput, KGError
from kg.namespaces import DEC, ID_BASE, ONTOLOGY_IRI, ONTOLOGY_VERSION, ONTOLOGY_VERSION_IRI, VANN
from kg.reason import KIND_CLASSES, SHAPES_FILE, load_graph, ontology_sources

log = logging.getLogger(__name__)

#: Files ``ontology/`` must hold (the reference data folder must hold at least one file too).
REQUIRED_FILES = ("declarations.ttl", SHAPES_FILE, "speech-acts.ttl", "topics.ttl")

#: The OWL types that declare a term.
TERM_TYPES = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, RDFS.Datatype)
PROPERTY_TYPES = (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)

#: Publishing metadata the ontology header must carry (FOOPS!, Widoco).
REQUIRED_METADATA = (
    OWL.versionIRI,
    OWL.versionInfo,
    DCTERMS.title,
    DCTERMS.description,
    DCTERMS.license,
    DCTERMS.creator,
    DCTERMS.created,
    DCTERMS.issued,
    VANN.preferredNamespacePrefix,
    VANN.preferredNamespaceUri,
)

SPEECH_ACT_SCHEME = URIRef(ID_BASE + "scheme/speech-acts")
_FAMILY_TO_KIND = {
    DEC.CommissiveAct: DEC.Commitment,
    DEC.DirectiveAct: DEC.Appeal,
    DEC.AssertiveAct: DEC.Recognition,
    DEC.SupportiveAct: DEC.Endorsement,
}
_BUILTIN_NAMESPACES = (str(RDF), str(RDFS), str(OWL))
_MAX_LINES = 60


@dataclass
class CheckResult:
    """One check: its name, whether it passed, what it found (one line each) and how long it took."""

    name: str
    ok: bool
    lines: list[str] = field(default_factory=list)
    seconds: float = 0.0
    skipped: bool = False


@dataclass
class Report:
    """All checks of one run over ``ontology_dir``; ``ok`` when every check passed (skipped checks count as passed)."""

    ontology_dir: Path
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def check(self, name: str) -> CheckResult:
        """The check called ``name``; raises ``KeyError`` when there is none."""
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)


@dataclass
class _Sources:
    """The parsed files: one graph per file, and the merged graphs the later checks need."""

    folder: Path
    per_file: dict[Path, Graph]
    core: Graph  # declarations.ttl
    owl: Graph  # every source but the shapes
    shapes: Graph | None


#: The checks after parsing, in the order they run: name -> function of the parsed sources.
CHECKS: dict[str, Callable[[_Sources], CheckResult]] = {}


def run_checks(
    *, reasoner: bool = True, ontology_dir: Path | None = None, only: Iterable[str] | None = None
) -> Report:
    """Run the checks over ``ontology_dir`` (default: the project's ``ontology/``).

    ``reasoner=False`` leaves out HermiT (which needs Java). ``only`` names the checks to run (see :data:`CHECKS`;
    parsing always runs); the others are reported as skipped. Returns a :class:`Report`; a problem in the files
    becomes a failed check, never an exception. Raises ``ValueError`` for an unknown check name.
    """
    from kg.paths import ONTOLOGY_DIR

    selected = set(CHECKS) if only is None else set(only)
    unknown = selected - set(CHECKS)
    if unknown:
        raise ValueError(f"unknown check(s) {sorted(unknown)}; known: {', '.join(CHECKS)}")
    if not reasoner:
        selected.discard("HermiT")
    folder = Path(ontology_dir) if ontology_dir is not None else ONTOLOGY_DIR
    report = Report(ontology_dir=folder)
    sources, parse_check = _timed("files parse", lambda: _check_parse(folder))
    report.checks.append(parse_check)
    for name, check in CHECKS.items():
        if name not in selected:
            why = "skipped (--skip-reasoner)" if name == "HermiT" and not reasoner else "skipped (not selected)"
            report.checks.append(CheckResult(name, ok=True, lines=[why], skipped=True))
        elif sources is None:
            report.checks.append(CheckResult(name, ok=False, lines=["not run: the sources do not parse"]))
        else:
            report.checks.append(_timed(name, lambda check=check: (None, check(sources)))[1])
    return report


def _timed(name: str, run: Callable[[], tuple[object, CheckResult]]) -> tuple[object, CheckResult]:
    started = time.perf_counter()
    value, result = run()
    result.name = name
    result.seconds = time.perf_counter() - started
    if len(result.lines) > _MAX_LINES:
        hidden = len(result.lines) - _MAX_LINES
        result.lines = result.lines[:_MAX_LINES] + [f"... and {hidden} more"]
    return value, result


def _short(term: object, graph: Graph | None = None) -> str:
    if isinstance(term, URIRef):
        text = str(term)
        if text.startswith(str(DEC)):
            return "dec:" + text[len(str(DEC)) :]
        if text.startswith(ID_BASE):
            return "id:" + text[len(ID_BASE) :]
        if graph is not None:
            try:
                return graph.namespace_manager.normalizeUri(term)
            except Exception:  # rdflib cannot always shorten an IRI
                return f"<{text}>"
        return f"<{text}>"
    return repr(str(term)) if isinstance(term, Literal) else str(term)


# --- 1. parsing -------------------------------------------------------------------------------------------------


def _check_parse(folder: Path) -> tuple[_Sources | None, CheckResult]:
    result = CheckResult("files parse", ok=True)
    if not folder.is_dir():
        result.ok = False
        result.lines.append(f"no folder {folder}")
        return None, result
    for name in REQUIRED_FILES:
        if not (folder / name).is_file():
            result.ok = False
            result.lines.append(f"missing {name}")
    reference = sorted((folder / "reference").glob("*.ttl"))
    if not reference:
        result.ok = False
        result.lines.append("missing reference data: no reference/*.ttl")
    files = sorted(folder.glob("*.ttl")) + reference
    per_file: dict[Path, Graph] = {}
    for path in files:
        try:
            graph = load_graph([path])
        except BadInput as exc:
            result.ok = False
            result.lines.append(exc.detail)
            continue
        per_file[path] = graph
        result.lines.append(f"{path.relative_to(folder)}: {len(graph)} triples")
    core_path = folder / "declarations.ttl"
    if core_path not in per_file:
        result.ok = False
        return None, result
    if not result.ok and len(per_file) < len(files):
        return None, result
    owl_graph = Graph()
    for path in ontology_sources(folder):
        if path in per_file:
            owl_graph += per_file[path]
    shapes = per_file.get(folder / SHAPES_FILE)
    return _Sources(folder, per_file, per_file[core_path], owl_graph, shapes), result


# --- 2. declared terms ------------------------------------------------------------------------------------------


def declared_terms(core: Graph) -> dict[URIRef, set[URIRef]]:
    """The ``dec:`` terms ``core`` declares, each with its OWL types (class, object/datatype/annotation property)."""
    terms: dict[URIRef, set[URIRef]] = defaultdict(set)
    for kind in TERM_TYPES:
        for term in core.subjects(RDF.type, kind):
            if isinstance(term, URIRef) and str(term).startswith(str(DEC)):
                terms[term].add(kind)
    return dict(terms)


def _used_dec_terms(graph: Graph) -> set[URIRef]:
    used: set[URIRef] = set()
    for triple in graph:
        for term in triple:
            if isinstance(term, URIRef) and str(term).startswith(str(DEC)):
                used.add(term)
            elif isinstance(term, Literal) and term.datatype is not None and str(term.datatype).startswith(str(DEC)):
                used.add(URIRef(term.datatype))
    return used


def _check_declared(sources: _Sources) -> CheckResult:
    result = CheckResult("declared terms", ok=True)
    declared = declared_terms(sources.core)
    users: dict[URIRef, list[str]] = defaultdict(list)
    for path, graph in sources.per_file.items():
        for term in _used_dec_terms(graph):
            if term not in declared:
                users[term].append(str(path.relative_to(sources.folder)))
    for term in sorted(users):
        result.ok = False
        result.lines.append(f"{_short(term)} is used in {', '.join(sorted(users[term]))} but not declared in declarations.ttl")
    if result.ok:
        result.lines.append(f"{len(declared)} dec: terms declared; every dec: term used in ontology/ is among them")
    return result


# --- 3. labels, comments, metadata ------------------------------------------------------------------------------


def _check_labels(sources: _Sources) -> CheckResult:
    result = CheckResult("labels and metadata", ok=True)
    core = sources.core
    for term in sorted(declared_terms(core)):
        languages = {lbl.language for lbl in core.objects(term, RDFS.label) if isinstance(lbl, Literal)}
        for lang in ("en", "es"):
            if lang not in languages:
                result.ok = False
                result.lines.append(f"{_short(term)} has no rdfs:label @{lang}")
        comments = [c for c in core.objects(term, RDFS.comment) if isinstance(c, Literal) and str(c).strip()]
        if not comments:
            result.ok = False
            result.lines.append(f"{_short(term)} has no rdfs:comment")
        if (term, RDFS.isDefinedBy, URIRef(ONTOLOGY_IRI)) not in core:
            result.ok = False
            result.lines.append(f"{_short(term)} has no rdfs:isDefinedBy <{ONTOLOGY_IRI}>")
    onto = URIRef(ONTOLOGY_IRI)
    if (onto, RDF.type, OWL.Ontology) not in core:
        result.ok = False
        result.lines.append(f"declarations.ttl does not declare <{ONTOLOGY_IRI}> a owl:Ontology")
    for prop in REQUIRED_METADATA:
        if core.value(onto, prop) is None:
            result.ok = False
            result.lines.append(f"the ontology has no {_short(prop, core)}")
    version_iri = core.value(onto, OWL.versionIRI)
    if version_iri is not None and str(version_iri) != ONTOLOGY_VERSION_IRI:
        result.ok = False
        result.lines.append(f"owl:versionIRI is <{version_iri}>; kg.namespaces says <{ONTOLOGY_VERSION_IRI}>")
    info = core.value(onto, OWL.versionInfo)
    if info is not None and str(info) != ONTOLOGY_VERSION:
        result.ok = False
        result.lines.append(f"owl:versionInfo is {str(info)!r}; kg.namespaces says {ONTOLOGY_VERSION!r}")
    if str(core.value(onto, VANN.preferredNamespacePrefix) or "dec") != "dec":
        result.ok = False
        result.lines.append("vann:preferredNamespacePrefix must be \"dec\"")
    if str(core.value(onto, VANN.preferredNamespaceUri) or str(DEC)) != str(DEC):
        result.ok = False
        result.lines.append(f"vann:preferredNamespaceUri must be \"{DEC}\"")
    if result.ok:
        result.lines.append(
            "every dec: term has labels @en and @es, a comment and rdfs:isDefinedBy; the ontology has its publishing "
            "metadata"
        )
    return result


# --- 4. OWL 2 DL typing -----------------------------------------------------------------------------------------


def _check_dl_typing(sources: _Sources) -> CheckResult:
    """Punning rules and declarations a DL reasoner needs, checked over everything given to HermiT."""
    result = CheckResult("OWL 2 DL typing", ok=True)
    graph = sources.owl
    kinds: dict[URIRef, set[URIRef]] = defaultdict(set)
    for kind in (*PROPERTY_TYPES, OWL.Class, RDFS.Datatype):
        for term in graph.subjects(RDF.type, kind):
            if isinstance(term, URIRef):
                kinds[term].add(kind)
    for term, types in sorted(kinds.items()):
        property_kinds = types & set(PROPERTY_TYPES)
        if len(property_kinds) > 1:
            result.ok = False
            names = ", ".join(sorted(_short(t, graph) for t in property_kinds))
            result.lines.append(f"{_short(term, graph)} is declared as more than one kind of property ({names})")
        if OWL.Class in types and RDFS.Datatype in types:
            result.ok = False
            result.lines.append(f"{_short(term, graph)} is both a class and a datatype")
    for ontology, imported in graph.subject_objects(OWL.imports):
        result.ok = False
        result.lines.append(f"{_short(ontology, graph)} imports {_short(imported, graph)}; ontology/ must be self-contained")
    bad_values: dict[tuple[URIRef, str], int] = defaultdict(int)
    undeclared: dict[URIRef, int] = defaultdict(int)
    for _, predicate, obj in graph:
        if str(predicate).startswith(_BUILTIN_NAMESPACES):
            continue
        types = kinds.get(predicate, set()) & set(PROPERTY_TYPES)
        if not types:
            undeclared[predicate] += 1
        elif OWL.ObjectProperty in types and isinstance(obj, Literal):
            bad_values[(predicate, "an object property used with a literal value")] += 1
        elif OWL.DatatypeProperty in types and not isinstance(obj, Literal):
            bad_values[(predicate, "a datatype property used with a resource as value")] += 1
    for predicate, count in sorted(undeclared.items()):
        result.ok = False
        result.lines.append(
            f"{_short(predicate, graph)} is used ({count}x) but not declared as an object, datatype or annotation "
            "property (declare it in declarations.ttl)"
        )
    for (predicate, problem), count in sorted(bad_values.items()):
        result.ok = False
        result.lines.append(f"{_short(predicate, graph)} is {problem} ({count}x)")
    undeclared_classes: dict[URIRef, int] = defaultdict(int)
    for cls in graph.objects(None, RDF.type):
        if isinstance(cls, URIRef) and not str(cls).startswith(_BUILTIN_NAMESPACES) and OWL.Class not in kinds.get(cls, set()):
            undeclared_classes[cls] += 1
    for cls, count in sorted(undeclared_classes.items()):
        result.ok = False
        result.lines.append(f"{_short(cls, graph)} is used as a type but not declared an owl:Class")
    if result.ok:
        result.lines.append(
            f"{len(graph)} triples: every property and class used is declared with one OWL kind and used accordingly"
        )
    return result


# --- 4b. identity links -----------------------------------------------------------------------------------------


def _check_identity(sources: _Sources) -> CheckResult:
    """No two resources share an owl:sameAs target or an ISO code (the reasoner would merge them silently)."""
    result = CheckResult("identity links", ok=True)
    graph = sources.owl
    for prop, what in ((OWL.sameAs, "owl:sameAs"), (DEC.isoCode, "dec:isoCode")):
        holders: dict[object, set[object]] = defaultdict(set)
        for subject, value in graph.subject_objects(prop):
            holders[value].add(subject)
        for value, subjects in sorted(holders.items(), key=lambda item: str(item[0])):
            if len(subjects) > 1:
                result.ok = False
                names = ", ".join(sorted(_short(x, graph) for x in subjects))
                result.lines.append(f"{names} share {what} {_short(value, graph)}: one of them is wrong")
    if result.ok:
        links = len(set(graph.subject_objects(OWL.sameAs)))
        result.lines.append(f"{links} owl:sameAs links and every ISO code belong to one resource each")
    return result


# --- 5. SHACL ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShapeResult:
    """One SHACL result: the focus node, the path (if any), the message and the severity (all as text)."""

    focus: str
    path: str | None
    message: str
    severity: str


def validate_shapes(
    data: Graph, *, ontology_dir: Path | None = None, with_ontology: bool = True
) -> tuple[bool, list[ShapeResult]]:
    """Validate ``data`` against ``shapes.ttl``.

    With ``with_ontology`` (default) the ontology, schemes and reference data of ``ontology_dir`` are added to the
    data graph, so ``sh:class`` sees subclasses and speech acts and topics are checked against their schemes.
    Returns (conforms, results). Raises :class:`kg.errors.BadInput` when a source does not parse.
    """
    from kg.paths import ONTOLOGY_DIR

    folder = Path(ontology_dir) if ontology_dir is not None else ONTOLOGY_DIR
    shapes = load_graph([folder / SHAPES_FILE])
    if not with_ontology:
        return _run_shacl(data, shapes)
    graph = load_graph(ontology_sources(folder))  # a fresh graph: adding to it leaves the cache alone
    graph += data
    # Only the IRIs ``data`` mentions are focus nodes; the rest of the ontology is context (``run_checks`` checks it).
    # pySHACL applies its focus_nodes filter to the value nodes of nested shapes too (sh:node, sh:or...), which
    # would silently pass e.g. a dec:mentions of a reference forum; so every IRI in ``data``, subject or object, is
    # a focus node. (No shape here nests a shape over literal values, which that filter would also skip.)
    focus = sorted({term for triple in data for term in triple if isinstance(term, URIRef)})
    if not focus:
        return True, []
    return _run_shacl(graph, shapes, focus_nodes=focus)


def _run_shacl(
    data: Graph, shapes: Graph, *, meta_shacl: bool = False, focus_nodes: list[URIRef] | None = None
) -> tuple[bool, list[ShapeResult]]:
    import pyshacl
    from rdflib.namespace import SH

    conforms, results_graph, _ = pyshacl.validate(
        data,
        shacl_graph=shapes,
        inference="none",
        meta_shacl=meta_shacl,
        allow_warnings=True,
        focus_nodes=focus_nodes,
    )
    results: list[ShapeResult] = []
    for node in results_graph.subjects(RDF.type, SH.ValidationResult):
        focus = results_graph.value(node, SH.focusNode)
        path = results_graph.value(node, SH.resultPath)
        messages = [str(m) for m in results_graph.objects(node, SH.resultMessage)]
        severity = results_graph.value(node, SH.resultSeverity)
        results.append(
            ShapeResult(
                focus=_short(focus, data),
                path=_short(path, data) if isinstance(path, URIRef) else None,
                message="; ".join(messages) or "(no message)",
                severity=str(severity).rsplit("#", 1)[-1] if severity is not None else "Violation",
            )
        )
    unique = sorted(set(results), key=lambda r: (r.focus, r.path or "", r.message))
    return bool(conforms), unique


def _check_shacl(sources: _Sources) -> CheckResult:
    result = CheckResult("SHACL shapes", ok=True)
    if sources.shapes is None:
        result.ok = False
        result.lines.append(f"no {SHAPES_FILE}")
        return result
    try:
        conforms, results = _run_shacl(sources.owl, sources.shapes, meta_shacl=True)
    except Exception as exc:  # pyshacl raises its own types for a malformed shapes graph
        result.ok = False
        result.lines.append(f"pyshacl could not run the shapes: {exc}")
        return result
    result.ok = conforms
    for item in results:
        where = f"{item.focus} {item.path}" if item.path else item.focus
        result.lines.append(f"{item.severity}: {where}: {item.message}")
    if conforms:
        result.lines.append(f"{len(sources.owl)} triples of schemes and reference data conform to the shapes")
    return result


# --- 6. HermiT --------------------------------------------------------------------------------------------------


def _kind_samples(owl: Graph) -> tuple[Graph, dict[URIRef, URIRef]]:
    """A sample declaration with one clause per speech-act family (using the scheme's first act of each)."""
    sample = Graph()
    expected: dict[URIRef, URIRef] = {}
    declaration = URIRef(ID_BASE + "declaration/kg-validate-sample")
    sample.add((declaration, RDF.type, DEC.Declaration))
    for position, (family, kind) in enumerate(sorted(_FAMILY_TO_KIND.items()), start=1):
        acts = sorted(a for a in owl.subjects(RDF.type, family) if (a, SKOS.inScheme, SPEECH_ACT_SCHEME) in owl)
        if not acts:
            continue
        clause = URIRef(f"{ID_BASE}clause/kg-validate-sample/{position}")
        sample.add((clause, RDF.type, DEC.Clause))
        sample.add((clause, DEC.partOf, declaration))
        sample.add((clause, DEC.speechAct, acts[0]))
        expected[clause] = kind
    return sample, expected


def _check_hermit(sources: _Sources) -> CheckResult:
    from kg.reason import reason

    result = CheckResult("HermiT", ok=True)
    sample, expected = _kind_samples(sources.owl)
    try:
        outcome = reason(sample, ontology_dir=sources.folder)
    except KGError as exc:
        result.ok = False
        result.lines.append(exc.detail)
        result.lines.append("run with --skip-reasoner to check the rest without Java")
        return result
    result.lines.append(f"HermiT ran over {outcome.triples} triples in {outcome.seconds:.2f} s")
    if not outcome.consistent:
        result.ok = False
        result.lines.append(
            "the ontology with the schemes and reference data is INCONSISTENT: look for an individual typed with two "
            "disjoint classes, or a functional property with two different values"
        )
        return result
    result.lines.append("consistent")
    for cls in outcome.unsatisfiable:
        result.ok = False
        result.lines.append(f"unsatisfiable class: {_short(URIRef(cls))}")
    if not outcome.unsatisfiable:
        result.lines.append("no unsatisfiable class")
    if not expected:
        result.lines.append("no speech-act concepts in the scheme: clause kinds not checked")
    for clause, kind in sorted(expected.items()):
        got = outcome.kinds.get(str(clause), frozenset())
        act = sample.value(clause, DEC.speechAct)
        if str(kind) not in got:
            result.ok = False
            result.lines.append(f"a clause with speech act {_short(act)} was not inferred to be a {_short(kind)}")
        else:
            result.lines.append(f"a clause with speech act {_short(act)} is inferred a {_short(kind)}")
    return result


CHECKS.update(
    {
        "declared terms": _check_declared,
        "labels and metadata": _check_labels,
        "OWL 2 DL typing": _check_dl_typing,
        "identity links": _check_identity,
        "SHACL shapes": _check_shacl,
        "HermiT": _check_hermit,
    }
)


# --- the report -------------------------------------------------------------------------------------------------


def print_report(report: Report, *, console: object | None = None) -> None:
    """Print ``report`` for a person: one headed block per check, then a one-line verdict.

    ``console`` is a :class:`rich.console.Console` (default: a new one on stdout).
    """
    from rich.console import Console
    from rich.markup import escape

    out = console if isinstance(console, Console) else Console(highlight=False, soft_wrap=True)
    out.print(f"[bold]kg validate[/bold] {escape(str(report.ontology_dir))}")
    for check in report.checks:
        if check.skipped:
            mark = "[yellow]SKIP[/yellow]"
        elif check.ok:
            mark = "[green] OK [/green]"
        else:
            mark = "[red]FAIL[/red]"
        out.print(f"{mark} [bold]{escape(check.name)}[/bold] ({check.seconds:.2f} s)")
        for line in check.lines:
            out.print(f"       {escape(line)}")
    failed = [c.name for c in report.checks if not c.ok]
    if failed:
        out.print(f"[red bold]FAILED[/red bold]: {escape(', '.join(failed))}")
    else:
        out.print("[green bold]all checks passed[/green bold]")


__all__ = [
    "CHECKS",
    "CheckResult",
    "KIND_CLASSES",
    "Report",
    "ShapeResult",
    "declared_terms",
    "print_report",
    "run_checks",
    "validate_shapes",
]
