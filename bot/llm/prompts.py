"""Prompt templates: the text files in ``prompts/``, checked when loaded.

A template is a system message, a line ``=== user ===``, then the user
message. Placeholders are ``{name}`` (``{{`` and ``}}`` for literal braces).
Each template declares its placeholders in ``PLACEHOLDERS``; a file that uses
an unknown one, or leaves out a declared one, is rejected when it is loaded,
not when a user's question reaches it.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from index.bundled import bundled_dir
from index.errors import ConfigError

PROMPTS_DIR = bundled_dir("prompts", "newsbot_prompts")
USER_MARK = "=== user ==="

PLACEHOLDERS: dict[str, frozenset[str]] = {
    "answer": frozenset({"decline", "sources", "ids", "question"}),
    "condense": frozenset({"history", "question"}),
}


@dataclass(frozen=True)
class Prompt:
    name: str
    system: str
    user: str
    placeholders: frozenset[str]

    def messages(self, **values: str) -> list[dict[str, str]]:
        """The chat messages with every placeholder filled in."""
        if set(values) != self.placeholders:
            missing = sorted(self.placeholders - set(values))
            extra = sorted(set(values) - self.placeholders)
            raise ConfigError(
                f"Prompt {self.name!r} needs {sorted(self.placeholders)}; "
                f"missing {missing}, unexpected {extra}."
            )
        return [
            {"role": "system", "content": self.system.format(**values)},
            {"role": "user", "content": self.user.format(**values)},
        ]


def placeholders_of(text: str) -> set[str]:
    """The ``{name}`` fields of a template; positional or indexed ones are errors."""
    names = set()
    for _, field, spec, conversion in string.Formatter().parse(text):
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise ValueError(f"bad placeholder {{{field}}}")
        names.add(field)
    return names


def parse_prompt(name: str, text: str, expected: frozenset[str]) -> Prompt:
    """Split and validate a template's text (see the module docstring)."""
    system, sep, user = text.partition(f"\n{USER_MARK}\n")
    if not sep:
        raise ConfigError(f"Prompt {name!r} has no '{USER_MARK}' line.")
    try:
        found = placeholders_of(system) | placeholders_of(user)
    except ValueError as e:
        raise ConfigError(f"Prompt {name!r}: {e}.") from None
    if found != expected:
        unknown, missing = sorted(found - expected), sorted(expected - found)
        raise ConfigError(
            f"Prompt {name!r}: unknown placeholders {unknown}, missing placeholders {missing}."
        )
    return Prompt(name, system.strip(), user.strip(), expected)


@cache
def load_prompt(name: str, directory: Path = PROMPTS_DIR) -> Prompt:
    """Read and validate ``prompts/<name>.txt``."""
    if name not in PLACEHOLDERS:
        raise ConfigError(f"Unknown prompt {name!r}; known: {sorted(PLACEHOLDERS)}.")
    path = directory / f"{name}.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"Cannot read prompt {path}: {e.strerror}.") from None
    return parse_prompt(name, text, PLACEHOLDERS[name])
