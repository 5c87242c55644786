"""How a text names an outlet: by name, with or without "The", or by its
initials (WSJ, AP). One rule for the question's analysis (``query.py``) and
for the LLM check (``bot/llm/verify.py``)."""

from __future__ import annotations

import re
from functools import lru_cache

_WORDS = re.compile(r"[A-Za-z]+")


def initials(outlet: str) -> str | None:
    """Initials of a multi-word outlet: AP (Associated Press), WSJ (The Wall
    Street Journal), AFP (Agence France-Presse); None for one word ("RT")."""
    words = [w for w in _WORDS.findall(outlet) if w[0].isupper() and w.lower() != "the"]
    return "".join(w[0] for w in words) if len(words) >= 2 else None


def _alternative(name: str) -> str:
    """A short all-capitals name (RT, BBC) matches as written; others in any case."""
    return re.escape(name) if name.isupper() and len(name) <= 4 else f"(?i:{re.escape(name)})"


@lru_cache(maxsize=1024)
def outlet_pattern(outlet: str) -> re.Pattern[str]:
    """Where a text names ``outlet``: its name as whole words, with or without
    its own leading "The" (case-insensitive, except a short all-capitals name
    such as RT), or its initials in capitals. The longest form matches first."""
    name = outlet.strip()
    short = re.sub(r"^the\s+", "", name, flags=re.I)
    alts = [_alternative(n) for n in sorted({name, short}, key=len, reverse=True)]
    abbr = initials(outlet)
    if abbr and abbr not in (name, short):
        alts.append(re.escape(abbr))
    return re.compile(rf"(?<![\w-])(?:{'|'.join(alts)})(?![\w])")
