"""One-shot ``newsbot ask`` from a cold process, side by side: answering from the
chunk copy kept beside the BM25 index (the default: no chromadb import) against
reading the chunks from Chroma (the copy moved aside for those runs), alternately,
on the same built index. Prints the medians, their ratio, and what each imports.

    python bench/cold_ask.py                     # the seed corpus, 5 pairs of runs
    python bench/cold_ask.py --runs 9 --index-dir DIR
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT

QUESTION = "Who was Russia's chief negotiator at the Istanbul talks?"


def ask(ix: Path, importtime: bool = False) -> tuple[float, str, str]:
    cmd = [sys.executable] + (["-X", "importtime"] if importtime else [])
    cmd += ["-m", "bot.frontends.cli", "--index-dir", str(ix), "ask", QUESTION]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=tempfile.gettempdir())
    took = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"ask failed: {r.stderr[-1000:]}")
    return took, r.stdout, r.stderr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--index-dir", type=Path, help="a built index (default: the seeds, built here)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="newsbot-cold-"))
    ix = args.index_dir
    if ix is None:
        ix = work / "ix"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bot.frontends.cli",
                "--index-dir",
                str(ix),
                "ingest",
                str(ROOT / "corpus" / "seeds"),
            ],
            check=True,
            capture_output=True,
        )
    copy = ix / "bm25" / "chunks.sqlite"
    aside = work / "chunks.sqlite"
    times: dict[str, list[float]] = {"copy": [], "chroma": []}
    answers: dict[str, str] = {}
    try:
        for _ in range(args.runs):
            for way in ("copy", "chroma"):
                if way == "chroma":
                    shutil.move(copy, aside)
                try:
                    took, out, _ = ask(ix)
                finally:
                    if way == "chroma":
                        shutil.move(aside, copy)
                times[way].append(took)
                answers[way] = out
        imports = {}
        for way in ("copy", "chroma"):
            if way == "chroma":
                shutil.move(copy, aside)
            try:
                _, _, log = ask(ix, importtime=True)
            finally:
                if way == "chroma":
                    shutil.move(aside, copy)
            roots = {line.split("|")[-1].strip().split(".")[0] for line in log.splitlines()}
            imports[way] = sorted(roots & {"chromadb", "bm25s", "scipy", "torch"})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()[0]
    print(f"one-shot ask, {args.runs} runs each, alternating (load average {load:.1f})")
    for way, xs in times.items():
        print(
            f"  {way:7s} median {statistics.median(xs):.2f} s  "
            f"(min {min(xs):.2f}, max {max(xs):.2f})  imports of note: {imports[way] or 'none'}"
        )
    ratio = statistics.median(times["chroma"]) / statistics.median(times["copy"])
    print(f"  Chroma / copy: {ratio:.2f}x; same answer: {answers['copy'] == answers['chroma']}")


if __name__ == "__main__":
    main()
