"""What a question says beyond its words: outlets it names, the period it asks
about, and its form (yes/no, comparison). Used to steer retrieval and answer
selection; never to look answers up."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from .outlets import outlet_pattern

MONTHS = {
    m: i + 1
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ]
    )
}
_MONTH_YEAR = re.compile(r"\b(" + "|".join(MONTHS) + r")\s+(\d{4})\b", re.I)
_YES_NO = re.compile(r"^\s*(did|does|do|is|are|was|were|has|have|had|will|would|can|could)\b", re.I)
_COMPARE = re.compile(
    r"\b(compar\w*|differ\w*|contrast|versus|vs\.?|outlets|each outlet|change[ds]?\b.*\bbetween|"
    r"between\b.*\band)\b",
    re.I,
)
# Words about the articles themselves, not their content.
META_WORDS = frozenset(
    [
        "article",
        "articles",
        "report",
        "reports",
        "reported",
        "outlet",
        "outlets",
        "story",
        "stories",
        "publish",
        "published",
    ]
)


@dataclass(frozen=True)
class QuestionInfo:
    outlets: list[str] = field(default_factory=list)  # indexed outlet names the question mentions
    months: list[tuple[int, int]] = field(default_factory=list)  # (year, month) mentioned
    yes_no: bool = False
    comparison: bool = False
    content: str = ""  # the question without outlet names, for scoring
    period: tuple[date, date] | None = None  # the dates a relative phrase ("this week") means


def _month_span(year: int, month: int) -> tuple[date, date]:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, 1), nxt - timedelta(days=1)


def period_of(question: str, as_of: date) -> tuple[date, date] | None:
    """The period a relative time phrase refers to, resolved against ``as_of``."""
    q = question.lower()
    if re.search(r"\btoday\b", q):
        return as_of, as_of
    if re.search(r"\byesterday\b", q):
        d = as_of - timedelta(days=1)
        return d, d
    if re.search(r"\b(this|past) week\b|\brecently\b|\bthis past\b", q):
        return as_of - timedelta(days=7), as_of
    if re.search(r"\blast week\b", q):
        return as_of - timedelta(days=14), as_of - timedelta(days=7)
    if re.search(r"\bthis month\b", q):
        return as_of.replace(day=1), as_of
    if re.search(r"\blast month\b", q):
        first = as_of.replace(day=1) - timedelta(days=1)
        return _month_span(first.year, first.month)
    if re.search(r"\bthis year\b", q):
        return date(as_of.year, 1, 1), as_of
    if re.search(r"\blast year\b", q):
        return date(as_of.year - 1, 1, 1), date(as_of.year - 1, 12, 31)
    m = _MONTH_YEAR.search(question)
    if m:
        return _month_span(int(m.group(2)), MONTHS[m.group(1).lower()])
    return None


def analyse(question: str, known_outlets: list[str], as_of: date | None = None) -> QuestionInfo:
    """Find the outlets (by name or initials, e.g. WSJ, AP) a question names,
    and the period it asks about."""
    found: list[str] = []
    content = question
    for outlet in sorted(known_outlets, key=len, reverse=True):
        rx = outlet_pattern(outlet)
        if rx.search(content):
            found.append(outlet)
            content = rx.sub(" ", content)
    months = [(int(y), MONTHS[m.lower()]) for m, y in _MONTH_YEAR.findall(question)]
    return QuestionInfo(
        outlets=found,
        months=months,
        yes_no=bool(_YES_NO.match(question)),
        comparison=bool(_COMPARE.search(question)) or len(found) >= 2,
        content=content,
        period=period_of(question, as_of or date.today()),
    )


def in_period(published: date | None, period: tuple[date, date] | None) -> bool:
    return published is not None and period is not None and period[0] <= published <= period[1]


def month_matches(published: date | None, months: list[tuple[int, int]]) -> bool:
    return published is not None and (published.year, published.month) in months
