"""The ``newsbot`` command. Thin: parse options, call the engine, render."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from pydantic import AliasChoices, SecretStr, ValidationError
from rich.console import Console
from rich.markup import escape

from index import Filters, NewsbotError, QuestionError, Settings, default_index_dir, parse_day

from ..eval.command import eval_cmd
from .render import progress_bar

if TYPE_CHECKING:
    from bot import Engine
    from index import IngestReport, Progress

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


@contextmanager
def ingest_progress(enabled: bool = True) -> Iterator[Callable[[str, int, int | None], None]]:
    progress = progress_bar(err, enabled=enabled and err.is_terminal)
    tasks: dict[str, Any] = {}
    counts: dict[str, list[int | None]] = {}
    last = [0.0]

    def update(what: str, n: int, total: int | None) -> None:
        done = counts.setdefault(what, [0, total])
        done[0] = int(done[0] or 0) + n
        if total is not None:
            done[1] = total
        if enabled and not err.is_terminal and time.monotonic() - last[0] >= 5:
            # piped or logged: a plain progress line every few seconds, not a bar
            last[0] = time.monotonic()
            err.print(
                "indexing: "
                + ", ".join(f"{k} {c}" + (f"/{t}" if t else "") for k, (c, t) in counts.items()),
                highlight=False,
            )
        if what not in tasks:
            tasks[what] = progress.add_task(f"indexing {what}", total=total)
        elif total is not None:
            progress.update(tasks[what], total=total)
        if n:
            progress.advance(tasks[what], n)

    with progress:
        yield update


def env_name(field: str) -> str:
    """The environment variable that sets ``field`` (its first alias, else NEWSBOT_FIELD)."""
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices) and alias.choices:
        return str(alias.choices[0])
    return f"NEWSBOT_{field.upper()}" if info else field


_EXPECTED = {
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "bool_parsing": "true or false",
}


def settings_problem(e: ValidationError) -> str:
    """pydantic's validation error as a line per setting, in the user's terms:
    "NEWSBOT_TOP_K must be a whole number, not 'abc'"."""
    lines = []
    for problem in e.errors():
        field = str(problem["loc"][0]) if problem["loc"] else "?"
        name, value = env_name(field), problem.get("input")
        expected = _EXPECTED.get(problem["type"])
        if expected:
            lines.append(f"{name} must be {expected}, not {value!r}")
        else:
            msg = str(problem["msg"]).removeprefix("Input should be ").removeprefix("Value error, ")
            lines.append(f"{name} must be {msg}, not {value!r}")
    return "; ".join(lines) + " (set in the environment or in .env)."


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as e:
        raise UserError(settings_problem(e), 2) from None


def _index_dir(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.obj = (ctx.obj or load_settings()).model_copy(update={"index_dir": value})


# Accepted before and after the subcommand: newsbot --index-dir X ask ..., newsbot ask --index-dir X
index_dir_option = click.option(
    "--index-dir",
    type=click.Path(path_type=Path),
    expose_value=False,
    callback=_index_dir,
    help="Index directory (NEWSBOT_INDEX_DIR).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version("newsbot"), "--version", prog_name="newsbot")
@index_dir_option
@click.pass_context
def main(ctx: click.Context) -> None:
    """Answer questions about news articles, citing the exact words of each outlet."""
    if ctx.obj is None:  # --index-dir, when given, has loaded the settings already
        ctx.obj = load_settings()


@main.command()
@index_dir_option
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Delete the index and build it again.")
@click.pass_obj
def ingest(settings: Settings, paths: tuple[Path, ...], rebuild: bool) -> None:
    """Index PATHS (files or folders; default: the corpus folder)."""
    from index import build_index

    from .render import render_ingest

    with user_errors(), ingest_progress() as progress:
        report = build_index(settings, list(paths) or None, rebuild=rebuild, progress=progress)
    render_ingest(err, report)


def show_build(settings: Settings, build: Callable[[Progress | None], IngestReport]) -> None:
    """How the terminal shows the engine building the index on first use."""
    from .render import render_ingest

    err.print(f"No index yet: indexing {settings.corpus_dir} first.")
    with ingest_progress() as progress:
        report = build(progress)
    render_ingest(err, report)


def open_engine(settings: Settings) -> Engine:
    """The engine over the index; on a fresh machine it builds the index first."""
    from bot import Engine

    return Engine.open(settings, on_build=show_build)


@main.command()
@index_dir_option
@click.argument("question", required=False)
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
    question: str | None,
    as_json: bool,
    outlet: str | None,
    since: str | None,
    until: str | None,
    k: int | None,
    as_of: str | None,
    mode: str,
) -> None:
    """Answer QUESTION from the indexed articles (- or a pipe: read it from stdin)."""
    from bot import AskOptions, check_question

    from .render import render_answer

    if question in (None, "-"):
        stdin = sys.stdin
        if question is None and stdin.isatty():
            raise UserError('Give a question: newsbot ask "Who is Pat Ryder?" (or pipe one in).', 2)
        question = stdin.read()

    with user_errors():
        filters = Filters(
            outlet=outlet, since=parse_day(since, "--since"), until=parse_day(until, "--until")
        )
        check_question(question, settings.max_question_chars)  # before any slow work
        with open_engine(settings) as engine:
            opts = AskOptions(filters=filters, k=k, mode=mode, as_of=parse_day(as_of, "--as-of"))  # type: ignore[arg-type]
            answer = engine.ask(question, opts)
    if as_json:
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    else:
        render_answer(Console(), answer, notes=err)


@main.command()
@index_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of the articles.")
@click.pass_obj
def sources(settings: Settings, as_json: bool) -> None:
    """List the indexed articles."""
    from rich.table import Table

    from bot import Engine

    with user_errors(), Engine.open(settings) as engine:
        rows = engine.articles()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
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


@main.command()
@index_dir_option
@click.option("--outlet", help="Start with this outlet filter.")
@click.option("--since", help="Start with articles published on or after this date.")
@click.option("--until", help="Start with articles published on or before this date.")
@click.option("--as-of", "as_of", help="The day the questions are asked (YYYY-MM-DD).")
@click.option("--mode", type=click.Choice(["auto", "llm", "extractive"]), help="Answer mode.")
@click.pass_obj
def repl(
    settings: Settings,
    outlet: str | None,
    since: str | None,
    until: str | None,
    as_of: str | None,
    mode: str | None,
) -> None:
    """Chat with the corpus in the terminal (or answer questions piped in, one a line)."""
    from .repl import run_repl

    with user_errors():
        for value, name in ((since, "--since"), (until, "--until"), (as_of, "--as-of")):
            parse_day(value, name)  # a bad date is refused before the index opens
    startup = [
        f"/{cmd} {value}"
        for cmd, value in (
            ("outlet", outlet),
            ("since", since),
            ("until", until),
            ("asof", as_of),
            ("mode", mode),
        )
        if value
    ]
    with user_errors():
        run_repl(settings, open_engine=open_engine, startup=startup)


@main.command("discord")
@index_dir_option
@click.pass_obj
def discord_cmd(settings: Settings) -> None:
    """Run the Discord bot (needs DISCORD_TOKEN)."""
    from .discord_bot import run_discord

    with user_errors():
        run_discord(settings, open_engine=open_engine)


@main.command("config")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.pass_obj
def config_cmd(settings: Settings, as_json: bool) -> None:
    """List every setting, its value, and where the value came from."""
    rows = describe_settings(settings)
    if as_json:
        click.echo(json.dumps({r[0]: {"value": r[2], "from": r[3]} for r in rows}, indent=2))
        return
    from rich.table import Table

    table = Table("setting", "variable", "value", "from", header_style="bold", box=None)
    for row in rows:
        table.add_row(*(escape(str(x)) for x in row))
    Console().print(table)


def describe_settings(settings: Settings) -> list[tuple[str, str, str, str]]:
    """(field, variable, value, source) per setting; secrets are shown as set or not.
    The source is the environment, .env, the command line (--index-dir) or the default."""
    files = Settings.model_config.get("env_file") or ()
    from_file: set[str] = set()
    for dotenv in files if isinstance(files, tuple) else (files,):
        if Path(str(dotenv)).is_file():
            from dotenv import dotenv_values

            from_file |= {k.upper() for k, v in dotenv_values(str(dotenv)).items() if v}
    rows = []
    for field, info in Settings.model_fields.items():
        names = [f"NEWSBOT_{field.upper()}"]
        if isinstance(info.validation_alias, AliasChoices):
            names = [str(c).upper() for c in info.validation_alias.choices]
        value = getattr(settings, field)
        shown = (
            ("(set)" if value.get_secret_value() else "") if isinstance(value, SecretStr) else value
        )
        if any(os.environ.get(n) for n in names):
            source = "environment"
        elif from_file & set(names):
            source = ".env"
        elif field == "index_dir" and value != default_index_dir():
            source = "--index-dir"
        else:
            source = "default"
        rows.append((field, names[0], "" if shown is None else str(shown), source))
    return rows


# ``newsbot eval`` lives with the eval package; --index-dir is accepted after it too.
main.add_command(index_dir_option(eval_cmd))

if __name__ == "__main__":
    main()
