"""The terminal chat, ``newsbot repl``.

prompt_toolkit reads the lines (history kept in the index directory, Ctrl-R
search, Ctrl-C clears the line, Ctrl-D quits); rich prints the answers with
``render.render_answer``. A line starting with ``/`` is a command; anything
else is a question, made standalone by ``Conversation`` and answered in a
worker thread. Ctrl-C sets the answer's cancel event, which stops the work at
its next check (between stages and between streamed LLM chunks), and keeps
the session. In LLM mode the raw tokens are shown as a provisional ``Draft``
while they stream, then replaced by the verified answer.
"""

from __future__ import annotations

import difflib
import os
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, TypeVar, get_args

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import NestedCompleter
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from bot import NO_LLM, Answer, AskOptions, Citation, Engine, Mode, check_question
from index import Cancelled, Filters, NewsbotError, Passage, Settings
from index import parse_day as parse_filter_day

from .render import render_answer, short

T = TypeVar("T")

HISTORY_FILE = "repl_history"
MODES: tuple[Mode, ...] = get_args(Mode)
COMMANDS = {
    "sources": "/sources [n]       the sources of the last answer; n: passage n in full",
    "outlet": "/outlet NAME|all   only articles from this outlet (all: any outlet)",
    "since": "/since DATE|off    only articles published on or after DATE (YYYY-MM-DD)",
    "until": "/until DATE|off    only articles published on or before DATE",
    "asof": "/asof DATE|off     ask as of DATE: nothing later is cited; 'this week' is read from it",
    "mode": "/mode auto|llm|extractive   how answers are written",
    "outlets": "/outlets           the indexed outlets and their article counts",
    "reset": "/reset             forget the conversation (filters stay)",
    "help": "/help              this list",
    "quit": "/quit              leave (or Ctrl-D)",
}
ALIASES = {"exit": "quit", "q": "quit", "source": "sources", "h": "help", "?": "help"}
WORKER = "newsbot-answer"  # the name of the thread that answers
STOP_GRACE = 2.0  # seconds a cancelled answer gets to stop before the prompt returns
SEARCHING = "Searching... (Ctrl-C cancels)"
DRAFTING = "drafting... (unverified; Ctrl-C cancels)"
PLAIN_LABEL = "drafting (unverified):"
SEPARATOR = "--- verified answer ---"


def run_cancellable(fn: Callable[[threading.Event], T], grace: float = STOP_GRACE) -> T:
    """``fn(cancel)`` in a worker thread. Ctrl-C (KeyboardInterrupt) while
    waiting sets ``cancel``, gives the worker up to ``grace`` seconds to stop
    (``fn`` checks the event as it goes), then re-raises."""
    cancel = threading.Event()
    future: Future[T] = Future()

    def work() -> None:
        try:
            future.set_result(fn(cancel))
        except BaseException as e:  # handed to the waiting thread
            future.set_exception(e)

    worker = threading.Thread(target=work, daemon=True, name=WORKER)
    try:
        worker.start()  # inside: a Ctrl-C can land while start() waits for the thread
        while True:  # short waits, so Ctrl-C is seen promptly on every platform
            try:
                return future.result(timeout=0.1)
            except TimeoutError:
                continue
    except KeyboardInterrupt:
        cancel.set()
        worker.join(grace)
        raise


