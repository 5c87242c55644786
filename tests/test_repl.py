"""The REPL driven through prompt_toolkit's pipe input, on the real seed index."""

from __future__ import annotations

import _thread
import io
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import make_settings
from llm_server import FakeLLM, StreamLog
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from bot import Answer, AskOptions, Engine
from bot.frontends.repl import (
    COMMANDS,
    PLAIN_LABEL,
    SEPARATOR,
    WORKER,
    Repl,
    run_cancellable,
    run_repl,
)
from index.errors import Cancelled
from index.settings import Settings

RT_ARTICLE = "seeds/001_0fa0538ff5d991b7.txt"
HIMARS_Q = "How many HIMARS launchers did the Russian military claim it had destroyed?"
LONG_REPLY = " ".join(f"Word{i}" for i in range(40)) + "."


class Recorder:
    """The session engine, recording every ask and when it ended. ``slow``
    makes the first ask wait for its cancel event (or 20 s), then hand the set
    event to the real engine, which must stop. Closing is only noted."""

    def __init__(self, engine: Engine, slow: bool = False) -> None:
        self.engine = engine
        self.calls: list[tuple[str, AskOptions, Answer]] = []
        self.slow = slow
        self.started = threading.Event()
        self.cancelled = 0  # asks that ended with Cancelled
        self.ended: list[float] = []  # time.monotonic() at the end of each ask
        self.closed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    def ask(self, question: str, options: AskOptions | None = None) -> Answer:
        opts = options or AskOptions()
        try:
            if self.slow and not self.started.is_set():
                self.started.set()
                assert opts.cancel is not None and opts.cancel.wait(20)
            answer = self.engine.ask(question, opts)
            self.calls.append((question, opts, answer))
            return answer
        except Cancelled:
            self.cancelled += 1
            raise
        finally:
            self.ended.append(time.monotonic())

    def close(self) -> None:
        self.closed = True


def chat(
    rec: Recorder,
    settings: Settings,
    tmp: Path,
    *keys: str,
    close: bool = False,
    console: Console | None = None,
) -> str:
    """Type ``keys`` into the REPL (each a line, Enter added) and return what it printed."""
    console = console or Console(file=io.StringIO(), width=200)
    with create_pipe_input() as inp:
        inp.send_text("".join(k + "\r" for k in keys))
        inp.close()  # then Ctrl-D: the REPL ends even if a test forgets /quit
        run_repl(
            settings.model_copy(update={"index_dir": tmp}),  # history goes to tmp
            open_engine=lambda s: rec,  # type: ignore[arg-type,return-value]
            input=inp,
            output=DummyOutput(),
            console=console,
            close_engine=close,
        )
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


