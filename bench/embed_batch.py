"""Embedding batch size side by side: ingest throughput and the per-answer call.

An extractive answer embeds its candidate sentences in one call (about 13 of them);
ingest embeds chunk texts in batches of ``NEWSBOT_EMBED_BATCH_SIZE``. For each batch
size, taking turns, best of two rounds:

- chunks/s on the same chunk texts (real 2023 articles, newsbot's chunker);
- milliseconds per call of ``--per-call`` sentences of those chunks.

    python bench/embed_batch.py                               # the shipped model
    python bench/embed_batch.py --model build/embed-int8w --sizes 1,4,16,64
"""

from __future__ import annotations

import argparse
import time

from embed_variants import chunk_texts


def main() -> None:
    from index.embed import load_embedder
    from index.sentences import sentence_spans

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="", help="a model folder (default: the shipped one)")
    ap.add_argument("--sizes", default="1,4,8,16,64")
    ap.add_argument("--texts", type=int, default=300)
    ap.add_argument("--calls", type=int, default=40)
    ap.add_argument("--per-call", type=int, default=13)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    texts = chunk_texts(args.texts)
    sentences = [t[s:e] for t in texts for s, e in sentence_spans(t)]
    calls = [
        sentences[i : i + args.per_call]
        for i in range(0, len(sentences) - args.per_call, args.per_call)
    ][: args.calls]
    embedders = {b: load_embedder(args.model, batch_size=b) for b in sizes}
    ingest: dict[int, float] = {}
    per_call: dict[int, float] = {}
    for _ in range(2):
        for b, emb in embedders.items():
            t0 = time.perf_counter()
            emb.embed_array(texts)
            ingest[b] = min(ingest.get(b, 1e9), time.perf_counter() - t0)
            t0 = time.perf_counter()
            for call in calls:
                emb.embed_array(call)
            per_call[b] = min(per_call.get(b, 1e9), (time.perf_counter() - t0) / len(calls))
    name = next(iter(embedders.values())).name
    print(f"model {name}; {len(texts)} chunk texts, {len(calls)} calls of {args.per_call}")
    print("| batch | chunks/s | ms per call |")
    print("|---|---|---|")
    for b in sizes:
        print(f"| {b} | {len(texts) / ingest[b]:.0f} | {1000 * per_call[b]:.0f} |")
    print(
        f"command: python bench/embed_batch.py --model '{args.model}' --sizes {args.sizes} "
        f"--texts {args.texts} --calls {args.calls} --per-call {args.per_call}"
    )


if __name__ == "__main__":
    main()
