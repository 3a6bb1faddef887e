"""Extraction: pure functions from a declaration document to :class:`kg.extract.model.Declaration` (no RDF, no store).

- :func:`read_document` (a path) and :func:`read_bytes` (an upload) read UTF-8 text, PDF (text layer) or HTML and
  return ``(text, media_type)``; :class:`kg.errors.BadInput` names the file and the problem.
- :func:`extract_declaration` normalises the text (:func:`normalise`), finds its title, opening formula, clauses and
  place-and-date line (:mod:`kg.extract.structure`), and recognises speech acts, entities, topics and dates, each
  with its span in the normalised text (``Declaration.text``). Keyword arguments state metadata the text lacks.
  ``Declaration.meeting`` is the meeting of the reference data held at the declaration's place on its date, if
  one is; ``Declaration.warnings`` lists unknown verbs in governing position and missing date or place. An adopter
  stated by the caller that the text does not name has ``span=None``.
- :func:`kinds_of` gives a clause's kinds (``dec:Commitment`` ...) from its speech acts' classes in the scheme.
- The lexicons come from ``ontology/`` through :func:`load_lexicon` (cached); no entity name or verb is written in
  this package.
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
