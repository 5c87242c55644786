"""Follow-ups in a chat: answered from the last answer when they refer to it,
and otherwise rewritten into a question a person would write.

A follow-up that refers to the last answer is told by its form:

- "Which outlet reported that?"                  -> the outlets of its citations
- "When?", "When was that?"                      -> the dates of its articles
- "Who said it?"                                 -> the speakers of its quotes
- "Tell me more", "What else?"                   -> more sentences from its articles
- "What else did Kirby say?", "and what did Kirby say?" -> Kirby's own sentences,
  from its articles first, then from a fresh search
- "What did the other side say?"                 -> named speakers it did not quote

The first three are answered from the citations alone; the others read the
cited articles in full (``Store.article_passages``) and quote from them
exactly, as the extractive engine does. Any other follow-up is searched afresh,
with the previous topic written into it: "What did RT say about it?" after
"How did outlets differ on whether the offensive stalled?" searches for "What
did RT say about whether the offensive stalled?".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from index.types import Passage

from . import extractive, speakers
from .declines import DECLINE
from .query import analyse
from .types import Answer, Citation

if TYPE_CHECKING:
    from .engine import AskOptions, Engine

Kind = Literal["outlet", "when", "who", "more", "said", "other"]

_AND = r"^\W*(?:and|but|so|ok(?:ay)?|also)?\W*"
_THAT = r"(?:that|this|it|so|these|those|them)"
_END = r"(?:\s+\w+){0,2}\W*$"  # the anaphor ends the question: "... that story?", not "that Ryder said ..."
_OUTLET = re.compile(
    _AND + r"(?:(?:which|what)\s+(?:news\s+)?(?:outlets?|publications?|newspapers?|sites?|"
    r"sources?|media)\s+(?:\w+\s+){0,2}"
    + _THAT
    + _END
    + r"|(?:who|where)\s+(?:reported|published|wrote|ran|carried)\s+"
    + _THAT
    + _END
    + r"|where\s+(?:was|is)\s+"
    + _THAT
    + r"\s+(?:reported|published)\W*$"
    r"|(?:which|what)\s+(?:outlets?|publications?|newspapers?|sites?)\W*$)",
    re.I,
)
_WHEN = re.compile(
    _AND + r"when\b(?:\s+(?:was|were|did|is|had)\s+(?:that|this|it|they|he|she)\b[^?]*)?\W*$", re.I
)
_WHO = re.compile(
    _AND + r"who\s+(?:said|says|stated|claimed|told|wrote|is quoted|was quoted|is speaking)"
    r"(?:\s+" + _THAT + r")?\W*$"
    r"|" + _AND + r"who\s+(?:is|was)\s+(?:speaking|quoted)\b",
    re.I,
)
_MORE = re.compile(
    _AND + r"(?:tell me more|more|go on|more details|any more|anything else|what else|"
    r"say more|tell me more about (?:that|this|it)|what more)\W*(?:please)?\W*$",
    re.I,
)
_OTHER = re.compile(r"\b(?:the\s+other\s+side|the\s+opposing\s+side|the\s+other\s+party)\b", re.I)
_SAID_FOLLOW_UP = re.compile(r"^\W*(?:and|but|also|so)\b|\belse\b", re.I)
MORE_SENTENCES = 3
# Share of the engine's relevance threshold a sentence needs, from the last answer's
# articles ("tell me more"), and for a speaker's words from them or a fresh search.
MORE_BAR = 0.25
SPEAKER_BAR = 0.5
FROM_LAST = "Answered from the sources of the previous answer."


@dataclass(frozen=True)
class Reference:
    """How a follow-up refers to the last answer."""

    kind: Kind
    speaker: str | None = None  # for "said": whose words


def refers_to_last(question: str, outlets: list[str]) -> Reference | None:
    """How ``question`` refers to the last answer, or None when it does not."""
    if _OUTLET.search(question):
        return Reference("outlet")
    if _WHEN.search(question):
        return Reference("when")
    if _WHO.search(question):
        return Reference("who")
    if _MORE.search(question):
        return Reference("more")
    if _OTHER.search(question):
        return Reference("other")
    who = speakers.asked_speaker(question, outlets)
    if who and _SAID_FOLLOW_UP.search(question) and len(question.split()) <= 12:
        return Reference("said", who)
    return None


# --- the condensed question, written as a person would ---------------------------------

_TOPIC_AFTER = re.compile(r"\b(?:about|on|over|regarding|concerning)\s+(.+)$", re.I)
_ANAPHOR = re.compile(r"\b(?:about|on|of)\s+(?:it|that|this|them|these|those|the same)\b", re.I)
_BARE_ANAPHOR = re.compile(r"\b(?:it|that|this|them|there|the same)\b(?=\s*\W*$)", re.I)
_NEW_OUTLET = re.compile(r"^\W*(?:and|but|what about|how about)\s+(.+?)\W*$", re.I)


_QUESTION_WORD = re.compile(
    r"^(?:what|who|whom|which|when|where|why|how|is|are|was|were|did|does|do)\b", re.I
)
_SUBJECT_PRONOUN = re.compile(r"\b(?:they|them)\b")


def topic(question: str) -> str:
    """What ``question`` is about, as a phrase: "whether the offensive stalled" from
    "How did outlets differ on whether the offensive stalled?"."""
    q = question.strip().rstrip("?.! ")
    q = re.sub(r",\s+compared with the other outlets$", "", q)
    m = re.search(r"\(([^()]+)\)$", q) or re.match(r"^\w+:\s+(.+)$", q)
    if m:  # a rewritten follow-up: "What happened there (<topic>)?", "Why: <question>"
        return topic(m.group(1))
    m = _TOPIC_AFTER.search(q)
    if m and not _ANAPHOR.fullmatch(m.group(0)):
        return m.group(1)
    return q[:1].lower() + q[1:] if _QUESTION_WORD.match(q) else q


def _own_topic(body: str) -> bool:
    m = _TOPIC_AFTER.search(body)
    return m is not None and not _ANAPHOR.search(m.group(0))


def rewrite(question: str, previous: str, outlets: list[str]) -> str:
    """``question`` (a follow-up) as a standalone question about ``previous``'s topic."""
    about = topic(previous)
    body = question.strip().rstrip("?.! ")
    mine = analyse(question, outlets).outlets
    theirs = analyse(previous, outlets).outlets
    if theirs and not mine:  # "What did they say about Kursk?" after a question about RT
        body = _SUBJECT_PRONOUN.sub(" and ".join(theirs), body, count=1)
    # a follow-up that names an outlet after a comparison is still one: the same, lower bar
    compared = (
        ", compared with the other outlets"
        if mine and analyse(previous, outlets).comparison
        else ""
    )
    m = _ANAPHOR.search(body)
    if m:  # "What did RT say about it?" -> "What did RT say about <topic>?"
        word = m.group(0).split()[0]
        return f"{body[: m.start()]}{word} {about}{body[m.end() :]}{compared}?"
    m = _NEW_OUTLET.match(body)
    if m and analyse(m.group(1), outlets).outlets and len(m.group(1).split()) <= 4:
        return f"What did {m.group(1)} say about {about}{compared}?"  # "And RT?"
    body = re.sub(r"^\W*(?:and|but|also|so)\s+", "", body, flags=re.I)
    body = body[:1].upper() + body[1:]
    if _own_topic(body):  # "What did they say about Kursk?": its own topic
        return f"{body}?"
    if _BARE_ANAPHOR.search(body):  # "What happened there?" -> "... there (<topic>)?"
        return f"{body} ({about})?"
    if len(body.split()) <= 2:  # "Why?" -> "Why: <previous question>"
        return f"{body}: {previous.strip()}"
    return f"{body} about {about}?"


