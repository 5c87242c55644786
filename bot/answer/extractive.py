"""The offline answer engine: pick the sentences that answer, quote them exactly,
and attribute each to its outlet.

Sentences from the top passages are scored by how much of the question they
cover (IDF-weighted words) and by embedding similarity. A question whose best
sentence scores under the threshold is declined. Quoted speech is reported as
the outlet reporting what a person said, never as the outlet's own claim.
Sentences that instruct an AI ("Ignore previous instructions ...") are not
evidence and are never quoted (``bot.injection``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass

from index.bm25 import idf_from_counts as idf_from_counts
from index.sentences import sentence_spans
from index.text import terms
from index.types import Passage

from .declines import DECLINE as DECLINE
from .injection import is_instruction
from .query import META_WORDS, MONTHS, QuestionInfo, in_period, month_matches
from .types import Citation

# Sentences scored by embedding per question; the rest are ranked out lexically first.
# Embedding them is most of an answer's time. On all 617 RealTime QA questions the
# answers were the same with 12 as with 32. A comparison quotes up to two sentences
# from each of several outlets, so it keeps a wider pool.
MAX_EMBEDDED = 12
MAX_EMBEDDED_COMPARISON = 32
# Coverage is measured against the question's most informative words, at most this
# many: a long question spends many words setting the scene, and no one sentence
# repeats all of them (a 13-word quiz question otherwise scores as unanswerable).
MAX_TERMS = 8
# Sentences the answer model reads per question (after the same lexical pre-ranking);
# it costs about 4 ms a sentence on one core.
MAX_MODEL = 16
MAX_MODEL_COMPARISON = 32

# How the answer model (a cross-encoder) is called: the question, then
# (sentence, sentence before, headline) per candidate; one score in 0..1 each.
Rerank = Callable[[str, list[tuple[str, str, str]]], list[float]]

SPEECH_VERBS = (
    "said|says|told|added|stated|claimed|acknowledged|warned|insisted|argued|noted|wrote|"
    "declared|announced|explained|replied|urged|denied|assured"
)
_SPEECH = re.compile(rf"(?<![\w-])({SPEECH_VERBS})\b")
_QUOTE_CHARS = re.compile(r"[“”\"]")
_CAP = r"(?:(?:Mr|Mrs|Ms|Dr|Gen|Maj|Sen|Rep|Gov)\.\s+)?[A-Z][a-zA-Z’'\-]+(?:\s+[A-Z][a-zA-Z’'\-]+){0,3}"
# "Kirby said", "Jake Sullivan told" / "said Ms. Bedingfield", "said Pentagon spokesman John Kirby"
_NAME_VERB = re.compile(rf"({_CAP})\s+(?:{SPEECH_VERBS})\b")
_TITLES = (
    "spokesman|spokeswoman|spokesperson|minister|official|director|secretary|president|adviser|"
    "advisor|general|chief|leader|governor|mayor|negotiator|analyst|expert|coordinator|ambassador"
)
_VERB_NAME = re.compile(
    rf"(?<![\w-])(?:{SPEECH_VERBS})\s+(?:(?:[A-Z][a-z]+\s+)?(?:{_TITLES})\s+)?({_CAP})"
)
_NOT_NAMES = frozenset(
    [
        "The",
        "In",
        "On",
        "But",
        "And",
        "He",
        "She",
        "They",
        "It",
        "A",
        "An",
        "We",
        "I",
        "This",
        "That",
        "There",
        "Washington",
        "Moscow",
        "Kyiv",
        "Kiev",
        "Russia",
        "Ukraine",
        "Pentagon",
        "Kremlin",
        "White",
        "House",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ]
)
COMPARE = re.compile(r"\b(compar\w*|differ\w*|contrast|versus|outlets)\b", re.I)


@dataclass(frozen=True)
class Scored:
    passage: Passage
    start: int  # absolute offsets in the article text
    end: int
    text: str
    score: float
    lexical: float
    dense: float
    words: frozenset[str]  # the sentence's terms, computed once for scoring and selection
    model: float | None = None  # the answer model's score, when it ran
    before: str = ""  # the sentence before, in the same passage ("" for its first)
    classic: float = 0.0  # the classic score (coverage and similarity, with the bonuses)


def speaker_of(sentence: str) -> str | None:
    """The named person a sentence reports as speaking, else None.

    Only a name right next to a speech verb counts ("Kirby said", "said Ms.
    Bedingfield"); place and institution names are not speakers.
    """
    for rx in (_NAME_VERB, _VERB_NAME):
        for m in rx.finditer(sentence):
            words = re.sub(r"[’']s$", "", m.group(1)).split()
            while words and words[0] in _NOT_NAMES:
                words = words[1:]
            if words and not all(w in _NOT_NAMES for w in words):
                return " ".join(words)
    return None


Candidate = tuple[Passage, int, int, str, str]  # passage, start, end, sentence, sentence before


# "... he stated." / "said she": a quote whose speaker is only a pronoun.
_PRONOUN_SPEAKER = re.compile(
    rf"(?<![\w-])(?:(?:he|she)\s+(?:{SPEECH_VERBS})|(?:{SPEECH_VERBS})\s+(?:he|she))\b", re.I
)


def speaker_before(s: Scored) -> str | None:
    """The speaker of a quote that names them only as "he" or "she", when the
    sentence right before names them with a speech verb ("Zelensky said ...").
    The caller quotes that sentence too, so the reader sees who it is."""
    if not s.before or speaker_of(s.text) or not _PRONOUN_SPEAKER.search(s.text):
        return None
    return speaker_of(s.before)


def _named_only_before(speaker: str, s: Scored) -> bool:
    """Whether ``speaker`` is named in the sentence before ``s`` but not in ``s``."""
    surname = speaker.split()[-1]
    return surname not in s.text and surname in s.before


def candidate_sentences(passages: Sequence[Passage]) -> list[Candidate]:
    """Unique sentences of the passages, with absolute offsets and the sentence
    before them in the passage ("" for a passage's first).

    A sentence that instructs an AI instead of reporting (``is_instruction``)
    is not a candidate, nor the "sentence before" of the next one: it is never
    quoted as what an outlet reports."""
    seen: set[tuple[str, int]] = set()
    out = []
    for p in passages:
        before = ""
        for s, e in sentence_spans(p.text):
            key = (p.source, p.start + s)
            text = p.text[s:e]
            if is_instruction(text):
                before = ""
                continue
            if key not in seen and len(text.split()) >= 4:
                seen.add(key)
                out.append((p, p.start + s, p.start + e, text, before))
            before = text
    return out


def coverage_total(qterms: set[str], idf: Callable[[str], float]) -> float:
    """What full coverage of a question weighs: its ``MAX_TERMS`` most informative words."""
    return sum(sorted((idf(t) for t in qterms), reverse=True)[:MAX_TERMS]) or 1.0


def overlap(qterms: set[str], words: Set[str], idf: Callable[[str], float]) -> float:
    """The IDF weight of the question words a sentence holds (the pre-ranking key)."""
    return sum(idf(t) for t in qterms & words)


def score_sentences(
    info: QuestionInfo,
    passages: Sequence[Passage],
    idf: Callable[[str], float],
    embed: Callable[[list[str]], list[list[float]]] | None,
    rerank: Rerank | None = None,
    question: str = "",
    blend: float = 0.0,
    hybrid: bool = False,
    keep: Callable[[Passage, int], bool] | None = None,
) -> list[Scored]:
    """Score each sentence by question coverage (IDF-weighted, against at most
    ``MAX_TERMS`` words), embedding similarity, and agreement with the outlets
    and months the question names.

    With ``rerank`` (the answer model), the model's score replaces coverage and
    similarity, and nothing is embedded; with ``blend`` > 0 the score is
    ``(1 - blend) * model + blend * coverage``. With ``hybrid``, the sentences
    are embedded as well and the score is the mean of the classic score and the
    model's; ``Scored.classic`` keeps the classic one (for the classic decline).
    The same bonuses are added to every score. With ``keep`` (passage, start),
    only the sentences it accepts are scored."""
    qterms = content_terms(info)
    cands = candidate_sentences(passages)
    if keep is not None:
        cands = [c for c in cands if keep(c[0], c[1])]
    if not cands or not qterms:
        return []
    total = coverage_total(qterms, idf)
    words = {id(c): frozenset(terms(c[3])) for c in cands}
    if rerank is not None:
        limit = MAX_MODEL_COMPARISON if info.comparison else MAX_MODEL
    else:
        limit = MAX_EMBEDDED_COMPARISON if info.comparison else MAX_EMBEDDED
    if len(cands) > limit:  # embedding every sentence is the slow part: keep the likeliest
        order = {id(c): i for i, c in enumerate(cands)}
        cands.sort(key=lambda c: -overlap(qterms, words[id(c)], idf))
        cands = sorted(cands[:limit], key=lambda c: order[id(c)])
    dense: list[float] = [0.0] * len(cands)
    model: list[float | None] = [None] * len(cands)
    if rerank is not None:
        model = list(
            rerank(question or info.content, [(c[3], c[4], c[0].title or "") for c in cands])
        )
    if embed is not None and (rerank is None or hybrid):
        vecs = embed([info.content] + [c[3] for c in cands])
        q = vecs[0]
        dense = [max(0.0, sum(a * b for a, b in zip(q, v, strict=True))) for v in vecs[1:]]
    rank = {p.chunk_id: r for r, p in enumerate(passages)}
    scored = []
    for c, d, m in zip(cands, dense, model, strict=True):
        p, s, e, text, before = c
        sterms = words[id(c)]
        lex = min(1.0, overlap(qterms, sterms, idf) / total)
        classic = 0.5 * lex + 0.5 * d if embed is not None else lex
        if m is not None and hybrid:
            score = 0.5 * classic + 0.5 * m
        elif m is not None:  # the answer model, alone or blended with coverage
            score = (1 - blend) * m + blend * lex
        else:
            score = classic
        bonus = 0.03 / (1 + rank.get(p.chunk_id, 0))
        if p.outlet in info.outlets:
            bonus += 0.05
        if month_matches(p.published, info.months) or in_period(p.published, info.period):
            bonus += 0.03
        scored.append(
            Scored(p, s, e, text, score + bonus, lex, d, sterms, m, before, classic + bonus)
        )
    scored.sort(key=lambda x: -x.score)
    return scored


TIME_WORDS = frozenset(
    ["today", "yesterday", "week", "month", "year", "recently", "last", "past", "this"]
)
# How a question asks, not what about: "How did X describe Y?" is about Y.
ASKING_WORDS = frozenset(
    terms(
        "describe described describes happen happened mention mentioned explain explained "
        "discuss discussed react reacted respond responded view viewed think characterize "
        "characterized portray portrayed cover covered"
    )
)


def content_terms(info: QuestionInfo) -> set[str]:
    """Question words that must be found in an answer: no outlet names, no
    words about articles or about asking, no dates (those are metadata)."""
    drop = META_WORDS | TIME_WORDS | ASKING_WORDS | set(MONTHS)
    return {t for t in terms(info.content) if t not in drop and not re.fullmatch(r"(19|20)\d\d", t)}


def predicate_terms(question: str, info: QuestionInfo) -> set[str]:
    """Lower-case content words of a question: what it asks happened, as
    opposed to who or where (capitalised names)."""
    words = re.findall(r"[A-Za-z][a-z’'\-]*", info.content)
    lower = " ".join(w for w in words if w[0].islower())
    return set(terms(lower)) & content_terms(info)


def _prefix_in(term: str, sterms: frozenset[str]) -> bool:
    return term in sterms or any(
        t[:5] == term[:5] for t in sterms if len(term) >= 5 and len(t) >= 5
    )


def states_it(question: str, info: QuestionInfo, scored: list[Scored]) -> bool:
    """For a yes/no question: does some top sentence state what is asked?

    Confirming or denying "Did X sign an agreement?" needs a sentence that
    speaks of signing an agreement; otherwise the corpus doesn't say.
    """
    need = predicate_terms(question, info)
    if not need:
        return True
    for s in scored[:15]:
        missing = [t for t in need if not _prefix_in(t, s.words)]
        if len(missing) <= (1 if len(need) >= 5 else 0):
            return True
    return False


def select(scored: list[Scored], info: QuestionInfo, n: int) -> list[Scored]:
    """Greedy selection: the best sentence, then those that add question words
    not yet covered; for comparisons, the best sentences of each outlet.

    Scored with the answer model, a fact question gets the sentence that
    answers first, then only sentences rated nearly as high that add question
    words the ones before lack."""
    if not scored:
        return []
    best = scored[0].score
    qterms = content_terms(info)
    picked: list[Scored] = []
    if scored[0].model is not None and not info.comparison:
        # the answering sentence, then only sentences that add question words
        picked, covered = [scored[0]], qterms & scored[0].words
        for s in scored[1:8]:
            if len(picked) >= n:
                break
            if s.score >= 0.6 * best and (qterms & s.words) - covered:
                picked.append(s)
                covered |= qterms & s.words
        return picked
    if info.comparison:
        outlets = info.outlets or list(dict.fromkeys(s.passage.outlet for s in scored))
        for outlet in outlets[:4]:
            mine = [s for s in scored if s.passage.outlet == outlet and s.score >= 0.5 * best]
            picked.extend(_greedy(mine, qterms, 2))
        if picked:
            return picked
    return _greedy([s for s in scored if s.score >= 0.6 * best], qterms, n)


def _gain(s: Scored, qterms: set[str], covered: set[str]) -> float:
    new = (qterms & s.words) - covered
    return s.score + 0.15 * len(new) / max(1, len(qterms))


def _greedy(pool: list[Scored], qterms: set[str], n: int) -> list[Scored]:
    picked: list[Scored] = []
    covered: set[str] = set()
    pool = list(pool)
    while pool and len(picked) < n:
        s = max(pool, key=lambda s: _gain(s, qterms, covered))
        if picked and not (qterms & s.words) - covered and s.score < 0.85 * picked[0].score:
            break
        picked.append(s)
        covered |= qterms & s.words
        pool.remove(s)
    return picked


ASKS_OUTLET = re.compile(
    r"^\s*(which|what)\s+(news\s+)?(outlet|publication|newspaper|site|source|media)", re.I
)


def compose(selected: list[Scored], question: str = "") -> tuple[str, list[Citation]]:
    """Answer text with [n] markers, grouped by outlet, and its citations.

    Outlets come in the order of their best sentence; within an outlet,
    sentences follow the article. Citations are numbered as they appear.
    """
    from .speakers import speaker_in_passage  # speakers.py imports this module

    groups: dict[str, list[Scored]] = {}
    for s in selected:
        groups.setdefault(s.passage.outlet, []).append(s)
    citations: list[Citation] = []
    lines = []
    for outlet, items in groups.items():
        for s in sorted(items, key=lambda x: (x.passage.source, x.start)):
            n = len(citations) + 1
            # named in the sentence, or resolved from the ones before (speakers.py)
            speaker = speaker_in_passage(s.passage, s.start)
            start, quote = s.start, s.text
            named_before = speaker_before(s)
            if not named_before and speaker and _named_only_before(speaker, s):
                named_before = speaker  # "He declined ..." after "Ryder said ..."
            if named_before:  # quote the sentence that names the speaker too
                rel = s.passage.text.rfind(s.before, 0, s.start - s.passage.start)
                if rel >= 0:
                    speaker, start = named_before, s.passage.start + rel
                    quote = s.passage.text[rel : s.end - s.passage.start]
            citations.append(Citation.from_passage(n, s.passage, start, s.end, s.score))
            when = f" ({s.passage.published.isoformat()})" if s.passage.published else ""
            if speaker:
                lines.append(f"{outlet}{when} [{n}] reports what {speaker} said: “{quote}”")
            elif _QUOTE_CHARS.search(s.text):
                lines.append(f"{outlet}{when} [{n}] reports, quoting a source: “{s.text}”")
            else:
                lines.append(f"{outlet}{when} [{n}] reports: “{s.text}”")
    notes = caveats(citations)
    if ASKS_OUTLET.search(question):  # answer "which outlet" first, then the evidence
        named = list(groups)
        who = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
        lines.insert(0, f"{who} reported it:")
    text = "\n".join(lines)
    if notes:
        text += "\n\n" + "\n".join(notes)
    return text, citations


def caveats(citations: list[Citation]) -> list[str]:
    """One line per manifest note among the cited sources ("Caveat on [2] ...")."""
    lines = []
    for note in dict.fromkeys(c.note for c in citations if c.note):
        cited = [c for c in citations if c.note == note]
        refs = ", ".join(f"[{c.id}]" for c in cited)
        via = f", via {cited[0].publisher}" if cited[0].publisher else ""
        lines.append(f"Caveat on {refs} ({cited[0].outlet}{via}): {note}")
    return lines
