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
    # all 51 weeks without embedding anything again: each week's index is
    # copied (chunks and stored vectors) out of a finished year index
    python bench/realtimeqa.py --protocol week --from-index YEAR_INDEX_DIR --keep DIR

A correct answer that only reaches the gold after its 60th word does not count
in the "within 60 words" column.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from common import SHARED, write_index


def digest_of(articles: list[str]) -> str:
    return hashlib.sha256("".join(articles).encode()).hexdigest()


def derive(year_index: Path, weeks: dict[str, list[str]], base: Path) -> None:
    """Build ``base/<week>/ix`` for each week from a finished year index: the
    week's chunks are copied with their stored vectors, nothing is embedded again.
    The result is what ingesting only that week's articles gives."""
    import numpy as np

    from index.settings import Settings
    from index.store import Store

    todo = {w: a for w, a in weeks.items() if not _done(base / w, a)}
    if not todo:
        return
    wanted = {w: {json.loads(x)["id"] for x in a} for w, a in todo.items()}
    with Store(Settings(_env_file=None, index_dir=year_index)) as src:  # type: ignore[call-arg]
        marker = src.marker
        rows: dict[str, list[tuple[str, str, dict, np.ndarray]]] = {w: [] for w in todo}  # type: ignore[type-arg]
        for offset in range(0, src.count(), 5000):  # Chroma caps SQL variables per call
            got = src.collection.get(
                limit=5000, offset=offset, include=["embeddings", "documents", "metadatas"]
            )
            for cid, doc, meta, vec in zip(
                got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
            ):
                art = str(meta["source"]).rsplit("#", 1)[-1]
                for w, ids in wanted.items():
                    if art in ids:
                        rows[w].append((cid, doc, meta, np.asarray(vec, dtype=np.float32)))
    for w, got_rows in rows.items():
        work = base / w
        shutil.rmtree(work / "ix", ignore_errors=True)
        (work / "corpus").mkdir(parents=True, exist_ok=True)
        page = (
            [r[0] for r in got_rows],
            [r[1] for r in got_rows],
            [r[2] for r in got_rows],
            [r[3] for r in got_rows],
        )
        write_index(year_index, marker, [page], work / "ix")
        (work / "ingested").write_text(digest_of(todo[w]))


def _done(work: Path, articles: list[str]) -> bool:
    done = work / "ingested"  # written after a finished ingest: its content is the corpus hash
    return done.exists() and done.read_text() == digest_of(articles)


def run(
    articles: list[str], questions: list[dict], work: Path, scorer: str = "model"
) -> list[dict]:  # type: ignore[type-arg]
    """Index ``articles`` under ``work`` (reused when ``work`` already holds a
    finished index of the same articles) and ask ``questions``."""
    from bot import Engine, evaluate, parse_record
    from index.settings import Settings

    corpus = work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    s = Settings(_env_file=None, index_dir=work / "ix", corpus_dir=corpus, answer_scorer=scorer)  # type: ignore[call-arg]
    if not _done(work, articles):
        from index.ingest import ingest

        (corpus / "articles.jsonl").write_text("".join(articles))
        ingest(s)
        (work / "ingested").write_text(digest_of(articles))
    recs = [parse_record(q, f"questions.jsonl:{i}", i) for i, q in enumerate(questions, 1)]
    with Engine.open(s) as engine:
        report = evaluate(engine, recs, "extractive")
    out = []
    for r in report.questions:
        cited = r.metrics.get("cited_hit") or 0.0
        correct = bool(r.metrics.get("answer_accuracy")) and cited > 0
        first60 = " ".join(r.answer.split()[:60])
        out.append(
            {
                "id": r.record.id,
                "question": r.record.question,
                "gold": r.record.answer,
                "answer": r.answer,
                "correct": correct,
                "correct60": correct
                and all(_norm(m) in _norm(first60) for m in r.record.must_contain),
                "contains": bool(r.metrics.get("answer_accuracy")),
                "hit": r.metrics.get("hit_at_k") or 0.0,
                "mrr": r.metrics.get("mrr") or 0.0,
                "words": len(r.answer.split()),
                "direct": r.direct,
                "seconds": r.seconds,
            }
        )
    return out


