"""Rendering an ``Answer`` and an ingest report for the terminal (rich)."""

from __future__ import annotations

import re

from rich.console import Console, Group
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from bot import Answer, Citation
from index import IngestReport


def progress_bar(console: Console, *, enabled: bool = True) -> Progress:
    """The progress bar every long command shows (on stderr, gone when done)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not enabled,
    )


def short(text: str, n: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def answer_text(answer: Answer) -> Text:
    """The answer with its [n] markers highlighted."""
    t = Text()
    for part in re.split(r"(\[\d+\])", answer.answer):
        t.append(part, style="bold cyan" if re.fullmatch(r"\[\d+\]", part) else None)
    return t


def sources_table(citations: list[Citation]) -> Table:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for col in ("#", "outlet", "date", "title", "quote"):
        table.add_column(col, overflow="fold")
    for c in citations:
        table.add_row(
            f"[{c.id}]",
            escape(c.outlet_label),
            c.published or "",
            escape(short(c.title or c.source, 50)),
            escape(short(c.quote, 60)),
        )
    return table


def render_answer(console: Console, answer: Answer, notes: Console | None = None) -> None:
    """The answer and its sources on ``console``; the search line and notices go to
    ``notes`` when given (the CLI's stderr), else before the answer."""
    parts: list[Text | Table] = []
    lines: list[Text] = []
    if answer.standalone_question and answer.standalone_question != answer.question:
        lines.append(Text(f"(searched for: {answer.standalone_question})", style="dim"))
    for notice in answer.notices:
        lines.append(Text(f"note: {notice}", style="yellow"))
    if notes is not None:
        for line in lines:
            notes.print(line)
    else:
        parts += lines
    parts.append(answer_text(answer))
    if answer.citations:
        parts.append(Text(""))
        parts.append(sources_table(answer.citations))
    console.print(Group(*parts))


def render_ingest(console: Console, r: IngestReport) -> None:
    console.print(
        f"Indexed {r.files - r.files_skipped} file(s) ({r.files_unchanged} unchanged, "
        f"{r.files_skipped} skipped), {r.articles} article(s) read, "
        f"{r.chunks_added} chunk(s) added, {r.chunks_removed} removed, in {r.seconds:.1f} s."
    )
    if r.skipped:
        table = Table("skipped", "reason", box=None, header_style="bold yellow")
        for name, why in r.skipped[:50]:
            table.add_row(escape(name), escape(why))
        console.print(table)
        if len(r.skipped) > 50:
            console.print(f"... and {len(r.skipped) - 50} more skipped.")
