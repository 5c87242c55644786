"""newsbot's own small data types. Framework types (LlamaIndex nodes, Chroma
results) never leave ``index/``; these do."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

UNKNOWN_OUTLET = "unknown outlet"


@dataclass(frozen=True)
class Article:
    """One article as read from a file, before cleaning.

    ``source`` is the path relative to the corpus root, or ``FILE#ID`` for a
    record inside a JSON/JSONL file. ``text`` is the exact text that citation
    offsets index: the file's text, or the record's text field.
    """

    source: str
    text: str
    outlet: str
    publisher: str | None = None
    title: str | None = None
    published: date | None = None
    url: str | None = None
    note: str | None = None
    authors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences: ``article.text[start:end] == text``."""

    id: str
    article: Article
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its provenance and fused retrieval score."""

    chunk_id: str
    source: str
    text: str
    start: int
    end: int
    outlet: str
    publisher: str | None
    title: str | None
    published: date | None
    url: str | None
    note: str | None
    score: float
    dense_rank: int | None = None
    bm25_rank: int | None = None


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to one outlet and/or a date range (inclusive)."""

    outlet: str | None = None
    since: date | None = None
    until: date | None = None

    @property
    def active(self) -> bool:
        return bool(self.outlet or self.since or self.until)


def parse_day(value: str | None, name: str = "", hint: str = "") -> date | None:
    """A day a user typed for a filter (YYYY-MM-DD or YYYY/MM/DD); None when
    blank. ``QuestionError`` otherwise, starting with ``name`` and ending the
    advice with ``hint`` (", or 'off'")."""
    if not value or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip().replace("/", "-"))
    except ValueError:
        from .errors import QuestionError

        where = f"{name}: " if name else ""
        raise QuestionError(f"{where}{value!r} is not a date (use YYYY-MM-DD{hint}).") from None


@dataclass
class IngestReport:
    files: int = 0
    files_unchanged: int = 0
    files_skipped: int = 0
    articles: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
