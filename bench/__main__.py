"""``python -m bench NAME [options]``: run the benchmark ``bench/NAME.py`` (its ``main(argv)``).

Benchmarks: ``all`` (the whole suite at 1M and 10M triples, writes docs/benchmarks.md; what ``make bench`` runs),
``ingest`` (declarations per second into the on-disk store), ``build`` (bulk loading generated triples),
``endpoint`` (SPARQL endpoint vs others at one size), ``link`` (linking quality and speed). Never run by ``make test``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    available = sorted(
        p.stem for p in Path(__file__).parent.glob("*.py") if not p.stem.startswith("_") and p.stem not in ("corpus", "common")
    )
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in available:
        print(f"usage: python -m bench {{{','.join(available)}}} [options]   (python -m bench NAME --help)")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(f"bench.{argv[0]}")
    result = module.main(argv[1:])
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
