"""``python -m bench NAME [options]``: run the benchmark ``bench/NAME.py`` (its ``main(argv)``).

Benchmarks: ``ingest`` (declarations per second into the on-disk store), ``endpoint`` (SPARQL endpoint vs others).
Never run by ``make test``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    available = sorted(
        p.stem for p in Path(__file__).parent.glob("*.py") if not p.stem.startswith("_") and p.stem != "corpus"
    )
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in available:
        print(f"usage: python -m bench {{{','.join(available)}}} [options]   (python -m bench NAME --help)")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(f"bench.{argv[0]}")
    result = module.main(argv[1:])
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
