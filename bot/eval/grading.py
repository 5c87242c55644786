"""``newsbot eval``: ask fixed questions, grade the answers, gate CI on the metrics.

    load_qa(path)                  a Q&A JSONL file -> validated ``QARecord``s
    evaluate(engine, records, mode) ask each question and grade it -> ``Report``
    run_eval_command(...)          the CLI: progress bar, tables, --report, --baseline, --fail-under

The Q&A format is ``tests/qa/README``'s (id, question, answer, must_contain,
source_files, outlets, kind), plus RealTime QA's extras (week, date, choices,
asked_by). ``date`` is the day the question was asked: it becomes ``as_of``.

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
    citation_exactness   share of all citations whose quote == text_of(source)[start:end];
                         anything under 1.0 is a bug
    citation_recall      ALCE: share of the answer's statements that their citations support
    citation_precision   ALCE: share of citations that are not superfluous
    citation_support     share of answers whose every statement is supported
"""

from __future__ import annotations

import difflib
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol, cast

import click
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from index.errors import CorpusError, NewsbotError
from index.readers import CorpusFile, Skip, parse_date, read_bytes, read_file

from .engine import AskOptions, Mode
from .render import progress_bar
from .verify import ReplySentence, parse_reply, supports

if TYPE_CHECKING:
    from index.settings import Settings

    from .types import Answer

KINDS = ("fact", "attribution", "comparison", "multi-article", "unanswerable")
OUTLET_KINDS = frozenset({"attribution", "comparison"})  # outlets graded as whole words
FIELDS = ("id", "question", "kind", "answer", "must_contain", "source_files", "outlets", "date")
EXTRA_FIELDS = ("week", "choices", "asked_by")  # RealTime QA's, accepted and ignored
REQUIRED = ("id", "question", "kind")

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


class QAFileError(NewsbotError):
    """A Q&A file that can't be read: the message names the line and the problem."""


class ReportError(NewsbotError):
    """A baseline report that can't be read, or a report that can't be written."""


# ---------------------------------------------------------------- the Q&A file


@dataclass(frozen=True)
class QARecord:
    id: str
    question: str
    kind: str
    must_contain: tuple[str, ...] = ()
    source_files: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()
    answer: str | None = None  # the reference answer, for the reader of the report
    date: date | None = None  # the day it was asked: the engine's as_of
    line: int = 0

    @property
    def answerable(self) -> bool:
        return self.kind != "unanswerable"


