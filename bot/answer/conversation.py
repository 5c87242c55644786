"""Multi-turn chat: turn a follow-up question into a standalone retrieval query.

Shared by the REPL and the Discord bot. Without an LLM, a follow-up is told by
its form: it starts with "and" / "what about", leans on an anaphor ("it",
"they", "there", "the same") with few words of its own, or is too short to
stand alone. The key words of the previous standalone question, and the names
in the title of the article the previous answer cited first, are then
appended: "What did RT say about it?" after a question about Pokrovsk searches
for "What did RT say about it? (Pokrovsk ...)". Any other question is used
as-is. An LLM can take over with ``condense``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from index.errors import LLMError
from index.text import terms

from .query import META_WORDS, QuestionInfo, analyse
from .types import Answer

# (earlier turns as (question, answer text) pairs, new question) -> standalone question
Condense = Callable[[list[tuple[str, str]], str], str]

MAX_CARRIED = 6  # words carried from the previous standalone question
MAX_TITLE_WORDS = 3  # capitalised words carried from the previous top citation's title

_STARTS = re.compile(r"^\W*(and|but|also|what about|how about|what else|same for)\b", re.I)
_ANAPHORS = re.compile(
    r"\b(it|its|they|them|their|he|she|him|his|her|the same"
    # "that" as a pronoun ("about that?", "that happened"), not "said that Russia ..."
    r"|that(?=\s*(?:$|[?.!,;]|is\b|was\b|happen|mean))"
    # "this offensive", "those talks"; not "this week"
    r"|(?:this|these|those)(?!\s+(?:week|month|year|morning|evening|time)\b)"
    # "what happened there?"; not "is there", "there were"
    r"|(?<!\bis )(?<!\bare )(?<!\bwas )(?<!\bwere )there(?!\s+(?:is|are|was|were|has|have|had)\b))\b",
    re.I,
)
_WORD = re.compile(r"[A-Za-z0-9]+(?:[.'’][A-Za-z0-9]+)*")


@dataclass(frozen=True)
class Turn:
    question: str
    standalone: str
    answer: Answer


def content_words(text: str) -> list[str]:
    """The words of ``text`` that carry meaning, as written (not stemmed)."""
    return [w for w in _WORD.findall(text) if terms(w) and w.lower() not in META_WORDS]


def names(text: str) -> list[str]:
    """Capitalised content words, leaving out the first word (capitalised anyway)."""
    first = _WORD.search(text)
    return [w for w in content_words(text[first.end() if first else 0 :]) if w[0].isupper()]


def is_follow_up(
    question: str, outlets: Iterable[str] = (), info: QuestionInfo | None = None
) -> bool:
    """Whether ``question`` leans on the previous turn to make sense
    (``info``: its analysis, when made already)."""
    own = (info or analyse(question, list(outlets))).content
    n = len(content_words(own))
    return bool(
        _STARTS.search(question)
        or (_ANAPHORS.search(question) and n <= 3)
        or (n <= 2 and not names(own))
    )


class Conversation:
    """The turns of one chat, and the standalone query for the next question."""

    def __init__(
        self,
        max_turns: int = 6,
        *,
        condense: Condense | None = None,
        outlets: Iterable[str] = (),
    ) -> None:
        self.max_turns = max_turns
        self.condense = condense
        self.outlets = list(outlets)  # indexed outlet names, so they are not taken as topics
        self.turns: list[Turn] = []

    def standalone(self, question: str) -> str:
        """The retrieval query for ``question``, given the turns so far."""
        if not self.turns:
            return question
        if self.condense is not None:
            try:
                rewritten = self.condense(self.history(), question)
                if rewritten.strip() and rewritten.strip() != question.strip():
                    return rewritten
            except LLMError:
                pass  # the heuristic below still works without the LLM
        info = analyse(question, self.outlets)  # once for both uses
        if not is_follow_up(question, self.outlets, info):
            return question
        carried = self.carried_words(question, info)
        return f"{question} ({' '.join(carried)})" if carried else question

    def carried_words(self, question: str, info: QuestionInfo | None = None) -> list[str]:
        """Key words of the previous turn that ``question`` (analysed as ``info``)
        does not already have."""
        last = self.turns[-1]
        previous = last.standalone
        if (info or analyse(question, self.outlets)).outlets:  # a new outlet replaces the old
            # the previous question without its outlets: the engine's analysis of it
            known = last.answer.info
            previous = (known or analyse(previous, self.outlets)).content
        seen = set(terms(question))
        out: list[str] = []
        for word in content_words(previous):
            if len(out) < MAX_CARRIED and _new(word, seen):
                out.append(word)
        cited = last.answer.citations
        title = (cited[0].title or "") if cited else ""
        names = [w for w in content_words(title) if w[0].isupper()]
        out += [w for w in names if _new(w, seen)][:MAX_TITLE_WORDS]
        return out

    def add(self, question: str, standalone: str, answer: Answer) -> None:
        self.turns.append(Turn(question, standalone, answer))
        del self.turns[: -self.max_turns]

    def reset(self) -> None:
        self.turns.clear()

    def history(self) -> list[tuple[str, str]]:
        return [(t.question, t.answer.answer) for t in self.turns]


def _new(word: str, seen: set[str]) -> bool:
    """True (and remember it) when ``word``'s stem is not in ``seen`` yet."""
    stems = set(terms(word))
    if stems <= seen:
        return False
    seen |= stems
    return True
