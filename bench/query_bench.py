"""Warm query latency at 1k, 10k and 100k chunks, measured side by side in one run.

The chunks come from an index built by `newsbot ingest` on real news (the
RealTime QA year corpus: build it once with
`newsbot --index-dir DIR ingest PATH/TO/articles.jsonl.gz`). For each size, a
derived index holds the first N of its chunks with their stored vectors, so
nothing is re-embedded. A size above the source's chunk count is reached by
synthetic replication: copies of the chunks under new ids and sources, each
vector nudged by a little noise so the vector index holds no exact duplicates.

For each size it prints p50 and p95 of warm hybrid retrieval and of a full
extractive answer, over the RealTime QA questions (each asked as of its quiz date).

    python bench/query_bench.py --source DIR --sizes 1000,10000,100000 --queries 60
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
from common import SHARED, Page, pct, write_index


def derive(source: Path, dest: Path, size: int) -> int:
    """An index at ``dest`` holding ``size`` chunks copied (and replicated) from ``source``."""
    from index.settings import Settings
    from index.store import Store

    with Store(Settings(_env_file=None, index_dir=source)) as src:  # type: ignore[call-arg]
        marker = src.marker
        total = src.count()
        ids, docs, metas, parts = [], [], [], []
        for offset in range(0, min(size, total), 5000):  # Chroma caps SQL variables per call
            got = src.collection.get(
                limit=min(5000, size - offset),
                offset=offset,
                include=["embeddings", "documents", "metadatas"],
            )
            ids += got["ids"]
            docs += got["documents"]
            metas += got["metadatas"]
            parts.append(np.asarray(got["embeddings"], dtype=np.float32))
    vecs = np.concatenate(parts)
    rng = np.random.default_rng(0)

    def copies() -> Iterator[Page]:
        written, copy = 0, 0
        while written < size:
            n = min(size - written, len(ids))
            v = vecs[:n]
            if copy:
                v = v + rng.normal(0, 0.01, v.shape).astype(np.float32)
                v /= np.linalg.norm(v, axis=1, keepdims=True)
            yield (
                [f"{x}~r{copy}" if copy else x for x in ids[:n]],
                docs[:n],
                [{**m, "source": f"{m['source']}~r{copy}"} if copy else m for m in metas[:n]],
                v,
            )
            written += n
            copy += 1

    write_index(source, marker, copies(), dest)
    return size


def measure(index_dir: Path, questions: list[dict]) -> tuple[list[float], list[float]]:  # type: ignore[type-arg]
    from bot import AskOptions, Engine
    from index.settings import Settings

    t_ret, t_all = [], []
    with Engine.open(Settings(_env_file=None, index_dir=index_dir)) as engine:  # type: ignore[call-arg]
        engine.ask(questions[0]["question"])  # warm-up: loads the model and BM25
        for q in questions:
            opts = AskOptions(as_of=date.fromisoformat(q["date"]), mode="extractive")
            t0 = time.perf_counter()
            engine.retriever.retrieve(q["question"])
            t_ret.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            engine.ask(q["question"], opts)
            t_all.append((time.perf_counter() - t0) * 1000)
    return t_ret, t_all


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", type=Path, required=True, help="a built newsbot index")
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--queries", type=int, default=60)
    args = ap.parse_args()
    qs = [json.loads(x) for x in (SHARED / "questions.jsonl").read_text().splitlines() if x]
    step = max(1, len(qs) // args.queries)
    qs = qs[::step][: args.queries]
    sizes = [int(s) for s in args.sizes.split(",")]
    print("| chunks | retrieval p50 | retrieval p95 | full answer p50 | full answer p95 |")
    print("|---|---|---|---|---|")
    p95s: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="newsbot-qbench-") as tmp:
        for size in sizes:
            d = Path(tmp) / str(size)
            derive(args.source, d, size)
            ret, full = measure(d, qs)
            p95s[size] = pct(ret, 95)
            print(
                f"| {size:,} | {statistics.median(ret):.0f} ms | {pct(ret, 95):.0f} ms | "
                f"{statistics.median(full):.0f} ms | {pct(full, 95):.0f} ms |",
                flush=True,
            )
            shutil.rmtree(d, ignore_errors=True)
    lo, hi = min(sizes), max(sizes)
    print(f"\nretrieval p95 growth {lo:,} -> {hi:,} chunks: {p95s[hi] / p95s[lo]:.2f}x")
    print(
        f"command: python bench/query_bench.py --source {args.source} --sizes {args.sizes} "
        f"--queries {args.queries}"
    )


if __name__ == "__main__":
    main()
