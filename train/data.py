"""Training pairs for the answer model, built from RealTime QA 2022/2024/2025.

For each quiz week, the week's articles go through newsbot's own reader, cleaner
and chunker, and the week's chunks get newsbot's BM25 index. Each question then
retrieves its top chunks as answering would, and their sentences become
candidates:

- positive: a sentence that contains the gold answer (distant label);
- negative: a retrieved sentence that contains none of the answer's words.

Label noise, and what is done about it:
- a sentence that contains the answer string may not answer ("Apple" in an
  unrelated sentence): a positive must also share a content word with the
  question, and at most ``MAX_POS`` positives per question are kept, those that
  share the most;
- a sentence without the answer string may paraphrase it ("the Tonys" for "The
  Tony Awards"): sentences holding any content word of the answer are left out
  of the negatives rather than labelled 0;
- answers of yes/no, or with no content word, teach nothing: skipped.

Unanswerable examples are made too (``train/answer_model.py``): a question
asked against another week's articles, where its answer appears nowhere. They
check the decline threshold, and are never trained on.

Nothing from ``../shared/realtimeqa/`` (2023) is read.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from index.bm25 import build
from index.chunk import chunk_article
from index.readers import make_article
from index.sentences import sentence_spans
from index.text import terms

TRAIN = Path(__file__).resolve().parents[2] / "shared" / "realtimeqa-train"
TOP_CHUNKS = 10  # retrieved chunks per question, as answering sees them
MAX_POS = 4
MAX_NEG = 20
MAX_NEG_HARD = 12


@dataclass(frozen=True)
class Candidate:
    question: str
    sentence: str
    before: str
    title: str
    label: int  # 1 answers (distantly), 0 does not


def _norm(text: str) -> str:
    return " ".join(text.replace("’", "'").split()).casefold()


def load(path: Path = TRAIN) -> tuple[dict[str, list[dict]], list[dict]]:  # type: ignore[type-arg]
    """Articles by quiz week, and the questions."""
    by_week: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    with gzip.open(path / "articles.jsonl.gz", "rt") as f:
        for line in f:
            rec = json.loads(line)
            for w in rec.get("weeks") or []:
                by_week.setdefault(w, []).append(rec)
    qs = [json.loads(x) for x in (path / "questions.jsonl").read_text().splitlines() if x.strip()]
    return by_week, qs


class Week:
    """One week's articles, chunked and BM25-indexed as newsbot would."""

    def __init__(self, records: list[dict]) -> None:  # type: ignore[type-arg]
        self.chunks: dict[str, tuple[str, str, str, int]] = {}  # id -> text, title, source, start
        self.texts: dict[str, str] = {}
        for rec in records:
            art = make_article(
                str(rec["id"]),
                rec.get("text") or "",
                {"title": rec.get("title"), "url": rec.get("url")},
            )
            art, chunks = chunk_article(art)
            self.texts[art.source] = art.text
            for c in chunks:
                self.chunks[c.id] = (c.text, art.title or "", art.source, c.start)
        self.index = build(((cid, v[0], "x", 0) for cid, v in self.chunks.items()), 0)

    def sentences(self, question: str, k: int = TOP_CHUNKS) -> Iterator[tuple[str, str, str]]:
        """(sentence, sentence before, title) of the question's top chunks."""
        for sent, prev, title, _source in self.sourced(question, k):
            yield sent, prev, title

    def sourced(self, question: str, k: int = TOP_CHUNKS) -> Iterator[tuple[str, str, str, str]]:
        """(sentence, sentence before, title, source article) of the question's top chunks."""
        seen: set[tuple[str, int]] = set()
        for cid, _ in self.index.search(question, k):
            text, title, source, start = self.chunks[cid]
            prev = ""  # the sentence before, within the chunk: what answering has
            for s, e in sentence_spans(text):
                key = (source, start + s)
                sent = text[s:e]
                if key not in seen and len(sent.split()) >= 4:
                    seen.add(key)
                    yield sent, prev, title, source
                prev = sent

    def ranked(self, question: str) -> list[tuple[tuple[str, str, str], float]]:
        """The question's candidate sentences with their question coverage,
        in the engine's pre-ranking order (``bot.extractive``): the first
        ``MAX_MODEL`` are what the engine shows the model."""
        from bot import analyse
        from bot.answer.extractive import content_terms, coverage_total, idf_from_counts, overlap

        qterms = content_terms(analyse(question, []))
        idf = idf_from_counts(self.index.doc_freq, max(1, len(self.index.ids)))
        total = coverage_total(qterms, idf)
        weighed = [(c, overlap(qterms, set(terms(c[0])), idf)) for c in self.sentences(question)]
        weighed.sort(key=lambda x: -x[1])
        return [(c, min(1.0, w / total)) for c, w in weighed]

    def contains(self, answer: str) -> bool:
        a = _norm(answer)
        return any(a in _norm(t) for t in self.texts.values())


def label_question(
    q: dict,  # type: ignore[type-arg]
    week: Week,
    rng: random.Random,
    hard: bool = False,
) -> list[Candidate]:
    """Labelled candidates for one question. Negatives are random among the
    retrieved sentences, or with ``hard`` the ones the engine would show the
    model: the ``MAX_NEG_HARD`` that cover the question best."""
    answer = str(q["answer"])
    a_norm = _norm(answer)
    a_terms = set(terms(answer))
    if not a_terms or a_norm in {"yes", "no", "true", "false"}:
        return []
    q_terms = set(terms(q["question"])) - a_terms
    pos: list[tuple[int, Candidate]] = []
    neg: list[Candidate] = []
    for (sent, before, title), _cover in week.ranked(q["question"]):
        s_terms = set(terms(sent))
        if a_norm in _norm(sent):
            overlap = len(q_terms & s_terms)
            if overlap:
                pos.append((overlap, Candidate(q["question"], sent, before, title, 1)))
        elif not (a_terms & s_terms):
            neg.append(Candidate(q["question"], sent, before, title, 0))
    if not pos:
        return []
    pos.sort(key=lambda x: -x[0])
    if hard:
        return [c for _, c in pos[:MAX_POS]] + neg[:MAX_NEG_HARD]
    rng.shuffle(neg)
    return [c for _, c in pos[:MAX_POS]] + neg[:MAX_NEG]


def build_pairs(
    weeks: list[str],
    by_week: dict[str, list[dict]],  # type: ignore[type-arg]
    questions: list[dict],  # type: ignore[type-arg]
    seed: int = 13,
    progress: bool = True,
    hard: bool = False,
) -> list[Candidate]:
    rng = random.Random(seed)
    out: list[Candidate] = []
    for i, w in enumerate(weeks, 1):
        wq = [q for q in questions if q["week"] == w]
        if not wq or w not in by_week:
            continue
        week = Week(by_week[w])
        for q in wq:
            out += label_question(q, week, rng, hard)
        if progress:
            print(f"  week {w} ({i}/{len(weeks)}): {len(out):,} pairs so far", flush=True)
    return out
