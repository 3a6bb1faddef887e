"""The SPARQL evaluator of the shape checker (:mod:`kg.minisparql`): the generated Python and the closure evaluator
give the same solutions, on the constraints of ``ontology/shapes.ttl`` over real and broken declarations, and on
queries outside the generated subset; both agree with Oxigraph."""

from __future__ import annotations

import logging

import pyoxigraph as ox
import pytest

from kg.extract import extract_file
from kg.ingest import SHAPES_GRAPH, Pipeline
from kg.minisparql import compile_select
from kg.paths import CORPUS_DIR
from kg.rdf import declaration_quads, to_rdflib
from kg.shapecheck import ShapeChecker, _Index, _triples, _View, native

DEC = "https://w3id.org/declarations/ontology#"
XSD = "http://www.w3.org/2001/XMLSchema#"


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    logging.getLogger("kg").setLevel(logging.ERROR)
    return Pipeline()


def _rows(rows: list[dict]) -> set[tuple]:  # type: ignore[type-arg]
    return {tuple(sorted(r.items())) for r in rows}


def _broken(quads: list[ox.Quad]) -> list[list[ox.Quad]]:
    """Copies of a declaration with one offset, quote or position changed (each breaks a SPARQL constraint)."""
    out = []
    integer = ox.NamedNode(XSD + "integer")
    changes = {
        DEC + "start": ox.Literal("-1", datatype=integer),
        DEC + "end": ox.Literal("1000000", datatype=integer),
        DEC + "quote": ox.Literal("not the text"),
        DEC + "position": ox.Literal("1", datatype=integer),
    }
    for predicate, value in changes.items():
        hits = [i for i, q in enumerate(quads) if q.predicate.value == predicate]
        for i in hits[:2] + hits[-1:]:
            q = quads[i]
            out.append([*quads[:i], ox.Quad(q.subject, q.predicate, value, q.graph_name), *quads[i + 1 :]])
    return out


def test_shapes_constraints_run_as_generated_python_with_the_same_solutions(pipeline: Pipeline) -> None:
    checker = pipeline.checker
    assert checker is not None and checker.compiled
    selects = checker._compiled_sparql
    assert len(selects) == len(checker._sparql) >= 7
    assert all(s.generated for s in selects.values()), {i: s.not_generated for i, s in selects.items()}
    general = {i: compile_select(checker._prologue + checker._sparql[i][3], generate=False) for i in selects}
    assert not any(s.generated for s in general.values())
    quads = list(declaration_quads(extract_file(CORPUS_DIR / "lac-2010-migration-communique.txt")))
    found = 0
    for data in [quads, *_broken(quads)]:
        view = _View(_Index(_triples(data)), checker._ctx)
        nodes = list(view.data.out)
        for i, select in selects.items():
            for node in nodes:
                fast = select.run(view, node)
                assert _rows(fast) == _rows(general[i].run(view, node)), (i, node)
                found += len(fast)
    assert found >= 5  # the broken copies do break the constraints


