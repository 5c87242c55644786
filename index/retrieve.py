"""Hybrid retrieval: dense (Chroma) and BM25 (bm25s), fused by reciprocal rank."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .bm25 import BM25Index
from .embed import Embedder
from .errors import NewsbotError
from .store import Store
from .types import Filters, Passage

RRF_K = 60
# A filtered dense search first fetches this many unfiltered neighbours at most and
# filters them here; Chroma's own metadata filter costs ~1 s at 100k chunks.
MAX_POSTFILTER = 4000


@dataclass(frozen=True)
class RetrievalConfig:
    k: int = 5
    candidates: int = 40
    dense_weight: float = 1.0
    bm25_weight: float = 1.0


def rrf(rankings: list[tuple[list[str], float]], k: int = RRF_K) -> dict[str, float]:
    """Reciprocal rank fusion of several ranked id lists, each with a weight."""
    fused: dict[str, float] = {}
    for ids, weight in rankings:
        for rank, cid in enumerate(ids):
            fused[cid] = fused.get(cid, 0.0) + weight / (k + rank + 1)
    return fused


class Retriever:
    def __init__(self, store: Store, embedder: Embedder, config: RetrievalConfig) -> None:
        self.store = store
        self.embedder = embedder
        self.config = config

    def resolve_outlet(self, name: str) -> str:
        """A user's outlet name ("rt", "moscow times") to the indexed outlet."""
        known = self.store.outlet_names()
        low = name.strip().lower()
        for o in known:
            if o.lower() == low:
                return o
        partial = [o for o in known if low in o.lower()]
        if len(partial) == 1:
            return partial[0]
        raise NewsbotError(
            f"Unknown outlet {name!r}. Indexed outlets: {', '.join(known) or 'none'}."
        )

    def _mask(self, idx: BM25Index, f: Filters) -> np.ndarray | None:
        if not f.active:
            return None
        mask = np.ones(len(idx.ids), dtype=bool)
        if f.outlet:
            mask &= idx.outlets == f.outlet.lower()
        if f.since:
            mask &= idx.days >= f.since.toordinal()
        if f.until:
            mask &= (idx.days <= f.until.toordinal()) & (idx.days > 0)
        return mask.astype(np.float32)

    def _dense(
        self, index: BM25Index, vector: list[float], n: int, f: Filters, mask: np.ndarray | None
    ) -> list[tuple[str, float]]:
        """The ``n`` nearest chunks that pass the filters.

        With filters, over-fetch unfiltered neighbours in proportion to the share of
        chunks that pass, and keep those the BM25 index's per-chunk outlet and date
        arrays allow; only when too few survive ask Chroma to filter.
        """
        if mask is None:
            return self.store.dense(vector, n, f)
        passing = int(np.count_nonzero(mask))
        fetch = min(len(index.ids), 2 * n * len(index.ids) // max(passing, 1) + n)
        if fetch <= MAX_POSTFILTER:
            rows = index.row_of
            hits = self.store.dense(vector, fetch, Filters())
            kept = [(cid, d) for cid, d in hits if cid in rows and mask[rows[cid]] > 0]
            if len(kept) >= min(n, passing) or fetch >= len(index.ids):
                return kept[:n]
        return self.store.dense(vector, n, f)

    def retrieve(
        self, query: str, filters: Filters | None = None, k: int | None = None
    ) -> list[Passage]:
        f = filters or Filters()
        if f.outlet:
            f = replace(f, outlet=self.resolve_outlet(f.outlet))
        c = self.config
        n = max(c.candidates, (k or c.k) * 4)
        index = self.store.bm25()
        mask = self._mask(index, f)
        if mask is not None and not mask.any():
            return []
        lexical = index.search(query, n, mask)
        dense = self._dense(index, self.embedder.embed_query(query), n, f, mask)
        fused = rrf(
            [([i for i, _ in dense], c.dense_weight), ([i for i, _ in lexical], c.bm25_weight)]
        )
        top = sorted(fused, key=lambda i: -fused[i])[: k or c.k]
        by_id = self.store.passages(top)
        drank = {cid: r for r, (cid, _) in enumerate(dense)}
        lrank = {cid: r for r, (cid, _) in enumerate(lexical)}
        return [
            replace(by_id[i], score=fused[i], dense_rank=drank.get(i), bm25_rank=lrank.get(i))
            for i in top
            if i in by_id
        ]