@pytest.fixture(autouse=True)
def ctrl_c_reaches_python() -> Any:
    """Ctrl-C is simulated with ``_thread.interrupt_main``, which does nothing while
    SIGINT is ignored, as it is for a job started with ``&`` by a shell without job
    control (some CI runners): give Python its own handler for these tests."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


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
    assert o2.standalone == "What did RT say about what is happening around Pokrovsk?"
    assert a2.citations and {(c.outlet, c.source) for c in a2.citations} == {("RT", RT_ARTICLE)}
    assert f"(searched for: {o2.standalone})" in out
    assert RT_ARTICLE in out  # /sources lists the files
    assert "What did RT say about it?" in (tmp_path / "repl_history").read_text()


def test_follow_up_about_the_last_answer_is_answered_from_it(
    rec: Recorder, seed_settings: Settings, tmp_path: Path
) -> None:
    """issue 15: "Which outlet reported that?" is answered from the last answer."""
    out = chat(
        rec,
        seed_settings,
        tmp_path,
        "What is happening around Pokrovsk?",
        "Which outlet reported that?",
        "/quit",
    )
    (q1, o1, a1), (q2, o2, a2) = rec.calls
    assert o1.previous is None and o2.previous is a1
    assert "Answered from the sources of the previous answer." in a2.notices
    assert [c.source for c in a2.citations] == [c.source for c in a1.citations]
    assert "reported it:" in out and "searched for" not in out


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


def interrupt_when(ready: threading.Event | None, at: list[float], poll: Any = None) -> None:
    """Ctrl-C (KeyboardInterrupt in the main thread) once ``ready`` is set or
    ``poll()`` is true, noting when in ``at``."""

    def run() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if (ready and ready.wait(0.05)) or (poll and poll()):
                at.append(time.monotonic())
                _thread.interrupt_main()
                return
            time.sleep(0.02)

    threading.Thread(target=run, daemon=True).start()


def alive(*names: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name in names]


def wait_gone(*names: str, seconds: float = 2.0) -> list[threading.Thread]:
    deadline = time.monotonic() + seconds
    while alive(*names) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive(*names)


def test_ctrl_c_during_an_answer_cancels_it_and_keeps_the_session(
    engine: Engine, seed_settings: Settings, tmp_path: Path
) -> None:
    rec = Recorder(engine, slow=True)
    at: list[float] = []
    interrupt_when(rec.started, at)
    out = chat(rec, seed_settings, tmp_path, "What is happening around Pokrovsk?", "Why?")
    assert "cancelled" in out and "Traceback" not in out
    # Ctrl-C set the answer's cancel event, and the engine stopped at its next check
    assert rec.cancelled == 1 and rec.ended[0] - at[0] < 2.0
    # the session went on, and the cancelled question is not part of the conversation
    assert [(q, o.standalone) for q, o, _ in rec.calls] == [("Why?", None)]
    assert not wait_gone(WORKER)


def test_run_cancellable() -> None:
    assert run_cancellable(lambda cancel: 2 + 3) == 5
    with pytest.raises(ZeroDivisionError):
        run_cancellable(lambda cancel: 1 / 0)
    stopped = threading.Event()

    def work(cancel: threading.Event) -> None:
        if cancel.wait(10):
            stopped.set()

    threading.Timer(0.2, _thread.interrupt_main).start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_cancellable(work)
    assert time.monotonic() - t0 < 2 and stopped.is_set() and not alive(WORKER)


# --- LLM mode: the streamed draft, Ctrl-C mid-stream, a server dying ----------------


def llm_recorder(engine: Engine, url: str) -> Recorder:
    s = make_settings(
        engine.settings.index_dir,
        engine.settings.corpus_dir,
        openai_base_url=url,
        llm_model="fake",
        llm_timeout=20.0,
        llm_max_retries=0,
    )
    return Recorder(Engine(s, engine.store, engine.embedder))


def himars_reply(engine: Engine) -> str:
    """A supported sentence, then one the sources do not support, both citing
    the retrieved passage that has the HIMARS claim."""
    ps = engine.ask(HIMARS_Q, AskOptions(mode="extractive")).retrieved
    n = next(i for i, p in enumerate(ps, 1) if "100 HIMARS" in p.text)
    return (
        "Newsweek reports that the Russian military claimed to have destroyed up to "
        f"100 HIMARS in recent days [{n}]. "
        f"Newsweek reports that Russia destroyed 400 HIMARS and sank the Ukrainian navy [{n}]."
    )


class TimedIO(io.StringIO):
    """Console output, noting when each piece was written."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[float, str]] = []

    def write(self, s: str) -> int:
        self.writes.append((time.monotonic(), s))
        return super().write(s)


def last_stream(fake: FakeLLM) -> StreamLog:
    return fake.streams[-1]


def test_llm_tokens_stream_as_a_draft_then_the_verified_answer(
    engine: Engine, fake: FakeLLM, seed_settings: Settings, tmp_path: Path
) -> None:
    rec = llm_recorder(engine, fake.url("reply"))
    fake.reply, fake.token_delay = himars_reply(engine), 0.1
    console_file = TimedIO()
    chat(rec, seed_settings, tmp_path, HIMARS_Q, console=Console(file=console_file, width=400))
    out = console_file.getvalue()
    draft, _, final = out.partition(PLAIN_LABEL)[2].partition(SEPARATOR)
    assert "400 HIMARS and sank the Ukrainian navy" in draft  # the raw tokens, as drafted
    assert "100 HIMARS" in final and "400" not in final  # replaced by the verified answer
    assert "Removed 1 of 2 sentences" in final and "[1]" in final
    # the draft was on screen while the server was still sending
    first = next(t for t, piece in console_file.writes if "Newsweek" in piece)
    assert first < last_stream(fake).sent[-1] - 1.0
    assert rec.calls[0][2].mode == "llm"


def screen(raw: str) -> str:
    """What a terminal shows after ``raw``: just enough of VT100 for rich's
    live region (cursor up, erase line); colours and cursor hiding dropped."""
    lines, row = [""], 0
    for part in re.split(r"(\x1b\[[0-9;?]*[A-Za-z]|\n)", raw):
        if part == "\n":
            row += 1
            lines += [""] * (row + 1 - len(lines))
        elif part == "\x1b[1A":
            row = max(0, row - 1)
        elif part == "\x1b[2K":
            lines[row] = ""
        elif not part.startswith("\x1b"):
            lines[row] += part.replace("\r", "")
    return "\n".join(lines)


