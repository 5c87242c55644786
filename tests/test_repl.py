"""The REPL driven through prompt_toolkit's pipe input, on the real seed index."""

from __future__ import annotations

import _thread
import io
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from bot.engine import AskOptions, Engine
from bot.repl import COMMANDS, Repl, run_cancellable, run_repl
from bot.types import Answer
from index.settings import Settings

RT_ARTICLE = "seeds/001_0fa0538ff5d991b7.txt"


class Recorder:
    """The session engine, recording every ask. ``slow`` makes the first ask
    hang until released (or 20 s), to be cancelled. Closing is only noted."""

    def __init__(self, engine: Engine, slow: bool = False) -> None:
        self.engine = engine
        self.calls: list[tuple[str, AskOptions, Answer]] = []
        self.slow = slow
        self.started = threading.Event()
        self.release = threading.Event()
        self.done = threading.Event()
        self.closed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    def ask(self, question: str, options: AskOptions | None = None) -> Answer:
        opts = options or AskOptions()
        if self.slow and not self.started.is_set():
            self.started.set()
            self.release.wait(20)
            self.engine.ask(question, opts)
            self.done.set()
            raise AssertionError("a cancelled answer was waited for")
        answer = self.engine.ask(question, opts)
        self.calls.append((question, opts, answer))
        return answer

    def close(self) -> None:
        self.closed = True


def chat(rec: Recorder, settings: Settings, tmp: Path, *keys: str, close: bool = False) -> str:
    """Type ``keys`` into the REPL (each a line, Enter added) and return what it printed."""
    out = io.StringIO()
    with create_pipe_input() as inp:
        inp.send_text("".join(k + "\r" for k in keys))
        inp.close()  # then Ctrl-D: the REPL ends even if a test forgets /quit
        run_repl(
            settings.model_copy(update={"index_dir": tmp}),  # history goes to tmp
            open_engine=lambda s: rec,  # type: ignore[arg-type,return-value]
            input=inp,
            output=DummyOutput(),
            console=Console(file=out, width=200),
            close_engine=close,
        )
    return out.getvalue()


@pytest.fixture
def rec(engine: Engine) -> Recorder:
    return Recorder(engine)


def test_follow_up_searches_for_the_earlier_topic(
    rec: Recorder, seed_settings: Settings, tmp_path: Path
) -> None:
    out = chat(
        rec,
        seed_settings,
        tmp_path,
        "What is happening around Pokrovsk?",
        "What did RT say about it?",
        "/sources",
        "/quit",
    )
    (q1, o1, a1), (q2, o2, a2) = rec.calls
    assert o1.standalone is None
    assert o2.standalone and "Pokrovsk" in o2.standalone and o2.standalone.startswith(q2)
    assert a2.citations and {(c.outlet, c.source) for c in a2.citations} == {("RT", RT_ARTICLE)}
    assert f"(searched for: {o2.standalone})" in out
    assert RT_ARTICLE in out  # /sources lists the files
    assert "What did RT say about it?" in (tmp_path / "repl_history").read_text()


def test_reset_forgets_the_conversation(
    rec: Recorder, seed_settings: Settings, tmp_path: Path
) -> None:
    out = chat(rec, seed_settings, tmp_path, "Who is Pat Ryder?", "/reset", "Why?")
    assert "Conversation forgotten" in out
    assert rec.calls[1][1].standalone is None  # "Why?" is not expanded with Pat Ryder


def test_sources_shows_one_passage_in_full(
    rec: Recorder, seed_settings: Settings, tmp_path: Path
) -> None:
    out = chat(
        rec, seed_settings, tmp_path, "/sources", "Who is Pat Ryder?", "/sources 1", "/sources 9"
    )
    assert "No answer yet." in out
    c = rec.calls[0][2].citations[0]
    assert f"file {c.source}, characters {c.start}-{c.end}" in out
    assert c.quote in out.replace("\n", " ") or c.quote[:40] in out
    assert "No source 9" in out


def test_outlet_filter_restricts_citations(
    rec: Recorder, seed_settings: Settings, tmp_path: Path
) -> None:
    q = "What did the Pentagon say about Russian gains?"
    out = chat(rec, seed_settings, tmp_path, "/outlet rt", q, "/outlet pravda", "/outlet all", q)
    assert "Filters: RT." in out and "Filters: none." in out
    assert "Unknown outlet 'pravda'. Indexed outlets:" in out and "Traceback" not in out
    (_, o1, a1), (_, o2, a2) = rec.calls
    assert o1.filters.outlet == "RT" and a1.citations
    assert {c.outlet for c in a1.citations} == {p.outlet for p in a1.retrieved} == {"RT"}
    assert o2.filters.outlet is None and len({p.outlet for p in a2.retrieved}) > 1


