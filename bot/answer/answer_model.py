"""The answer model: a cross-encoder, trained here (``train/answer_model.py``),
that reads a question with one candidate sentence and scores how well the
sentence answers it. Run by onnxruntime from the int8 export shipped in
``models/answer``; no torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from index.embed import pad_batch
from index.errors import ModelError
from index.models import read_config, shipped

NAME = "answer"


def context_text(sentence: str, before: str, title: str) -> str:
    """What the model reads beside the question: the sentence first, so that
    truncation cuts context rather than the sentence; then the sentence before
    and the headline. Training builds its pairs with this same function."""
    return " | ".join(p for p in (sentence, before, title) if p)


class AnswerModel:
    """Scores (sentence, sentence before, headline) candidates for a question, 0..1."""

    def __init__(self, folder: Path, session: Any, tokenizer: Any, config: dict[str, Any]) -> None:
        self.folder = folder
        self._session = session
        self._tokenizer = tokenizer
        self._inputs = {i.name for i in session.get_inputs()}
        try:  # read once here: a config with non-numbers is a ModelError at load
            self.threshold = float(config.get("threshold", 0.5))
            self.blend = float(config.get("blend", 0.0))
            self.direct_threshold = float(config.get("direct_threshold", 1.01))
        except (TypeError, ValueError) as exc:
            raise ModelError(
                f"{folder / 'config.json'} holds a value that is not a number"
            ) from exc
        self.config = config

    @classmethod
    def load(cls, folder: Path | None = None, threshold: float | None = None) -> AnswerModel:
        """Load the model in ``folder`` (default: the shipped one); ModelError when
        a file is missing or does not load."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = folder or shipped(NAME)
        config = read_config(folder)
        if threshold is not None:
            config = config | {"threshold": threshold}
        try:
            tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as exc:  # tokenizers raises plain Exception
            raise ModelError(f"cannot read {folder / 'tokenizer.json'}: {exc}") from exc
        tok.no_padding()
        tok.enable_truncation(max_length=int(config.get("max_length", 128)), strategy="only_second")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.enable_mem_pattern = False
        try:
            session = ort.InferenceSession(
                str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime's own exception types
            raise ModelError(f"corrupt or unreadable model {folder / 'model.onnx'}: {exc}") from exc
        return cls(folder, session, tok, config)

    def score(self, question: str, candidates: Sequence[tuple[str, str, str]]) -> list[float]:
        """One score in 0..1 per (sentence, sentence before, headline)."""
        if not candidates:
            return []
        try:
            encs = self._tokenizer.encode_batch([(question, context_text(*c)) for c in candidates])
        except Exception as exc:
            raise ModelError(f"the answer model's tokenizer failed: {exc}") from exc
        feed = pad_batch(encs)
        try:
            (logits,) = self._session.run(
                ["logits"], {k: v for k, v in feed.items() if k in self._inputs}
            )
        except Exception as exc:
            raise ModelError(f"the answer model failed to run: {exc}") from exc
        return [1.0 / (1.0 + math.exp(-float(x))) for x in np.asarray(logits).reshape(-1)]


@cache
def load_shipped() -> AnswerModel:
    """The shipped answer model, loaded once per process."""
    return AnswerModel.load()
