"""HTML documentation of the ontology, ready to be served at ``https://w3id.org/declarations/ontology``.

:func:`render_ontology_html` reads ``declarations.ttl`` and the SKOS schemes and returns one self-contained page:
the ontology's metadata, then its classes, object, datatype and annotation properties (each with labels, comment,
domain, range, super-terms, characteristics and alignments to other vocabularies), then each concept scheme with its
concepts. Every term has an anchor named by its local name, so ``dec:Declaration`` resolves to ``#Declaration``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, select_autoescape
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from kg.namespaces import DEC, ID_BASE, ONTOLOGY_IRI, PREFIXES, VANN
from kg.reason import load_graph

log = logging.getLogger(__name__)

_SECTIONS = (
    ("classes", "Classes", OWL.Class),
    ("object-properties", "Object properties", OWL.ObjectProperty),
    ("datatype-properties", "Datatype properties", OWL.DatatypeProperty),
    ("annotation-properties", "Annotation properties", OWL.AnnotationProperty),
)
_CHARACTERISTICS = {
    OWL.FunctionalProperty: "functional",
    OWL.InverseFunctionalProperty: "inverse functional",
    OWL.SymmetricProperty: "symmetric",
    OWL.TransitiveProperty: "transitive",
}


@dataclass
class TermDoc:
    """What the page says about one term; expressions are already rendered as short text."""

    anchor: str
    iri: str
    kind: str
    labels: list[tuple[str, str]]
    comments: list[str]
    domain: list[str] = field(default_factory=list)
    range: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    alignments: list[str] = field(default_factory=list)
    equivalent: list[str] = field(default_factory=list)
    inverse: list[str] = field(default_factory=list)
    disjoint: list[str] = field(default_factory=list)
    characteristics: list[str] = field(default_factory=list)
    see_also: list[str] = field(default_factory=list)


@dataclass
class ConceptDoc:
    anchor: str
    iri: str
    labels: list[tuple[str, str]]
    definition: str | None
    types: list[str]
    broader: list[str]
    matches: list[str]


@dataclass
class SchemeDoc:
    anchor: str
    iri: str
    title: str
    definition: str | None
    concepts: list[ConceptDoc]


class _Renderer:
    """Turns IRIs and class expressions of ``graph`` into short HTML-safe text."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        for prefix, namespace in PREFIXES.items():
            graph.bind(prefix, namespace, override=True, replace=True)

    def name(self, term: object) -> str:
        if isinstance(term, URIRef):
            text = str(term)
            if text.startswith(str(DEC)):
                return "dec:" + text[len(str(DEC)) :]
            try:
                return self.graph.namespace_manager.normalizeUri(term)
            except Exception:  # an IRI rdflib cannot shorten
                return f"<{text}>"
        if isinstance(term, BNode):
            return self.expression(term)
        return str(term)

    def expression(self, node: BNode) -> str:
        g = self.graph
        for op, word in ((OWL.unionOf, " or "), (OWL.intersectionOf, " and ")):
            members = g.value(node, op)
            if members is not None:
                return "(" + word.join(self.name(m) for m in Collection(g, members)) + ")"
        one_of = g.value(node, OWL.oneOf)
        if one_of is not None:
            return "one of {" + ", ".join(f'"{m}"' if isinstance(m, Literal) else self.name(m) for m in Collection(g, one_of)) + "}"
        prop = g.value(node, OWL.onProperty)
        if prop is not None:
            for restriction, word in ((OWL.someValuesFrom, "some"), (OWL.allValuesFrom, "only")):
                filler = g.value(node, restriction)
                if filler is not None:
                    return f"{self.name(prop)} {word} {self.name(filler)}"
        return "(anonymous expression)"


def _labels(graph: Graph, term: URIRef, prop: URIRef = RDFS.label) -> list[tuple[str, str]]:
    return sorted((lbl.language or "", str(lbl)) for lbl in graph.objects(term, prop) if isinstance(lbl, Literal))


def _english(graph: Graph, term: URIRef, prop: URIRef) -> str | None:
    """The English (or untagged) value of ``prop``, else any value, else ``None``."""
    values = [v for v in graph.objects(term, prop) if isinstance(v, Literal)]
    for value in values:
        if value.language in ("en", None):
            return str(value)
    return str(values[0]) if values else None


def _local(term: URIRef) -> str:
    text = str(term)
    for sep in ("#", "/"):
        if sep in text:
            text = text.rsplit(sep, 1)[-1]
    return text