def _strings(value: Any, name: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise QAFileError(f"{where}: '{name}' must be a list of strings, got {json.dumps(value)}")
    return tuple(value)


def parse_record(obj: Any, where: str, line: int = 0) -> QARecord:
    """One Q&A object; ``where`` (``file:line``) starts every error message."""
    if not isinstance(obj, dict):
        raise QAFileError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    for name in obj:
        if name not in FIELDS and name not in EXTRA_FIELDS:
            close = difflib.get_close_matches(name, FIELDS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise QAFileError(
                f"{where}: unknown field '{name}'{hint}. Known fields: {', '.join(FIELDS)}; "
                f"also accepted: {', '.join(EXTRA_FIELDS)}."
            )
    for name in REQUIRED:
        if name not in obj:
            raise QAFileError(f"{where}: missing required field '{name}'")
    qid = obj["id"]
    if not isinstance(qid, str | int) or isinstance(qid, bool) or not str(qid).strip():
        raise QAFileError(f"{where}: 'id' must be a non-empty string")
    question = obj["question"]
    if not isinstance(question, str) or not question.strip():
        raise QAFileError(f"{where}: 'question' must be a non-empty string")
    kind = obj["kind"]
    if kind not in KINDS:
        raise QAFileError(f"{where}: unknown kind {json.dumps(kind)}; one of: {', '.join(KINDS)}")
    must = _strings(obj.get("must_contain", []), "must_contain", where)
    if kind != "unanswerable" and not [m for m in must if m.strip()]:
        raise QAFileError(
            f"{where}: missing required field 'must_contain' (a {kind} question needs at "
            "least one string a correct answer contains)"
        )
    answer = obj.get("answer")
    if answer is not None and not isinstance(answer, str):
        raise QAFileError(f"{where}: 'answer' must be a string")
    asked: date | None = None
    if obj.get("date") is not None:
        asked = parse_date(obj["date"]) if isinstance(obj["date"], str) else None
        if asked is None:
            raise QAFileError(f"{where}: 'date' must be YYYY-MM-DD, got {json.dumps(obj['date'])}")
    return QARecord(
        id=str(qid).strip(),
        question=question,
        kind=kind,
        must_contain=must,
        source_files=_strings(obj.get("source_files", []), "source_files", where),
        outlets=_strings(obj.get("outlets", []), "outlets", where),
        answer=answer,
        date=asked,
        line=line,
    )


def load_qa(path: Path, warn: Callable[[str], None] | None = None) -> list[QARecord]:
    """The records of a Q&A JSONL file (one JSON object a line; blank lines ignored).

    A repeated id is kept apart as ``ID#2``, ``ID#3``..., and ``warn`` is told:
    reports and baselines key questions by id. (RealTime QA's questions.jsonl
    repeats two ids for different questions.)
    """
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise QAFileError(f"No such Q&A file: {path}") from None
    except IsADirectoryError:
        raise QAFileError(f"{path} is a folder; give a .jsonl file of questions") from None
    except OSError as e:
        raise QAFileError(f"{path}: unreadable ({e.strerror or e})") from None
    except UnicodeDecodeError as e:
        raise QAFileError(f"{path}: not UTF-8 text (byte {e.start})") from None
    records: list[QARecord] = []
    first_line: dict[str, int] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        where = f"{path}:{n}"
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            raise QAFileError(f"{where}: not valid JSON ({e.msg} at column {e.colno})") from None
        rec = parse_record(obj, where, n)
        if rec.id in first_line:
            unique = next(
                f"{rec.id}#{i}" for i in range(2, n + 2) if f"{rec.id}#{i}" not in first_line
            )
            if warn:
                warn(
                    f"{where}: duplicate id '{rec.id}' (first on line {first_line[rec.id]}); "
                    f"reported as '{unique}'"
                )
            rec = replace(rec, id=unique)
        first_line[rec.id] = n
        records.append(rec)
    if not records:
        raise QAFileError(
            f"{path} holds no questions. Write one JSON object a line, e.g. "
            '{"id": "q1", "question": "...", "kind": "fact", "must_contain": ["..."]}'
        )
    return records


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


class SourceTexts:
    """The exact text each citation's offsets index, as ``index.readers.text_of``
    gives it, with each file read once (a JSONL.GZ of thousands of records is
    not re-read per citation).

    ``files`` maps a source to the file it was indexed from (the index's ledger
    knows); other sources are looked up under ``corpus_root``.
    """

    def __init__(self, corpus_root: Path, files: Mapping[str, Path] | None = None) -> None:
        self.corpus_root = corpus_root
        self.files = dict(files or {})
        self._cache: dict[Path, dict[str, str]] = {}

    def text(self, source: str) -> str:
        rel, _, rid = source.partition("#")
        path = self.files.get(source) or (self.corpus_root / rel).resolve()
        if path not in self._cache:
            try:
                arts = read_file(CorpusFile(path, rel), read_bytes(path), [])
            except Skip as e:
                raise CorpusError(f"{source}: {e}") from None
            self._cache[path] = {a.source: a.text for a in arts}
        texts = self._cache[path]
        if source in texts:
            return texts[source]
        if not rid and len(texts) == 1:
            return next(iter(texts.values()))
        raise CorpusError(f"{source}: not found")


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


_CAVEAT = re.compile(r"^\s*Caveat on \[")  # notes on the sources that both engines append


class SupportCheck(Protocol):
    """``bot.verify.supports``'s signature: does ``passage`` (with its provenance
    ``label``) support ``sentence``?"""

    def __call__(self, sentence: str, passage: str, *, label: str = "") -> bool: ...


@dataclass(frozen=True)
class Cited:
    """What a citation puts behind a claim: its quote and its provenance."""

    quote: str
    label: str = ""


def citation_label(citation: Mapping[str, Any]) -> str:
    """A citation's provenance as words, as ``bot.verify.label_of`` gives a passage's:
    the answer may name the outlet and date without the quote containing them."""
    parts = [str(citation.get(k) or "") for k in ("outlet", "publisher", "title")]
    published = parse_date(citation.get("published"))
    if published:
        parts += [published.isoformat(), published.strftime("%B %-d %Y %A")]
    return " ".join(p for p in parts if p)


def _open_quote(text: str) -> bool:
    return text.count("“") > text.count("”") or text.count('"') % 2 == 1


def statements(answer: str) -> list[ReplySentence]:
    """The answer's claims with the citation ids each carries.

    Sentences as ``bot.verify.parse_reply`` reads an LLM reply, except that a
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


# ---------------------------------------------------------------- the run


class EvalEngine(Protocol):
    """What ``evaluate`` needs of ``bot.engine.Engine`` (tests pass fakes)."""

    settings: Settings

    def ask(self, question: str, options: AskOptions | None = None) -> Answer: ...


def source_texts_for(engine: EvalEngine) -> SourceTexts:
    """Source texts located through the index's ledger (which file each article
    came from), falling back to the corpus folder."""
    files: dict[str, Path] = {}
    ledger = getattr(getattr(engine, "store", None), "ledger", None)
    if ledger is not None:
        for path in ledger.files():
            for source in ledger.sources_of(path):
                files[source] = Path(path)
    return SourceTexts(engine.settings.corpus_dir, files)


def _group(results: Sequence[QuestionResult]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "questions": len(results),
        "passed": sum(r.passed for r in results),
        "errors": sum(r.error is not None for r in results),
        "seconds_per_question": (
            round(sum(r.seconds for r in results) / len(results), 3) if results else None
        ),
    }
    for name in METRICS:
        if name == "citation_exactness":  # over citations, not questions
            total = sum(len(r.citations) for r in results)
            value = sum(r.exact_citations for r in results) / total if total else None
        else:
            values = [v for r in results if (v := r.metrics[name]) is not None]
            value = sum(values) / len(values) if values else None
        out[name] = None if value is None else round(value, 4)
    return out


@dataclass
class Report:
    mode: str
    k: int
    questions: list[QuestionResult] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        kinds = [k for k in KINDS if any(q.record.kind == k for q in self.questions)]
        return {
            "mode": self.mode,
            "k": self.k,
            "overall": _group(self.questions),
            "by_kind": {
                k: _group([q for q in self.questions if q.record.kind == k]) for k in kinds
            },
        }

    def to_json(self) -> dict[str, Any]:
        return {"summary": self.summary(), "questions": [q.to_json() for q in self.questions]}


def evaluate(
    engine: EvalEngine,
    records: Sequence[QARecord],
    mode: Mode = "extractive",
    *,
    k: int | None = None,
    texts: SourceTexts | None = None,
    on_result: Callable[[QuestionResult], None] | None = None,
) -> Report:
    """Ask every question and grade the answers. A question that crashes the
    engine is graded as an empty answer, with its error; the run goes on.

    ``k`` is the cut-off for hit@k (default: the engine's top_k).
    """
    k = k or engine.settings.top_k
    texts = texts or source_texts_for(engine)
    report = Report(mode, k)
    for rec in records:
        t0 = time.perf_counter()
        error = None
        try:
            answer = engine.ask(rec.question, AskOptions(mode=mode, as_of=rec.date)).to_json()
        except Exception as e:  # one bad question must not end the run
            answer, error = {}, f"{type(e).__name__}: {e}"
        result = grade(rec, answer, texts, k=k, seconds=time.perf_counter() - t0, error=error)
        report.questions.append(result)
        if on_result:
            on_result(result)
    return report


# ---------------------------------------------------------------- baseline and gating


@dataclass
class Comparison:
    regressed: list[str]  # passed in the baseline, fail now
    improved: list[str]  # failed in the baseline, pass now
    added: list[str]
    removed: list[str]
    deltas: dict[str, float]  # overall metric now minus then


def load_report(path: Path) -> dict[str, Any]:
    """An earlier ``--report`` / ``--json`` output."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"No such baseline report: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ReportError(f"{path}: unreadable ({e})") from None
    except json.JSONDecodeError as e:
        raise ReportError(f"{path}: not JSON (line {e.lineno}: {e.msg})") from None
    qs = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(qs, list) or not all(
        isinstance(q, dict) and "id" in q and "passed" in q for q in qs
    ):
        raise ReportError(
            f"{path} is not a newsbot eval report (expected 'questions' with id and passed; "
            "write one with: newsbot eval QA.jsonl --report FILE)"
        )
    return cast(dict[str, Any], data)


def compare(report: Report, baseline: Mapping[str, Any]) -> Comparison:
    before = {str(q["id"]): bool(q["passed"]) for q in baseline["questions"]}
    now = {q.record.id: q.passed for q in report.questions}
    summary = baseline.get("summary")
    then = summary.get("overall", {}) if isinstance(summary, dict) else {}
    overall = report.summary()["overall"]
    deltas = {
        name: round(overall[name] - then[name], 4)
        for name in METRICS
        if isinstance(then.get(name), int | float) and overall[name] is not None
    }
    return Comparison(
        regressed=[i for i, ok in now.items() if before.get(i) is True and not ok],
        improved=[i for i, ok in now.items() if before.get(i) is False and ok],
        added=[i for i in now if i not in before],
        removed=[i for i in before if i not in now],
        deltas=deltas,
    )


def parse_thresholds(specs: Sequence[str]) -> dict[str, float]:
    """``METRIC=VALUE`` strings -> {metric: value}; a clear error for anything else."""
    out: dict[str, float] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        name = name.strip()
        if not sep:
            raise click.BadParameter(
                f"{spec!r}: write METRIC=VALUE, e.g. answer_accuracy=0.8", param_hint="--fail-under"
            )
        if name not in METRICS:
            raise click.BadParameter(
                f"unknown metric {name!r}. Valid metrics: {', '.join(METRICS)}",
                param_hint="--fail-under",
            )
        try:
            out[name] = float(value)
        except ValueError:
            raise click.BadParameter(
                f"{spec!r}: {value!r} is not a number", param_hint="--fail-under"
            ) from None
        if not 0.0 <= out[name] <= 1.0:
            raise click.BadParameter(
                f"{spec!r}: metrics are between 0 and 1", param_hint="--fail-under"
            )
    return out


def failed_thresholds(summary: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[str]:
    """One line per threshold the overall metrics miss (an unmeasured metric misses)."""
    overall = summary["overall"]
    out = []
    for name, floor in thresholds.items():
        value = overall.get(name)
        if value is None:
            out.append(f"{name} was not measured (no question it applies to); required {floor}")
        elif value < floor:
            out.append(f"{name} = {value:.3f} is under {floor}")
    return out


# ---------------------------------------------------------------- output


ANSWER_COLUMNS = (
    ("answer", "answer_accuracy"),
    ("refusal", "refusal_accuracy"),
    ("attribution", "attribution_accuracy"),
)
CITATION_COLUMNS = (
    ("hit@k", "hit_at_k"),
    ("MRR", "mrr"),
    ("cited", "cited_hit"),
    ("exact", "citation_exactness"),
    ("recall", "citation_recall"),
    ("prec.", "citation_precision"),
    ("supp.", "citation_support"),
)


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _table(title: str, columns: Sequence[tuple[str, str]], report: Report, timing: bool) -> Table:
    """One row per kind and an overall row; exactness under 1.0 shows in red."""
    summary = report.summary()
    table = Table(
        title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False
    )
    table.add_column("kind", no_wrap=True, min_width=13)
    if timing:
        table.add_column("n", justify="right")
        table.add_column("passed", justify="right")
    for head, _ in columns:
        table.add_column(head.replace("@k", f"@{report.k}"), justify="right")
    if timing:
        table.add_column("s/question", justify="right")
    rows = [*summary["by_kind"].items(), ("overall", summary["overall"])]
    for i, (kind, g) in enumerate(rows):
        cells = [
            f"[red]{_fmt(g[m])}[/]"
            if m == "citation_exactness" and g[m] not in (None, 1)
            else _fmt(g[m])
            for _, m in columns
        ]
        if timing:
            cells = [
                str(g["questions"]),
                str(g["passed"]),
                *cells,
                f"{g['seconds_per_question']:.2f}",
            ]
        table.add_row(
            kind,
            *cells,
            style="bold" if kind == "overall" else None,
            end_section=i == len(rows) - 2,
        )
    return table


def metrics_tables(report: Report) -> list[Table]:
    """The metrics by kind: answers, then retrieval and citations."""
    return [
        _table(f"Answers ({report.mode})", ANSWER_COLUMNS, report, timing=True),
        _table("Retrieval and citations", CITATION_COLUMNS, report, timing=False),
    ]


def render(console: Console, report: Report) -> None:
    for table in metrics_tables(report):
        console.print(table)
    failures = [q for q in report.questions if not q.passed]
    if not failures:
        console.print(f"[green]All {len(report.questions)} questions passed.[/]")
        return
    console.print(f"\n[bold]Failures ({len(failures)} of {len(report.questions)})[/]")
    for q in failures:
        console.print(
            f"[bold]{escape(q.record.id)}[/] [dim]({q.record.kind})[/] {escape(q.record.question)}"
        )
        for reason in q.reasons:
            console.print(f"  - {escape(reason)}", highlight=False)
        if q.record.answer:
            console.print(f"  [dim]expected: {escape(q.record.answer)}[/]", highlight=False)


def render_comparison(console: Console, c: Comparison, path: Path, report: Report) -> None:
    console.print(
        f"\nCompared with {escape(str(path))}: {len(c.regressed)} regressed, "
        f"{len(c.improved)} improved.",
        soft_wrap=True,
    )
    reasons = {q.record.id: q.reasons for q in report.questions}
    for qid in c.regressed:  # each with what fails now
        why = "; ".join(reasons.get(qid, []))
        console.print(
            f"  [red]regressed:[/] {escape(qid)} ({escape(why)})", highlight=False, soft_wrap=True
        )
    for label, ids, style in (
        ("improved", c.improved, "green"),
        ("new", c.added, "dim"),
        ("no longer in the file", c.removed, "dim"),
    ):
        if ids:
            console.print(f"  [{style}]{label}:[/] {escape(', '.join(ids))}", highlight=False)
    changed = {k: v for k, v in c.deltas.items() if v}
    if changed:
        console.print(
            "  metrics: " + ", ".join(f"{k} {v:+.3f}" for k, v in changed.items()), highlight=False
        )


def _comparison_json(c: Comparison, path: Path) -> dict[str, Any]:
    return {
        "file": str(path),
        "regressed": c.regressed,
        "improved": c.improved,
        "added": c.added,
        "removed": c.removed,
        "deltas": c.deltas,
    }


def run_eval_command(
    settings: Settings,
    qa_file: Path,
    *,
    mode: str = "extractive",
    as_json: bool = False,
    report: Path | None = None,
    baseline: Path | None = None,
    fail_under: Sequence[str] = (),
    open_engine: Callable[[Settings], AbstractContextManager[EvalEngine]],
) -> int:
    """``newsbot eval``. Returns the exit code: 1 when a --fail-under threshold is
    missed, or when a question that passed in the --baseline report fails now."""
    thresholds = parse_thresholds(fail_under)  # every input is checked before the slow part
    out, err = Console(), Console(stderr=True)
    records = load_qa(qa_file, warn=lambda msg: err.print(f"[yellow]warning:[/] {escape(msg)}"))
    before = load_report(baseline) if baseline else None
    if report and not report.parent.is_dir():
        raise ReportError(f"Cannot write the report to {report}: no folder {report.parent}")

    progress = progress_bar(err)
    # The engine first: on a fresh machine it builds the index under its own progress bar.
    with open_engine(settings) as engine, progress:
        task = progress.add_task("evaluating", total=len(records))

        def advance(r: QuestionResult) -> None:
            progress.update(task, advance=1, description=f"{r.record.id} {r.seconds:.1f} s")

        result = evaluate(engine, records, cast(Mode, mode), on_result=advance)

    data = result.to_json()
    comparison = compare(result, before) if before is not None else None
    if comparison and baseline:
        data["baseline"] = _comparison_json(comparison, baseline)
    if report:
        try:
            report.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", "utf-8")
        except OSError as e:
            raise ReportError(f"Cannot write the report to {report} ({e.strerror or e})") from None

    human = err if as_json else out
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        render(out, result)
    if comparison and baseline:
        render_comparison(human, comparison, baseline, result)
    if report:
        human.print(f"Report written to {escape(str(report))}.")
    missed = failed_thresholds(data["summary"], thresholds)
    for line in missed:
        err.print(f"[red]fail-under:[/] {escape(line)}", highlight=False)
    regressed = bool(comparison and comparison.regressed)
    if regressed and comparison:
        err.print(
            f"[red]regression:[/] {len(comparison.regressed)} question(s) that passed in the "
            "baseline fail now",
            highlight=False,
        )
    return 1 if missed or regressed else 0
