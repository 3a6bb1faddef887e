"""DL reasoning over the ontology, the SKOS schemes and the reference data with HermiT (through owlready2).

The Turtle sources are merged with rdflib, written as N-Triples to a temporary file and loaded into an isolated
owlready2 :class:`~owlready2.World` (never the library's default world), so calls do not leak into each other.
HermiT runs on the machine's Java (``java`` on ``PATH``); it checks consistency, finds unsatisfiable classes and
realises every individual, which gives each clause its kinds (``dec:Commitment``, ``dec:Appeal``,
``dec:Recognition``, ``dec:Endorsement``) from its speech acts.

``shapes.ttl`` is never given to the reasoner: SHACL shapes are not OWL axioms.
"""

from __future__ import annotations

import functools
import logging
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from kg.errors import BadInput, ReasonerUnavailable
from kg.namespaces import DEC, ONTOLOGY_IRI

log = logging.getLogger(__name__)

#: The defined kinds of clause, inferred from the clause's speech acts.
KIND_CLASSES: tuple[str, ...] = tuple(str(DEC[name]) for name in ("Commitment", "Appeal", "Recognition", "Endorsement"))

#: The file of ``ontology/`` that holds SHACL shapes and no OWL.
SHAPES_FILE = "shapes.ttl"

JAVA_HINT = "install a Java runtime (Debian: apt-get install openjdk-17-jre-headless) and put `java` on PATH"

Triple = tuple[URIRef, URIRef, object]

# Types that make a subject a class, property, datatype or ontology rather than an individual.
_SCHEMA_TYPES = {
    OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, OWL.Ontology, OWL.Restriction,
    OWL.AllDisjointClasses, RDF.Property, RDFS.Class, RDFS.Datatype,
}


def ontology_sources(ontology_dir: Path | None = None, *, include_reference: bool = True) -> list[Path]:
    """The Turtle files that make up the OWL knowledge base, in a stable order.

    Takes ``ontology_dir`` (default: the project's ``ontology/``). Returns ``declarations.ttl`` first, then the
    other ``*.ttl`` files of the folder except ``shapes.ttl``, then ``reference/*.ttl`` when ``include_reference``.
    Raises :class:`kg.errors.BadInput` when the folder or ``declarations.ttl`` is missing.
    """
    from kg.paths import ONTOLOGY_DIR

    folder = Path(ontology_dir) if ontology_dir is not None else ONTOLOGY_DIR
    core = folder / "declarations.ttl"
    if not core.is_file():
        raise BadInput(f"no ontology at {core}")
    files = [core] + sorted(p for p in folder.glob("*.ttl") if p.name not in {core.name, SHAPES_FILE})
    if include_reference:
        files += sorted((folder / "reference").glob("*.ttl"))
    return files


def load_graph(paths: Iterable[Path]) -> Graph:
    """Parse Turtle files into one new rdflib graph (the caller may change it freely).

    Parsed files are cached by path, size and modification time, so repeated checks do not parse them again.
    Raises :class:`kg.errors.BadInput` naming the file that does not parse.
    """
    graph = Graph()
    for path in paths:
        stat = Path(path).stat()
        for triple in _parse_turtle(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns):
            graph.add(triple)
    return graph


@functools.lru_cache(maxsize=64)
def _parse_turtle(path: str, size: int, mtime_ns: int) -> tuple[Triple, ...]:
    """The triples of one Turtle file; ``size`` and ``mtime_ns`` are part of the cache key only."""
    try:
        return tuple(Graph().parse(path, format="turtle"))
    except Exception as exc:  # rdflib raises many unrelated types for bad syntax
        raise BadInput(f"{path} does not parse as Turtle: {exc}") from exc


def java_executable() -> str:
    """The path of ``java`` on ``PATH``.

    Raises :class:`kg.errors.ReasonerUnavailable` (with what to install) when there is none.
    """
    java = shutil.which("java")
    if java is None:
        raise ReasonerUnavailable(f"HermiT needs Java, and `java` is not on PATH: {JAVA_HINT}")
    return java


@dataclass(frozen=True)
class ReasoningResult:
    """What HermiT found.

    ``consistent``: whether the knowledge base has a model. ``unsatisfiable``: IRIs of named classes equivalent to
    ``owl:Nothing`` (empty when inconsistent: nothing more can be said). ``kinds``: for every individual that is a
    ``dec:Clause``, the IRIs of the kind classes it belongs to (asserted or inferred). ``inferred_types``: pairs
    (individual IRI, ``dec:`` class IRI) that HermiT derived and the input did not assert. ``seconds``: wall time of
    the HermiT run (Java start-up included). ``triples``: how many triples were reasoned over.
    """

    consistent: bool
    unsatisfiable: tuple[str, ...] = ()
    kinds: dict[str, frozenset[str]] = field(default_factory=dict)
    inferred_types: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0
    triples: int = 0

    def inferred_graph(self) -> Graph:
        """The inferred ``rdf:type`` triples of ``dec:`` classes, as a graph (for the build's inferred graph)."""
        graph = Graph()
        for individual, cls in self.inferred_types:
            graph.add((URIRef(individual), RDF.type, URIRef(cls)))
        return graph


