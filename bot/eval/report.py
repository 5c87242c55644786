"""The eval run and its report: every question asked and graded, the metrics
by kind, the comparison with a baseline report, the ``--fail-under`` gate,
and the report as tables (rich).

    evaluate(engine, records, mode)  ask each question and grade it -> ``Report``
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot import AskOptions, Mode
from index import BadThreshold, ReportError, SourceTexts

from .grading import METRICS, QuestionResult, grade
from .qa_format import KINDS, QARecord

if TYPE_CHECKING:
    from bot import Answer
    from index import Settings

# ---------------------------------------------------------------- the run


class EvalEngine(Protocol):
    """What ``evaluate`` needs of ``bot.Engine`` (tests pass fakes)."""

    settings: Settings

    def ask(self, question: str, options: AskOptions | None = None) -> Answer: ...

    def source_texts(self) -> SourceTexts: ...


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
    texts = texts or engine.source_texts()
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
    """``METRIC=VALUE`` strings -> {metric: value}; ``BadThreshold`` for anything else."""
    out: dict[str, float] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        name = name.strip()
        if not sep:
            raise BadThreshold(f"{spec!r}: write METRIC=VALUE, e.g. answer_accuracy=0.8")
        if name not in METRICS:
            raise BadThreshold(f"unknown metric {name!r}. Valid metrics: {', '.join(METRICS)}")
        try:
            out[name] = float(value)
        except ValueError:
            raise BadThreshold(f"{spec!r}: {value!r} is not a number") from None
        if not 0.0 <= out[name] <= 1.0:
            raise BadThreshold(f"{spec!r}: metrics are between 0 and 1")
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
