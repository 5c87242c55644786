"""Shared fixtures: the seed corpus indexed once per session with the real
model and a real embedded Chroma, in a temporary index directory."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from llm_server import FakeLLM

from bot import Engine
from index.ingest import ingest
from index.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared"


def make_settings(index_dir: Path, corpus: Path = CORPUS, **kw: object) -> Settings:
    # _env_file=None: tests never read a developer's .env
    return Settings(_env_file=None, index_dir=index_dir, corpus_dir=corpus, **kw)  # type: ignore[call-arg]


def build_wheel(tmp_path: Path) -> Path:
    """A wheel of the project, built from a copy of the checkout (pip builds in the
    source tree), as a regular install would get it."""
    src = tmp_path / "src"
    src.mkdir()
    for part in ("pyproject.toml", "README.md", "bot", "index", "prompts", "models", "corpus"):
        copy = shutil.copytree if (ROOT / part).is_dir() else shutil.copy
        copy(ROOT / part, src / part)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(tmp_path), str(src)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("newsbot-*.whl")
    return wheel


def same_up_to_float16(mine: list[tuple[str, float]], chromas: list[tuple[str, float]]) -> bool:
    """The same (chunk, score) list as Chroma's, except that chunks whose scores differ
    by less than float16 rounding (~1e-5) may come in either order."""
    tol = 1e-4
    theirs = dict(chromas)
    return len(mine) == len(chromas) and all(
        abs(sa - sb) < tol and (a == b or abs(theirs.get(a, sb) - sb) < tol)
        for (a, sa), (b, sb) in zip(mine, chromas, strict=True)
    )


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("seed-index")
    ingest(make_settings(index_dir))
    return index_dir


@pytest.fixture(scope="session")
def seed_settings(seed_index: Path) -> Settings:
    return make_settings(seed_index)


@pytest.fixture(scope="session")
def engine(seed_settings: Settings) -> Iterator[Engine]:
    eng = Engine.open(seed_settings)
    yield eng
    eng.close()


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the seed corpus."""
    dst = tmp_path / "corpus"
    shutil.copytree(CORPUS, dst)
    return dst


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeLLM]:
    """A scripted OpenAI-compatible server over real HTTP (tests/llm_server.py)."""
    with FakeLLM() as server:
        yield server


@pytest.fixture
def fake(fake_server: FakeLLM) -> Iterator[FakeLLM]:
    """The shared server, its per-test knobs reset afterwards."""
    yield fake_server
    fake_server.token_delay, fake_server.cut_after, fake_server.retry_after = 0.0, 3, "1"


MADE_UP = ROOT / "tests" / "data" / "made_up"  # articles of our own making (issue 15)


@pytest.fixture(scope="session")
def made_up_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """An engine over ``tests/data/made_up``: quotes with known speakers, a copy of
    one story, an outlet that covers another subject."""
    corpus = tmp_path_factory.mktemp("made-up-corpus") / "made_up"
    shutil.copytree(MADE_UP, corpus)
    index_dir = tmp_path_factory.mktemp("made-up-index")
    settings = make_settings(index_dir, corpus.parent)
    ingest(settings)
    eng = Engine.open(settings)
    yield eng
    eng.close()
