"""Multi-turn chat: turn a follow-up question into a standalone retrieval query.

Shared by the REPL and the Discord bot. Without an LLM, a follow-up is told by
its form: it starts with "and" / "what about", leans on an anaphor ("it",
"they", "there", "the same") with few words of its own, or is too short to
stand alone. It is then rewritten as a question about the previous topic
(``followup.rewrite``): "What did RT say about it?" after "What is
happening around Pokrovsk?" searches for "What did RT say about what is
happening around Pokrovsk?". Any other question is used as-is. An LLM can take
over with ``condense``. A follow-up that refers to the last answer itself
("Which outlet reported that?") is answered from it (``followup.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from index.errors import LLMError
from index.text import terms

from .followup import FROM_LAST, rewrite
from .query import META_WORDS, QuestionInfo, analyse
from .types import Answer

# (earlier turns as (question, answer text) pairs, new question) -> standalone question
Condense = Callable[[list[tuple[str, str]], str], str]

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
        # written as a person would ask it, not with key words appended
        return rewrite(question, self.turns[-1].standalone, self.outlets)

    def add(self, question: str, standalone: str, answer: Answer) -> None:
        if FROM_LAST in answer.notices and self.turns:  # the topic stays the same
            standalone = self.turns[-1].standalone
        self.turns.append(Turn(question, standalone, answer))
        del self.turns[: -self.max_turns]

    @property
    def last_answer(self) -> Answer | None:
        """The previous turn's answer, which a follow-up may be answered from."""
        return self.turns[-1].answer if self.turns else None

    def reset(self) -> None:
        self.turns.clear()

    def history(self) -> list[tuple[str, str]]:
        return [(t.question, t.answer.answer) for t in self.turns]
