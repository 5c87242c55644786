"""The direct answer: the name, number, date or place that a chosen sentence
gives for the question, stated before the quotes.

Only given when the question asks for one of those, the answer model is sure
of the sentence, and the sentence holds exactly one span of the asked-for kind
that the question does not already contain. Otherwise there is none: a wrong
direct answer is worse than no direct answer.
"""

from __future__ import annotations

import re
from typing import Literal

from index.text import terms

from .types import Citation

Kind = Literal["person", "place", "number", "date", "name"]

_NUMBER_Q = re.compile(
    r"^\s*how\s+(many|much|old|long|far|tall)\b|\bwhat\s+(percentage|number|share|age)\b", re.I
)
_DATE_Q = re.compile(
    r"^\s*when\b|\b(what|which)\s+(year|month|day|date)\b|\bin\s+what\s+year\b", re.I
)
_PERSON_Q = re.compile(
    r"^\s*(who|whom|whose)\b|\b(which|what)\s+(person|man|woman|lawmaker|senator|player|actor|actress|singer|rapper|artist|author|ceo|leader|president|candidate|official|judge|star|celebrity|athlete|coach|musician|comedian|director)\b",
    re.I,
)
_PLACE_Q = re.compile(
    r"^\s*where\b|\b(which|what)\s+(city|country|state|nation|island|continent|region|town|county|province|capital|place|sea|river|mountain|territory)\b",
    re.I,
)
_AUX = r"(?:did|does|do|is|are|was|were|has|have|had|will|would|can|could|should|happened|about)"
_NAME_Q = re.compile(
    rf"^\s*which\s+\w+|^\s*what\s+(?!{_AUX}\b)\w+|\b(which|what)\s+(company|team|"
    r"organization|agency|group|film|movie|show|song|album|book|brand|party|network|app|"
    r"award|awards|event|university|school)\b",
    re.I,
)

_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
)
_DATE = re.compile(
    rf"\b{_MONTH}\s+\d{{1,2}}(?:,\s*\d{{4}})?|\b{_MONTH}\s+\d{{4}}|\b(?:19|20)\d\d\b"
)
_NUM = re.compile(
    r"(?:\$|£|€)?\b\d[\d,.]*(?:\s*(?:%|percent|million|billion|trillion|thousand))?"
    r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen)\b",
    re.I,
)
_CONNECT = {"of", "the", "de", "la", "von", "van", "for"}  # not "and": two names stay two
_CAP_WORD = re.compile(r"[A-Z][\w’'.\-]*|[A-Z]{2,}")
_NOT_START = frozenset(
    "The A An In On At But And He She They It We I This That There His Her Their "
    "Its Our After Before When While As If Mr Mrs Ms Dr Monday Tuesday Wednesday "
    "Thursday Friday Saturday Sunday".split()
)


def kind_of(question: str) -> Kind | None:
    """What the question asks for, or None when it asks something else. Only its
    last sentence counts: quiz questions often set the scene first."""
    question = re.split(r"(?<=[.!?])\s+(?=[A-Z])", question.strip())[-1]
    if _NUMBER_Q.search(question):
        return "number"
    if _DATE_Q.search(question):
        return "date"
    if _PERSON_Q.search(question):
        return "person"
    if _PLACE_Q.search(question):
        return "place"
    if _NAME_Q.search(question):
        return "name"
    return None


def _cap_spans(sentence: str) -> list[str]:
    words = list(re.finditer(r"[\w’'.\-&$%]+", sentence))
    spans: list[str] = []
    cur: list[str] = []
    for i, m in enumerate(words):
        w = m.group().rstrip(".")
        capital = bool(_CAP_WORD.fullmatch(w))
        if (
            capital
            and not (not cur and (i == 0 or w in _NOT_START) and w in _NOT_START)
            or cur
            and w.lower() in _CONNECT
            and i + 1 < len(words)
            and words[i + 1].group()[:1].isupper()
        ):
            cur.append(w)
        else:
            if cur:
                spans.append(" ".join(cur))
            cur = []
    if cur:
        spans.append(" ".join(cur))
    return [s.strip(" ’'") for s in spans if s]


def extract(question: str, sentence: str, kind: Kind) -> str | None:
    """The one span of ``kind`` in ``sentence`` that the question lacks, else None."""
    q_terms = set(terms(question))
    q_low = question.casefold()

    def new(span: str) -> bool:
        t = set(terms(span))
        return bool(t) and not t <= q_terms and span.casefold() not in q_low

    if kind == "number":
        found = [m.group().strip() for m in _NUM.finditer(sentence)]
        found = [f for f in found if not _DATE.fullmatch(f) and f.casefold() not in q_low]
    elif kind == "date":
        found = [m.group() for m in _DATE.finditer(sentence) if m.group().casefold() not in q_low]
    else:
        found = [s for s in _cap_spans(sentence) if new(s)]
        if kind == "person":  # a person's name has two words or more
            found = [s for s in found if len(s.split()) >= 2]
    distinct = list(dict.fromkeys(found))
    return distinct[0] if len(distinct) == 1 else None


_NEGATION = re.compile(
    r"\b(not|no|never|denied|denies|deny|rejected|refused|declined|neither|nor|false)\b|n[’']t\b",
    re.I,
)


def yes_no(question: str, sentence: str) -> Literal["Yes", "No"] | None:
    """Yes or No from a sentence the model is sure answers a yes/no question:
    No when the sentence negates and the question does not, Yes when neither does.
    None when the question itself negates (the polarity is then unclear)."""
    if _NEGATION.search(question):
        return None
    return "No" if _NEGATION.search(sentence) else "Yes"


UNSETTLED = "The corpus doesn't settle it"


def direct_answer(
    question: str, is_yes_no: bool, sentence: str, score: float, gate: float
) -> str | None:
    """The short answer for ``question`` from its chosen ``sentence``, which the
    answer model scored ``score``; only at or above ``gate`` (the model's
    ``direct_threshold``) is it sure. A yes/no question always gets one: Yes, No,
    or that the corpus doesn't settle it."""
    sure = score >= gate
    if is_yes_no:
        verdict = yes_no(question, sentence) if sure else None
        return verdict or UNSETTLED
    kind = kind_of(question)
    if not sure or kind is None:
        return None
    return extract(question, sentence, kind)


def lead(short: str, first: Citation) -> str:
    """The line stated before the quotes."""
    if short == UNSETTLED:
        return f"{UNSETTLED}; the closest report:"
    return f"{short}, according to {first.outlet} [{first.id}]."