# --- answers from the last answer ------------------------------------------------------


def _renumber(cited: list[Citation]) -> list[Citation]:
    return [replace(c, id=i + 1) for i, c in enumerate(cited)]


def _refs(cited: list[Citation]) -> str:
    return ", ".join(f"[{c.id}]" for c in cited)


def _by_article(cited: list[Citation]) -> dict[str, list[Citation]]:
    out: dict[str, list[Citation]] = {}
    for c in cited:
        out.setdefault(c.source, []).append(c)
    return out


def _outlets(previous: Answer) -> tuple[str, list[Citation]]:
    cited = _renumber(previous.citations)
    lines = []
    by_outlet: dict[str, list[Citation]] = {}
    for c in cited:
        by_outlet.setdefault(c.outlet, []).append(c)
    names = list(by_outlet)
    who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    lines.append(f"{who} reported it:")
    for outlet, mine in by_outlet.items():
        for source, cs in _by_article(mine).items():
            del source
            c = cs[0]
            when = f", {c.published}" if c.published else ""
            title = f" “{c.title}”" if c.title else ""
            lines.append(f"{outlet}{title}{when} {_refs(cs)}")
    return "\n".join(lines), cited


def _when(previous: Answer) -> tuple[str, list[Citation]]:
    cited = _renumber(previous.citations)
    lines = []
    for cs in _by_article(cited).values():
        c = cs[0]
        title = f" “{c.title}”" if c.title else ""
        if c.published:
            lines.append(f"{c.outlet} published it on {c.published}{title} {_refs(cs)}.")
        else:
            lines.append(f"{c.outlet}{title} {_refs(cs)} gives no date.")
    return "\n".join(lines), cited


_UNNAMED = re.compile(
    r"\b(?:an?|the)\s+(?:(?:senior|top|unnamed|anonymous|U\.?S\.?|US|Pentagon|Russian|"
    r"Ukrainian|Western|American|European|defen[cs]e|military|government|State Department|"
    r"Kremlin|White House|intelligence)\s+){0,3}(?:officials?|sources?|spokesman|spokeswoman|"
    r"spokesperson|diplomats?|analysts?|military|army|ministry|government|experts?)\b"
)