def reason(
    extra: Graph | Iterable[Triple] | None = None,
    *,
    ontology_dir: Path | None = None,
    include_reference: bool = True,
) -> ReasoningResult:
    """Run HermiT over the ontology, the schemes, the reference data (optional) and ``extra`` triples.

    ``extra`` is e.g. the graph of one declaration. Returns a :class:`ReasoningResult`; an inconsistent knowledge
    base is a result (``consistent=False``), not an error. Raises :class:`kg.errors.ReasonerUnavailable` when Java is
    missing or HermiT fails to run, and :class:`kg.errors.BadInput` when a source does not parse.
    """
    java_executable()
    graph = load_graph(ontology_sources(ontology_dir, include_reference=include_reference))
    if extra is not None:
        for triple in extra:
            graph.add(triple)
    # No network: whatever an input imports is not fetched, only what is here is reasoned over.
    graph.remove((None, OWL.imports, None))
    return _run_hermit(graph)


def _run_hermit(graph: Graph) -> ReasoningResult:
    import owlready2

    asserted = {(str(s), str(o)) for s, o in graph.subject_objects(RDF.type) if isinstance(o, URIRef)}
    # Every named subject that is not a class, property, datatype or ontology (typed or not: a subject of
    # dec:partOf is a clause by its domain alone).
    schema_terms = {str(s) for s, o in graph.subject_objects(RDF.type) if o in _SCHEMA_TYPES}
    individuals = {str(s) for s in graph.subjects() if isinstance(s, URIRef)} - schema_terms
    with tempfile.TemporaryDirectory(prefix="kg-reason-") as tmp:
        source = Path(tmp) / "kb.nt"
        graph.serialize(source, format="nt", encoding="utf-8")
        world = owlready2.World()
        try:
            with source.open("rb") as handle:
                onto = world.get_ontology(ONTOLOGY_IRI).load(fileobj=handle, format="ntriples")
        except Exception as exc:  # owlready2 parse errors have no common base class
            raise BadInput(f"owlready2 could not load the knowledge base: {exc}") from exc
        started = time.perf_counter()
        consistent = True
        try:
            with onto:
                owlready2.sync_reasoner_hermit(
                    world, infer_property_values=False, debug=0, ignore_unsupported_datatypes=True
                )
        except owlready2.OwlReadyInconsistentOntologyError:
            consistent = False
        except owlready2.OwlReadyJavaError as exc:
            raise ReasonerUnavailable(f"HermiT failed: {str(exc).strip()[:2000]}") from exc
        except OSError as exc:
            raise ReasonerUnavailable(f"could not start Java for HermiT ({exc}): {JAVA_HINT}") from exc
        seconds = time.perf_counter() - started
        log.info("HermiT ran over %d triples in %.2f s (consistent: %s)", len(graph), seconds, consistent)
        if not consistent:
            world.close()
            return ReasoningResult(consistent=False, seconds=seconds, triples=len(graph))

        unsatisfiable = tuple(
            sorted(c.iri for c in world.inconsistent_classes() if hasattr(c, "iri") and c.iri != str(OWL.Nothing))
        )
        kinds: dict[str, frozenset[str]] = {}
        inferred: set[tuple[str, str]] = set()
        kind_set = set(KIND_CLASSES)
        # owlready2 lists as individuals only what is typed owl:NamedIndividual, so look up every typed subject.
        for iri in sorted(individuals):
            individual = world[iri]
            if individual is None or not hasattr(individual, "INDIRECT_is_a"):
                continue
            types = {
                c.iri
                for c in individual.INDIRECT_is_a
                if isinstance(c, owlready2.ThingClass) and c.iri.startswith(str(DEC))
            }
            inferred.update((iri, cls) for cls in types if (iri, cls) not in asserted)
            if str(DEC.Clause) in types:
                kinds[iri] = frozenset(types & kind_set)
        world.close()
    return ReasoningResult(
        consistent=True,
        unsatisfiable=unsatisfiable,
        kinds=kinds,
        inferred_types=tuple(sorted(inferred)),
        seconds=seconds,
        triples=len(graph),
    )

