"""All configuration in one typed object, read from ``KG_*`` environment variables.

Never read at import time: the CLI and the app factory build a :class:`Settings` and pass it on.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from kg.namespaces import BASE
from kg.paths import DEFAULT_STORE_DIR


class Settings(BaseSettings):
    """Settings of the build, the store and the server. Each field is also ``KG_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="KG_", extra="forbid")

    store: str = Field(
        default=str(DEFAULT_STORE_DIR),
        description="Where the graph lives: a folder for the embedded Oxigraph store, or the http(s) URL of a "
        "SPARQL 1.1 query endpoint for the scale-out path.",
    )
    store_update: str | None = Field(
        default=None,
        description="With a remote store: its SPARQL 1.1 Update endpoint (default: the query URL).",
    )
    store_user: str | None = Field(default=None, description="With a remote store: user for HTTP digest/basic auth.")
    store_password: str | None = Field(default=None, description="With a remote store: password for that user.")
    base_iri: str = Field(
        default=BASE,
        description="Canonical base of the published IRIs; /id/... on any host describes <base_iri>id/...",
    )
    host: str = Field(default="127.0.0.1", description="Address the server listens on.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port the server listens on.")
    query_timeout: float = Field(default=30.0, gt=0, description="Seconds a SPARQL query may run before it is stopped (503).")
    workers: int = Field(default=2, ge=1, description="Query worker processes (each holds a read-only store handle).")
    worker_memory_mb: int = Field(
        default=1024, ge=64,
        description="Resident memory (MB) a query worker may reach while answering a query; past it the query is "
        "stopped (503) and the worker replaced, so one query cannot take the machine's memory.",
    )
    allocator: Literal["auto", "jemalloc", "system"] = Field(
        default="auto",
        description="Memory allocator of `kg serve` and its query workers: jemalloc (Debian: libjemalloc2) serves "
        "the store's many short-lived block buffers with about a fifth less CPU per lookup than glibc's malloc "
        "(docs/benchmarks.md); 'auto' uses it when it is installed, 'jemalloc' requires it, 'system' never uses it.",
    )
    max_request_bytes: int = Field(default=1_000_000, ge=1024, description="Largest request body accepted (413 beyond).")
    max_queries_per_client: int = Field(default=4, ge=1, description="Concurrent queries one client may run (429 beyond).")
    result_cache_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=0,
        description="Memory for cached SPARQL results (LRU, keyed by query, dataset, format and store generation; "
        "0 turns the cache off).",
    )
    link_threshold: float = Field(
        default=0.17, ge=0, le=1,
        description="Lowest combined score (0..1) kept for a related-clause link (tuned on the gold links: see "
        "docs/benchmarks.md, Linking).",
    )
    link_max_per_clause: int = Field(
        default=10, ge=1,
        description="At most this many related clauses chosen per clause, the best-scoring ones (a pair is kept "
        "when it is among the best of either of its clauses; on ingest, of the new declaration's clause). Keeps "
        "the links graph and each ingest's link update proportional to the clauses.",
    )
