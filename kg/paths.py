"""Where the project's own files are: the ontology, the bundled declarations, the default data folder."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
ONTOLOGY_DIR = PROJECT_DIR / "ontology"
REFERENCE_DIR = ONTOLOGY_DIR / "reference"
CORPUS_DIR = PACKAGE_DIR / "corpus"
QUERIES_DIR = PROJECT_DIR / "queries"
DEFAULT_STORE_DIR = PROJECT_DIR / "data" / "store"
DOCS_DIR = PROJECT_DIR / "docs"