def _term_doc(graph: Graph, r: _Renderer, term: URIRef, kind: URIRef) -> TermDoc:
    doc = TermDoc(
        anchor=_local(term),
        iri=str(term),
        kind=r.name(kind),
        labels=_labels(graph, term),
        comments=[str(c) for c in graph.objects(term, RDFS.comment)],
    )
    doc.domain = [r.name(d) for d in graph.objects(term, RDFS.domain)]
    doc.range = [r.name(d) for d in graph.objects(term, RDFS.range)]
    for prop in (RDFS.subClassOf, RDFS.subPropertyOf):
        for parent in graph.objects(term, prop):
            target = doc.parents if not isinstance(parent, URIRef) or str(parent).startswith(str(DEC)) else doc.alignments
            target.append(r.name(parent))
    doc.equivalent = [r.name(e) for e in graph.objects(term, OWL.equivalentClass)]
    doc.inverse = [r.name(i) for i in graph.objects(term, OWL.inverseOf)] + [
        r.name(i) for i in graph.subjects(OWL.inverseOf, term)
    ]
    doc.characteristics = sorted(word for cls, word in _CHARACTERISTICS.items() if (term, RDF.type, cls) in graph)
    doc.see_also = [r.name(s) for s in graph.objects(term, RDFS.seeAlso)]
    for group in graph.subjects(RDF.type, OWL.AllDisjointClasses):
        members = list(Collection(graph, graph.value(group, OWL.members)))
        if term in members:
            doc.disjoint += [r.name(m) for m in members if m != term]
    doc.disjoint += [r.name(d) for d in graph.objects(term, OWL.disjointWith)]
    doc.disjoint = sorted(set(doc.disjoint))
    doc.parents.sort()
    doc.alignments.sort()
    return doc


