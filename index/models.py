"""Where the models shipped inside newsbot live, and how a folder is checked.

Each shipped model is one folder of ``models/`` (installed as the package
``newsbot_models``): ``model.onnx``, ``tokenizer.json``, ``config.json`` and a
``MODEL_CARD.md`` that says how it was made. Nothing is downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .bundled import bundled_dir
from .errors import ModelError

FILES = ("model.onnx", "tokenizer.json", "config.json")  # and MODEL_CARD.md, not read at run time


def models_dir() -> Path:
    """``models/`` of a source checkout, else the installed ``newsbot_models``."""
    return bundled_dir("models", "newsbot_models")


def shipped(name: str) -> Path:
    """The folder of the shipped model ``name``."""
    return models_dir() / name


def read_config(folder: Path) -> dict[str, Any]:
    """The model's ``config.json``, after checking that its files are all there."""
    missing = [f for f in FILES if not (folder / f).is_file()]
    if missing:
        raise ModelError(f"the model in {folder} is missing {', '.join(missing)}")
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read {folder / 'config.json'}: {exc}") from exc
    if not isinstance(config, dict):
        raise ModelError(f"{folder / 'config.json'} is not a JSON object")
    return config
