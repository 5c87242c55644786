"""Questions about several articles: overviews and the coverage of comparisons.

An overview question ("What do the articles say about Mariupol?", "What happened
to Kherson?", "What roles did John Kirby have?") is answered with the best
sentence about its subject from each article that mentions it, grouped by
outlet, dated, newest first, at most ``MAX_ARTICLES``; it says how many
articles mention the subject and which indexed outlets do and don't.

An article mentions the subject when it holds the subject's most informative
words (``REQUIRED_TERMS``), found through the BM25 index's postings, so no
article is read that does not. A republished or reworded copy of a story (the
same outlet and headline, as a manifest marks copies) counts once.

A comparison's answer starts with one line per outlet, the headline of the
article it is quoted from, and says which outlets cover the subject.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any

from index.text import terms
from index.types import Filters, Passage

from . import extractive, speakers
from .declines import declined
from .query import META_WORDS, QuestionInfo, analyse
from .types import Answer, Citation

if TYPE_CHECKING:
    from .engine import Engine

# Lines about the index, not claims from articles (the eval does not grade them as claims).
NOTE_LINE = (
    r"^\s*(?:Outlets in the index that cover |In short, by outlet|\d+ articles? mentions? |"
    r"Answering for [^:]+: no article mentions |\(\d+ more not quoted)"
)
MAX_ARTICLES = 8  # articles quoted in an overview
REQUIRED_TERMS = 2  # the subject's rarest words an article must hold to mention it
MAX_POSTINGS = 5000  # chunks read per word, at most

_OVERVIEW = [
    re.compile(
        r"\bwhat\s+(?:do|does|did)\s+(?:the\s+|these\s+|all\s+the\s+)?(?:articles?|outlets?|"
        r"reports?|sources?|stories|papers|news|media|coverage)\s+(?:say|report|tell us)\s+"
        r"(?:about|on|of)\s+(?P<s>.+)",
        re.I,
    ),
    re.compile(r"\bwhat\s+happened\s+(?:to|in|at|with)\s+(?P<s>.+)", re.I),
    re.compile(
        r"\bwhat\s+(?:do|does)\s+(?:we|the corpus|the index)\s+know\s+about\s+(?P<s>.+)", re.I
    ),
    re.compile(r"\b(?:give me\s+)?an?\s+overview\s+of\s+(?P<s>.+)", re.I),
    re.compile(
        r"\bwhat\s+(?:roles?|positions?|jobs?|titles?)\s+(?:did|does|has|had)\s+(?P<s>.+?)\s+"
        r"(?:have|had|hold|held|play|played)\b",
        re.I,
    ),
    re.compile(
        r"^\W*(?P<s>(?:[A-Z][\w’'\-]+\s+){0,2}[A-Z][\w’'\-]+)\s+(?:appears?|is mentioned|features?)"
        r"\b.*\b(?:roles?|positions?|capacit(?:y|ies))\b",
    ),
]
_ROLES = re.compile(r"\b(?:roles?|positions?|jobs?|titles?|capacit(?:y|ies))\b", re.I)
_TITLE_NEAR = re.compile(rf"\b(?:{extractive._TITLES}|coordinator|communications)\b", re.I)
_NOT_SUBJECT = (
    frozenset(
        terms(
            "differ differed different compare compared contrast versus between whether "
            "say said tell told"
        )
    )
    | extractive.ASKING_WORDS
    | META_WORDS
)


@dataclass(frozen=True)
class Story:
    """One story: an article, and the copies of it (same outlet and headline)."""

    source: str
    outlet: str
    title: str | None
    published: date | None
    copies: int = 0


def overview_subject(question: str) -> str | None:
    """The subject of an overview question ("Mariupol"), or None for other questions."""
    for rx in _OVERVIEW:
        m = rx.search(question)
        if m:
            s = m.group("s").strip().rstrip("?.!: ")
            s = re.sub(r"^(?:the\s+)?", "", s, flags=re.I)
            if terms(s):
                return s
    return None


def required_terms(engine: Engine, subject: str) -> list[str]:
    """The subject's most informative words (those in fewest chunks), at most
    ``REQUIRED_TERMS``; for a name, its last word ("Kirby" of "John Kirby")."""
    index = engine.store.bm25()
    # a name of several words counts by its last ("John Kirby" -> "kirby")
    short = re.sub(r"(?:[A-Z][\w’'\-]+\s+)+([A-Z][\w’'\-]+)", lambda m: m.group(1), subject)
    words = [w for w in dict.fromkeys(terms(short)) if w not in _NOT_SUBJECT]
    known = [w for w in words if index.doc_freq(w) > 0]
    if len(known) < len(words):
        return []  # a word no article holds: nothing mentions the subject
    return sorted(known, key=index.doc_freq)[:REQUIRED_TERMS]


def _passes(meta: dict[str, Any], f: Filters) -> bool:
    day = int(meta.get("day") or 0)
    if f.outlet and str(meta.get("outlet_key") or "") != f.outlet.lower():
        return False
    if f.since and day < f.since.toordinal():
        return False
    return not (f.until and (day == 0 or day > f.until.toordinal()))


def _story_key(meta: dict[str, Any]) -> tuple[str, str]:
    title = re.sub(r"\W+", " ", str(meta.get("title") or "")).strip().lower()
    return (str(meta["outlet"]).lower(), title or str(meta["source"]))


def mentioning(
    engine: Engine, words: list[str], filters: Filters
) -> tuple[list[Story], dict[str, list[str]]]:
    """The stories whose articles hold every word in ``words``, newest first, and
    for each story's article the ids of its chunks that hold the rarest word."""
    if not words:
        return [], {}
    index = engine.store.bm25()
    by_word = [index.chunks_with(w, MAX_POSTINGS) for w in words]
    meta = engine.store.metadata(list(dict.fromkeys(c for ids in by_word for c in ids)))
    holding: list[set[str]] = [
        {str(meta[c]["source"]) for c in ids if c in meta and _passes(meta[c], filters)}
        for ids in by_word
    ]
    sources = set.intersection(*holding) if holding else set()
    chunks: dict[str, list[str]] = {}
    for c in by_word[0]:
        if c in meta and str(meta[c]["source"]) in sources:
            chunks.setdefault(str(meta[c]["source"]), []).append(c)
    stories: dict[tuple[str, str], Story] = {}
    for source in sorted(sources):
        m = next(meta[c] for c in chunks[source])
        pub = str(m.get("published") or "")
        story = Story(
            source,
            str(m["outlet"]),
            str(m.get("title") or "") or None,
            date.fromisoformat(pub) if pub else None,
        )
        key = _story_key(m)
        kept = stories.get(key)
        if kept is None:
            stories[key] = story
        else:  # a copy of the same story: counted once, the one without a caveat kept
            stories[key] = replace(kept if m.get("note") else story, copies=kept.copies + 1)
    ordered = sorted(stories.values(), key=lambda s: s.published or date.min, reverse=True)
    return ordered, {s.source: chunks[s.source] for s in ordered}


