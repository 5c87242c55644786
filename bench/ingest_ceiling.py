"""Ingest against newsbot's own encode ceiling, side by side, in rounds, and the
bound that the stores put on that ratio.

The ceiling is what ingest could at best reach: the shipped embedding model loaded
and encoding the same chunk texts, nothing read, stored or indexed (as in
``ingest_bench.py``). Each round runs, one after the other, each in a fresh process:

- the ceiling (timed inside the process: model load + encode), with the CPU time it
  used, so how many cores encoding keeps busy;
- the store steps alone on the ceiling's vectors: importing LlamaIndex, writing the
  chunks through ``Store.add`` (LlamaIndex's ChromaVectorStore, then Chroma), and
  the BM25 rebuild; with the longest time another Python thread was kept from
  running during the writes (Chroma's add holds the GIL: a write cannot overlap the
  encoder's Python side from a thread);
- ``newsbot ingest`` of the same articles into an empty index (timed from outside:
  process start, imports, reading, chunking, embedding, Chroma, BM25);
- with ``--baseline DIR``, the same ingest with the code of another checkout (for a
  before/after ratio measured on the same machine at the same time).

The bound: were every store step free to overlap encoding perfectly, the steps'
CPU time would still share the cores with it, so ingest could reach at most
``encode CPU / (encode CPU + store steps' CPU)`` of the ceiling's rate, before
process start, reading and chunking are counted.

The articles are RealTime QA 2023's (../shared/realtimeqa), the reporting set.

    python bench/ingest_ceiling.py --articles 150 --rounds 3
    git worktree add /tmp/base HEAD~1 && python bench/ingest_ceiling.py --baseline /tmp/base
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, SHARED

CHUNKS = """
import sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
import numpy as np
from index.chunk import chunk_article
from index.ingest import embed_text
from index.readers import CorpusFile, read_file
from index.settings import Settings
f = CorpusFile(Path({corpus!r}) / "articles.jsonl", "articles.jsonl")
chunks = [c for a in read_file(f, f.path.read_bytes(), []) for c in chunk_article(a)[1]]
texts = [embed_text(c) for c in chunks]
"""

CEILING = (
    CHUNKS
    + """
from index.embed import load_embedder
s = Settings(_env_file=None)
t0, c0 = time.perf_counter(), time.process_time()
vectors = load_embedder(s.embed_model, batch_size=s.embed_batch_size).embed_array(texts)
print(len(texts), time.perf_counter() - t0, time.process_time() - c0)
np.save({vectors!r}, vectors)
"""
)

STORE = (
    CHUNKS
    + """
import threading
from index.ingest import BATCH_CHUNKS
from index.store import Store
s = Settings(_env_file=None, index_dir=Path({ix!r}))
vectors = np.load({vectors!r}).tolist()
c0 = time.process_time()
import llama_index.vector_stores.chroma
c_import = time.process_time() - c0
stall, ticking, done = [0.0], [0.0], threading.Event()
def tick():  # its own CPU is taken off the writes' below
    last = time.perf_counter()
    while not done.is_set():
        time.sleep(0.001)
        now = time.perf_counter()
        stall[0], last = max(stall[0], now - last), now
    ticking[0] = time.thread_time()
with Store(s, writable=True) as store:
    ticker = threading.Thread(target=tick)
    ticker.start()
    c0 = time.process_time()
    for i in range(0, len(chunks), BATCH_CHUNKS):  # as ingest writes them
        store.add(chunks[i : i + BATCH_CHUNKS], vectors[i : i + BATCH_CHUNKS])
    done.set()
    ticker.join()
    c_add = time.process_time() - c0 - ticking[0]
    store.ledger.bump_generation()
    c0 = time.process_time()
    store.rebuild_bm25()
    c_bm25 = time.process_time() - c0
print(c_import, c_add, c_bm25, stall[0])
"""
)

INGEST = """
import sys
sys.path.insert(0, {root!r})
from pathlib import Path
from index.ingest import ingest
from index.settings import Settings
r = ingest(Settings(_env_file=None, index_dir=Path({ix!r}), corpus_dir=Path({corpus!r})))
print(r.chunks_added)
"""


def run(code: str) -> tuple[list[str], float]:
    env = dict(os.environ, NEWSBOT_HOME=tempfile.gettempdir())
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=150)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--baseline", type=Path, help="another checkout of newsbot to time beside")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="newsbot-ceiling-"))
    corpus = work / "corpus"
    corpus.mkdir()
    with gzip.open(SHARED / "articles.jsonl.gz", "rt") as f:
        (corpus / "articles.jsonl").write_text("".join(next(f) for _ in range(args.articles)))

    trees = {"newsbot": ROOT} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
    times: dict[str, list[float]] = {"ceiling": []} | {name: [] for name in trees}
    cpu: dict[str, list[float]] = {k: [] for k in ("encode", "import", "add", "bm25", "stall")}
    chunks = 0
    vectors = str(work / "vectors.npy")
    for i in range(args.rounds):
        common = {"root": str(ROOT), "corpus": str(corpus), "vectors": vectors}
        out, _ = run(CEILING.format(**common))
        chunks = int(out[0])
        times["ceiling"].append(float(out[1]))
        cpu["encode"].append(float(out[2]))
        ix = work / f"ix-store-{i}"
        out, _ = run(STORE.format(ix=str(ix), **common))
        for key, value in zip(("import", "add", "bm25", "stall"), out[-4:], strict=True):
            cpu[key].append(float(value))
        shutil.rmtree(ix, ignore_errors=True)
        for name, tree in trees.items():
            ix = work / f"ix-{name}-{i}"
            out, seconds = run(INGEST.format(root=str(tree), ix=str(ix), corpus=str(corpus)))
            if int(out[-1]) != chunks:
                raise SystemExit(f"{name} stored {out[-1]} chunks, the ceiling encoded {chunks}")
            times[name].append(seconds)
            shutil.rmtree(ix, ignore_errors=True)

    print(
        f"corpus: {args.articles} RealTime QA 2023 articles, {chunks} chunks; {args.rounds} rounds"
    )
    ceiling = statistics.median(times["ceiling"])
    for name, ts in times.items():
        med = statistics.median(ts)
        what = "load + encode, in process" if name == "ceiling" else "whole process"
        line = f"{name:>8}: median {med:5.2f} s ({', '.join(f'{t:.2f}' for t in ts)}; {what})"
        if name != "ceiling":
            line += f"  -> {ceiling / med:.2f}x the ceiling's rate"
        print(line)
    if args.baseline:
        print(
            f"newsbot / baseline speed: "
            f"{statistics.median(times['baseline']) / statistics.median(times['newsbot']):.2f}x"
        )
    med = {k: statistics.median(v) for k, v in cpu.items()}
    steps = med["import"] + med["add"] + med["bm25"]
    print(
        f"encoding: {med['encode']:.2f} CPU s in {ceiling:.2f} s, "
        f"{med['encode'] / ceiling:.2f} cores busy (of {os.cpu_count()})"
    )
    print(
        f"store steps, CPU s: LlamaIndex import {med['import']:.2f}, Store.add "
        f"{med['add']:.2f}, BM25 rebuild {med['bm25']:.2f} (sum {steps:.2f})"
    )
    print(f"longest wait of another Python thread during Store.add: {1000 * med['stall']:.0f} ms")
    print(
        f"bound, with the store steps perfectly overlapped and nothing else counted: "
        f"{med['encode'] / (med['encode'] + steps):.2f}x the ceiling's rate"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
