"""Extraction: pure functions from a declaration document to :class:`kg.extract.model.Declaration` (no RDF, no store).

- :func:`read_document` reads UTF-8 text, PDF (text layer) or HTML and returns ``(text, media_type)``.
- :func:`extract_declaration` normalises the text, finds its title, opening formula, clauses and place-and-date line,
  and recognises speech acts, entities, topics and dates, each with its span in the normalised text.
- :func:`kinds_of` gives a clause's kinds (``dec:Commitment`` ...) from its speech acts' classes in the scheme.
- The lexicons come from ``ontology/`` through :func:`load_lexicon` (cached).
"""

from kg.extract.lexicon import Lexicon, load_lexicon
from kg.extract.normalise import normalise
from kg.extract.pipeline import default_key, extract_declaration, extract_file, kinds_of
from kg.extract.readers import read_bytes, read_document

__all__ = [
    "Lexicon",
    "default_key",
    "extract_declaration",
    "extract_file",
    "kinds_of",
    "load_lexicon",
    "normalise",
    "read_bytes",
    "read_document",
]
