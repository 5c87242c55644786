"""index.embed against the real bundled all-MiniLM-L6-v2: no mocks, no network."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from index import embed
from index.embed import (
    Embedder,
    HuggingFaceEmbedder,
    OnnxEmbedder,
    ensure_onnx,
    load_embedder,
    model_dir,
)
from index.errors import ConfigError
from index.settings import Settings

ROOT = Path(__file__).resolve().parents[1]

PARAGRAPH = (
    "The White House has not viewed a recent slowing of Russia's military operations in "
    "Ukraine's eastern Donbas region as a stalling of Moscow's war effort, but rather as part "
    "of a strategic effort to regroup amid smaller tit-for-tat clashes between the two sides. "
    "National Security Council spokesman John Kirby told reporters on Friday that there was a "
    "lot of activity, all of it happening in real time. "
)
LONG = PARAGRAPH * 6  # well over 256 word pieces: both backends must truncate the same way
SENTENCES = [
    "Russia's offensive in the Donbas has stalled, U.S. officials say.",
    "The central bank raised interest rates by a quarter point.",
    "Markets fell.",
    "",
    LONG,
]


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
        sum(x * x for x in a) * sum(y * y for y in b)
    )


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Path:
    """An index dir holding the ONNX export (the session's, from the user cache)."""
    cache = tmp_path_factory.mktemp("index")
    path = ensure_onnx("", cache, model_cache)
    assert path is not None and path.parent == cache
    return cache


@pytest.fixture(scope="module")
def onnx(onnx_dir: Path) -> Embedder:
    emb = load_embedder(cache_dir=onnx_dir)
    assert isinstance(emb, OnnxEmbedder)
    return emb


@pytest.fixture(scope="module")
def hf() -> Iterator[Embedder]:
    """The LlamaIndex HuggingFace embedder, constructed with the network blocked."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args[1:] or args)
        raise OSError("network access during model load")

    saved = socket.socket.connect, socket.getaddrinfo
    socket.socket.connect, socket.getaddrinfo = refuse, refuse  # type: ignore[method-assign]
    try:
        emb = load_embedder(backend="torch", batch_size=4)
    finally:
        socket.socket.connect, socket.getaddrinfo = saved  # type: ignore[method-assign]
    assert attempts == []
    assert isinstance(emb, HuggingFaceEmbedder)
    yield emb


def test_long_sentence_really_is_truncated() -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tokenizer.no_truncation()
    assert len(tokenizer.encode(LONG).ids) > 300


def test_onnx_matches_huggingface_queries(onnx: Embedder, hf: Embedder) -> None:
    for text in SENTENCES:
        assert cosine(onnx.embed_query(text), hf.embed_query(text)) >= 0.999, text[:40]


def test_onnx_matches_huggingface_batch(onnx: Embedder, hf: Embedder) -> None:
    texts = SENTENCES * 3  # several batches of mixed lengths (padding) on both sides
    a, b = onnx.embed_documents(texts), hf.embed_documents(texts)
    assert len(a) == len(b) == len(texts)
    for text, va, vb in zip(texts, a, b, strict=True):
        assert cosine(va, vb) >= 0.999, text[:40]


def test_batching_does_not_change_vectors(onnx: Embedder) -> None:
    batch = onnx.embed_documents(SENTENCES)
    for text, vec in zip(SENTENCES, batch, strict=True):
        assert cosine(vec, onnx.embed_query(text)) >= 0.9999


def test_same_name_and_dim(onnx: Embedder, hf: Embedder) -> None:
    assert onnx.name == hf.name
    assert "all-MiniLM-L6-v2" in onnx.name and "mean" in onnx.name
    assert onnx.dim == hf.dim == 384


@pytest.mark.parametrize("backend", ["onnx", "hf"])
def test_vectors_are_normalised(backend: str, request: pytest.FixtureRequest) -> None:
    emb: Embedder = request.getfixturevalue(backend)
    vectors = [*emb.embed_documents(SENTENCES), emb.embed_query("Who said what about Donbas?")]
    for vec in vectors:
        assert len(vec) == 384
        assert all(isinstance(x, float) for x in vec)
        assert math.isclose(math.sqrt(sum(x * x for x in vec)), 1.0, abs_tol=1e-4)
    assert emb.embed_documents([]) == []


@pytest.mark.parametrize("backend", ["onnx", "hf"])
def test_close_sentences_score_higher(backend: str, request: pytest.FixtureRequest) -> None:
    emb: Embedder = request.getfixturevalue(backend)
    query = emb.embed_query("Has the Russian offensive in eastern Ukraine stalled?")
    near, far, other = emb.embed_documents(
        [
            "U.S. officials say Russia's push in the Donbas has not stalled.",
            "A recipe for lemon cake with a thin sugar glaze.",
            "The football club signed a new goalkeeper on Tuesday.",
        ]
    )
    assert cosine(query, near) > 0.5
    assert cosine(query, near) > cosine(query, far) + 0.3
    assert cosine(query, near) > cosine(query, other) + 0.3


def test_query_path_does_not_import_torch(onnx_dir: Path) -> None:
    script = f"""
import json, sys
from pathlib import Path
from index.embed import load_embedder
emb = load_embedder(cache_dir=Path({str(onnx_dir)!r}))
vec = emb.embed_query("What did John Kirby say?")
heavy = ["torch", "sentence_transformers", "transformers", "llama_index"]
print(json.dumps({{"type": type(emb).__name__, "dim": len(vec),
                  "loaded": [m for m in heavy if m in sys.modules]}}))
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report == {"type": "OnnxEmbedder", "dim": 384, "loaded": []}


def test_ensure_onnx_reuses_a_good_export(onnx_dir: Path) -> None:
    path = ensure_onnx("", onnx_dir)
    assert path is not None
    before = path.stat().st_mtime_ns
    assert ensure_onnx("", onnx_dir) == path
    assert path.stat().st_mtime_ns == before
    assert [p.name for p in onnx_dir.iterdir()] == [path.name]  # no temp files left


def test_corrupt_onnx_file_is_a_config_error(onnx_dir: Path, tmp_path: Path) -> None:
    path = ensure_onnx("", onnx_dir)
    assert path is not None
    bad = tmp_path / path.name
    bad.write_bytes(b"this is not an onnx model")
    from index.embed import _spec

    with pytest.raises(ConfigError, match="corrupt"):
        OnnxEmbedder(_spec(""), bad)


def test_corrupt_onnx_file_is_rebuilt(onnx_dir: Path, onnx: Embedder, tmp_path: Path) -> None:
    good = ensure_onnx("", onnx_dir)
    assert good is not None
    bad = tmp_path / good.name
    bad.write_bytes(good.read_bytes()[: 1 << 20])  # truncated copy
    emb = load_embedder(cache_dir=tmp_path)
    assert isinstance(emb, OnnxEmbedder)
    assert bad.stat().st_size > 50 << 20
    text = SENTENCES[0]
    assert cosine(emb.embed_query(text), onnx.embed_query(text)) >= 0.9999


def test_new_index_reuses_the_user_cache_export(
    onnx_dir: Path,
    onnx: Embedder,
    model_cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second index takes the export from the user cache: no export runs, and its
    copy is a hard link to the cached file."""
    name = next(onnx_dir.glob("embed-*.onnx")).name
    shared = model_cache / name
    assert shared.is_file()
    before = shared.stat()

    def no_export(*args: object) -> None:
        raise AssertionError("the export was built again")

    monkeypatch.setattr(embed, "_export_onnx", no_export)
    ix = tmp_path / "ix"
    ix.mkdir()
    emb = load_embedder(cache_dir=ix, model_cache=model_cache)
    assert isinstance(emb, OnnxEmbedder) and emb.onnx_path == ix / name
    local = (ix / name).stat()
    assert (local.st_ino, local.st_dev) == (before.st_ino, before.st_dev)
    assert shared.stat().st_mtime_ns == before.st_mtime_ns
    assert ensure_onnx("", tmp_path / "ix2", model_cache) == tmp_path / "ix2" / name
    assert [p.name for p in ix.iterdir()] == [name]  # no temp files left
    text = SENTENCES[0]
    assert cosine(emb.embed_query(text), onnx.embed_query(text)) >= 0.9999


def test_corrupt_user_cache_export_is_rebuilt(
    onnx_dir: Path, onnx: Embedder, tmp_path: Path
) -> None:
    good = next(onnx_dir.glob("embed-*.onnx"))
    cache, ix = tmp_path / "cache", tmp_path / "ix"
    cache.mkdir()
    ix.mkdir()
    bad = cache / good.name
    bad.write_bytes(good.read_bytes()[: 1 << 20])  # truncated copy
    emb = load_embedder(cache_dir=ix, model_cache=cache)
    assert isinstance(emb, OnnxEmbedder) and emb.onnx_path == ix / good.name
    rebuilt = bad.stat()
    assert rebuilt.st_size > 50 << 20
    assert (ix / good.name).stat().st_ino == rebuilt.st_ino
    assert [p.name for p in cache.iterdir()] == [good.name]
    text = SENTENCES[0]
    assert cosine(emb.embed_query(text), onnx.embed_query(text)) >= 0.9999


@pytest.mark.parametrize("how", ["under-a-file", "read-only"])
def test_unusable_user_cache_falls_back_to_the_index_dir(
    how: str, onnx: Embedder, tmp_path: Path
) -> None:
    """A user cache that cannot be created or written: the export is built in the
    index directory, as without a user cache."""
    if how == "under-a-file":
        (tmp_path / "file").write_text("not a folder")
        cache = tmp_path / "file" / "newsbot"
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        cache = tmp_path / "ro"
        cache.mkdir(mode=0o555)
    ix = tmp_path / "ix"
    ix.mkdir()
    try:
        emb = load_embedder(cache_dir=ix, model_cache=cache)
    finally:
        if cache.is_dir():
            cache.chmod(0o755)
    assert isinstance(emb, OnnxEmbedder)
    path = next(ix.glob("embed-*.onnx"))
    assert emb.onnx_path == path and path.stat().st_nlink == 1
    assert not cache.is_dir() or not any(cache.iterdir())
    text = SENTENCES[0]
    assert cosine(emb.embed_query(text), onnx.embed_query(text)) >= 0.9999


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG layout")
def test_model_cache_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NEWSBOT_MODEL_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert Settings(_env_file=None).model_cache == tmp_path / "newsbot"  # type: ignore[call-arg]
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    home = Path.home()
    assert Settings(_env_file=None).model_cache == home / ".cache" / "newsbot"  # type: ignore[call-arg]
    monkeypatch.setenv("NEWSBOT_MODEL_CACHE", "~/models")
    assert Settings(_env_file=None).model_cache == home / "models"  # type: ignore[call-arg]


def test_query_without_cache_dir_falls_back_to_torch(hf: Embedder) -> None:
    emb = load_embedder(cache_dir=None)
    assert isinstance(emb, HuggingFaceEmbedder)
    assert cosine(emb.embed_query("Markets fell."), hf.embed_query("Markets fell.")) >= 0.9999


def test_missing_model_dir_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_embedder(str(tmp_path / "nope"), cache_dir=tmp_path)
    with pytest.raises(ConfigError, match="incomplete"):
        model_dir(str(tmp_path))
    with pytest.raises(ConfigError, match="batch size"):
        load_embedder(batch_size=0)


def test_bundled_model_dir() -> None:
    path = model_dir()
    assert (path / "model.safetensors").is_file() and (path / "tokenizer.json").is_file()
    assert model_dir(str(path)) == path


def test_ingest_embeds_with_onnx_and_matches_torch(
    hf: Embedder, tmp_path: Path, model_cache: Path
) -> None:
    """The first ingest puts the ONNX export in the index, from the user cache or built
    there (torch runs in a child process only); ingests never import torch, and the
    vectors they store are torch's vectors."""
    import shutil

    corpus, ix = tmp_path / "corpus", tmp_path / "ix"
    shutil.copytree(ROOT / "corpus", corpus)
    held_back = sorted(corpus.rglob("*.txt"))[0]
    spare = tmp_path / held_back.name
    held_back.rename(spare)
    script = f"""
import json, sys
from pathlib import Path
from index.ingest import ingest
from index.settings import Settings
r = ingest(Settings(_env_file=None, index_dir=Path({str(ix)!r}), corpus_dir=Path({str(corpus)!r})))
print(json.dumps({{"chunks": r.chunks_added, "torch": "torch" in sys.modules}}))
"""

    def run_ingest() -> dict[str, Any]:
        out = subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]

    first = run_ingest()
    assert first["chunks"] > 10 and first["torch"] is False
    (export,) = ix.glob("embed-*.onnx")
    assert export.stat().st_ino == (model_cache / export.name).stat().st_ino
    spare.rename(held_back)
    second = run_ingest()
    assert second["chunks"] > 0 and second["torch"] is False

    from index.settings import Settings
    from index.store import Store

    with Store(Settings(_env_file=None, index_dir=ix)) as store:  # type: ignore[call-arg]
        got = store.collection.get(limit=5, include=["embeddings", "documents", "metadatas"])
    assert len(got["ids"]) == 5
    for vec, doc, meta in zip(got["embeddings"], got["documents"], got["metadatas"], strict=True):
        text = f"{meta['title']}\n{doc}" if meta.get("title") else doc
        assert cosine(list(vec), hf.embed_documents([text])[0]) >= 0.999
