"""The ``newsbot`` command. Thin: parse options, call the engine, render."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from index.errors import IndexNotReady, NewsbotError, QuestionError
from index.settings import Settings
from index.types import Filters

from .render import progress_bar

err = Console(stderr=True)


class UserError(click.ClickException):
    """A clean one-line message and an exit code; never a traceback."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = code  # type: ignore[misc]

    def show(self, file: Any = None) -> None:
        err.print(
            f"Error: {self.message}", markup=False, highlight=False, style="red", soft_wrap=True
        )


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn newsbot's errors into clean messages (NEWSBOT_RAISE_ERRORS=1 shows tracebacks)."""
    try:
        yield
    except QuestionError as e:
        if os.environ.get("NEWSBOT_RAISE_ERRORS"):
            raise
        raise UserError(str(e), 2) from None
    except NewsbotError as e:
        if os.environ.get("NEWSBOT_RAISE_ERRORS"):
            raise
        raise UserError(str(e)) from None


def parse_day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip().replace("/", "-"))
    except ValueError:
        raise UserError(f"{name}: {value!r} is not a date (use YYYY-MM-DD).", 2) from None


@contextmanager
def ingest_progress(enabled: bool = True) -> Iterator[Callable[[str, int, int | None], None]]:
    progress = progress_bar(err, enabled=enabled)
    tasks: dict[str, Any] = {}

    def update(what: str, n: int, total: int | None) -> None:
        if what not in tasks:
            tasks[what] = progress.add_task(f"indexing {what}", total=total)
        elif total is not None:
            progress.update(tasks[what], total=total)
        if n:
            progress.advance(tasks[what], n)

    with progress:
        yield update


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--index-dir", type=click.Path(path_type=Path), help="Index directory (NEWSBOT_INDEX_DIR)."
)
@click.pass_context
def main(ctx: click.Context, index_dir: Path | None) -> None:
    """Answer questions about news articles, citing the exact words of each outlet."""
    try:
        settings = Settings()
    except Exception as e:  # pydantic ValidationError: a bad setting in env or .env
        raise UserError(f"Bad configuration: {e}") from None
    if index_dir is not None:
        settings = settings.model_copy(update={"index_dir": index_dir})
    ctx.obj = settings


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Delete the index and build it again.")
@click.pass_obj
def ingest(settings: Settings, paths: tuple[Path, ...], rebuild: bool) -> None:
    """Index PATHS (files or folders; default: the corpus folder)."""
    from index.ingest import ingest as run_ingest

    from .render import render_ingest

    with user_errors(), ingest_progress() as progress:
        report = run_ingest(settings, list(paths) or None, rebuild=rebuild, progress=progress)
    render_ingest(err, report)


def open_engine(settings: Settings) -> Any:
    """The engine over the index; on a fresh machine, build the index first."""
    from index.ingest import ingest as run_ingest

    from .engine import Engine
    from .render import render_ingest

    try:
        return Engine.open(settings)
    except IndexNotReady as e:
        if not str(e).startswith("No index"):
            raise
    err.print(f"No index yet: indexing {settings.corpus_dir} first.")
    with ingest_progress() as progress:
        report = run_ingest(settings, None, progress=progress)
    render_ingest(err, report)
    return Engine.open(settings)


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (see README).")
@click.option("--outlet", help="Only articles from this outlet.")
@click.option("--since", help="Only articles published on or after this date (YYYY-MM-DD).")
@click.option("--until", help="Only articles published on or before this date (YYYY-MM-DD).")
@click.option("-k", "k", type=click.IntRange(1, 50), help="How many passages to retrieve.")
@click.option("--as-of", "as_of", help="The day the question is asked (YYYY-MM-DD; default today).")
@click.option(
    "--mode", type=click.Choice(["auto", "llm", "extractive"]), default="auto", show_default=True
)
@click.pass_obj
def ask(
    settings: Settings,
    question: str,
    as_json: bool,
    outlet: str | None,
    since: str | None,
    until: str | None,
    k: int | None,
    as_of: str | None,
    mode: str,
) -> None:
    """Answer QUESTION from the indexed articles."""
    from .engine import AskOptions, check_question
    from .render import render_answer

    filters = Filters(
        outlet=outlet, since=parse_day(since, "--since"), until=parse_day(until, "--until")
    )
    with user_errors():
        check_question(question, settings.max_question_chars)  # before any slow work
        with open_engine(settings) as engine:
            opts = AskOptions(filters=filters, k=k, mode=mode, as_of=parse_day(as_of, "--as-of"))  # type: ignore[arg-type]
            answer = engine.ask(question, opts)
    if as_json:
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    else:
        render_answer(Console(), answer)


@main.command()
@click.pass_obj
def sources(settings: Settings) -> None:
    """List the indexed articles."""
    from rich.table import Table

    from index.store import Store

    with user_errors(), Store(settings) as store:
        rows = store.articles()
    table = Table("outlet", "publisher", "date", "title", "chunks", "source", header_style="bold")
    for r in rows:
        table.add_row(
            r["outlet"],
            r["publisher"] or "",
            r["published"] or "",
            r["title"] or "",
            str(r["chunks"]),
            r["source"],
        )
    Console().print(table)
    err.print(f"{len(rows)} article(s).")


@main.command("eval")
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
    from .evaluate import run_eval_command

    with user_errors():
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
    raise SystemExit(code)


@main.command()
@click.pass_obj
def repl(settings: Settings) -> None:
    """Chat with the corpus in the terminal."""
    from .repl import run_repl

    with user_errors():
        run_repl(settings, open_engine=open_engine)


@main.command("discord")
@click.pass_obj
def discord_cmd(settings: Settings) -> None:
    """Run the Discord bot (needs DISCORD_TOKEN)."""
    from .discord_bot import run_discord

    with user_errors():
        run_discord(settings, open_engine=open_engine)


if __name__ == "__main__":
    main()
