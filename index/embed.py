"""Sentence embeddings, run by onnxruntime from a model folder that ships with newsbot.

The default is ``models/embed/`` (installed as ``newsbot_models``): all-MiniLM-L6-v2
exported to ONNX by ``python -m train.embed_model``, with its tokenizer and a
``config.json`` that names the vectors it makes. ``NEWSBOT_EMBED_MODEL`` may name
another folder in the same layout. Nothing is downloaded, exported or built at run
time, and torch is never imported: pooling and normalisation are done here, exactly
as sentence-transformers does them (``tests/test_embed.py`` checks the vectors
against sentence-transformers when the ``train`` extra is installed).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from .errors import ConfigError, ModelError
from .models import read_config, shipped

FloatArray = npt.NDArray[np.float32]
_REBUILD = "reinstall newsbot, or rebuild the folder with: python -m train.embed_model"


class Embedder(Protocol):
    """What the index needs from an embedding model."""

    name: str  # identifies model, variant and pooling; stored in the index to detect a mismatch
    dim: int

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """L2-normalised vectors, one per text, in order."""
        ...

    def embed_query(self, text: str) -> list[float]:
        """One L2-normalised vector."""
        ...


def model_folder(model: str = "") -> Path:
    """The embedding model's folder: ``""`` is the shipped one, else a local path."""
    return shipped("embed") if not model else Path(model).expanduser()


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


def _int_field(config: dict[str, Any], key: str, folder: Path) -> int:
    value = config.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ModelError(f"{folder / 'config.json'}: '{key}' must be a positive whole number")
    return value


class OnnxEmbedder:
    """onnxruntime + ``tokenizers`` over one model folder; no torch."""

    def __init__(self, folder: Path, batch_size: int = 64) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if batch_size < 1:
            raise ConfigError(f"embedding batch size must be at least 1, not {batch_size}")
        try:
            config = read_config(folder)
        except ModelError as exc:
            raise ModelError(f"embedding model: {exc} ({_REBUILD})") from exc
        name = config.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ModelError(f"{folder / 'config.json'} does not name the model ({_REBUILD})")
        self.name = name
        self.dim = _int_field(config, "dim", folder)
        self.onnx_path = folder / "model.onnx"
        self._pooling = str(config.get("pooling", "mean"))
        if self._pooling not in ("mean", "cls"):
            raise ModelError(f"{folder / 'config.json'}: unknown pooling {self._pooling!r}")
        self._batch_size = batch_size
        try:
            self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as exc:  # tokenizers raises plain Exception
            raise ModelError(
                f"cannot read {folder / 'tokenizer.json'}: {exc} ({_REBUILD})"
            ) from exc
        padding = self._tokenizer.padding
        self._pad_id = int(padding["pad_id"]) if padding else 0
        # tokenizer.json may pin fixed-length padding/truncation; use the model's limit and
        # pad per batch ourselves, as sentence-transformers does.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=_int_field(config, "max_length", folder))

        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only
        # Memory patterns pay off for fixed shapes only; batches here vary in width,
        # and each new shape would keep another pattern (about 90 MB more at ingest).
        options.enable_mem_pattern = False
        # An int8-weights model (train/embed_model.py's int8w) is expanded to fp32 once,
        # at load: fold its DequantizeLinear nodes rather than run them every batch.
        options.add_session_config_entry("session.disable_quant_qdq", "1")
        try:
            self._session = ort.InferenceSession(
                str(self.onnx_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own non-exported exception types
            raise ModelError(
                f"corrupt or unreadable embedding model {self.onnx_path}: {exc} ({_REBUILD})"
            ) from exc
        self._inputs = {i.name for i in self._session.get_inputs()}
        output = self._session.get_outputs()[0]
        self._output: str = output.name
        if not {"input_ids", "attention_mask"} <= self._inputs or output.shape[-1] != self.dim:
            raise ModelError(
                f"embedding model {self.onnx_path} does not match its config.json "
                f"(inputs {sorted(self._inputs)}, output {output.shape}, dim {self.dim})"
            )

    def _run(self, encodings: Sequence[Any]) -> FloatArray:
        """Pad one batch of encodings, run the transformer, pool."""
        feed = {k: v for k, v in pad_batch(encodings, self._pad_id).items() if k in self._inputs}
        mask = feed["attention_mask"]
        try:
            (hidden,) = self._session.run([self._output], feed)
        except Exception as exc:
            raise ModelError(f"embedding model {self.onnx_path} failed to run: {exc}") from exc
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


def load_embedder(model: str = "", *, batch_size: int = 64) -> OnnxEmbedder:
    """The embedder for ingest and queries alike: the shipped model, or the folder
    ``model`` (``NEWSBOT_EMBED_MODEL``). Raises ModelError for a missing or corrupt
    model folder, with how to get it back."""
    folder = model_folder(model)
    if not folder.is_dir():
        hint = (
            "NEWSBOT_EMBED_MODEL must name a folder with model.onnx, tokenizer.json and "
            "config.json (python -m train.embed_model --out DIR makes one)"
            if model
            else _REBUILD
        )
        raise ModelError(f"embedding model folder not found: {folder} ({hint})")
    return OnnxEmbedder(folder, batch_size)
