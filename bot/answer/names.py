"""Near-miss names: "Kirbey" in a question, when no article mentions it, is
answered for "Kirby", one edit away, and the answer says so.

The vocabulary is the BM25 index's (lower-case, lightly stemmed terms), grouped
by length and first letter once per index generation (a typo in the first letter
is not caught); only a capitalised question word that
matches no indexed term is looked up, so a question without a typo costs a few
dictionary lookups.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from index.bm25 import BM25Index
from index.text import STOPWORDS, stem
from index.types import Passage

from .query import analyse
from .types import Answer

# A whole capitalised word ("McClellan" is one word, not "Clellan")
_WORD = re.compile(r"(?<![\w’'\-])[A-Z][A-Za-z]+(?:[’'][a-z]+)?(?![\w\-])")
_QUESTION_WORDS = frozenset(
    "what who whom which when where why how did does do is are was were has have had will "
    "would can could tell and but also".split()
)
# (index id, generation) -> terms by (length, first letter): typos rarely hit the first letter
_buckets: dict[tuple[int, int], dict[tuple[int, str], list[str]]] = {}


@dataclass(frozen=True)
class Correction:
    asked: str  # as written in the question ("Kirbey")
    indexed: str  # the indexed name answered for ("Kirby")


def max_edits(word: str) -> int:
    """Edits allowed: one for names of up to 5 letters, two for longer ones."""
    return 1 if len(word) <= 5 else 2


def distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``limit + 1`` once it exceeds ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


def _terms_by_shape(index: BM25Index) -> dict[tuple[int, str], list[str]]:
    key = (id(index), index.generation)
    got = _buckets.get(key)
    if got is None:
        got = {}
        for t in index.postings.vocab:
            if t.isalpha() and len(t) >= 3:
                got.setdefault((len(t), t[0]), []).append(t)
        _buckets.clear()  # one index at a time is enough
        _buckets[key] = got
    return got


def closest(word: str, index: BM25Index) -> str | None:
    """The indexed term nearest to ``word`` (already stemmed), within ``max_edits``;
    ties go to the term in more chunks."""
    limit = max_edits(word)
    buckets = _terms_by_shape(index)
    best: tuple[int, int, str] | None = None
    for n in range(len(word) - limit, len(word) + limit + 1):
        for t in buckets.get((n, word[0]), ()):
            d = distance(word, t, limit)
            if d <= limit:
                key = (d, -index.doc_freq(t), t)
                if best is None or key < best:
                    best = key
    return best[2] if best else None


def near_misses(question: str, index: BM25Index, outlets: list[str]) -> list[Correction]:
    """The capitalised words of ``question`` that no chunk holds but an indexed term
    is within ``max_edits`` of."""
    out: list[Correction] = []
    named = set(analyse(question, outlets).outlets)
    for m in _WORD.finditer(question):
        w = m.group()
        low = w.lower()
        if len(w) < 4 or low in STOPWORDS or low in _QUESTION_WORDS:
            continue
        if any(w.lower() in o.lower().split() for o in named):
            continue
        term = stem(low)
        if index.doc_freq(term) > 0:
            continue
        fixed = closest(term, index)
        if fixed:
            out.append(Correction(w, fixed[:1].upper() + fixed[1:]))
    return out


def apply(question: str, corrections: list[Correction]) -> str:
    """``question`` with each near-miss name replaced by the indexed one."""
    for c in corrections:
        question = re.sub(rf"\b{re.escape(c.asked)}\b", c.indexed, question)
    return question


def surface(indexed: str, texts: list[str]) -> str:
    """The indexed name as the articles write it ("Kirby" for the term "kirby")."""
    rx = re.compile(r"[A-Z][\w’'\-]+")
    for text in texts:
        for m in rx.finditer(text):
            if stem(m.group().lower()) == indexed.lower():
                return re.sub(r"[’']s$", "", m.group())
    return indexed


def notice(corrections: list[Correction], texts: list[str]) -> str:
    """ "Answering for Kirby: no article mentions Kirbey." (one clause per name)."""
    parts = [
        f"Answering for {surface(c.indexed, texts)}: no article mentions {c.asked}."
        for c in corrections
    ]
    return " ".join(parts)


def lead(answer: Answer, corrections: list[Correction], passages: Sequence[Passage] = ()) -> Answer:
    """``answer`` with the line that says which name it answers for, first."""
    if not corrections:
        return answer
    texts = [p.text for p in passages] + [c.quote for c in answer.citations]
    return replace(answer, answer=f"{notice(corrections, texts)}\n{answer.answer}")
