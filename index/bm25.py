"""The BM25 side of hybrid retrieval (bm25s), kept beside the Chroma store.

The BM25 index is derived data: rebuilt from the chunks in Chroma whenever the
ledger's generation moves on, so it can never drift from the vector store.

Beside it, in the same folder and so swapped in with it, sits a copy of every
chunk's embedding: float16, L2-normalised, one row per chunk in ``ids`` order,
memory-mapped on load. Filtered dense search scores the few chunks a narrow
filter passes with it, instead of asking Chroma to filter (slow at scale).

And a copy of every chunk's text and metadata (``chunks.sqlite``, row i is
ids[i]). With both copies, a reader answers without opening Chroma at all
(``Store``): a one-shot ask skips chromadb's import and start-up, which were
most of its time.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sqlite3
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .text import terms


@dataclass(frozen=True)
class Postings:
    """bm25s's precomputed BM25 scores (a term-by-chunk CSC matrix) and its vocabulary,
    queried as bm25s's numpy backend queries them. bm25s builds and saves them;
    reading them back needs neither bm25s nor scipy, whose imports were a fifth of
    a one-shot ask."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    num_docs: int
    vocab: dict[str, int]

    @classmethod
    def of(cls, retriever: Any) -> Postings:
        """The postings of a ``bm25s.BM25`` that has just indexed."""
        sc = retriever.scores
        return cls(
            sc["data"], sc["indices"], sc["indptr"], int(sc["num_docs"]), retriever.vocab_dict
        )

    @classmethod
    def load(cls, folder: Path) -> Postings:
        """Read what ``bm25s.BM25.save`` wrote (lucene scoring: no non-occurrence scores)."""
        params = json.loads((folder / "params.index.json").read_text())
        if params.get("method", "lucene") not in ("lucene", "robertson", "atire"):
            raise ValueError(f"BM25 method {params.get('method')!r} needs bm25s to query")
        vocab = json.loads((folder / "vocab.index.json").read_text())
        data, indices, indptr = (
            np.load(folder / f"{n}.csc.index.npy") for n in ("data", "indices", "indptr")
        )
        num_docs = int(params["num_docs"])
        return cls(data, indices, indptr, num_docs, vocab)

    def top(self, token_ids: list[int], k: int, mask: np.ndarray | None) -> list[tuple[int, float]]:
        """The ``k`` best-scoring chunks (row, score) for the query's term ids, best first."""
        scores = np.zeros(self.num_docs, dtype=self.data.dtype)
        for t in token_ids:
            a, b = self.indptr[t], self.indptr[t + 1]
            np.add.at(scores, self.indices[a:b], self.data[a:b])
        if mask is not None:
            scores *= mask
        part = np.argpartition(scores, -k)[-k:]
        best = part[np.flip(np.argsort(scores[part]))]
        return [(int(i), float(scores[i])) for i in best]


def idf_from_counts(df: Callable[[str], int], n_docs: int) -> Callable[[str], float]:
    """BM25's idf (with its +1, never negative) from a document-frequency function."""

    def idf(t: str) -> float:
        d = df(t)
        return math.log(1 + (n_docs - d + 0.5) / (d + 0.5))

    return idf


@dataclass
class BM25Index:
    postings: Postings
    ids: list[str]
    outlets: np.ndarray  # outlet per chunk (lowercased), for filters
    days: np.ndarray  # published date as ordinal day, 0 when unknown
    generation: int
    names: list[str]  # the indexed outlets, as written
    # Each chunk's normalised embedding (float16, row i is ids[i]), or None when not
    # available (an index saved by an older version): callers then ask Chroma.
    vectors: np.ndarray | None = None
    # Each chunk's text and metadata, or None when not available (older index):
    # callers then read them from Chroma.
    texts: ChunkTexts | None = None
    # The bm25s object that built the postings (None once loaded): what ``save`` writes.
    retriever: Any = None

    @cached_property
    def vectors32(self) -> np.ndarray | None:
        """The vectors as float32, in memory (read once): for exact search over all rows."""
        return None if self.vectors is None else np.asarray(self.vectors, dtype=np.float32)

    @cached_property
    def row_of(self) -> dict[str, int]:
        """Chunk id to its row in ``ids``, ``outlets`` and ``days``."""
        return {cid: i for i, cid in enumerate(self.ids)}

    def doc_freq(self, term: str) -> int:
        """How many chunks contain ``term`` (0 when unknown)."""
        i = self.postings.vocab.get(term)
        if i is None:
            return 0
        indptr = self.postings.indptr
        return int(indptr[i + 1] - indptr[i])

    def chunks_with(self, term: str, limit: int = 5000) -> list[str]:
        """The ids of the chunks that contain ``term`` (at most ``limit``)."""
        i = self.postings.vocab.get(term)
        if i is None:
            return []
        indptr, indices = self.postings.indptr, self.postings.indices
        rows = indices[int(indptr[i]) : int(indptr[i + 1])][:limit]
        return [self.ids[int(r)] for r in rows]

    def word_weights(self) -> Callable[[str], float]:
        """Each stemmed term's BM25 inverse document frequency over the chunks:
        how much the word tells one chunk from another."""
        return idf_from_counts(self.doc_freq, max(1, len(self.ids)))

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        vocab = self.postings.vocab
        q = [vocab[t] for t in terms(query) if t in vocab]
        if not q or not self.ids:
            return []
        k = min(k, len(self.ids))
        return [(self.ids[d], s) for d, s in self.postings.top(q, k, mask) if s > 0]


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


