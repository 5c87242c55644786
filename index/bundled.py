"""Folders that ship inside newsbot: found in a source checkout, else where a
regular install put them (as the packages ``newsbot_prompts``, ``newsbot_models``,
``newsbot_corpus``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bundled_dir(folder: str, package: str) -> Path:
    """``folder`` of a source checkout (an editable install), else the installed ``package``."""
    here = ROOT / folder
    if here.is_dir():
        return here
    spec = importlib.util.find_spec(package)
    places = list(spec.submodule_search_locations or []) if spec else []
    return Path(places[0]) if places else here