def coverage_line(engine: Engine, stories: Sequence[Story], subject: str) -> str:
    covering = list(dict.fromkeys(s.outlet for s in stories))
    others = [o for o in engine.known_outlets() if o not in covering]
    line = f"Outlets in the index that cover {subject}: {', '.join(covering) or 'none'}"
    return line + (f"; that don't: {', '.join(others)}." if others else ".")


def _count_line(stories: Sequence[Story], subject: str) -> str:
    n = len(stories)
    copies = sum(s.copies for s in stories)
    line = f"{n} article{'s' if n != 1 else ''} mention{'s' if n == 1 else ''} {subject}"
    if copies:
        line += (
            f" ({copies} republished or reworded cop{'ies' if copies > 1 else 'y'} counted once)"
        )
    return line + "."


def _best_sentence(
    engine: Engine, info: QuestionInfo, passages: list[Passage], roles: bool, word: str
) -> extractive.Scored | None:
    idf = engine.retriever.word_weights()
    scored = extractive.score_sentences(
        info,
        passages,
        idf,
        engine.embedder.embed_documents,
        keep=lambda p, start: word in terms(_sentence_at(p, start)),
    )
    if roles:  # a sentence that gives the person a title ("Pentagon spokesman John Kirby")
        scored.sort(key=lambda s: (not _TITLE_NEAR.search(s.text), -s.score))
    return scored[0] if scored else None


