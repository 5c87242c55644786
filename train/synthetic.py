"""Training pairs of our own making: cloze questions asked across articles.

The 1,384 quiz questions give about 2,500 distant positives, too few to teach the
model to tell the answering sentence from its neighbours. This module makes more,
from the training articles alone (RealTime QA 2022/2024/2025; never 2023):

1. take a sentence of one article that names something (a capitalised name or a
   number, not the sentence's first word), and blank that name out with a
   question word: "Pentagon spokesman Pat Ryder declined to say when Russian
   forces would reach what?";
2. retrieve for it with newsbot's own BM25 index over the week, as a question
   would be, leaving out the article it came from;
3. positive: a retrieved sentence of *another* article that holds the blanked
   name and shares at least ``MIN_SHARED`` of the question's content words,
   unless it is a near copy of the source sentence (a republished article);
   negatives: the retrieved sentences holding none of the name's words that cover
   the question best, which is what the engine shows the model.

So the model sees the same story told by another article, in other words, and has
to find the sentence that fills the gap. The labels share the quiz labels' noise
(a sentence holding the name may not fill the gap); the shared-words rule and the
near-copy rule reduce it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

from index.sentences import sentence_spans
from index.text import terms

from .data import Candidate, Week

MIN_SHARED = 3  # content words a positive shares with the cloze question
MAX_NEAR_COPY = 0.6  # a positive sharing more of the source's words is a copy of it
NEGATIVES = 5
PER_WEEK = 30  # cloze questions tried per week

# A name: capitalised words (with "of", "the", "and" between them), or a number
# with its unit. Never the sentence's first word, which is capitalised anyway.
_NAME = re.compile(
    r"(?<!^)(?<![.!?]\s)\b(?:[A-Z][\w'’.-]*[a-z0-9][\w'’-]*"
    r"(?:\s+(?:of|the|and|de|for)\s+[A-Z][\w'’-]+|\s+[A-Z][\w'’.-]+)*)"
)
_NUMBER = re.compile(
    r"(?<![\w.,$-])\$?\d[\d,.]*\d(?:\s+(?:percent|million|billion|trillion|people|years?))?(?![\w-])"
)
_SKIP = set("I The A An He She It They We But And In On Mr Ms".split())


def _blanks(sentence: str) -> Iterator[tuple[str, str]]:
    """(question, blanked name) for each name the sentence gives."""
    for m in _NAME.finditer(sentence):
        name = m.group(0).strip(" .,'’")
        if name in _SKIP or len(name) < 4 or sentence[m.end() : m.end() + 1] == "-":
            continue
        yield sentence[: m.start()] + "what" + sentence[m.end() :], name
    for m in _NUMBER.finditer(sentence):
        number = m.group(0)
        if not re.fullmatch(r"(19|20)\d\d", number):
            wh = "how much" if number.startswith("$") else "how many"
            yield sentence[: m.start()] + wh + sentence[m.end() :], number


def _holds(sentence: str, name: str) -> bool:
    """The name as written (case kept: "State" is not "state"), as whole words."""
    return re.search(r"(?<!\w)" + re.escape(name) + r"(?!\w)", _flat(sentence)) is not None


def _flat(text: str) -> str:
    return " ".join(text.replace("’", "'").split())


def cloze_week(week: Week, rng: random.Random, per_week: int = PER_WEEK) -> list[Candidate]:
    """Labelled candidates for up to ``per_week`` cloze questions of one week."""
    pool: list[tuple[str, str]] = []  # (sentence, its source)
    for text, _title, source, _start in week.chunks.values():
        for s, e in sentence_spans(text):
            sent = text[s:e].strip()
            if 10 <= len(sent.split()) <= 45:
                pool.append((sent, source))
    rng.shuffle(pool)
    out: list[Candidate] = []
    made = 0
    for sent, source in pool:
        if made >= per_week:
            break
        blanks = list(_blanks(sent))
        if not blanks:
            continue
        question, name = rng.choice(blanks)
        name, name_terms = _flat(name), set(terms(name))
        q_terms = set(terms(question)) - name_terms
        src_terms = set(terms(sent))
        if not name_terms or len(q_terms) < 4:
            continue
        pos: list[tuple[int, Candidate]] = []
        neg: list[tuple[int, Candidate]] = []
        for cand, before, title, cand_source in week.sourced(question):
            if cand_source == source:
                continue
            c_terms = set(terms(cand))
            shared = len(q_terms & c_terms)
            if _holds(cand, name):
                copy = len(src_terms & c_terms) / max(1, len(src_terms | c_terms))
                if shared >= MIN_SHARED and copy <= MAX_NEAR_COPY:
                    pos.append((shared, Candidate(question, cand, before, title, 1)))
            elif not name_terms & c_terms:
                neg.append((shared, Candidate(question, cand, before, title, 0)))
        if not pos or len(neg) < 2:
            continue
        pos.sort(key=lambda x: -x[0])
        neg.sort(key=lambda x: -x[0])
        out += [pos[0][1]] + [c for _, c in neg[:NEGATIVES]]
        made += 1
    return out


def build_cloze(
    weeks: list[str],
    by_week: dict[str, list[dict]],  # type: ignore[type-arg]
    seed: int = 13,
    per_week: int = PER_WEEK,
    progress: bool = True,
) -> list[Candidate]:
    """Cloze pairs over the given (training) weeks."""
    rng = random.Random(seed)
    out: list[Candidate] = []
    for i, w in enumerate(weeks, 1):
        if w not in by_week:
            continue
        out += cloze_week(Week(by_week[w]), rng, per_week)
        if progress:
            print(f"  cloze week {w} ({i}/{len(weeks)}): {len(out):,} pairs so far", flush=True)
    return out