def test_a_query_outside_the_generated_subset_runs_on_the_closure_evaluator() -> None:
    """OPTIONAL, and a FILTER inside a group joined to another, are not generated; the closure evaluator runs them,
    and both kinds of query give Oxigraph's solutions."""
    prologue = f"PREFIX dec: <{DEC}>\n"
    queries = {
        "optional": "SELECT $this ?c ?label WHERE { ?c dec:partOf $this OPTIONAL { ?c dec:label ?label } }",
        "filter in a joined group": (
            "SELECT $this ?c ?p WHERE { ?c dec:partOf $this { ?c dec:position ?p FILTER (?p > 1) } }"
        ),
        "union and bind": (
            "SELECT $this ?v ?n WHERE { { ?v dec:partOf $this } UNION { ?v dec:evidenceOf $this } "
            "?v dec:start ?s BIND (?s + 1 AS ?n) FILTER (?n > 1 || BOUND(?nothing)) }"
        ),
        "exists": (
            "SELECT DISTINCT $this ?c WHERE { ?c dec:partOf $this FILTER NOT EXISTS { ?c dec:label ?l } }"
        ),
    }
    quads = list(declaration_quads(extract_file(CORPUS_DIR / "lac-2010-migration-communique.txt")))
    view = _View(_Index(_triples(quads)), _Index())
    store = ox.Store()
    store.extend(ox.Quad(q.subject, q.predicate, q.object) for q in quads)
    this = next(q.subject for q in quads if q.predicate.value == DEC + "sourceText")
    for name, text in queries.items():
        select = compile_select(prologue + text)
        assert select.generated == (name in ("union and bind", "exists")), (name, select.not_generated)
        solutions = store.query(prologue + text, substitutions={ox.Variable("this"): this})
        names = solutions.variables  # type: ignore[union-attr]
        expected = {
            tuple(sorted((v.value, native(row[v])) for v in names if row[v] is not None))
            for row in solutions  # type: ignore[union-attr]
        }
        got = _rows(select.run(view, native(this)))
        assert got == expected, name
        assert got, name


def test_the_checker_reports_a_constraint_the_generated_code_cannot_run() -> None:
    """A shapes file whose SPARQL constraint is outside the generated subset (OPTIONAL) is still checked, with its
    message, through the closure evaluator."""
    shapes = f"""
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix dec: <{DEC}> .
<urn:x:shapes> sh:declare [ sh:prefix "dec" ; sh:namespace "{DEC}"^^<http://www.w3.org/2001/XMLSchema#anyURI> ] .
<urn:x:ClauseShape> a sh:NodeShape ; sh:targetClass dec:Clause ;
    sh:sparql [ a sh:SPARQLConstraint ; sh:prefixes <urn:x:shapes> ;
        sh:message "Clause {{$this}} at {{?p}} has no label." ;
        sh:select "SELECT $this ?p WHERE {{ $this dec:position ?p OPTIONAL {{ $this dec:label ?l }} FILTER (!BOUND(?l)) }}" ] .
"""
    import rdflib

    checker = ShapeChecker(rdflib.Graph().parse(data=shapes, format="turtle"))
    assert checker.compiled
    assert [s.generated for s in checker._compiled_sparql.values()] == [False]
    c = "https://w3id.org/declarations/id/clause/x/1"
    statements = [
        ox.Triple(ox.NamedNode(c), ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), ox.NamedNode(DEC + "Clause")),
        ox.Triple(ox.NamedNode(c), ox.NamedNode(DEC + "position"), ox.Literal("3", datatype=ox.NamedNode(XSD + "integer"))),
    ]
    results = checker.check(statements)
    assert [(r.focus, r.message) for r in results] == [(c, f"Clause {c} at 3 has no label.")]
    labelled = [*statements, ox.Triple(ox.NamedNode(c), ox.NamedNode(DEC + "label"), ox.Literal("1."))]
    assert checker.check(labelled) == []


def test_shapes_checker_results_do_not_depend_on_generation(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole check, generated code or not, gives the same results on broken declarations."""
    import kg.shapecheck as shapecheck

    context = [q for g, qs in pipeline.context.items() if g != SHAPES_GRAPH for q in qs]
    shapes = to_rdflib(pipeline.context[SHAPES_GRAPH])
    fast = ShapeChecker(shapes, context)
    monkeypatch.setattr(shapecheck, "compile_select", lambda text: compile_select(text, generate=False))
    slow = ShapeChecker(shapes, context)
    assert not any(s.generated for s in slow._compiled_sparql.values())
    quads = list(declaration_quads(extract_file(CORPUS_DIR / "lac-2010-migration-communique.txt")))
    seen = 0
    for data in [quads, *_broken(quads)]:
        got = fast.check(data)
        assert got == slow.check(data)
        seen += len(got)
    assert seen >= 5
