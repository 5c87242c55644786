"""Hybrid retrieval: dense (Chroma) and BM25 (bm25s), fused by reciprocal rank."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
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
# When at most this many chunks pass the filters, or too few for over-fetching, a
# filtered dense search scores exactly those chunks with the vectors kept beside the
# BM25 index (a few ms), and asks Chroma to filter only when they are missing.
EXACT_MAX_ROWS = 4000
# An unfiltered dense search over at most this many chunks is exact, over the kept
# vectors (float32 in memory: 77 MB at 50k chunks), so that answering need not open
# Chroma; larger indexes ask Chroma's HNSW index.
EXACT_ALL_MAX_ROWS = 50_000


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


def has_vectors(index: BM25Index, dim: int) -> bool:
    """Whether ``index`` carries a vector per chunk, of the query's dimension."""
    v = index.vectors
    return v is not None and v.shape == (len(index.ids), dim)


def exact_dense(
    index: BM25Index, vector: list[float], n: int, mask: np.ndarray | None
) -> list[tuple[str, float]]:
    """The ``n`` chunks ``mask`` passes (all with None) that are nearest to ``vector``, by brute force
    over the index's normalised vectors. The score is the cosine similarity, as
    ``Store.dense`` gives it (1 - Chroma's cosine distance)."""
    vectors = index.vectors
    if vectors is None or n <= 0:
        return []
    if mask is None:  # every row
        rows, block = np.arange(len(index.ids)), index.vectors32
    else:
        rows = np.flatnonzero(mask)
        block = np.asarray(vectors[rows], dtype=np.float32)
    if not len(rows) or block is None:
        return []
    q = np.asarray(vector, dtype=np.float32)
    q /= max(float(np.linalg.norm(q)), 1e-12)
    # einsum, not BLAS: a matrix-vector product this small is faster single-threaded,
    # and BLAS threads stall for milliseconds when the cores are busy.
    scores = np.einsum("ij,j->i", block, q)
    k = min(n, len(rows))
    top = np.argpartition(-scores, k - 1)[:k] if k < len(rows) else np.arange(len(rows))
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(index.ids[rows[i]], float(scores[i])) for i in top]


class Retriever:
    def __init__(self, store: Store, embedder: Embedder, config: RetrievalConfig) -> None:
        self.store = store
        self.embedder = embedder
        self.config = config
        self.max_postfilter = MAX_POSTFILTER
        self.exact_max_rows = EXACT_MAX_ROWS
        self.exact_all_max_rows = EXACT_ALL_MAX_ROWS
        # How filtered dense searches were served: "postfilter" (over-fetched from
        # Chroma, filtered here), "exact" (scored here from the kept vectors) or
        # "chroma" (Chroma's own metadata filter: slow at scale, the last resort);
        # unfiltered ones "exact-all" (all kept vectors) or Chroma's HNSW index.
        self.dense_paths: Counter[str] = Counter()
        # One question is searched several times (with the period or an outlet it
        # names as a filter): its vector is computed once.
        self._last_query: tuple[str, list[float]] | None = None

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

    def word_weights(self) -> Callable[[str], float]:
        """How much each stemmed term tells one chunk from another (BM25's idf)."""
        return self.store.bm25().word_weights()

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
        """The ``n`` nearest chunks that pass the filters, with Chroma's scores.

        With filters, over-fetch unfiltered neighbours in proportion to the share of
        chunks that pass, and keep those the BM25 index's per-chunk outlet and date
        arrays allow. When few chunks pass (or too few survive), score exactly those
        with the index's copy of the vectors; only without it ask Chroma to filter.
        """
        if mask is None:
            if has_vectors(index, len(vector)) and len(index.ids) <= self.exact_all_max_rows:
                self.dense_paths["exact-all"] += 1
                return exact_dense(index, vector, n, None)
            return self.store.dense(vector, n, f)
        passing = int(np.count_nonzero(mask))
        fetch = min(len(index.ids), 2 * n * len(index.ids) // max(passing, 1) + n)
        exact_ok = has_vectors(index, len(vector))
        if fetch <= self.max_postfilter and not (exact_ok and passing <= self.exact_max_rows):
            rows = index.row_of
            hits = self.store.dense(vector, fetch, Filters())
            kept = [(cid, d) for cid, d in hits if cid in rows and mask[rows[cid]] > 0]
            if len(kept) >= min(n, passing) or fetch >= len(index.ids):
                self.dense_paths["postfilter"] += 1
                return kept[:n]
        if exact_ok:
            self.dense_paths["exact"] += 1
            return exact_dense(index, vector, n, mask)
        self.dense_paths["chroma"] += 1
        return self.store.dense(vector, n, f)

    def query_vector(self, query: str) -> list[float]:
        last = self._last_query  # one read: another thread may replace it meanwhile
        if last is None or last[0] != query:
            last = self._last_query = (query, self.embedder.embed_query(query))
        return last[1]

    def retrieve(
        self, query: str, filters: Filters | None = None, k: int | None = None
    ) -> list[Passage]:
        """The ``k`` best chunks for ``query`` that pass ``filters`` (an outlet
        filter names an indexed outlet: ``resolve_outlet`` makes it one)."""
        f = filters or Filters()
        c = self.config
        n = max(c.candidates, (k or c.k) * 4)
        index = self.store.bm25()
        mask = self._mask(index, f)
        if mask is not None and not mask.any():
            return []
        lexical = index.search(query, n, mask)
        dense = self._dense(index, self.query_vector(query), n, f, mask)
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
