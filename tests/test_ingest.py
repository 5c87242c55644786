"""Incremental, interruptible ingest into a real embedded Chroma."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, make_settings

from index import ingest as ingest_module
from index.errors import IndexNotReady
from index.ingest import ingest
from index.store import Store


def chunk_sources(index_dir: Path, corpus: Path) -> list[str]:
    with Store(make_settings(index_dir, corpus)) as store:
        return [str(m["source"]) for _id, _t, m in store.iter_chunks()]


def assert_exact(index_dir: Path, corpus: Path) -> None:
    """Every stored chunk is the exact file text at its offsets; no duplicates."""
    with Store(make_settings(index_dir, corpus)) as store:
        seen = set()
        for cid, text, m in store.iter_chunks():
            assert cid not in seen
            seen.add(cid)
            src = corpus / str(m["source"])
            assert src.read_text()[int(m["start"]) : int(m["end"])] == text
        assert store.ledger.chunk_count() == len(seen)


def test_incremental_ingest(corpus_copy: Path, tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    s = make_settings(ix, corpus_copy)
    first = ingest(s)
    assert first.files == 5 and first.chunks_added > 20 and not first.skipped
    n = len(chunk_sources(ix, corpus_copy))

    again = ingest(s)  # unchanged: nothing embedded
    assert again.files_unchanged == 5 and again.chunks_added == 0

    rt = corpus_copy / "seeds" / "001_0fa0538ff5d991b7.txt"
    rt.write_text(rt.read_text().replace("Pokrovsk", "Pokrovsk (also spelled Pokrovs'k)"))
    changed = ingest(s)  # one changed file: only its chunks are replaced
    assert changed.files_unchanged == 4 and 0 < changed.chunks_added == changed.chunks_removed
    assert len(chunk_sources(ix, corpus_copy)) == n

    (corpus_copy / "seeds" / "002_a14a31d47b36e4a7.txt").unlink()
    gone = ingest(s)
    assert gone.chunks_removed > 0
    assert not any("002_" in src for src in chunk_sources(ix, corpus_copy))
    assert_exact(ix, corpus_copy)


def test_bad_files_are_skipped_and_the_rest_indexed(corpus_copy: Path, tmp_path: Path) -> None:
    (corpus_copy / "bad.txt").write_bytes(b"\xff\xfe\x00\x00garbage")
    (corpus_copy / "empty.md").write_text("")
    report = ingest(make_settings(tmp_path / "ix", corpus_copy))
    reasons = dict(report.skipped)
    assert set(reasons) == {"bad.txt", "empty.md"}
    assert report.files == 7 and report.chunks_added > 20


def test_failure_mid_ingest_is_completed_by_next_run(
    corpus_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash after some chunks reached Chroma leaves no duplicates after rerun."""
    ix = tmp_path / "ix"
    s = make_settings(ix, corpus_copy)
    real_add = Store.add
    calls = {"n": 0}

    def add_then_die(self: Store, chunks, vectors) -> None:  # type: ignore[no-untyped-def]
        real_add(self, chunks[: len(chunks) // 2], vectors[: len(vectors) // 2])
        calls["n"] += 1
        raise KeyboardInterrupt  # as if killed half-way through a write

    monkeypatch.setattr(Store, "add", add_then_die)
    with pytest.raises(KeyboardInterrupt):
        ingest(s)
    monkeypatch.setattr(Store, "add", real_add)
    assert calls["n"] == 1
    report = ingest(s)
    assert report.chunks_added > 0
    assert_exact(ix, corpus_copy)
    assert len(set(chunk_sources(ix, corpus_copy))) == 5


def test_sigkill_at_any_moment_then_rerun(corpus_copy: Path, tmp_path: Path) -> None:
    """A real process killed during ingest: the next run completes the index."""
    ix = tmp_path / "ix"
    env = {**os.environ, "NEWSBOT_INDEX_DIR": str(ix), "NEWSBOT_CORPUS_DIR": str(corpus_copy)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.frontends.cli", "ingest"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not (ix / "chroma").exists():
        time.sleep(0.05)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    report = ingest(make_settings(ix, corpus_copy))
    assert not report.skipped
    assert_exact(ix, corpus_copy)
    assert len(set(chunk_sources(ix, corpus_copy))) == 5


def test_same_name_under_two_folders_never_replaces_the_first(tmp_path: Path) -> None:
    """Article names are relative to the folder given: a/x.txt and b/x.txt are
    both x.txt. The second is skipped with a message, in one run or in two."""
    a, b = tmp_path / "a", tmp_path / "b"
    for folder, city in ((a, "Kharkiv"), (b, "Odesa")):
        folder.mkdir()
        (folder / "x.txt").write_text(
            f"Officials in {city} said the repairs to the power grid would take weeks. "
            f"Residents of {city} were told to expect rolling blackouts through the winter.\n"
        )
    report = ingest(make_settings(tmp_path / "one", a), [a, b])
    assert [name for name, _ in report.skipped] == ["x.txt"]
    assert str(a / "x.txt") in report.skipped[0][1] and "--index-dir" in report.skipped[0][1]

    ix = tmp_path / "two"
    ingest(make_settings(ix, a), [a])
    again = ingest(make_settings(ix, b), [b])
    assert [name for name, _ in again.skipped] == ["x.txt"] and again.chunks_removed == 0
    for index in (tmp_path / "one", ix):
        with Store(make_settings(index, a)) as store:
            texts = " ".join(t for _id, t, _m in store.iter_chunks())
        assert "Kharkiv" in texts and "Odesa" not in texts

    (a / "x.txt").rename(tmp_path / "gone.txt")  # a moved file gives its name up
    moved = ingest(make_settings(ix, b), [b])
    assert not moved.skipped and moved.chunks_added > 0


def test_chroma_write_failure_surfaces_and_is_not_recorded(
    corpus_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real Chroma failure (the collection already holds vectors of another
    dimension) stops the ingest with a plain message and the rebuild hint, the ledger
    claims none of the articles, and a rerun then completes."""
    monkeypatch.setattr(ingest_module, "BATCH_CHUNKS", 8)  # many batches
    ix = tmp_path / "ix"
    s = make_settings(ix, corpus_copy)
    with Store(s, writable=True) as store:
        store.collection.add(
            ids=["alien"], embeddings=[[0.0, 1.0, 0.0]], documents=["x"], metadatas=[{"a": 1}]
        )
    with pytest.raises(IndexNotReady, match="another dimension.*--rebuild") as got:
        ingest(s)
    assert "InvalidArgument" not in str(got.value) and "got 3" not in str(got.value)
    with Store(s, writable=True) as store:  # the lock was released
        assert store.ledger.chunk_count() == 0
        assert store.ledger.known_paths() == []
        assert store.count() == 1

    from chromadb import PersistentClient
    from chromadb.config import Settings as ChromaSettings

    client = PersistentClient(str(ix / "chroma"), ChromaSettings(anonymized_telemetry=False))
    client.delete_collection(s.chroma_collection)
    report = ingest(s)
    assert report.chunks_added > 20 and not report.skipped
    assert_exact(ix, corpus_copy)
    assert len(set(chunk_sources(ix, corpus_copy))) == 5


def test_interrupt_part_way_then_rerun(
    corpus_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C part-way through: the ledger claims only articles whose chunks are all
    stored, and a rerun completes."""
    monkeypatch.setattr(ingest_module, "BATCH_CHUNKS", 8)
    ix = tmp_path / "ix"
    s = make_settings(ix, corpus_copy)
    files = 0

    def progress(what: str, n: int, total: int | None) -> None:
        nonlocal files
        if what == "files":
            files += n
            if files == 3:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest(s, progress=progress)
    with Store(s) as store:
        stored: dict[str, int] = {}
        for _id, _t, m in store.iter_chunks():
            stored[str(m["source"])] = stored.get(str(m["source"]), 0) + 1
        claimed = store.ledger.db.execute("SELECT source, chunks FROM sources").fetchall()
        assert claimed and all(stored.get(src) == n for src, n in claimed)
    report = ingest(s)
    assert report.chunks_added > 0 and not report.skipped
    assert_exact(ix, corpus_copy)
    assert len(set(chunk_sources(ix, corpus_copy))) == 5


def test_json_record_with_a_lone_surrogate_is_indexed_with_the_rest(tmp_path: Path) -> None:
    """A broken escape in one scraped record ("\\ud800") neither stops the ingest nor
    loses the other records."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    broken = (
        '{"id": "1", "url": "https://edition.cnn.com/a\\ud800", "title": "Storm \\udc00",'
        ' "text": "A storm hit the coast on Monday. The damage was severe \\ud800 and wide."}'
    )
    fine = (
        '{"id": "2", "url": "https://www.usatoday.com/b", "text": "The home team won on Sunday."}'
    )
    (corpus / "a.jsonl").write_text(broken + "\n" + fine + "\n")
    report = ingest(make_settings(tmp_path / "ix", corpus))
    assert report.articles == 2 and report.chunks_added == 2 and not report.skipped
    assert sorted(chunk_sources(tmp_path / "ix", corpus)) == ["a.jsonl#1", "a.jsonl#2"]


def test_article_removed_by_a_run_killed_before_its_chunks_went_is_not_answerable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run killed just after the ledger forgot a removed article, before Chroma
    deleted its chunks: the next run deletes them (nothing names them any more), and
    rebuilds BM25 without them."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    keep = '{"id": "1", "url": "https://www.cnn.com/a", "text": "The mayor opened a new bridge."}'
    gone = '{"id": "2", "url": "https://www.cnn.com/b", "text": "Zorblatt volcano erupted again."}'
    f = corpus / "a.jsonl"
    f.write_text(keep + "\n" + gone + "\n")
    s = make_settings(tmp_path / "ix", corpus)
    ingest(s)
    f.write_text(keep + "\n")  # the second article is taken out of the corpus

    def killed(self: Store, sources: object) -> None:
        raise KeyboardInterrupt  # the process dies before Chroma deletes anything

    with monkeypatch.context() as m:
        m.setattr(Store, "delete_sources", killed)
        with pytest.raises(KeyboardInterrupt):
            ingest(s)
    assert sorted(chunk_sources(tmp_path / "ix", corpus)) == ["a.jsonl#1", "a.jsonl#2"]

    ingest(s)
    assert chunk_sources(tmp_path / "ix", corpus) == ["a.jsonl#1"]
    with Store(s) as store:
        assert store.ledger.dropping() == []
        assert [cid for cid, _ in store.bm25().search("Zorblatt volcano", 5)] == []


def store_dump(index_dir: Path, corpus: Path) -> dict[str, tuple[str, dict[str, object]]]:
    """Every chunk: id -> (document, metadata)."""
    with Store(make_settings(index_dir, corpus)) as store:
        return {cid: (text, m) for cid, text, m in store.iter_chunks()}


def test_a_manifest_edit_reaches_the_index_and_equals_a_clean_ingest(
    corpus_copy: Path, tmp_path: Path
) -> None:
    """Provenance is part of what makes an article changed: an edited manifest entry
    of an untouched .txt is re-read, and the store then equals a clean ingest."""
    ix = tmp_path / "ix"
    s = make_settings(ix, corpus_copy)
    ingest(s)
    manifest = corpus_copy / "seeds" / "manifest.toml"
    manifest.write_text(manifest.read_text().replace('outlet = "RT"', 'outlet = "Russia Today"'))
    again = ingest(s)
    assert again.files_unchanged == 4 and again.chunks_added > 0
    rt = "seeds/001_0fa0538ff5d991b7.txt"
    mine = store_dump(ix, corpus_copy)
    assert {m["outlet"] for _t, m in mine.values() if m["source"] == rt} == {"Russia Today"}
    clean = tmp_path / "clean"
    ingest(make_settings(clean, corpus_copy))
    assert mine == store_dump(clean, corpus_copy)
    with Store(s) as store:
        assert "Russia Today" in store.bm25().names and "RT" not in store.bm25().names


NEW_PASSAGE = (
    "The Zorblatt Bridge over the Dnipro reopened on Tuesday after eight months of repairs. "
    "Engineers said the Zorblatt Bridge can now carry trucks of up to forty tonnes.\n"
)

KILL_AFTER_LAST_WRITE = """
import os, signal, sys
from index.ingest import Ingester
real = Ingester._remove_deleted
def remove_then_die(self, *args):
    real(self, *args)  # the run's last store write is done; BM25 is not rebuilt yet
    os.kill(os.getpid(), signal.SIGKILL)
Ingester._remove_deleted = remove_then_die
from bot.frontends.cli import main
main(sys.argv[1:])
"""


def test_sigkill_between_the_last_store_write_and_the_bm25_rebuild(
    corpus_copy: Path, tmp_path: Path
) -> None:
    """A real process killed after its last write to Chroma, before BM25 and the vector
    copy are rebuilt: the rerun finds every file unchanged, and still rebuilds them."""
    ix = tmp_path / "ix"
    s = make_settings(ix, corpus_copy)
    cli = [
        sys.executable,
        "-m",
        "bot.frontends.cli",
        "--index-dir",
        str(ix),
        "ingest",
        str(corpus_copy),
    ]
    # in another process: this one's embedded Chroma must first open the index after the kill
    subprocess.run(cli, cwd=ROOT, check=True, capture_output=True, timeout=300)
    (corpus_copy / "bridge.txt").write_text(NEW_PASSAGE)
    proc = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_LAST_WRITE, "--index-dir", str(ix), "ingest"]
        + [str(corpus_copy)],
        cwd=ROOT,
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL
    rerun = ingest(s)
    assert rerun.files_unchanged == 6 and rerun.chunks_added == 0
    with Store(s) as store:
        index = store.bm25()
        ids = {cid for cid, _t, _m in store.iter_chunks()}
        assert set(index.ids) == ids
        assert index.vectors is not None and index.vectors.shape[0] == len(ids)
        hits = [cid for cid, _ in index.search("Zorblatt Bridge trucks", 3)]
        assert hits and store.passages(hits)[hits[0]].source == "bridge.txt"

    from bot import Engine

    with Engine.open(s) as engine:
        a = engine.ask("What can the Zorblatt Bridge carry now?")
    assert not a.refused and any(c.source == "bridge.txt" for c in a.citations)
