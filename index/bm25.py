"""The BM25 side of hybrid retrieval (bm25s), kept beside the Chroma store.

The BM25 index is derived data: rebuilt from the chunks in Chroma whenever the
ledger's generation moves on, so it can never drift from the vector store.

Beside it, in the same folder and so swapped in with it, sits a copy of every
chunk's embedding: float16, L2-normalised, one row per chunk in ``ids`` order,
memory-mapped on load. Filtered dense search scores the few chunks a narrow
filter passes with it, instead of asking Chroma to filter (slow at scale).
"""

from __future__ import annotations

import json
import math
import os
import shutil
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .text import terms


def idf_from_counts(df: Callable[[str], int], n_docs: int) -> Callable[[str], float]:
    """BM25's idf (with its +1, never negative) from a document-frequency function."""

    def idf(t: str) -> float:
        d = df(t)
        return math.log(1 + (n_docs - d + 0.5) / (d + 0.5))

    return idf


@dataclass
class BM25Index:
    retriever: Any  # bm25s.BM25
    ids: list[str]
    outlets: np.ndarray  # outlet per chunk (lowercased), for filters
    days: np.ndarray  # published date as ordinal day, 0 when unknown
    generation: int
    names: list[str]  # the indexed outlets, as written
    # Each chunk's normalised embedding (float16, row i is ids[i]), or None when not
    # available (an index saved by an older version): callers then ask Chroma.
    vectors: np.ndarray | None = None

    @cached_property
    def row_of(self) -> dict[str, int]:
        """Chunk id to its row in ``ids``, ``outlets`` and ``days``."""
        return {cid: i for i, cid in enumerate(self.ids)}

    def doc_freq(self, term: str) -> int:
        """How many chunks contain ``term`` (0 when unknown)."""
        i = self.retriever.vocab_dict.get(term)
        if i is None:
            return 0
        indptr = self.retriever.scores["indptr"]
        return int(indptr[i + 1] - indptr[i])

    def word_weights(self) -> Callable[[str], float]:
        """Each stemmed term's BM25 inverse document frequency over the chunks:
        how much the word tells one chunk from another."""
        return idf_from_counts(self.doc_freq, max(1, len(self.ids)))

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        vocab = self.retriever.vocab_dict
        q = [t for t in terms(query) if t in vocab]
        if not q or not self.ids:
            return []
        k = min(k, len(self.ids))
        res = self.retriever.retrieve([q], k=k, show_progress=False, weight_mask=mask, n_threads=1)
        docs, scores = res.documents[0], res.scores[0]
        return [(self.ids[int(d)], float(s)) for d, s in zip(docs, scores, strict=True) if s > 0]


VECTORS = "vectors.f16"
VECTOR_DTYPE = np.dtype("<f2")


