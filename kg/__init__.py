"""The declarations knowledge graph: build, hold and query the graph of intergovernmental declarations.

Data flow (see README): text -> :mod:`kg.extract` (plain objects) -> :mod:`kg.rdf` (a named graph per
declaration) -> :mod:`kg.store` (embedded Oxigraph or a remote SPARQL 1.1 server) -> :mod:`api`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("declarations-kg")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"