def _norm(text: str) -> str:
    return " ".join(text.replace("’", "'").split()).casefold()


def summarise(label: str, rows: list[dict]) -> str:  # type: ignore[type-arg]
    n = len(rows)
    acc = sum(r["correct"] for r in rows) / n
    acc60 = sum(r["correct60"] for r in rows) / n
    contains = sum(r["contains"] for r in rows) / n
    hit = sum(r["hit"] for r in rows) / n
    mrr = sum(r["mrr"] for r in rows) / n
    words = statistics.median(r["words"] for r in rows)
    return (
        f"| {label} | {n} | {acc:.2f} | {acc60:.2f} | {contains:.2f} | {hit:.2f} | {mrr:.2f} | {words:.0f} | "
        f"{statistics.median(r['seconds'] for r in rows):.2f} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--protocol", choices=["week", "year"], default="week")
    ap.add_argument("--weeks", help="comma-separated quiz weeks (default: all)")
    ap.add_argument("--keep", type=Path, help="keep each index under DIR/<week> and reuse it")
    ap.add_argument("--answers", type=Path, help="write every question's answer here (JSONL)")
    ap.add_argument(
        "--from-index",
        type=Path,
        help="a finished year index: the year protocol asks it directly, the week "
        "protocol copies each week's chunks and vectors out of it instead of ingesting",
    )
    ap.add_argument(
        "--scorer",
        choices=["model", "model-only", "classic"],
        default="model",
        help="NEWSBOT_ANSWER_SCORER",
    )
    ap.add_argument(
        "--data",
        choices=["2023", "train"],
        default="2023",
        help="2023 (the development set) or the training years (for held-out training weeks)",
    )
    args = ap.parse_args()
    shared = SHARED if args.data == "2023" else SHARED.parent / "realtimeqa-train"
    with gzip.open(shared / "articles.jsonl.gz", "rt") as f:
        lines = f.readlines()
    arts = [(json.loads(x)["weeks"], x) for x in lines]
    qs = [json.loads(x) for x in (shared / "questions.jsonl").read_text().splitlines() if x.strip()]
    weeks = args.weeks.split(",") if args.weeks else sorted({q["week"] for q in qs})
    print(
        "| weeks | questions | accuracy (contains gold and cites it) | accuracy within 60 words "
        "| contains gold | hit@5 | MRR | median words | median s/question |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    t0 = time.time()
    rows: list[dict] = []  # type: ignore[type-arg]
    with tempfile.TemporaryDirectory(prefix="rtqa-") as tmp:
        base = args.keep or Path(tmp)
        if args.protocol == "year":
            work = base / "year"
            if args.from_index:
                work.mkdir(parents=True, exist_ok=True)
                if not (work / "ix").exists():
                    (work / "ix").symlink_to(args.from_index.resolve())
                (work / "ingested").write_text(digest_of(lines))
            rows = run(lines, [q for q in qs if q["week"] in weeks], work, args.scorer)
        else:
            if args.from_index:
                derive(args.from_index, {w: [x for ws, x in arts if w in ws] for w in weeks}, base)
            for w in weeks:
                wq = [q for q in qs if q["week"] == w]
                wa = [x for ws, x in arts if w in ws]
                got = run(wa, wq, base / w, args.scorer)
                print(summarise(w, got), flush=True)
                rows += got
    print(summarise(f"all ({args.protocol})", rows))
    if args.answers:
        args.answers.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(
        f"\n{time.time() - t0:.0f} s; command: python bench/realtimeqa.py --protocol {args.protocol}"
        + f" --data {args.data} --scorer {args.scorer}"
        + (f" --weeks {args.weeks}" if args.weeks else "")
        + (f" --keep {args.keep}" if args.keep else "")
        + (f" --from-index {args.from_index}" if args.from_index else "")
    )


if __name__ == "__main__":
    main()