def _schemes(graph: Graph, r: _Renderer) -> list[SchemeDoc]:
    schemes = []
    for scheme in sorted(s for s in graph.subjects(RDF.type, SKOS.ConceptScheme) if isinstance(s, URIRef)):
        concepts = []
        for concept in sorted(c for c in graph.subjects(SKOS.inScheme, scheme) if isinstance(c, URIRef)):
            definition = _english(graph, concept, SKOS.definition)
            concepts.append(
                ConceptDoc(
                    anchor=str(concept)[len(ID_BASE) :].replace("/", "-") if str(concept).startswith(ID_BASE) else _local(concept),
                    iri=str(concept),
                    labels=_labels(graph, concept, SKOS.prefLabel),
                    definition=str(definition) if definition is not None else None,
                    types=sorted(r.name(t) for t in graph.objects(concept, RDF.type) if t != SKOS.Concept),
                    broader=sorted(r.name(b) for b in graph.objects(concept, SKOS.broader)),
                    matches=sorted(
                        str(m) for p in (SKOS.exactMatch, SKOS.closeMatch) for m in graph.objects(concept, p)
                    ),
                )
            )
        title = _english(graph, scheme, SKOS.prefLabel) or _english(graph, scheme, DCTERMS.title) or _local(scheme)
        definition = _english(graph, scheme, SKOS.definition) or _english(graph, scheme, DCTERMS.description)
        schemes.append(
            SchemeDoc(
                anchor="scheme-" + _local(scheme),
                iri=str(scheme),
                title=str(title),
                definition=str(definition) if definition is not None else None,
                concepts=concepts,
            )
        )
    return schemes


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
<link rel="alternate" type="text/turtle" href="{{ iri }}">
<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
code { background: #f3f3f3; padding: 0 .2rem; }
section.term { border-top: 1px solid #ddd; padding: .5rem 0; }
dl { display: grid; grid-template-columns: 10rem 1fr; gap: .2rem 1rem; }
dt { font-weight: 600; color: #444; }
dd { margin: 0; }
nav a { margin-right: .6rem; }
table { border-collapse: collapse; } td, th { border: 1px solid #ddd; padding: .2rem .4rem; text-align: left; vertical-align: top; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<dl>
<dt>IRI</dt><dd><code>{{ iri }}</code></dd>
{% for name, values in metadata %}<dt>{{ name }}</dt><dd>{% for v in values %}{% if v.startswith('http') %}<a href="{{ v }}">{{ v }}</a>{% else %}{{ v }}{% endif %}{% if not loop.last %}<br>{% endif %}{% endfor %}</dd>
{% endfor %}</dl>
{% if description %}<p>{{ description }}</p>{% endif %}
<nav>{% for key, heading, terms in sections %}<a href="#{{ key }}">{{ heading }} ({{ terms|length }})</a>{% endfor %}<a href="#external-terms">Reused terms</a>{% for s in schemes %}<a href="#{{ s.anchor }}">{{ s.title }}</a>{% endfor %}</nav>
{% for key, heading, terms in sections %}
<h2 id="{{ key }}">{{ heading }}</h2>
<p>{% for t in terms %}<a href="#{{ t.anchor }}">{{ t.anchor }}</a>{% if not loop.last %} · {% endif %}{% endfor %}</p>
{% for t in terms %}
<section class="term" id="{{ t.anchor }}">
<h3>dec:{{ t.anchor }}</h3>
<dl>
<dt>IRI</dt><dd><code>{{ t.iri }}</code></dd>
{% for lang, text in t.labels %}<dt>label{% if lang %} @{{ lang }}{% endif %}</dt><dd lang="{{ lang }}">{{ text }}</dd>
{% endfor %}{% for c in t.comments %}<dt>comment</dt><dd>{{ c }}</dd>
{% endfor %}{% if t.characteristics %}<dt>characteristics</dt><dd>{{ t.characteristics|join(', ') }}</dd>
{% endif %}{% for name, values in [('domain', t.domain), ('range', t.range), ('super-terms', t.parents), ('equivalent to', t.equivalent), ('inverse of', t.inverse), ('disjoint with', t.disjoint), ('aligned to', t.alignments), ('see also', t.see_also)] %}{% if values %}<dt>{{ name }}</dt><dd>{% for v in values %}<code>{{ v }}</code>{% if not loop.last %}, {% endif %}{% endfor %}</dd>
{% endif %}{% endfor %}</dl>
</section>
{% endfor %}
{% endfor %}
<h2 id="external-terms">Terms reused from other vocabularies</h2>
<p>Used by the data beside the <code>dec:</code> terms, and declared here with their OWL kind so that the whole stays OWL 2 DL.</p>
<table>
<tr><th>term</th><th>kind</th></tr>
{% for name, iri, kind in external %}<tr><td><a href="{{ iri }}"><code>{{ name }}</code></a></td><td>{{ kind }}</td></tr>
{% endfor %}</table>
{% for s in schemes %}
<h2 id="{{ s.anchor }}">{{ s.title }}</h2>
<p><code>{{ s.iri }}</code>{% if s.definition %}: {{ s.definition }}{% endif %}</p>
<table>
<tr><th>concept</th><th>labels</th><th>kind / type</th><th>broader</th><th>definition</th><th>matches</th></tr>
{% for c in s.concepts %}<tr id="{{ c.anchor }}"><td><a href="{{ c.iri }}"><code>{{ c.iri.rsplit('/', 1)[-1] }}</code></a></td>
<td>{% for lang, text in c.labels %}{{ text }}{% if lang %} <small>@{{ lang }}</small>{% endif %}{% if not loop.last %}<br>{% endif %}{% endfor %}</td>
<td>{{ c.types|join(', ') }}</td><td>{{ c.broader|join(', ') }}</td><td>{{ c.definition or '' }}</td>
<td>{% for m in c.matches %}<a href="{{ m }}">{{ m }}</a>{% if not loop.last %}<br>{% endif %}{% endfor %}</td></tr>
{% endfor %}</table>
{% endfor %}
</body>
</html>
"""


def render_ontology_html(ontology_dir: Path | None = None) -> str:
    """The HTML documentation page of the ontology and its SKOS schemes, as a string.

    Reads ``declarations.ttl`` and every other ``*.ttl`` beside it except the shapes (default folder: the project's
    ``ontology/``). Raises :class:`kg.errors.BadInput` when a file is missing or does not parse.
    """
    from kg.paths import ONTOLOGY_DIR
    from kg.reason import ontology_sources

    folder = Path(ontology_dir) if ontology_dir is not None else ONTOLOGY_DIR
    graph = load_graph(ontology_sources(folder, include_reference=False))
    r = _Renderer(graph)
    onto = URIRef(ONTOLOGY_IRI)
    sections = []
    for key, heading, kind in _SECTIONS:
        terms = sorted(
            (t for t in graph.subjects(RDF.type, kind) if isinstance(t, URIRef) and str(t).startswith(str(DEC))),
            key=lambda t: str(t).lower(),
        )
        sections.append((key, heading, [_term_doc(graph, r, t, kind) for t in terms]))
    metadata = []
    for name, prop in (
        ("version IRI", OWL.versionIRI),
        ("version", OWL.versionInfo),
        ("license", DCTERMS.license),
        ("creator", DCTERMS.creator),
        ("publisher", DCTERMS.publisher),
        ("created", DCTERMS.created),
        ("issued", DCTERMS.issued),
        ("modified", DCTERMS.modified),
        ("preferred prefix", VANN.preferredNamespacePrefix),
        ("namespace", VANN.preferredNamespaceUri),
        ("cite as", DCTERMS.bibliographicCitation),
    ):
        values = sorted(str(v) for v in graph.objects(onto, prop))
        if values:
            metadata.append((name, values))
    title = _english(graph, onto, DCTERMS.title) or _english(graph, onto, RDFS.label) or ONTOLOGY_IRI
    description = _english(graph, onto, DCTERMS.description)
    external = sorted(
        (r.name(term), str(term), r.name(kind))
        for _, _, kind in _SECTIONS
        for term in graph.subjects(RDF.type, kind)
        if isinstance(term, URIRef) and not str(term).startswith(str(DEC))
    )
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    return env.from_string(_TEMPLATE).render(
        title=str(title),
        iri=ONTOLOGY_IRI,
        metadata=metadata,
        description=str(description) if description is not None else None,
        sections=sections,
        schemes=_schemes(graph, r),
        external=external,
    )


def write_ontology_html(path: Path, *, ontology_dir: Path | None = None) -> Path:
    """Write :func:`render_ontology_html` to ``path`` (folders created as needed); returns ``path``.

    Raises :class:`kg.errors.BadInput` as :func:`render_ontology_html` does.
    """
    path = Path(path)
    html = render_ontology_html(ontology_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    log.info("wrote the ontology documentation to %s (%d bytes)", path, len(html))
    return path