def _sentence_at(p: Passage, start: int) -> str:
    from index.sentences import sentence_spans

    for s, e in sentence_spans(p.text):
        if p.start + s == start:
            return p.text[s:e]
    return ""


def answer_overview(engine: Engine, question: str, filters: Filters) -> Answer | None:
    """The overview answer, or None when ``question`` is not an overview question."""
    subject = overview_subject(question)
    if subject is None:
        return None
    words = required_terms(engine, subject)
    stories, chunks = mentioning(engine, words, filters)
    if not stories:
        return Answer(
            question,
            declined(f"no indexed article mentions {subject}."),
            True,
            "extractive",
        )
    info = analyse(question, engine.known_outlets())
    roles = bool(_ROLES.search(question))
    picked: list[tuple[Story, extractive.Scored]] = []
    for story in stories[:MAX_ARTICLES]:
        passages = list(engine.store.passages(chunks[story.source]).values())
        best = _best_sentence(engine, info, passages, roles, words[0])
        if best is not None:
            picked.append((story, best))
    # grouped by outlet, the outlet with the newest article first; newest first within
    outlets = list(dict.fromkeys(st.outlet for st, _ in picked))
    lines = [_count_line(stories, subject), coverage_line(engine, stories, subject)]
    citations: list[Citation] = []
    for outlet in outlets:
        for story, s in [x for x in picked if x[0].outlet == outlet]:
            n = len(citations) + 1
            citations.append(Citation.from_passage(n, s.passage, s.start, s.end, s.score))
            when = f" ({story.published.isoformat()})" if story.published else ""
            who = speakers.speaker_in_passage(s.passage, s.start)
            says = f"reports what {who} said" if who else "reports"
            lines.append(f"{outlet}{when} [{n}] {says}: “{s.text}”")
    if len(stories) > len(picked):
        lines.append(f"({len(stories) - len(picked)} more not quoted.)")
    notes = extractive.caveats(citations)
    text = "\n".join(lines) + ("\n\n" + "\n".join(notes) if notes else "")
    return Answer(question, text, False, "extractive", citations)


def comparison_lead(engine: Engine, question: str, answer: Answer, filters: Filters) -> Answer:
    """A comparison's answer with a line per outlet (its article's headline) and the
    outlets that cover the subject, before the quotes."""
    if answer.refused or not answer.citations:
        return answer
    lines = ["In short, by outlet (each article's headline):"]
    for outlet in dict.fromkeys(c.outlet for c in answer.citations):
        mine = [c for c in answer.citations if c.outlet == outlet]
        c = mine[0]
        when = f" ({c.published})" if c.published else ""
        refs = ", ".join(f"[{x.id}]" for x in mine)
        lines.append(f"- {outlet}{when}: “{c.title or 'untitled'}” {refs}")
    subject = _comparison_subject(question)
    words = required_terms(engine, subject) if subject else []
    stories, _ = mentioning(engine, words, filters)
    quoted = [  # the outlets quoted cover it, whatever words they use
        Story(c.source, c.outlet, c.title, None) for c in answer.citations
    ]
    lines.append(coverage_line(engine, quoted + stories, "this"))
    return replace(answer, answer="\n".join(lines) + "\n\n" + answer.answer)


def _comparison_subject(question: str) -> str | None:
    m = re.search(
        r"\b(?:on|about|over|regarding|in how they (?:described|covered))\s+(.+)$", question
    )
    s = (m.group(1) if m else question).strip().rstrip("?.! ")
    return s if terms(s) else None
