"""RealTime QA 2023 accuracy benchmark (read from ../shared/realtimeqa; never copied).

Week protocol: for each quiz week W, index only the articles whose `weeks`
holds W, then ask W's questions (each with its quiz date as the as-of date).
Year protocol: index all 7,587 articles and ask all 617 questions.

A correct answer contains the gold answer (case-insensitive) and cites an
article that contains it (`answer_accuracy` and `cited_hit` in newsbot eval).
The answer's length in words is reported beside the accuracy.

    python bench/realtimeqa.py --protocol week --weeks 20230106,20230113
    python bench/realtimeqa.py --protocol week            # all 51 weeks
    python bench/realtimeqa.py --protocol year
    # build each week's index once under DIR/<week>, reuse it on later runs,
    # and dump every answer for error analysis:
    python bench/realtimeqa.py --weeks 20230120 --keep /work/rtqa_weeks --answers out.jsonl
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import statistics
import tempfile
import time
from pathlib import Path

from common import SHARED


def run(articles: list[str], questions: list[dict], work: Path) -> list[dict]:  # type: ignore[type-arg]
    """Index ``articles`` under ``work`` (reused when ``work`` already holds a
    finished index of the same articles) and ask ``questions``."""
    from bot.engine import Engine
    from bot.evaluate import evaluate, parse_record
    from index.settings import Settings

    corpus = work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    s = Settings(_env_file=None, index_dir=work / "ix", corpus_dir=corpus)  # type: ignore[call-arg]
    done = work / "ingested"  # written after a finished ingest: its content is the corpus hash
    digest = hashlib.sha256("".join(articles).encode()).hexdigest()
    if not (done.exists() and done.read_text() == digest):
        from index.ingest import ingest

        (corpus / "articles.jsonl").write_text("".join(articles))
        ingest(s)
        done.write_text(digest)
    recs = [parse_record(q, f"questions.jsonl:{i}", i) for i, q in enumerate(questions, 1)]
    with Engine.open(s) as engine:
        report = evaluate(engine, recs, "extractive")
    out = []
    for r in report.questions:
        cited = r.metrics.get("cited_hit") or 0.0
        correct = bool(r.metrics.get("answer_accuracy")) and cited > 0
        out.append(
            {
                "id": r.record.id,
                "question": r.record.question,
                "gold": r.record.answer,
                "answer": r.answer,
                "correct": correct,
                "contains": bool(r.metrics.get("answer_accuracy")),
                "hit": r.metrics.get("hit_at_k") or 0.0,
                "mrr": r.metrics.get("mrr") or 0.0,
                "words": len(r.answer.split()),
                "seconds": r.seconds,
            }
        )
    return out


def summarise(label: str, rows: list[dict]) -> str:  # type: ignore[type-arg]
    n = len(rows)
    acc = sum(r["correct"] for r in rows) / n
    contains = sum(r["contains"] for r in rows) / n
    hit = sum(r["hit"] for r in rows) / n
    mrr = sum(r["mrr"] for r in rows) / n
    words = statistics.median(r["words"] for r in rows)
    return (
        f"| {label} | {n} | {acc:.2f} | {contains:.2f} | {hit:.2f} | {mrr:.2f} | {words:.0f} | "
        f"{statistics.median(r['seconds'] for r in rows):.2f} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--protocol", choices=["week", "year"], default="week")
    ap.add_argument("--weeks", help="comma-separated quiz weeks (default: all)")
    ap.add_argument("--keep", type=Path, help="keep each index under DIR/<week> and reuse it")
    ap.add_argument("--answers", type=Path, help="write every question's answer here (JSONL)")
    args = ap.parse_args()
    with gzip.open(SHARED / "articles.jsonl.gz", "rt") as f:
        lines = f.readlines()
    arts = [(json.loads(x)["weeks"], x) for x in lines]
    qs = [json.loads(x) for x in (SHARED / "questions.jsonl").read_text().splitlines() if x.strip()]
    weeks = args.weeks.split(",") if args.weeks else sorted({q["week"] for q in qs})
    print(
        "| weeks | questions | accuracy (contains gold and cites it) | contains gold | hit@5 | MRR | median words | median s/question |"
    )
    print("|---|---|---|---|---|---|---|---|")
    t0 = time.time()
    rows: list[dict] = []  # type: ignore[type-arg]
    with tempfile.TemporaryDirectory(prefix="rtqa-") as tmp:
        base = args.keep or Path(tmp)
        if args.protocol == "year":
            rows = run(lines, [q for q in qs if q["week"] in weeks], base / "year")
        else:
            for w in weeks:
                wq = [q for q in qs if q["week"] == w]
                wa = [x for ws, x in arts if w in ws]
                got = run(wa, wq, base / w)
                print(summarise(w, got), flush=True)
                rows += got
    print(summarise(f"all ({args.protocol})", rows))
    if args.answers:
        args.answers.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(
        f"\n{time.time() - t0:.0f} s; command: python bench/realtimeqa.py --protocol {args.protocol}"
        + (f" --weeks {args.weeks}" if args.weeks else "")
        + (f" --keep {args.keep}" if args.keep else "")
    )


if __name__ == "__main__":
    main()