def test_date_filters_restrict_citations(
    rec: Recorder, seed_settings: Settings, tmp_path: Path
) -> None:
    q = "What did the Pentagon say about Russian gains?"
    out = chat(
        rec,
        seed_settings,
        tmp_path,
        "/since 2024-01-01",
        q,
        "/since off",
        "/until 2022-12-31",
        q,
        "/until yesterday",
        "/since 2025-01-01",
    )
    (_, _, a1), (_, _, a2) = rec.calls
    assert a1.citations and a2.citations
    assert all(p.published and p.published.year >= 2024 for p in a1.retrieved)
    assert all((c.published or "") >= "2024-01-01" for c in a1.citations)
    assert all(p.published and p.published.year <= 2022 for p in a2.retrieved)
    assert all((c.published or "9") <= "2022-12-31" for c in a2.citations)
    assert "Filters: since 2024-01-01." in out and "Filters: until 2022-12-31." in out
    assert "'yesterday' is not a date" in out
    assert "since date is after the until date" in out


def test_prompt_shows_filters_and_mode(engine: Engine) -> None:
    repl = Repl(engine, Console(file=io.StringIO()))
    assert repl.prompt() == "newsbot> "
    for line in ("/outlet moscow", "/since 2024-01-01", "/mode extractive"):
        repl.handle(line)
    assert repl.prompt() == "newsbot [The Moscow Times, since 2024-01-01, extractive]> "


def test_mode_outlets_help_and_quit(rec: Recorder, seed_settings: Settings, tmp_path: Path) -> None:
    out = chat(
        rec,
        seed_settings,
        tmp_path,
        "/mode extractive",
        "Who is Pat Ryder?",
        "/mode bogus",
        "/outlets",
        "/help",
        "/quit",
        "Who is Pat Ryder?",  # after /quit: never asked
    )
    assert [o.mode for _, o, _ in rec.calls] == ["extractive"]
    assert "Unknown mode 'bogus'" in out and "Mode: extractive." in out
    for outlet, n in rec.engine.store.outlets().items():
        assert outlet in out and n >= 1
    assert all(f"/{name}" in out for name in COMMANDS)


def test_bad_input(rec: Recorder, seed_settings: Settings, tmp_path: Path) -> None:
    out = chat(rec, seed_settings, tmp_path, "", "   ", "x" * 10_000, "/sorces", "/frobnicate")
    assert rec.calls == []
    assert "The question is 10,000 characters long; the limit is 2,000." in out
    assert "Unknown command /sorces. Did you mean /sources?" in out
    assert "Unknown command /frobnicate. Type /help for the commands." in out
    assert "Traceback" not in out


def test_ctrl_c_at_the_prompt_clears_the_line_and_ctrl_d_quits(
    rec: Recorder, seed_settings: Settings, tmp_path: Path
) -> None:
    chat(rec, seed_settings, tmp_path, "Who is Pat\x03", "\x04", "Who is Pat Ryder?")
    assert rec.calls == []


def test_ctrl_c_during_an_answer_cancels_it_and_keeps_the_session(
    engine: Engine, seed_settings: Settings, tmp_path: Path
) -> None:
    rec = Recorder(engine, slow=True)

    def interrupt() -> None:
        if rec.started.wait(20):
            _thread.interrupt_main()  # what Ctrl-C does: KeyboardInterrupt in the main thread

    threading.Thread(target=interrupt, daemon=True).start()
    try:
        out = chat(rec, seed_settings, tmp_path, "What is happening around Pokrovsk?", "Why?")
    finally:
        rec.release.set()
        rec.done.wait(20)  # let the abandoned thread finish before other tests use the engine
    assert "cancelled" in out and "AssertionError" not in out
    # the session went on, and the cancelled question is not part of the conversation
    assert [(q, o.standalone) for q, o, _ in rec.calls] == [("Why?", None)]


def test_run_cancellable() -> None:
    assert run_cancellable(lambda a, b: a + b, 2, 3) == 5
    with pytest.raises(ZeroDivisionError):
        run_cancellable(lambda: 1 / 0)
    done = threading.Event()
    threading.Timer(0.2, _thread.interrupt_main).start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_cancellable(done.wait, 10)
    assert time.monotonic() - t0 < 5
    done.set()


def test_engine_is_closed_unless_told_not_to(
    rec: Recorder, seed_settings: Settings, tmp_path: Path
) -> None:
    chat(rec, seed_settings, tmp_path, "/quit")
    assert not rec.closed
    chat(rec, seed_settings, tmp_path, "/quit", close=True)
    assert rec.closed


def test_asof_hides_later_articles(engine: Engine) -> None:
    out = io.StringIO()
    repl = Repl(engine, Console(file=out, width=200))
    repl.handle("/asof 2022-12-31")
    assert "as of 2022-12-31" in repl.prompt()
    _, answer = repl.answer("What did Jake Sullivan say about Kharkiv?")
    assert all(c.published and c.published <= "2022-12-31" for c in answer.citations)
    repl.handle("/asof off")
    _, later = repl.answer("What did Jake Sullivan say about Kharkiv?")
    assert any(c.outlet == "The Moscow Times" for c in later.citations)
    repl.handle("/asof next tuesday")
    assert "not a date" in out.getvalue()
