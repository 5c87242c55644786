"""``newsbot eval``: the click command, with its progress bar, tables,
``--report``, ``--baseline`` and ``--fail-under``.

Imported by the CLI at start-up, so the heavy modules load only when the
command runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

if TYPE_CHECKING:
    from index import Settings

    from .grading import QuestionResult
    from .report import EvalEngine


@click.command("eval")
@click.argument("qa_file", type=click.Path(path_type=Path))
@click.option(
    "--mode",
    type=click.Choice(["auto", "llm", "extractive"]),
    default="extractive",
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@click.option(
    "--report", type=click.Path(path_type=Path), help="Also write the JSON report to FILE."
)
@click.option(
    "--baseline", type=click.Path(path_type=Path), help="Compare with an earlier JSON report."
)
@click.option(
    "--fail-under", multiple=True, metavar="METRIC=VALUE", help="Exit 1 when METRIC < VALUE."
)
@click.pass_obj
def eval_cmd(
    settings: Settings,
    qa_file: Path,
    mode: str,
    as_json: bool,
    report: Path | None,
    baseline: Path | None,
    fail_under: tuple[str, ...],
) -> None:
    """Run fixed question/answer pairs and grade the answers."""
    from index import BadThreshold

    from ..frontends.cli import open_engine, user_errors

    with user_errors():
        try:
            code = run_eval_command(
                settings,
                qa_file,
                mode=mode,
                as_json=as_json,
                report=report,
                baseline=baseline,
                fail_under=list(fail_under),
                open_engine=open_engine,
            )
        except BadThreshold as e:
            raise click.BadParameter(str(e), param_hint="--fail-under") from None
    raise SystemExit(code)


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
    from rich.console import Console
    from rich.markup import escape

    from bot import Mode
    from index import QAFileError, ReportError

    from ..frontends.render import progress_bar
    from .qa_format import load_qa
    from .report import (
        _comparison_json,
        compare,
        evaluate,
        failed_thresholds,
        load_report,
        parse_thresholds,
        render,
        render_comparison,
    )
    from .turns import is_turns_file

    if is_turns_file(qa_file):  # a file of conversations (records with "turns")
        if baseline or fail_under:
            raise QAFileError(
                "--baseline and --fail-under apply to question files, not conversations"
            )
        return run_turns_command(
            settings, qa_file, mode=mode, as_json=as_json, report=report, open_engine=open_engine
        )
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


def run_turns_command(
    settings: Settings,
    path: Path,
    *,
    mode: str,
    as_json: bool,
    report: Path | None,
    open_engine: Callable[[Settings], AbstractContextManager[EvalEngine]],
) -> int:
    """``newsbot eval`` on a conversations file: a table by case, then the failed turns."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from bot import Mode

    from .turns import TurnsFileError, load_turns, run_conversations, summary

    conversations = load_turns(path)
    if report and not report.parent.is_dir():
        raise TurnsFileError(f"Cannot write the report to {report}: no folder {report.parent}")
    with open_engine(settings) as engine:
        results = run_conversations(engine, conversations, cast(Mode, mode))
    totals = summary(results)
    data: dict[str, Any] = {"summary": totals, "turns": [r.to_json() for r in results]}
    if report:
        report.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", "utf-8")
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    out = Console()
    table = Table(title=f"Conversations ({mode})", box=None)
    for col in ("case", "turns", "passed", "turn acc.", "conversations", "conv. acc."):
        table.add_column(col, justify="left" if col == "case" else "right")
    rows = list(totals["by_case"].items()) + [("overall", totals["overall"])]
    for name, b in rows:
        table.add_row(
            name,
            str(b["turns"]),
            str(b["passed"]),
            f"{b['turn_accuracy']:.2f}",
            str(b["conversations"]),
            f"{b['conversation_accuracy']:.2f}",
        )
    out.print(table)
    failed = [r for r in results if not r.passed]
    if failed:
        out.print(f"\nFailed turns ({len(failed)} of {len(results)})")
        for r in failed:
            out.print(
                f"{escape(r.conversation)} turn {r.n} ({escape(r.spec.case)}) {escape(r.spec.question)}"
            )
            for why in r.reasons:
                out.print(f"  - {escape(why)}")
    else:
        out.print(f"\nAll {len(results)} turns passed.")
    return 0
