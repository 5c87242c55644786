"""Embedding model variants side by side: size, speed, agreement, and RealTime QA 2023.

Each variant is a model folder made by ``python -m train.embed_model --variant all
--out DIR``. In one run, for each variant:

- size of model.onnx, and load time;
- encoding speed on the same chunk texts (real 2023 articles, newsbot's chunker),
  the variants taking turns, twice each, best of the two kept;
- agreement with fp32: the cosine between the two vectors of each text;
- with ``--weeks``: the week protocol of bench/realtimeqa.py with that model
  (classic scorer): retrieval hit@5 and MRR, and answer accuracy.

    python -m train.embed_model --variant all --out build/embed-variants
    python bench/embed_variants.py --variants build/embed-variants --texts 2000 \\
        --weeks 20230106,20230203,...
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from common import ROOT, SHARED


def chunk_texts(n: int) -> list[str]:
    from index.chunk import chunk_article
    from index.ingest import embed_text
    from index.readers import CorpusFile, read_file

    texts: list[str] = []
    with gzip.open(SHARED / "articles.jsonl.gz", "rt") as f:
        lines = [next(f) for _ in range(max(50, n // 8))]
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / "newsbot-variants.jsonl"
    tmp.write_text("".join(lines))
    cf = CorpusFile(tmp, tmp.name)
    for a in read_file(cf, tmp.read_bytes(), []):
        texts += [embed_text(c) for c in chunk_article(a)[1]]
    tmp.unlink()
    return texts[:n]


def quality(folder: Path, weeks: str, work: Path) -> dict[str, float]:
    answers = work / f"{folder.name}.jsonl"
    if not answers.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / "realtimeqa.py"), "--protocol", "week"]
            + ["--weeks", weeks, "--scorer", "classic", "--answers", str(answers)]
            + ["--keep", str(work / folder.name)],
            env={**os.environ, "NEWSBOT_EMBED_MODEL": str(folder)},
            check=True,
            stdout=subprocess.DEVNULL,
        )
    rows = [json.loads(x) for x in answers.read_text().splitlines()]
    n = len(rows)
    return {
        "n": n,
        "hit": sum(r["hit"] for r in rows) / n,
        "mrr": sum(r["mrr"] for r in rows) / n,
        "acc": sum(r["correct"] for r in rows) / n,
    }


def main() -> None:
    from index.embed import load_embedder

    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", type=Path, required=True)
    ap.add_argument("--texts", type=int, default=2000)
    ap.add_argument("--weeks", help="comma-separated 2023 quiz weeks for the quality columns")
    ap.add_argument("--work", type=Path, default=ROOT / "build" / "embed-variants-work")
    args = ap.parse_args()
    folders = sorted(p for p in args.variants.iterdir() if (p / "model.onnx").is_file())
    folders.sort(key=lambda p: p.name != "fp32")  # fp32 first: the reference
    texts = chunk_texts(args.texts)
    loads, best, vectors = {}, {}, {}
    for rnd in range(2):
        for folder in folders:
            t0 = time.perf_counter()
            emb = load_embedder(str(folder), batch_size=16)
            loaded = time.perf_counter() - t0
            t0 = time.perf_counter()
            vecs = emb.embed_array(texts)
            took = time.perf_counter() - t0
            loads[folder.name] = min(loads.get(folder.name, loaded), loaded)
            best[folder.name] = min(best.get(folder.name, took), took)
            if rnd == 0:
                vectors[folder.name] = vecs
    ref = folders[0].name
    args.work.mkdir(parents=True, exist_ok=True)
    q = {f.name: quality(f, args.weeks, args.work) for f in folders} if args.weeks else {}
    print(f"{len(texts)} chunk texts from RealTime QA 2023; load 2 cores; reference {ref}")
    print(
        "| variant | MB | load s | chunks/s | speed vs fp32 | cosine vs fp32 mean / min "
        "| hit@5 | MRR | accuracy |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for f in folders:
        name = f.name
        cos = np.sum(vectors[name] * vectors[ref], axis=1)
        cells = [
            name,
            f"{(f / 'model.onnx').stat().st_size / 1e6:.1f}",
            f"{loads[name]:.2f}",
            f"{len(texts) / best[name]:.0f}",
            f"{best[ref] / best[name]:.2f}x",
            f"{cos.mean():.4f} / {cos.min():.4f}",
        ]
        if name in q:
            d = q[name]
            r = q[ref]
            cells += [
                f"{d['hit']:.3f} ({100 * (d['hit'] - r['hit']):+.1f})",
                f"{d['mrr']:.3f} ({100 * (d['mrr'] - r['mrr']):+.1f})",
                f"{d['acc']:.3f} ({100 * (d['acc'] - r['acc']):+.1f}), {d['n']:.0f} q",
            ]
        else:
            cells += ["-", "-", "-"]
        print("| " + " | ".join(cells) + " |")
    print(
        f"command: python bench/embed_variants.py --variants {args.variants} --texts {args.texts}"
        + (f" --weeks {args.weeks}" if args.weeks else "")
    )


if __name__ == "__main__":
    main()
