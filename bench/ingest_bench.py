"""Ingest and query benchmarks on real scraped news (RealTime QA, read from ../shared).

Figures printed side by side in one run, so ratios hold on a busy machine:
- newsbot ingest throughput vs the raw throughput of the same embedding model
  on the same chunks (the ceiling), and vs LlamaIndex's plain
  VectorStoreIndex.from_documents with the same model, given the same chunks
  (and, for reference, with its own splitter);
- re-ingest of the unchanged corpus as a share of the first ingest;
- warm query latency (retrieval, and full extractive answer), p50 and p95;
- cold start of a one-shot `newsbot ask`;
- peak RSS of the ingest process.

The ceiling loads an existing ONNX export, so by default the per-user export cache
(NEWSBOT_MODEL_CACHE) is filled before the timed ingest, as it is on any machine
after the first ingest; ``--cold-export`` times a first-ever ingest instead, with an
empty cache. A line says whether the export was built during the timed ingest.

    python bench/ingest_bench.py --articles 300
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, SHARED, pct


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=300)
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument(
        "--cold-export",
        action="store_true",
        help="time the ingest with an empty export cache (it then builds the ONNX export)",
    )
    args = ap.parse_args()

    from bot.engine import Engine
    from index.chunk import chunk_article
    from index.embed import HuggingFaceEmbedder, ensure_onnx, load_embedder
    from index.ingest import embed_text, ingest
    from index.readers import CorpusFile, read_file
    from index.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="newsbot-bench-"))
    corpus = work / "corpus"
    corpus.mkdir()
    with gzip.open(SHARED / "articles.jsonl.gz", "rt") as f:
        lines = [next(f) for _ in range(args.articles)]
    (corpus / "articles.jsonl").write_text("".join(lines))
    if args.cold_export:  # for this process and the ingest child alike
        os.environ["NEWSBOT_MODEL_CACHE"] = str(work / "model-cache")
    settings = Settings(_env_file=None, index_dir=work / "ix", corpus_dir=corpus)  # type: ignore[call-arg]
    if not args.cold_export:  # untimed: the export the ceiling loads is there for newsbot too
        ensure_onnx(settings.embed_model, work / "warm", settings.model_cache)
        shutil.rmtree(work / "warm", ignore_errors=True)

    def exports_cached() -> dict[str, tuple[int, int]]:
        files = settings.model_cache.glob("embed-*.onnx")
        return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in files}

    cached = exports_cached()

    # 1. newsbot ingest, in a child process so its peak RSS is its own.
    t0 = time.perf_counter()
    code = (
        "import sys; sys.path.insert(0, {!r})\n"
        "from index.ingest import ingest; from index.settings import Settings\n"
        "r = ingest(Settings(_env_file=None, index_dir={!r}, corpus_dir={!r}))\n"
        "import resource; print(r.chunks_added, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    ).format(str(ROOT), str(work / "ix"), str(corpus))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    t_ingest = time.perf_counter() - t0
    n_chunks, rss_kb = int(out[-2]), int(out[-1])
    exports = [p.name for p in (work / "ix").glob("embed-*.onnx")]
    built = not exports or exports[0] not in cached or exports_cached() != cached

    # 2. The ceiling: the same model encoding the same chunk texts, nothing else, with
    #    each backend (newsbot ingests with the faster ONNX one when it can).
    f = CorpusFile(corpus / "articles.jsonl", "articles.jsonl")
    chunks = [c for a in read_file(f, f.path.read_bytes(), []) for c in chunk_article(a)[1]]
    texts = [embed_text(c) for c in chunks]
    t0 = time.perf_counter()
    onnx = load_embedder("", cache_dir=work / "ix", batch_size=settings.embed_batch_size)
    onnx.embed_documents(texts)
    t_ceiling_onnx = time.perf_counter() - t0
    t0 = time.perf_counter()
    emb = load_embedder("", backend="torch", batch_size=settings.embed_batch_size)
    emb.embed_documents(texts)
    t_ceiling_torch = time.perf_counter() - t0
    t_ceiling = min(t_ceiling_onnx, t_ceiling_torch)

    # 3. LlamaIndex's plain path with the same model (its HuggingFace integration),
    #    a) with the same splitter: newsbot's chunks go in as documents, and a
    #       SentenceSplitter too wide to cut them again, so both embed the same text;
    #    b) with LlamaIndex's own SentenceSplitter, which embeds fewer tokens.
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter

    assert isinstance(emb, HuggingFaceEmbedder)

    def llama(docs: list[Document], size: int, overlap: int) -> float:
        t0 = time.perf_counter()
        VectorStoreIndex.from_documents(
            docs,
            embed_model=emb.llama_embedding,
            transformations=[SentenceSplitter(chunk_size=size, chunk_overlap=overlap)],  # type: ignore[attr-defined]
        )
        return time.perf_counter() - t0

    t_llama_same = llama([Document(text=t) for t in texts], 1024, 0)
    t_llama = llama(
        [
            Document(text=a.text, metadata={"title": a.title or ""})
            for a in read_file(f, f.path.read_bytes(), [])
        ],
        200,
        20,
    )

    # 4. Re-ingest of the unchanged corpus.
    t0 = time.perf_counter()
    ingest(settings)
    t_reingest = time.perf_counter() - t0

    # 5. Warm query latency.
    qs = [json.loads(x)["question"] for x in (SHARED / "questions.jsonl").read_text().splitlines()][
        : args.queries
    ]
    with Engine.open(settings) as engine:
        engine.ask(qs[0])
        t_ret, t_all = [], []
        for q in qs:
            t0 = time.perf_counter()
            engine.retriever.retrieve(q)
            t_ret.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            engine.ask(q)
            t_all.append((time.perf_counter() - t0) * 1000)

    # 6. Cold start of the one-shot CLI on the built index.
    colds = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "bot.cli", "--index-dir", str(work / "ix"), "ask", qs[1]],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        colds.append(time.perf_counter() - t0)

    rate = n_chunks / t_ingest
    print(
        f"corpus: {args.articles} RealTime QA articles, {n_chunks} chunks; embed batch {settings.embed_batch_size}"
    )
    print(
        f"newsbot ingest: {t_ingest:.1f} s, {rate:.1f} chunks/s (includes process start and model load)"
    )
    print(
        f"ceiling (same model, same {len(texts)} chunks, load + encode, nothing stored): "
        f"ONNX {len(texts) / t_ceiling_onnx:.1f} chunks/s, torch {len(texts) / t_ceiling_torch:.1f} chunks/s"
    )
    print(f"  newsbot / faster ceiling: {rate / (len(texts) / t_ceiling):.2f}x")
    print(
        "ONNX export: "
        + (
            "built during the timed ingest"
            if built
            else f"taken from the user cache {settings.model_cache}, not built during the timed ingest"
        )
    )
    print(
        "LlamaIndex VectorStoreIndex.from_documents, same model and splitter (newsbot's "
        f"{len(texts)} chunks): {t_llama_same:.1f} s  -> newsbot is {t_llama_same / t_ingest:.2f}x as fast"
    )
    print(
        "LlamaIndex VectorStoreIndex.from_documents, its own SentenceSplitter(200, 20): "
        f"{t_llama:.1f} s  -> newsbot is {t_llama / t_ingest:.2f}x as fast"
    )
    print(
        f"re-ingest unchanged: {t_reingest:.2f} s = {100 * t_reingest / t_ingest:.1f}% of first ingest"
    )
    print(
        f"warm retrieval: p50 {statistics.median(t_ret):.0f} ms, p95 {pct(t_ret, 95):.0f} ms ({len(qs)} questions)"
    )
    print(f"warm full answer: p50 {statistics.median(t_all):.0f} ms, p95 {pct(t_all, 95):.0f} ms")
    print(
        f"cold one-shot ask: {min(colds):.2f} s best, {statistics.median(colds):.2f} s median of 3"
    )
    print(f"peak RSS of ingest: {rss_kb / 1024:.0f} MB")
    print(
        f"command: python bench/ingest_bench.py --articles {args.articles} --queries {args.queries}"
        + (" --cold-export" if args.cold_export else "")
    )
    shutil.rmtree(work, ignore_errors=True)
    _ = resource


if __name__ == "__main__":
    main()
