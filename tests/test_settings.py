"""Configuration: every setting is documented in .env.example, and it loads."""

from __future__ import annotations

import re

from conftest import ROOT

from index.settings import Settings


def env_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        choices = getattr(alias, "choices", None)
        names.add(str(choices[0]) if choices else f"NEWSBOT_{name.upper()}")
    return names


def test_env_example_lists_every_setting() -> None:
    text = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^([A-Z0-9_]+)=", text, re.M))
    assert env_names() == listed


def test_env_example_loads_and_empty_values_mean_default() -> None:
    s = Settings(_env_file=ROOT / ".env.example")  # type: ignore[call-arg]
    assert s.chroma_host is None and not s.llm_configured and s.top_k == 5
