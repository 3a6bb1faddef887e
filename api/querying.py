"""Running a read-only SPARQL query for any router: safety checks, dataset checks, the result cache, the engine.

The ``/sparql`` router and the routers built on named queries use the same :class:`QueryService`, so every query
the server runs is parsed and checked first, gets the time limit, and is answered from the cache when the same
query was answered for the current store content.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from api.cache import ResultCache
from api.negotiation import ResultFormat
from api.safety import QueryInfo, analyse_query, check_dataset
from api.workers import QueryEngine, QueryJob, encode_term

log = logging.getLogger(__name__)


@dataclass
class QueryAnswer:
    """The serialised results of one query: ``chunks`` yields bytes (the first already computed, so errors have
    been raised); ``cached`` tells whether they came from the cache."""

    chunks: AsyncIterator[bytes]
    result_format: ResultFormat
    cached: bool
    complete: bytes | None = None
    """The whole answer when it is small enough to be known before the response starts (else None)."""
    source: AsyncIterator[bytes] | None = None
    """The engine's stream behind ``chunks``, if any (closed by :meth:`aclose`)."""

    async def aclose(self) -> None:
        """Stop the query if it is still running (the client went away); safe to call at any time, and twice."""
        for iterator in (self.chunks, self.source):
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()


class QueryService:
    """Checks, caches and runs queries on an engine."""

    def __init__(self, engine: QueryEngine, cache: ResultCache) -> None:
        self.engine = engine
        self.cache = cache
        self._cache_generation: str | None = None

    async def check(
        self, info: QueryInfo, default_graphs: Sequence[str] | None, named_graphs: Sequence[str] | None
    ) -> None:
        """Refuse a dataset (from the protocol, else from the query's FROM clauses) naming graphs we do not hold.

        Raises :class:`kg.errors.Forbidden`.
        """
        if default_graphs is not None or named_graphs is not None:
            check_dataset(
                [*(default_graphs or ()), *(named_graphs or ())],
                await self.engine.graph_names(),
                source="default-graph-uri/named-graph-uri",
            )
        elif info.from_graphs or info.from_named:
            check_dataset([*info.from_graphs, *info.from_named], await self.engine.graph_names(), source="FROM")

    async def answer(
        self,
        query: str | QueryInfo,
        result_format: ResultFormat,
        *,
        default_graphs: Sequence[str] | None = None,
        named_graphs: Sequence[str] | None = None,
        base_iri: str | None = None,
        substitutions: Mapping[str, Any] | None = None,
    ) -> QueryAnswer:
        """Run ``query`` (text, or already analysed) and return its serialised results. ``base_iri`` resolves
        relative IRIs in the query (None: they are an error). ``substitutions`` maps variable names (without
        ``?``) to pyoxigraph ``NamedNode``/``Literal`` terms bound before evaluation (never spliced into the text).

        Raises :class:`kg.errors.Forbidden`, :class:`kg.errors.BadQuery`, :class:`kg.errors.QueryTimeout`,
        :class:`kg.errors.StoreError`, or :class:`kg.errors.NotAcceptable` when ``result_format`` does not suit
        the query's form.
        """
        info = analyse_query(query) if isinstance(query, str) else query
        text = info.text
        if result_format.graph != info.is_graph_result:
            from kg.errors import NotAcceptable

            raise NotAcceptable(f"{result_format.media_type} cannot carry the results of a {info.form} query")
        await self.check(info, default_graphs, named_graphs)
        dataset_given = default_graphs is not None or named_graphs is not None
        job = QueryJob(
            query=text,
            format_name=result_format.oxigraph_name,
            graph=result_format.graph,
            union_default=not dataset_given and not info.from_graphs and not info.from_named,
            default_graphs=tuple(default_graphs) if default_graphs is not None else None,
            named_graphs=tuple(named_graphs) if named_graphs is not None else None,
            base_iri=base_iri,
            substitutions=tuple(sorted((name, encode_term(term)) for name, term in substitutions.items()))
            if substitutions
            else None,
        )
        generation = await self.engine.current_generation()
        if generation != self._cache_generation:
            # Entries of an older store content can never be served again.
            self.cache.clear()
            self._cache_generation = generation
        # The cache key holds the normalised text: the same tokens mean the same query.
        key = (
            info.normalised,
            job.format_name,
            job.graph,
            job.union_default,
            job.default_graphs,
            job.named_graphs,
            job.base_iri,
            job.substitutions,
            generation,
        )
        cached = self.cache.get(key)
        if cached is not None:
            return QueryAnswer(_replay(cached), result_format, cached=True, complete=b"".join(cached))
        stream = self.engine.execute(job)
        try:
            first = await anext(stream)
        except StopAsyncIteration:
            first = b""
        try:
            second = await anext(stream)
        except StopAsyncIteration:
            # The whole answer is one chunk: send it with a Content-Length, and keep it.
            self.cache.put(key, [first])
            return QueryAnswer(_replay([first]), result_format, cached=False, complete=first)
        return QueryAnswer(self._relay([first, second], stream, key), result_format, cached=False, source=stream)

    async def _relay(
        self, head: list[bytes], stream: AsyncIterator[bytes], key: tuple[object, ...]
    ) -> AsyncIterator[bytes]:
        kept: list[bytes] | None = list(head)
        kept_size = sum(len(chunk) for chunk in head)
        if kept_size > self.cache.max_entry_bytes:
            kept = None
        try:
            for chunk in head:
                yield chunk
            async for chunk in stream:
                if kept is not None:
                    kept.append(chunk)
                    kept_size += len(chunk)
                    if kept_size > self.cache.max_entry_bytes:
                        kept = None
                yield chunk
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        if kept is not None:
            self.cache.put(key, kept)

    async def collect(self, query: str | QueryInfo, result_format: ResultFormat, **dataset: Sequence[str] | None) -> bytes:
        """All the serialised results of ``query`` at once (for routers that post-process them)."""
        answer = await self.answer(query, result_format, **dataset)
        return b"".join([chunk async for chunk in answer.chunks])


async def _replay(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
