"""What the benchmark scripts share: where the project and ../shared are, percentiles,
and writing an index out of chunks copied (with their vectors) from another.

The scripts run as ``python bench/NAME.py``, so this folder is on ``sys.path``;
importing this module also puts the project root there.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "realtimeqa"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def pct(xs: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``xs``."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


# One page of copied chunks: ids, texts, metadata, and their vectors.
Page = tuple[Sequence[str], Sequence[str], Sequence[dict[str, Any]], Any]


def write_index(source: Path, marker: dict[str, Any], pages: Iterable[Page], dest: Path) -> None:
    """A newsbot index at ``dest`` holding ``pages`` of chunks taken from the index at
    ``source`` (its ``marker``), with their stored vectors: nothing is embedded again.
    Its BM25 index is rebuilt, as an ingest would."""
    from index.settings import Settings
    from index.store import Store

    with Store(Settings(_env_file=None, index_dir=dest), writable=True) as out:  # type: ignore[call-arg]
        out.write_marker(marker["embed_model"], int(marker["dim"]))
        for ids, docs, metas, vectors in pages:
            for i in range(0, len(ids), 5000):  # Chroma caps the batch size of an add
                sl = slice(i, i + 5000)
                out.collection.add(
                    ids=list(ids[sl]),
                    documents=list(docs[sl]),
                    metadatas=list(metas[sl]),
                    embeddings=np.asarray(vectors[sl], dtype=np.float32).tolist(),
                )
        out.ledger.bump_generation()
        out.rebuild_bm25()
