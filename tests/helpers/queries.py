"""Shared by the tests of ``queries/``: the example parameters of a query file as RDF terms, and result terms
compared regardless of GROUP_CONCAT order."""

from __future__ import annotations

import pyoxigraph

from api.queries import NamedQuery


def example_terms(store: pyoxigraph.Store, query: NamedQuery) -> dict[str, pyoxigraph.NamedNode | pyoxigraph.Literal]:
    """The example's parameters as RDF terms: a key or a label resolved in ``store`` as the REST layer does."""
    from api.queries import RESOLVABLE
    from kg.namespaces import ID_BASE

    terms = {}
    for name, value in query.meta.example.params.items():
        parameter = query.parameter(name)
        if parameter.resolves is None:
            terms[name] = parameter.term(value)
            continue
        segments, classes = RESOLVABLE[parameter.resolves]
        found = store.query(
            "SELECT ?v ?label WHERE { { VALUES ?v { " + " ".join(f"<{ID_BASE}{s}/{value}>" for s in segments if " " not in str(value))
            + ' } } UNION { ?v <http://www.w3.org/2004/02/skos/core#prefLabel> ?l FILTER(STR(?l) = ?label) } '
            "VALUES ?c { " + " ".join(f"<{c}>" for c in classes) + " } ?v a ?c } ORDER BY ?v LIMIT 1",
            substitutions={pyoxigraph.Variable("label"): pyoxigraph.Literal(str(value))},
            use_default_graph_as_union=True,
        )
        terms[name] = next(iter(found))["v"]  # type: ignore[index]
    return terms


def unordered(term: object) -> str:
    """A result term as text, the words of a string sorted (GROUP_CONCAT joins values in no defined order)."""
    if isinstance(term, pyoxigraph.Literal) and term.datatype.value.endswith("#string"):
        return " ".join(sorted(term.value.replace(",", " ").split()))
    return str(term)