class VectorWriter:
    """Streams pages of embeddings to a raw float16 file, so that a rebuild never
    holds every chunk's vector in memory. Rows are L2-normalised on the way."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self.dim = 0
        self.ok = True
        self._file: BinaryIO | None = open(path, "wb")  # noqa: SIM115 - closed in finish()

    def add(self, page: Any, rows: int) -> None:
        """Append one page of ``rows`` embeddings (anything numpy can read as 2-D)."""
        if not self.ok or self._file is None or rows == 0:
            return
        try:
            a = np.asarray(page, dtype=np.float32)
        except (TypeError, ValueError):
            a = np.empty((0, 0), dtype=np.float32)
        if a.ndim != 2 or a.shape[0] != rows or (self.dim and a.shape[1] != self.dim):
            self.ok = False  # no usable vectors for this build: searches fall back to Chroma
            return
        a /= np.clip(np.linalg.norm(a, axis=1, keepdims=True), 1e-12, None)
        self._file.write(a.astype(VECTOR_DTYPE).tobytes())
        self.rows += rows
        self.dim = a.shape[1]

    def finish(self, expected_rows: int) -> bool:
        """Close the file; True when it holds exactly ``expected_rows`` usable rows."""
        if self._file is not None:
            self._file.close()
            self._file = None
        return self.ok and self.rows == expected_rows and self.rows > 0 and self.dim > 0

    def discard(self) -> None:
        self.finish(-1)
        self.path.unlink(missing_ok=True)


def open_vectors(path: Path, rows: int, dim: int) -> np.ndarray | None:
    """A read-only memory map of a vectors file, or None when it does not have the
    expected shape (missing, truncated, written for another index)."""
    try:
        if rows <= 0 or dim <= 0 or path.stat().st_size != rows * dim * VECTOR_DTYPE.itemsize:
            return None
        return np.memmap(path, dtype=VECTOR_DTYPE, mode="r", shape=(rows, dim))
    except (OSError, ValueError):
        return None


def build(chunks: Iterable[tuple[str, str, str, int]], generation: int) -> BM25Index:
    """Index ``(chunk id, text, outlet, day)`` rows, read one at a time.

    Each chunk's terms become vocabulary ids as they are read, kept as 4-byte
    arrays: a list of term strings per chunk would take about 10 kB a chunk (a
    gigabyte at 100k chunks), a list of ints about 1.7 kB.
    """
    import bm25s

    vocab: dict[str, int] = {}
    ids: list[str] = []
    outlets: list[str] = []
    days: list[int] = []
    docs: list[array[int]] = []
    for cid, text, outlet, day in chunks:
        ids.append(cid)
        outlets.append(outlet)
        days.append(day)
        docs.append(array("i", [vocab.setdefault(t, len(vocab)) for t in terms(text) or ["\0"]]))
    retriever = bm25s.BM25()
    if not docs:  # an empty index (every file skipped): bm25s needs one document
        vocab = {"\0": 0}
        retriever.index(([array("i", [0])], vocab), show_progress=False)
    else:
        retriever.index((docs, vocab), show_progress=False)
    return BM25Index(
        retriever,
        ids,
        np.array([o.lower() for o in outlets]),
        np.array(days, dtype=np.int64),
        generation,
        sorted(set(outlets)),
    )


def save(index: BM25Index, folder: Path, vectors_file: Path | None = None) -> None:
    """Write to a temporary folder, then swap it in: a kill never leaves half an index.

    ``vectors_file`` is the file a ``VectorWriter`` wrote for this index (on the same
    file system), which ``index.vectors`` maps: it is moved into the folder.
    """
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    index.retriever.save(str(tmp), show_progress=False)
    np.save(tmp / "days.npy", index.days)
    vectors: dict[str, int] | None = None
    if vectors_file is not None and index.vectors is not None:
        rows, dim = index.vectors.shape
        os.replace(vectors_file, tmp / VECTORS)  # a map of it stays valid across the move
        vectors = {"rows": int(rows), "dim": int(dim)}
    with open(tmp / "meta.json", "w") as f:
        json.dump(
            {
                "ids": index.ids,
                "outlets": index.outlets.tolist(),
                "generation": index.generation,
                "names": index.names,
                "vectors": vectors,
            },
            f,
        )
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        os.replace(folder, old)
    os.replace(tmp, folder)
    shutil.rmtree(old, ignore_errors=True)


def load(folder: Path) -> BM25Index | None:
    """The saved index, or None when missing or unreadable (the caller rebuilds)."""
    import bm25s

    try:
        with open(folder / "meta.json") as f:
            meta = json.load(f)
        retriever = bm25s.BM25.load(str(folder), show_progress=False, verbosity=0)
        days = np.load(folder / "days.npy")
    except (OSError, ValueError, KeyError):
        return None
    ids = meta["ids"]
    v = meta.get("vectors")  # absent in indexes saved by older versions
    vectors = None
    if isinstance(v, dict) and v.get("rows") == len(ids) and isinstance(v.get("dim"), int):
        vectors = open_vectors(folder / VECTORS, len(ids), v["dim"])
    return BM25Index(
        retriever,
        ids,
        np.array(meta["outlets"]),
        days,
        int(meta["generation"]),
        list(meta["names"]),
        vectors,
    )