TEXTS = "chunks.sqlite"


class TextWriter:
    """Writes each chunk's text and metadata, in ``ids`` order, to an SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        path.unlink(missing_ok=True)
        self._db: sqlite3.Connection | None = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")  # a temporary file, synced on finish
        self._db.execute(
            "CREATE TABLE chunks (id TEXT PRIMARY KEY, source TEXT, doc TEXT, meta TEXT)"
        )

    def add(self, cid: str, doc: str, meta: dict[str, Any]) -> None:
        if self._db is not None:
            row = (cid, str(meta.get("source", "")), doc, json.dumps(meta))
            self._db.execute("INSERT INTO chunks VALUES (?, ?, ?, ?)", row)
            self.rows += 1

    def finish(self, expected_rows: int) -> bool:
        """Commit and close; True when it holds exactly ``expected_rows`` rows."""
        if self._db is not None:
            self._db.execute("CREATE INDEX chunks_source ON chunks (source)")
            self._db.commit()
            self._db.close()
            self._db = None
            with open(self.path, "rb+") as f:
                os.fsync(f.fileno())
        return self.rows == expected_rows

    def discard(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        self.path.unlink(missing_ok=True)


class ChunkTexts:
    """Read-only access to a saved ``chunks.sqlite``. Thread-safe (one connection
    per call); an unreadable file gives ``None`` and the caller asks Chroma."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)

    def get(self, ids: list[str]) -> dict[str, tuple[str, dict[str, Any]]] | None:
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        try:
            db = self._connect()
            try:
                for i in range(0, len(ids), 500):
                    batch = ids[i : i + 500]
                    q = f"SELECT id, doc, meta FROM chunks WHERE id IN ({','.join('?' * len(batch))})"
                    for cid, doc, meta in db.execute(q, batch):
                        out[cid] = (doc, json.loads(meta))
            finally:
                db.close()
        except (sqlite3.Error, ValueError):
            return None
        return out

    def of_sources(
        self, sources: list[str], limit: int
    ) -> list[tuple[str, str, dict[str, Any]]] | None:
        """Every chunk of the articles ``sources`` (at most ``limit``), in ``ids`` order."""
        try:
            db = self._connect()
            try:
                marks = ",".join("?" * len(sources))
                q = f"SELECT id, doc, meta FROM chunks WHERE source IN ({marks}) ORDER BY rowid LIMIT ?"
                rows = db.execute(q, [*sources, limit]).fetchall()
            finally:
                db.close()
            return [(cid, doc, json.loads(meta)) for cid, doc, meta in rows]
        except (sqlite3.Error, ValueError):
            return None

    def all(self) -> Iterator[tuple[str, str, dict[str, Any]]] | None:
        """Every chunk, in ``ids`` order; None when the file cannot be read."""
        try:
            db = self._connect()
            rows = db.execute("SELECT id, doc, meta FROM chunks ORDER BY rowid").fetchall()
            db.close()
            return iter([(cid, doc, json.loads(meta)) for cid, doc, meta in rows])
        except (sqlite3.Error, ValueError):
            return None

    def count(self) -> int | None:
        try:
            db = self._connect()
            try:
                return int(db.execute("SELECT count(*) FROM chunks").fetchone()[0])
            finally:
                db.close()
        except sqlite3.Error:
            return None


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
        Postings.of(retriever),
        ids,
        np.array([o.lower() for o in outlets]),
        np.array(days, dtype=np.int64),
        generation,
        sorted(set(outlets)),
        retriever=retriever,
    )


def save(
    index: BM25Index,
    folder: Path,
    vectors_file: Path | None = None,
    texts_file: Path | None = None,
) -> None:
    """Write to a temporary folder, then swap it in: a kill never leaves half an index.

    ``vectors_file`` is the file a ``VectorWriter`` wrote for this index (on the same
    file system), which ``index.vectors`` maps: it is moved into the folder, and so is
    ``texts_file``, a ``TextWriter``'s.
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
    texts: int | None = None
    if texts_file is not None:
        os.replace(texts_file, tmp / TEXTS)
        texts = len(index.ids)
    with open(tmp / "meta.json", "w") as f:
        json.dump(
            {
                "ids": index.ids,
                "outlets": index.outlets.tolist(),
                "generation": index.generation,
                "names": index.names,
                "vectors": vectors,
                "texts": texts,
            },
            f,
        )
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        os.replace(folder, old)
    os.replace(tmp, folder)
    shutil.rmtree(old, ignore_errors=True)
    if texts is not None:
        index.texts = ChunkTexts(folder / TEXTS)


def load(folder: Path) -> BM25Index | None:
    """The saved index, or None when missing or unreadable (the caller rebuilds)."""
    try:
        with open(folder / "meta.json") as f:
            meta = json.load(f)
        postings = Postings.load(folder)
        days = np.load(folder / "days.npy")
    except (OSError, ValueError, KeyError):
        return None
    ids = meta["ids"]
    v = meta.get("vectors")  # absent in indexes saved by older versions
    vectors = None
    if isinstance(v, dict) and v.get("rows") == len(ids) and isinstance(v.get("dim"), int):
        vectors = open_vectors(folder / VECTORS, len(ids), v["dim"])
    texts = None
    if meta.get("texts") == len(ids) and (folder / TEXTS).is_file():
        texts = ChunkTexts(folder / TEXTS)
    return BM25Index(
        postings,
        ids,
        np.array(meta["outlets"]),
        days,
        int(meta["generation"]),
        list(meta["names"]),
        vectors,
        texts,
    )