class Draft:
    """The LLM's raw reply while it streams, shown as provisional.

    On a terminal: a live region, a spinner and "Searching..." until the first
    token, then a "drafting..." label over the tokens in dim text; it is erased
    when the work ends, so only the verified answer stays. Elsewhere (a pipe, a
    test): the tokens as they come after "drafting (unverified):", then, when
    the answer is ready, the line ``SEPARATOR`` before it. ``add`` may be
    called from any thread; once the draft is closed it ignores tokens."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.parts: list[str] = []
        self.closed = False
        self.printed = False  # plain output: the label is out
        self.lock = threading.Lock()
        self.live: Live | None = None
        self.searching = Spinner("dots", SEARCHING)
        self.drafting = Spinner("dots", Text(DRAFTING, style="dim italic"))

    def __enter__(self) -> Draft:
        if self.console.is_interactive:
            self.live = Live(self, console=self.console, transient=True, refresh_per_second=12)
            self.live.start()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        with self.lock:
            self.closed = True
        if self.live is not None:
            self.live.stop()  # transient: the draft disappears
        elif self.printed:
            self.console.print()
            if exc_type is None:
                self.console.print(SEPARATOR, style="dim", markup=False, highlight=False)

    def add(self, token: str) -> None:
        with self.lock:
            if self.closed:
                return
            self.parts.append(token)
            if self.live is None:
                self._print(token)

    def _print(self, token: str) -> None:
        """Plain output: the label before the first visible token, then tokens as they come."""
        if not self.printed:
            token = token.lstrip()
            if not token:
                return
            self.console.print(PLAIN_LABEL, end=" ", style="dim", markup=False)
            self.printed = True
        self.console.print(token, end="", markup=False, highlight=False, soft_wrap=True)

    def __rich__(self) -> RenderableType:
        """What the live region shows: the spinner, or the tail of the draft
        that fits the terminal (the newest tokens stay in sight)."""
        if not self.parts:
            return self.searching
        width, height = self.console.size
        lines = Text("".join(self.parts), style="dim").wrap(self.console, width)
        tail = list(lines)[-max(1, height - 2) :]
        return Group(self.drafting, *tail)


def parse_day(value: str) -> date | None:
    """A day typed after /since, /until or /asof."""
    return parse_filter_day(value, hint=", or 'off'")


def history_at(path: Path) -> History:
    """The history file, or a history in memory when the directory is read-only."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError:
        return InMemoryHistory()
    return FileHistory(str(path))


