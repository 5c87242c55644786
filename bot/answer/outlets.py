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


@lru_cache(maxsize=1024)
def outlet_pattern(outlet: str) -> re.Pattern[str]:
    """Where a text names ``outlet``: its name as whole words (a leading "The"
    optional; case-insensitive, except a short all-capitals name such as RT),
    or its initials in capitals."""
    name = re.sub(r"^the\s+", "", outlet.strip(), flags=re.I)
    short_caps = name.isupper() and len(name) <= 4
    alts = [re.escape(name) if short_caps else f"(?i:{re.escape(name)})"]
    abbr = initials(outlet)
    if abbr and abbr != name:
        alts.append(re.escape(abbr))
    return re.compile(rf"(?<![\w-])(?:(?i:the)\s+)?(?:{'|'.join(alts)})(?![\w])")
