"""The copy of the chunk vectors kept beside the BM25 index (for exact filtered dense
search), on real indexes: how it is written, and that searches fall back to Chroma's
own filter when it is missing or out of step."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from conftest import make_settings, same_up_to_float16
from test_chroma_server import chroma_server  # noqa: F401 - a fixture, used below

from bot import AskOptions, Engine
from index import bm25
from index.ingest import ingest
from index.retrieve import Retriever
from index.types import Filters

NARROW = Filters(since=date(2024, 8, 25), until=date(2024, 8, 30))  # a few days: 5 chunks
QUESTION = "What did officials say about Russian advances near Pokrovsk?"


Hits = list[tuple[str, float]]


def dense_both_ways(r: Retriever, f: Filters) -> tuple[Hits, Hits, Counter[str]]:
    """Dense search through the retriever and through Chroma's own filter, and which
    way the retriever went."""
    index = r.store.bm25()
    mask = r._mask(index, f)
    v = r.embedder.embed_query(QUESTION)
    before = r.dense_paths.copy()
    mine = r._dense(index, v, 6, f, mask)
    return mine, r.store.dense(v, 6, f), r.dense_paths - before


def test_vectors_are_kept_beside_bm25_in_its_row_order(engine: Engine, seed_index: Path) -> None:
    index = engine.store.bm25()
    v = index.vectors
    assert isinstance(v, np.memmap) and v.dtype == np.float16  # mapped, not read in
    assert v.shape == (len(index.ids), 384) and (seed_index / "bm25" / bm25.VECTORS).exists()
    got = engine.store.collection.get(ids=index.ids, include=["embeddings"])
    stored = dict(zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32), strict=True))
    want = np.stack([stored[cid] for cid in index.ids])
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    assert np.abs(np.asarray(v, dtype=np.float32) - want).max() < 1e-3
    assert not list(seed_index.glob("*.tmp")) and not (seed_index / "bm25.tmp").exists()


def test_missing_or_stale_vectors_fall_back_to_chromas_filter(
    tmp_path: Path, corpus_copy: Path
) -> None:
    ix = tmp_path / "ix"
    s = make_settings(ix, corpus_copy)
    ingest(s)
    folder = ix / "bm25"
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["vectors"] == {"rows": len(meta["ids"]), "dim": 384}
    good = tmp_path / "bm25-good"
    shutil.copytree(folder, good)

    def missing() -> None:
        (folder / bm25.VECTORS).unlink()

    def truncated() -> None:  # rows out of step with the BM25 index's
        data = (folder / bm25.VECTORS).read_bytes()
        (folder / bm25.VECTORS).write_bytes(data[: -384 * 2])

    def older_version() -> None:  # an index saved before vectors were kept
        (folder / bm25.VECTORS).unlink()
        m = json.loads((folder / "meta.json").read_text())
        del m["vectors"]
        (folder / "meta.json").write_text(json.dumps(m))

    for damage in (missing, truncated, older_version):
        shutil.rmtree(folder)
        shutil.copytree(good, folder)
        damage()
        with Engine.open(s) as engine:
            r = engine.retriever
            assert r.store.bm25().vectors is None
            mine, chromas, paths = dense_both_ways(r, NARROW)
            assert mine == chromas and mine and paths == Counter(postfilter=1)
            r.max_postfilter = 8  # as at scale: too few pass for over-fetching
            mine, chromas, paths = dense_both_ways(r, NARROW)
            assert mine == chromas and mine and paths == Counter(chroma=1)
            a = engine.ask(QUESTION, AskOptions(filters=NARROW))
            assert not a.refused and {c.outlet for c in a.citations} == {"RT"}
        assert bm25.load(folder) is not None  # a reader left the BM25 index as it was

    ingest(s)  # nothing changed, but an ingest brings the vectors back
    with Engine.open(s) as engine:
        assert engine.store.bm25().vectors is not None
        mine, chromas, paths = dense_both_ways(engine.retriever, NARROW)
        assert same_up_to_float16(mine, chromas) and paths == Counter(exact=1)


def test_server_mode_keeps_vectors_and_a_reader_rebuilds_them_in_memory(
    chroma_server: int,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    corpus_copy: Path,
) -> None:
    ix = tmp_path / "ix"
    s = make_settings(ix, corpus_copy, chroma_host="127.0.0.1", chroma_port=chroma_server)
    ingest(s)
    assert (ix / "bm25" / bm25.VECTORS).exists() and not (ix / "chroma").exists()
    with Engine.open(s) as engine:
        mine, chromas, paths = dense_both_ways(engine.retriever, NARROW)
        assert mine and same_up_to_float16(mine, chromas) and paths == Counter(exact=1)

    # A reader that must rebuild (here: no saved index) keeps its vectors in an
    # unlinked temporary file and writes nothing into the index directory.
    shutil.rmtree(ix / "bm25")
    temps = set(Path(tempfile.gettempdir()).glob("newsbot-vectors-*"))
    with Engine.open(s) as engine:
        index = engine.store.bm25()
        assert index.vectors is not None and index.vectors.shape == (len(index.ids), 384)
        assert not (ix / "bm25").exists()
        assert set(Path(tempfile.gettempdir()).glob("newsbot-vectors-*")) == temps
        mine, chromas, paths = dense_both_ways(engine.retriever, NARROW)
        assert same_up_to_float16(mine, chromas) and paths == Counter(exact=1)


@pytest.mark.parametrize("rows", [0, 1])
def test_vector_writer_rejects_pages_of_the_wrong_shape(tmp_path: Path, rows: int) -> None:
    w = bm25.VectorWriter(tmp_path / "v")
    w.add(np.ones((2, 4)), 2)
    w.add(np.ones((rows, 3)) if rows else None, 1)  # another dimension, or no embeddings
    assert not w.finish(3 if rows else 2)
    w.discard()
    assert not (tmp_path / "v").exists()


def _ask(ix: Path, question: str) -> tuple[str, str]:
    """A one-shot ``newsbot ask`` in a fresh process: its answer and its import log."""
    import os
    import subprocess
    import sys

    r = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "bot.frontends.cli",
            "--index-dir",
            str(ix),
            "ask",
            question,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout, r.stderr


def test_a_one_shot_ask_answers_from_the_copy_without_opening_chroma(
    tmp_path: Path, corpus_copy: Path
) -> None:
    """The BM25 folder keeps every chunk's text and metadata too (chunks.sqlite), so an
    embedded reader never imports chromadb; with the copy damaged or missing it reads
    Chroma instead, and the answer is the same."""
    ix = tmp_path / "ix"
    ingest(make_settings(ix, corpus_copy))
    folder = ix / "bm25"
    assert json.loads((folder / "meta.json").read_text())["texts"] > 0
    answer, imports = _ask(ix, QUESTION)
    assert "[1]" in answer and "Pokrovsk" in answer
    assert " chromadb" not in imports  # -X importtime names every module imported
    good = (folder / bm25.TEXTS).read_bytes()
    (folder / bm25.TEXTS).write_bytes(b"not a database" * 100)
    damaged, imports = _ask(ix, QUESTION)
    assert damaged == answer and " chromadb" in imports
    (folder / bm25.TEXTS).unlink()
    missing, _ = _ask(ix, QUESTION)
    assert missing == answer
    (folder / bm25.TEXTS).write_bytes(good)
    assert _ask(ix, QUESTION)[0] == answer


def test_unfiltered_exact_search_over_the_copy_agrees_with_chroma(engine: Engine) -> None:
    r = engine.retriever
    index = r.store.bm25()
    v = r.embedder.embed_query(QUESTION)
    before = r.dense_paths.copy()
    mine = r._dense(index, v, 6, Filters(), None)
    assert r.dense_paths - before == Counter({"exact-all": 1})
    assert mine and same_up_to_float16(mine, r.store.dense(v, 6, Filters()))
    r.exact_all_max_rows = len(index.ids) - 1  # as on a large index: Chroma's HNSW
    assert r._dense(index, v, 6, Filters(), None) == r.store.dense(v, 6, Filters())
    r.exact_all_max_rows = len(index.ids)
