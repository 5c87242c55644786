"""Grading one answer of ``newsbot eval`` against its Q&A record.

Every metric is in [0, 1] and averaged over the questions it applies to
(``None`` when it applies to none):

    pass_rate            the question passed every check below that applies to it
    answer_accuracy      answerable: not declined and every must_contain string in the
                         answer (outlet names as whole words for attribution/comparison);
                         unanswerable: declined
    refusal_accuracy     declined exactly when the question is unanswerable
    hit_at_k, mrr        a supporting source among the first k retrieved passages, and
                         1/rank of the first one (answerable questions)
    cited_hit, cited_mrr the same over the citations, in the order they are numbered
    attribution_accuracy every expected outlet named as a whole word (attribution, comparison)
    citation_exactness   share of all citations whose quote == the source text [start:end];
                         anything under 1.0 is a bug
    citation_recall      ALCE: share of the answer's statements that their citations support
    citation_precision   ALCE: share of citations that are not superfluous
    citation_support     share of answers whose every statement is supported
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Protocol

from bot import NOTE_LINE, ReplySentence, label_words, parse_reply, supports
from index import NewsbotError, SourceTexts, parse_date

from .qa_format import OUTLET_KINDS, QARecord

METRICS = (
    "pass_rate",
    "answer_accuracy",
    "refusal_accuracy",
    "hit_at_k",
    "mrr",
    "cited_hit",
    "cited_mrr",
    "attribution_accuracy",
    "citation_exactness",
    "citation_recall",
    "citation_precision",
    "citation_support",
)


# ---------------------------------------------------------------- matching


def _norm(text: str) -> str:
    return " ".join(text.replace("’", "'").split()).lower()


def _outlet_core(name: str) -> str:
    return re.sub(r"^the\s+", "", _norm(name))


def names_outlet(text: str, outlet: str) -> bool:
    """``outlet`` named as whole words (case-insensitive; a leading "The" optional).

    ``RT`` matches "RT [1] reports" but not "report".
    """
    words = _outlet_core(outlet).split()
    if not words:
        return False
    pattern = r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)"
    return re.search(pattern, _norm(text)) is not None


def missing_strings(answer: str, must_contain: Sequence[str], outlets: Sequence[str]) -> list[str]:
    """The must_contain strings the answer lacks. Strings that name one of
    ``outlets`` must appear as whole words; the rest as substrings."""
    text = _norm(answer)
    cores = {_outlet_core(o) for o in outlets}
    missing = []
    for s in must_contain:
        found = names_outlet(text, s) if _outlet_core(s) in cores else _norm(s) in text
        if not found:
            missing.append(s)
    return missing


def matches_source(expected: str, source: str) -> bool:
    """A citation/retrieval ``source`` (``path`` or ``FILE#ID``) is the ``expected``
    file (by basename or relative path) or record id."""
    path, _, rid = source.partition("#")
    if expected in (source, rid, path):
        return True
    return PurePosixPath(path).name == expected or path.endswith("/" + expected.lstrip("/"))


def first_hit(sources: Sequence[str], expected: Sequence[str]) -> int | None:
    """1-based rank of the first source that matches one of ``expected``."""
    for rank, s in enumerate(sources, 1):
        if any(matches_source(e, s) for e in expected):
            return rank
    return None


def hit_at_k(sources: Sequence[str], expected: Sequence[str], k: int) -> float:
    return 1.0 if first_hit(sources[:k], expected) else 0.0


def reciprocal_rank(sources: Sequence[str], expected: Sequence[str]) -> float:
    rank = first_hit(sources, expected)
    return 1.0 / rank if rank else 0.0


# ---------------------------------------------------------------- exactness


def citation_problem(citation: Mapping[str, Any], texts: SourceTexts) -> str | None:
    """Why ``quote != text_of(source)[start:end]``, or None when it is exact."""
    n, source = citation.get("id"), str(citation.get("source"))
    try:
        text = texts.text(source)
    except NewsbotError as e:
        return f"citation [{n}]: cannot read its source ({e})"
    start, end, quote = citation.get("start"), citation.get("end"), citation.get("quote")
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start <= end <= len(text):
        return f"citation [{n}]: offsets {start}:{end} are outside {source}"
    if text[start:end] != quote:
        return (
            f"citation [{n}]: quote is not {source}[{start}:{end}] "
            f"(the text there starts {text[start : start + 40]!r})"
        )
    return None


# ---------------------------------------------------------------- citation support


# notes on the sources that both engines append, and lines about the index
# (coverage, article counts, near-miss names), which are not claims of an article
_CAVEAT = re.compile(r"^\s*Caveat on \[|" + NOTE_LINE)


class SupportCheck(Protocol):
    """``bot.supports``'s signature: does ``passage`` (with its provenance
    ``label``) support ``sentence``?"""

    def __call__(self, sentence: str, passage: str, *, label: str = "") -> bool: ...


@dataclass(frozen=True)
class Cited:
    """What a citation puts behind a claim: its quote and its provenance."""

    quote: str
    label: str = ""


def citation_label(citation: Mapping[str, Any]) -> str:
    """A citation's provenance as words, as ``bot.label_words`` gives a passage's:
    the answer may name the outlet and date without the quote containing them."""
    return label_words(
        str(citation.get("outlet") or ""),
        str(citation.get("publisher") or "") or None,
        str(citation.get("title") or "") or None,
        parse_date(citation.get("published")),
        weekday=True,
    )


def _open_quote(text: str) -> bool:
    return text.count("“") > text.count("”") or text.count('"') % 2 == 1


def statements(answer: str) -> list[ReplySentence]:
    """The answer's claims with the citation ids each carries.

    Sentences as ``bot.parse_reply`` reads an LLM reply, except that a
    quotation spanning several sentences stays one claim, a sentence ending in
    a colon ("RT reported it:") is one claim with what it introduces, and
    caveat lines (notes about the sources, not claims) are left out.
    """
    lines = [line for line in answer.splitlines() if not _CAVEAT.match(line)]
    out: list[ReplySentence] = []
    for s in parse_reply("\n".join(lines)):
        if out and (_open_quote(out[-1].text) or out[-1].text.endswith(":")):
            prev = out[-1]
            out[-1] = ReplySentence(f"{prev.text} {s.text}", tuple(dict.fromkeys(prev.ids + s.ids)))
        else:
            out.append(s)
    return out


def citation_scores(
    claims: Sequence[ReplySentence],
    cited: Mapping[int, Cited],
    check: SupportCheck = supports,
) -> tuple[float, float] | None:
    """ALCE citation (recall, precision) of an answer; None when it makes no claim.

    Recall: share of claims that the concatenation of their cited passages
    supports (a claim with no citation is unsupported). Precision: share of
    citations that are not superfluous; a citation is superfluous when it does
    not support its claim alone and the claim's other citations do. A claim's
    citations count as imprecise when together they don't support it.
    """
    if not claims:
        return None

    def backs(claim: str, items: Sequence[Cited]) -> bool:
        return bool(items) and check(
            claim, "\n".join(c.quote for c in items), label=" ".join(c.label for c in items)
        )

    supported = precise = total = 0
    for claim in claims:
        items = [cited.get(i, Cited("")) for i in claim.ids]  # a dangling [n] supports nothing
        total += len(items)
        joint = backs(claim.text, items)
        supported += joint
        if joint and len(items) > 1:
            for i, item in enumerate(items):
                rest = items[:i] + items[i + 1 :]
                precise += backs(claim.text, [item]) or not backs(claim.text, rest)
        else:
            precise += joint
    return supported / len(claims), (precise / total if total else 0.0)


# ---------------------------------------------------------------- grading


@dataclass
class QuestionResult:
    record: QARecord
    answer: str
    refused: bool
    citations: list[dict[str, Any]]
    retrieved: list[str]  # sources of the retrieved passages, best first
    metrics: dict[str, float | None]
    reasons: list[str]
    seconds: float
    exact_citations: int = 0
    error: str | None = None
    direct: str | None = None  # the answer's direct-answer line, if any

    @property
    def passed(self) -> bool:
        return not self.reasons

    def to_json(self) -> dict[str, Any]:
        r = self.record
        return {
            "id": r.id,
            "kind": r.kind,
            "question": r.question,
            "date": r.date.isoformat() if r.date else None,
            "answer": self.answer,
            "expected_answer": r.answer,
            "refused": self.refused,
            "citations": self.citations,
            "passed": self.passed,
            "reasons": self.reasons,
            "seconds": round(self.seconds, 3),
            "metrics": {k: v for k, v in self.metrics.items() if v is not None},
            "retrieved": self.retrieved,
            "error": self.error,
        }


def grade(
    record: QARecord,
    answer: Mapping[str, Any],
    texts: SourceTexts,
    *,
    k: int,
    seconds: float = 0.0,
    error: str | None = None,
) -> QuestionResult:
    """Grade one answer, given as ``ask --json`` gives it."""
    text = str(answer.get("answer", ""))
    refused = bool(answer.get("refused"))
    citations = [dict(c) for c in answer.get("citations", [])]
    retrieved = [str(p["source"]) for p in answer.get("retrieved", [])]
    cited = [str(c["source"]) for c in citations]
    expected = record.source_files
    reasons: list[str] = []
    m: dict[str, float | None] = dict.fromkeys(METRICS)

    if record.answerable:
        outlets = record.outlets if record.kind in OUTLET_KINDS else ()
        lacks = missing_strings(text, record.must_contain, outlets)
        m["answer_accuracy"] = float(not refused and not lacks)
        if refused:
            reasons.append("declined an answerable question")
        elif lacks:
            reasons.append("answer lacks " + ", ".join(repr(s) for s in lacks))
        if expected:
            m["hit_at_k"] = hit_at_k(retrieved, expected, k)
            m["mrr"] = reciprocal_rank(retrieved, expected)
            m["cited_hit"] = hit_at_k(cited, expected, len(cited))
            m["cited_mrr"] = reciprocal_rank(cited, expected)
            if not refused and not m["cited_hit"]:
                reasons.append(
                    "cites no supporting source (expected one of " + ", ".join(expected) + ")"
                )
    else:
        m["answer_accuracy"] = float(refused)
        if not refused:
            reasons.append("answered a question the corpus does not answer (should decline)")
    m["refusal_accuracy"] = float(refused != record.answerable)

    if record.kind in OUTLET_KINDS and record.outlets:
        unnamed = [o for o in record.outlets if not names_outlet(text, o)]
        m["attribution_accuracy"] = float(not unnamed)
        if unnamed and not refused:
            reasons.append("does not name " + ", ".join(unnamed) + " as a whole word")

    problems = [p for c in citations if (p := citation_problem(c, texts))]
    reasons += problems
    if citations:
        m["citation_exactness"] = (len(citations) - len(problems)) / len(citations)

    cited_by_id = {int(c["id"]): Cited(str(c["quote"]), citation_label(c)) for c in citations}
    scores = None if refused else citation_scores(statements(text), cited_by_id)
    if scores:
        m["citation_recall"], m["citation_precision"] = scores
        m["citation_support"] = float(scores[0] == 1.0)

    if error:  # the other reasons only restate that there is no answer
        reasons = [f"engine error: {error}"]
    result = QuestionResult(
        record,
        text,
        refused,
        citations,
        retrieved,
        m,
        reasons,
        seconds,
        exact_citations=len(citations) - len(problems),
        error=error,
        direct=answer.get("direct_answer"),
    )
    m["pass_rate"] = float(result.passed)
    return result
