"""The BM25 side of hybrid retrieval (bm25s), kept beside the Chroma store.

The BM25 index is derived data: rebuilt from the chunks in Chroma whenever the
ledger's generation moves on, so it can never drift from the vector store.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .text import terms


@dataclass
class BM25Index:
    retriever: Any  # bm25s.BM25
    ids: list[str]
    outlets: np.ndarray  # outlet per chunk (lowercased), for filters
    days: np.ndarray  # published date as ordinal day, 0 when unknown
    generation: int
    names: list[str]  # the indexed outlets, as written

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

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        vocab = self.retriever.vocab_dict
        q = [t for t in terms(query) if t in vocab]
        if not q or not self.ids:
            return []
        k = min(k, len(self.ids))
        res = self.retriever.retrieve([q], k=k, show_progress=False, weight_mask=mask, n_threads=1)
        docs, scores = res.documents[0], res.scores[0]
        return [(self.ids[int(d)], float(s)) for d, s in zip(docs, scores, strict=True) if s > 0]


def build(chunks: Iterable[tuple[str, str, str, int]], generation: int) -> BM25Index:
    """Index ``(chunk id, text, outlet, day)`` rows, read one at a time.

    Each chunk's terms become vocabulary ids as they are read: a list of term
    strings per chunk would take about 10 kB a chunk, a gigabyte at 100k chunks.
    """
    import bm25s

    vocab: dict[str, int] = {}
    ids: list[str] = []
    outlets: list[str] = []
    days: list[int] = []
    docs: list[list[int]] = []
    for cid, text, outlet, day in chunks:
        ids.append(cid)
        outlets.append(outlet)
        days.append(day)
        docs.append([vocab.setdefault(t, len(vocab)) for t in terms(text) or ["\0"]])
    retriever = bm25s.BM25()
    retriever.index((docs, vocab), show_progress=False)
    return BM25Index(
        retriever,
        ids,
        np.array([o.lower() for o in outlets]),
        np.array(days, dtype=np.int64),
        generation,
        sorted(set(outlets)),
    )


def save(index: BM25Index, folder: Path) -> None:
    """Write to a temporary folder, then swap it in: a kill never leaves half an index."""
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    index.retriever.save(str(tmp), show_progress=False)
    np.save(tmp / "days.npy", index.days)
    with open(tmp / "meta.json", "w") as f:
        json.dump(
            {
                "ids": index.ids,
                "outlets": index.outlets.tolist(),
                "generation": index.generation,
                "names": index.names,
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
    return BM25Index(
        retriever,
        meta["ids"],
        np.array(meta["outlets"]),
        days,
        int(meta["generation"]),
        list(meta["names"]),
    )
