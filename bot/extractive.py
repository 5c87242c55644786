"""The offline answer engine: pick the sentences that answer, quote them exactly,
and attribute each to its outlet.

Sentences from the top passages are scored by how much of the question they
cover (IDF-weighted words) and by embedding similarity. A question whose best
sentence scores under the threshold is declined. Quoted speech is reported as
the outlet reporting what a person said, never as the outlet's own claim.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from index.sentences import sentence_spans
from index.text import terms
from index.types import Passage

from .types import Citation

DECLINE = "The corpus doesn't say"

SPEECH_VERBS = (
    "said|says|told|added|stated|claimed|acknowledged|warned|insisted|argued|noted|wrote|"
    "declared|announced|explained|replied|asked|urged|denied|described|called|according to"
)
_SPEECH = re.compile(rf"\b({SPEECH_VERBS})\b", re.IGNORECASE)
_QUOTE_CHARS = re.compile(r"[“”\"]")
_NAME = r"(?:[A-Z][a-zA-Z’'\-]+|[A-Z]\.)(?:\s+(?:[A-Z][a-zA-Z’'\-]+|[A-Z]\.))*"
_SPEAKER_AFTER = re.compile(rf"(?:{SPEECH_VERBS})\s+(?:by\s+)?(?:the\s+)?({_NAME})")
_SPEAKER_BEFORE = re.compile(rf"({_NAME})\s*,?[^.,“”\"]{{0,60}}?\b(?:{SPEECH_VERBS})\b")
_NOT_NAMES = {"The", "In", "On", "But", "And", "He", "She", "They", "It", "A", "An", "We", "I", "This"}
COMPARE = re.compile(r"\b(compar\w*|differ\w*|contrast|versus|vs\.?|outlets|both|each outlet|between)\b", re.I)


@dataclass(frozen=True)
class Scored:
    passage: Passage
    start: int  # absolute offsets in the article text
    end: int
    text: str
    score: float
    lexical: float
    dense: float


def speaker_of(sentence: str) -> str | None:
    """The person a sentence quotes, when it is reported speech; else None."""
    if not _SPEECH.search(sentence):
        return None
    for rx in (_SPEAKER_BEFORE, _SPEAKER_AFTER):
        for m in rx.finditer(sentence):
            name = m.group(1).strip()
            words = name.split()
            while words and words[0] in _NOT_NAMES:
                words = words[1:]
            if words and not (len(words) == 1 and words[0] in _NOT_NAMES):
                return " ".join(words)
    return "a source" if _QUOTE_CHARS.search(sentence) else None


def candidate_sentences(passages: Sequence[Passage]) -> list[tuple[Passage, int, int, str]]:
    """Unique sentences of the passages, with absolute offsets."""
    seen: set[tuple[str, int]] = set()
    out = []
    for p in passages:
        for s, e in sentence_spans(p.text):
            key = (p.source, p.start + s)
            if key in seen or len(p.text[s:e].split()) < 4:
                continue
            seen.add(key)
            out.append((p, p.start + s, p.start + e, p.text[s:e]))
    return out


def score_sentences(
    question: str,
    passages: Sequence[Passage],
    idf: Callable[[str], float],
    embed: Callable[[list[str]], list[list[float]]] | None,
) -> list[Scored]:
    qterms = set(terms(question))
    cands = candidate_sentences(passages)
    if not cands or not qterms:
        return []
    total = sum(idf(t) for t in qterms) or 1.0
    dense: list[float] = [0.0] * len(cands)
    if embed is not None:
        vecs = embed([question] + [c[3] for c in cands])
        q = vecs[0]
        dense = [max(0.0, sum(a * b for a, b in zip(q, v, strict=True))) for v in vecs[1:]]
    rank = {p.chunk_id: r for r, p in enumerate(passages)}
    scored = []
    for (p, s, e, text), d in zip(cands, dense, strict=True):
        sterms = set(terms(text))
        lex = sum(idf(t) for t in qterms & sterms) / total
        prior = 0.05 / (1 + rank.get(p.chunk_id, 0))
        score = (0.5 * lex + 0.5 * d if embed is not None else lex) + prior
        scored.append(Scored(p, s, e, text, score, lex, d))
    scored.sort(key=lambda x: -x.score)
    return scored


def select(scored: list[Scored], question: str, n: int) -> list[Scored]:
    """The best sentences; for comparison questions, the best of each outlet."""
    if not scored:
        return []
    best = scored[0].score
    good = [s for s in scored if s.score >= 0.8 * best]
    if COMPARE.search(question):
        per_outlet: dict[str, Scored] = {}
        for s in scored:
            if s.score >= 0.6 * best:
                per_outlet.setdefault(s.passage.outlet, s)
        picked = list(per_outlet.values())[: max(n, 2)]
    else:
        picked = good[:n]
    return sorted(picked, key=lambda s: -s.score)


def compose(selected: list[Scored]) -> tuple[str, list[Citation]]:
    """Answer text with [n] markers, grouped by outlet, and its citations."""
    citations: list[Citation] = []
    order: list[str] = []
    groups: dict[str, list[tuple[int, Scored]]] = {}
    for s in selected:
        n = len(citations) + 1
        citations.append(Citation.from_passage(n, s.passage, s.start, s.end, s.score))
        if s.passage.outlet not in groups:
            order.append(s.passage.outlet)
        groups.setdefault(s.passage.outlet, []).append((n, s))
    lines = []
    for outlet in order:
        for n, s in sorted(groups[outlet], key=lambda x: (x[1].passage.source, x[1].start)):
            speaker = speaker_of(s.text)
            when = f" ({s.passage.published.isoformat()})" if s.passage.published else ""
            if speaker:
                lines.append(f"{outlet}{when} [{n}] reports what {speaker} said: “{s.text}”")
            else:
                lines.append(f"{outlet}{when} [{n}] reports: “{s.text}”")
    notes = []
    seen_notes: set[str] = set()
    for c in citations:
        if c.note and c.note not in seen_notes:
            seen_notes.add(c.note)
            refs = ", ".join(f"[{d.id}]" for d in citations if d.note == c.note)
            notes.append(f"Caveat on {refs} ({c.outlet}, via {c.publisher}): {c.note}")
    text = "\n".join(lines)
    if notes:
        text += "\n\n" + "\n".join(notes)
    return text, citations


def idf_from_counts(df: Callable[[str], int], n_docs: int) -> Callable[[str], float]:
    def idf(t: str) -> float:
        d = df(t)
        return math.log(1 + (n_docs - d + 0.5) / (d + 0.5))

    return idf
