"""Server mode against a real `chroma run`, and the embedded store's lock."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import make_settings

from bot import Engine
from index.errors import StoreUnavailable
from index.ingest import ingest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = free_port()
    proc = subprocess.Popen(
        [
            exe,
            "run",
            "--path",
            str(tmp_path / "chroma-data"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    pytest.fail("chroma run did not start")
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_ingest_and_answer_through_chroma_server(
    chroma_server: int, tmp_path: Path, corpus_copy: Path
) -> None:
    s = make_settings(
        tmp_path / "ix", corpus_copy, chroma_host="127.0.0.1", chroma_port=chroma_server
    )
    report = ingest(s)
    assert report.chunks_added > 20
    assert not (tmp_path / "ix" / "chroma").exists()  # vectors live in the server
    with Engine.open(s) as engine:
        a = engine.ask("Where did Biden meet Zelensky during his visit to France?")
    assert not a.refused and any(c.outlet == "The Moscow Times" for c in a.citations)
    assert all(text_of_ok(corpus_copy, c.source, c.start, c.end, c.quote) for c in a.citations)


def text_of_ok(root: Path, source: str, start: int, end: int, quote: str) -> bool:
    return (root / source).read_text()[start:end] == quote


def test_server_down_is_a_clear_error_within_seconds(tmp_path: Path) -> None:
    s = make_settings(tmp_path / "ix", chroma_host="127.0.0.1", chroma_port=free_port())
    t0 = time.time()
    with pytest.raises(StoreUnavailable, match=r"127\.0\.0\.1:\d+"):
        ingest(s)
    assert time.time() - t0 < 10


def test_embedded_store_is_locked_against_a_second_process(
    engine: Engine, seed_index: Path
) -> None:
    """While the session engine holds the seed index, another process gets a clear message."""
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.frontends.cli",
            "--index-dir",
            str(seed_index),
            "ask",
            "Who is Pat Ryder?",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[1],
    )
    assert r.returncode == 1
    assert "in use by another newsbot process" in r.stderr and "Traceback" not in r.stderr


def test_a_server_that_accepts_but_never_answers_is_a_clear_error(tmp_path: Path) -> None:
    """A silent socket on loopback (it accepts and never replies): the same clear error
    as a closed port, in seconds, where chromadb's client would wait for ever."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = int(silent.getsockname()[1])
        s = make_settings(tmp_path / "ix", chroma_host="127.0.0.1", chroma_port=port)
        t0 = time.time()
        with pytest.raises(
            StoreUnavailable,
            match=rf"Cannot reach the Chroma server at 127\.0\.0\.1:{port} \(no answer",
        ):
            ingest(s)
        assert time.time() - t0 < 15