class Repl:
    """The state of one chat session and what each line does to it."""

    def __init__(self, engine: Engine, console: Console) -> None:
        self.engine = engine
        self.console = console
        self.outlets = engine.known_outlets()
        self.cancel: threading.Event | None = None  # that of the answer in progress
        # follow-ups condensed by the LLM, when there is one, stop with the answer
        self.conversation = engine.conversation(cancel=lambda: self.cancel)
        self.filters = Filters()
        self.mode: Mode = "auto"
        self.as_of: date | None = None
        self.last: Answer | None = None

    def say(self, text: str, style: str | None = None) -> None:
        self.console.print(text, style=style, markup=False, highlight=False)

    def prompt(self) -> str:
        """``newsbot> ``, or with the active filters and mode: ``newsbot [RT, extractive]> ``."""
        state = self.describe_filters(empty="")
        if self.mode != "auto":
            state = f"{state}, {self.mode}" if state else self.mode
        return f"newsbot [{state}]> " if state else "newsbot> "

    def describe_filters(self, empty: str = "none") -> str:
        f = self.filters
        parts = [f.outlet or ""]
        parts += [f"since {f.since}" if f.since else "", f"until {f.until}" if f.until else ""]
        parts += [f"as of {self.as_of}" if self.as_of else ""]
        return ", ".join(p for p in parts if p) or empty

    def completer(self) -> NestedCompleter:
        table: dict[str, Any] = {f"/{c}": None for c in COMMANDS}
        table["/outlet"] = {o: None for o in [*self.outlets, "all"]}
        table["/mode"] = {m: None for m in MODES}
        table["/since"] = table["/until"] = table["/asof"] = {"off": None}
        return NestedCompleter.from_nested_dict(table)

    def handle(self, line: str) -> bool:
        """Do what ``line`` says; False when the session should end."""
        line = line.strip()
        try:
            if line.startswith("/"):
                return self.command(line[1:])
            if line:
                self.ask(line)
        except Cancelled:
            self.say("cancelled", "yellow")
        except NewsbotError as e:
            self.say(str(e), "red")
        except Exception as e:
            if os.environ.get("NEWSBOT_RAISE_ERRORS"):
                raise
            self.say(f"Unexpected error ({type(e).__name__}): {e}", "red")
        return True

    def command(self, text: str) -> bool:
        name, _, arg = text.strip().partition(" ")
        name = ALIASES.get(name.lower(), name.lower())
        if name == "quit":
            return False
        if name not in COMMANDS:
            close = difflib.get_close_matches(name, list(COMMANDS), n=1, cutoff=0.5)
            hint = f"Did you mean /{close[0]}?" if close else "Type /help for the commands."
            self.say(f"Unknown command /{name}. {hint}", "yellow")
            return True
        getattr(self, f"cmd_{name}")(arg.strip())
        return True

    def ask(self, question: str) -> None:
        q = check_question(question, self.engine.settings.max_question_chars)
        with Draft(self.console) as draft:
            standalone, answer = run_cancellable(lambda cancel: self.answer(q, cancel, draft.add))
        self.conversation.add(q, standalone, answer)
        self.last = answer
        render_answer(self.console, answer)

    def answer(
        self,
        q: str,
        cancel: threading.Event | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> tuple[str, Answer]:
        """Runs in the worker thread: the standalone query (an LLM may write it), then the answer."""
        self.cancel = cancel
        standalone = self.conversation.standalone(q)
        opts = AskOptions(
            filters=self.filters,
            mode=self.mode,
            standalone=standalone if standalone != q else None,
            as_of=self.as_of,
            on_token=on_token,
            cancel=cancel,
            previous=self.conversation.last_answer,  # a follow-up may be about it
        )
        return standalone, self.engine.ask(q, opts)

    # Commands: each takes the text after its name.

    def cmd_sources(self, arg: str) -> None:
        last = self.last
        if last is None or not last.citations:
            self.say("No sources: the last answer cited nothing." if last else "No answer yet.")
            return
        cited = last.citations
        if not arg:
            self.console.print(citations_table(cited))
            return
        n = arg.strip("[] ")
        c = next((c for c in cited if str(c.id) == n), None)
        if c is None:
            self.say(f"No source {arg}: the last answer cites [1] to [{len(cited)}].", "yellow")
            return
        self.console.print(passage_view(c, last.retrieved))

    def cmd_outlet(self, arg: str) -> None:
        if arg.lower() in ("all", "any", "off"):
            self.filters = replace(self.filters, outlet=None)
        elif arg:
            self.filters = replace(self.filters, outlet=self.engine.resolve_outlet(arg))
        self.show_filters()

    def cmd_since(self, arg: str) -> None:
        self.set_date("since", arg)

    def cmd_until(self, arg: str) -> None:
        self.set_date("until", arg)

    def cmd_asof(self, arg: str) -> None:
        if arg:
            self.as_of = None if arg.lower() in ("off", "today") else parse_day(arg)
        self.show_filters()

    def set_date(self, which: str, arg: str) -> None:
        if arg:
            day = None if arg.lower() in ("off", "all", "any") else parse_day(arg)
            f = self.filters
            self.filters = replace(f, since=day) if which == "since" else replace(f, until=day)
        self.show_filters()
        f = self.filters
        if f.since and f.until and f.since > f.until:
            self.say("No article can match: the since date is after the until date.", "yellow")

    def show_filters(self) -> None:
        self.say(f"Filters: {self.describe_filters()}.", "cyan")

    def cmd_mode(self, arg: str) -> None:
        mode = arg.lower()
        if mode not in MODES:
            if arg:
                self.say(f"Unknown mode {arg!r}: use one of {', '.join(MODES)}.", "yellow")
            self.say(f"Mode: {self.mode}.", "cyan")
            return
        if mode == "llm" and not self.engine.settings.llm_configured:
            self.say(f"{NO_LLM} Mode stays {self.mode}.", "yellow")
            return
        self.mode = mode
        self.say(f"Mode: {self.mode}.", "cyan")

    def cmd_outlets(self, arg: str) -> None:
        table = Table("outlet", "articles", header_style="bold", box=None)
        for outlet, n in self.engine.outlets().items():
            table.add_row(Text(outlet), str(n))
        self.console.print(table)

    def cmd_reset(self, arg: str) -> None:
        self.conversation.reset()
        self.last = None
        self.say("Conversation forgotten; filters and mode stay.", "cyan")

    def cmd_help(self, arg: str) -> None:
        self.say("Ask a question, or:\n" + "\n".join(f"  {h}" for h in COMMANDS.values()))


def citations_table(cited: list[Citation]) -> Table:
    table = Table("#", "outlet", "date", "title", "file", "offsets", header_style="bold", box=None)
    for c in cited:
        table.add_row(
            f"[{c.id}]",
            Text(c.outlet),
            c.published or "",
            Text(short(c.title or "", 40)),
            Text(c.source),
            f"{c.start}-{c.end}",
        )
    return table


def passage_view(c: Citation, retrieved: list[Passage]) -> Text:
    """Citation ``c`` in full: provenance, then the retrieved passage around the quote,
    with the quote highlighted."""
    out = Text.assemble(
        (f"[{c.id}] {c.outlet_label}, {c.published or 'undated'}", "bold"),
        f"\n{c.title or '(no title)'}\nfile {c.source}, characters {c.start}-{c.end}",
    )
    if c.url:
        out.append(f"\n{c.url}")
    if c.note:
        out.append(f"\nnote: {c.note}", "yellow")
    around = [p for p in retrieved if p.source == c.source and p.start <= c.start <= c.end <= p.end]
    body = Text(around[0].text) if around else Text(c.quote)
    shift = around[0].start if around else c.start
    body.stylize("bold cyan", c.start - shift, c.end - shift)
    return Text.assemble(out, "\n\n", body)


def run_repl(
    settings: Settings,
    *,
    open_engine: Callable[[Settings], Engine],
    input: Any = None,
    output: Any = None,
    console: Console | None = None,
    close_engine: bool = True,
    startup: Sequence[str] = (),
) -> None:
    """Chat until /quit or Ctrl-D. ``input``/``output`` are prompt_toolkit's
    (tests pass a pipe input and a ``DummyOutput``); ``close_engine=False``
    leaves the engine ``open_engine`` returned open. ``startup`` holds commands run
    first (``/outlet RT``: the start-up options of ``newsbot repl``)."""
    console = console or Console()
    engine = open_engine(settings)
    if input is None and not sys.stdin.isatty():  # a pipe or a file: one question a line
        try:
            repl = Repl(engine, console)
            for command in startup:
                repl.handle(command)
            for line in sys.stdin:
                if line.strip() and not repl.handle(line.rstrip("\n")):
                    break
        finally:
            if close_engine:
                engine.close()
        return
    try:
        repl = Repl(engine, console)
        for command in startup:
            repl.handle(command)
        session: PromptSession[str] = PromptSession(
            history=history_at(settings.index_dir / HISTORY_FILE),
            enable_history_search=True,  # Up searches by prefix; Ctrl-R searches back
            completer=repl.completer(),
            complete_while_typing=False,
            input=input,
            output=output,
        )
        repl.say(
            f"newsbot: ask about the news in {len(repl.outlets)} outlets. "
            "/help lists the commands; Ctrl-D quits.",
            "dim",
        )
        while True:
            try:
                line = session.prompt(repl.prompt())
            except KeyboardInterrupt:
                continue  # Ctrl-C at the prompt clears the line
            except EOFError:
                break
            try:
                if not repl.handle(line):
                    break
            except KeyboardInterrupt:
                repl.say("cancelled", "yellow")
    finally:
        if close_engine:
            engine.close()