def test_on_a_terminal_the_dim_draft_is_erased_for_the_verified_answer(
    engine: Engine, fake: FakeLLM, seed_settings: Settings, tmp_path: Path
) -> None:
    rec = llm_recorder(engine, fake.url("reply"))
    fake.reply, fake.token_delay = himars_reply(engine), 0.05
    tty = Console(
        file=io.StringIO(), force_terminal=True, force_interactive=True, width=200, height=30
    )
    out = chat(rec, seed_settings, tmp_path, HIMARS_Q, console=tty)
    assert "drafting..." in out and "\x1b[2m" in out  # the draft was shown, dim
    assert "400 HIMARS and sank the Ukrainian navy" in out
    shown = screen(out)
    assert "drafting" not in shown and "400" not in shown and SEPARATOR not in shown
    assert "100 HIMARS" in shown and "Removed 1 of 2 sentences" in shown


def interrupt_mid_stream(fake: FakeLLM, after_tokens: int) -> tuple[int, list[float]]:
    """Make the server stream LONG_REPLY slowly and press Ctrl-C once the next stream
    has sent ``after_tokens`` tokens. Returns the stream count before, and the list
    that receives the moment of the interrupt."""
    fake.reply, fake.token_delay = LONG_REPLY, 0.2
    before = len(fake.streams)
    at: list[float] = []
    interrupt_when(
        None,
        at,
        lambda: len(fake.streams) > before and len(fake.streams[-1].sent) >= after_tokens,
    )
    return before, at


def test_ctrl_c_mid_stream_stops_the_request_and_the_session_goes_on(
    engine: Engine, fake: FakeLLM, seed_settings: Settings, tmp_path: Path
) -> None:
    rec = llm_recorder(engine, fake.url("reply"))
    before, at = interrupt_mid_stream(fake, after_tokens=3)
    out = chat(
        rec, seed_settings, tmp_path, "Who is Pat Ryder?", "/mode extractive", "Who is Pat Ryder?"
    )
    log = fake.streams[before]
    assert f"{PLAIN_LABEL} Word0 Word1" in out and "cancelled" in out
    assert SEPARATOR not in out and "Word39" not in out and "Traceback" not in out
    # the work stopped, not just its display: the worker ended, the server saw the client go
    assert rec.cancelled == 1 and rec.ended[0] - at[0] < 2.0
    assert log.client_left.wait(3) and not log.finished and len(log.sent) < log.total
    assert not wait_gone(WORKER, "newsbot-llm")
    # and the session went on
    [(q, opts, answer)] = rec.calls
    assert opts.mode == "extractive" and answer.citations and "Pat Ryder" in out


def test_ctrl_c_while_an_llm_condenses_a_follow_up(
    engine: Engine, fake: FakeLLM, seed_settings: Settings, tmp_path: Path
) -> None:
    rec = llm_recorder(engine, fake.url("reply"))
    before, at = interrupt_mid_stream(fake, after_tokens=2)
    out = chat(
        rec, seed_settings, tmp_path, "/mode extractive", "Who is Pat Ryder?", "What did he say?"
    )
    log = fake.streams[before]
    assert "cancelled" in out and "Traceback" not in out
    assert log.client_left.wait(3) and not log.finished  # the condensing request was closed
    assert len(rec.calls) == 1 and rec.cancelled == 0  # stopped before the engine was asked
    assert not wait_gone(WORKER, "newsbot-llm")


def test_a_server_dying_mid_stream_is_a_notice_and_the_session_goes_on(
    engine: Engine, fake: FakeLLM, seed_settings: Settings, tmp_path: Path
) -> None:
    rec = llm_recorder(engine, fake.url("cut"))
    fake.reply, fake.cut_after = LONG_REPLY, 5
    out = chat(rec, seed_settings, tmp_path, HIMARS_Q, "/reset", "Who is Pat Ryder?")
    assert f"{PLAIN_LABEL} Word0 Word1 Word2 Word3 Word4\n{SEPARATOR}" in out
    flat = " ".join(out.split())
    assert "broke off its reply" in flat and "Falling back to the extractive answer." in flat
    assert "Traceback" not in out
    assert [a.mode for _, _, a in rec.calls] == ["extractive", "extractive"]
    assert all(a.citations for _, _, a in rec.calls)


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