def _who(engine: Engine, previous: Answer) -> tuple[str, list[Citation]]:
    cited = _renumber(previous.citations)
    lines = []
    for c in cited:
        who = _speaker_of_citation(engine, c)
        if who:
            lines.append(f"{who} said it, {c.outlet} reports [{c.id}]: “{c.quote}”")
            continue
        m = _UNNAMED.search(c.quote)
        if m:
            lines.append(
                f"{c.outlet} [{c.id}] attributes it to “{m.group(0)}”, not to a named "
                f"person: “{c.quote}”"
            )
        else:
            lines.append(f"{c.outlet} [{c.id}] names no speaker; it reports: “{c.quote}”")
    return "\n".join(lines), cited


def _speaker_of_citation(engine: Engine, c: Citation) -> str | None:
    who = speakers.name_of(c.quote)
    if who:
        return who
    for p in engine.store.article_passages([c.source]):
        if p.start <= c.start < p.end:
            return speakers.speaker_in_passage(p, c.start)
    return None


def _previous_speakers(engine: Engine, previous: Answer) -> list[str]:
    return [w for c in previous.citations if (w := _speaker_of_citation(engine, c))]


def _quote_from(
    engine: Engine,
    query: str,
    passages: list[Passage],
    previous: Answer,
    keep_also: speakers.Keep | None,
    opts: AskOptions,
    bar: float,
    on_topic_of: str | None = None,
) -> tuple[str, list[Citation]] | None:
    """The best new sentences of ``passages`` for ``query``, quoted as the extractive
    engine quotes them; None when there is none."""
    cited = [(c.source, c.start, c.end) for c in previous.citations]

    def keep(p: Passage, start: int) -> bool:
        if any(p.source == s and a <= start < b for s, a, b in cited):
            return False
        return keep_also(p, start) if keep_also else True

    info = analyse(query, engine.known_outlets(), opts.as_of)
    idf = engine.retriever.word_weights()
    scored = extractive.score_sentences(
        info, passages, idf, engine.embedder.embed_documents, keep=keep
    )
    if on_topic_of:  # a fresh search for a speaker's words: about the topic asked
        index = engine.store.bm25()
        n = max(1, len(index.ids))
        scored, lower = speakers.on_topic(
            scored,
            query,
            extractive.content_terms(info),
            on_topic_of,
            lambda t: index.doc_freq(t) <= speakers.RARE_SHARE * n,
        )
        bar = bar if lower else 1.0
    scored = [s for s in scored if s.classic >= bar * engine.settings.min_relevance]
    if not scored:
        return None
    picked = extractive.select(scored, info, MORE_SENTENCES)
    return extractive.compose(picked)


def answer_from_last(
    engine: Engine, question: str, previous: Answer | None, opts: AskOptions
) -> Answer | None:
    """The answer to ``question`` from ``previous`` (the last answer), or None when the
    question does not refer to it, or when its sources hold nothing for it."""
    if previous is None or previous.refused or not previous.citations:
        return None
    ref = refers_to_last(question, engine.known_outlets())
    if ref is None:
        return None
    topic_q = opts.standalone or previous.standalone_question or previous.question
    searched: str | None = None
    made: tuple[str, list[Citation]] | None
    if ref.kind == "outlet":
        made = _outlets(previous)
    elif ref.kind == "when":
        made = _when(previous)
    elif ref.kind == "who":
        made = _who(engine, previous)
    else:
        sources = list(dict.fromkeys(c.source for c in previous.citations))
        articles = engine.store.article_passages(sources)
        keep: speakers.Keep | None = None
        query = topic(topic_q)
        if ref.kind == "said" and ref.speaker:
            keep = speakers.said_by(ref.speaker)
            query = f"What did {ref.speaker} say about {topic(topic_q)}?"
        elif ref.kind == "other":
            keep = speakers.not_said_by(_previous_speakers(engine, previous))
            query = f"What did others say about {topic(topic_q)}?"
        # the articles are on the topic already: "more" takes their best other sentences
        bar = MORE_BAR if ref.kind == "more" else SPEAKER_BAR
        made = _quote_from(engine, query, articles, previous, keep, opts, bar)
        if made is None and ref.kind in ("said", "other"):
            found = engine.retriever.retrieve(query, opts.filters, opts.k)
            who = ref.speaker if ref.kind == "said" else None
            made = _quote_from(engine, query, found, previous, keep, opts, bar, who)
            searched = query
        if made is None:
            if ref.kind == "said":
                return None  # searched afresh by the engine, with the speaker's filter
            refs = _refs(_renumber(previous.citations))
            what = "no other speaker on it" if ref.kind == "other" else "nothing more on it"
            return Answer(
                question,
                f"{DECLINE} more: the articles of the last answer {refs} have {what}.",
                True,
                "extractive",
                notices=[FROM_LAST],
                standalone_question=searched,
            )
    text, citations = made
    notes = extractive.caveats(citations)
    if notes and "Caveat on" not in text:
        text += "\n\n" + "\n".join(notes)
    return Answer(
        question,
        text,
        False,
        "extractive",
        citations,
        notices=[] if searched else [FROM_LAST],
        standalone_question=searched,
    )
