"""The answer object every front-end renders, and its JSON contract."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from index.types import Passage


@dataclass(frozen=True)
class Citation:
    """An exact quote: ``text_of(source)[start:end] == quote``."""

    id: int
    outlet: str
    publisher: str | None
    title: str | None
    published: str | None
    url: str | None
    source: str
    quote: str
    start: int
    end: int
    score: float
    note: str | None = None

    @classmethod
    def from_passage(cls, n: int, p: Passage, start: int, end: int, score: float) -> Citation:
        """Cite ``p``'s text between absolute offsets ``start`` and ``end``."""
        quote = p.text[start - p.start : end - p.start]
        return cls(
            id=n,
            outlet=p.outlet,
            publisher=p.publisher,
            title=p.title,
            published=p.published.isoformat() if p.published else None,
            url=p.url,
            source=p.source,
            quote=quote,
            start=start,
            end=end,
            score=round(score, 4),
            note=p.note,
        )


@dataclass(frozen=True)
class Answer:
    """One answer; built once by the engine, never patched afterwards."""

    question: str
    answer: str
    refused: bool
    mode: str
    citations: list[Citation] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    standalone_question: str | None = None
    sentences: list[dict[str, Any]] | None = None  # LLM mode: per-sentence verification
    timings: dict[str, float] = field(default_factory=dict)
    retrieved: list[Passage] = field(default_factory=list)  # not part of the JSON contract
    # The short answer stated before the quotes ("Vladimir Medinsky", "Yes"), when
    # the engine is sure of it; None otherwise.
    direct: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``ask --json`` contract (documented in the README)."""
        out: dict[str, Any] = {
            "question": self.question,
            "answer": self.answer,
            "refused": self.refused,
            "mode": self.mode,
            "direct_answer": self.direct,
            "citations": [asdict(c) for c in self.citations],
            "notices": self.notices,
            "timings_ms": {k: round(v * 1000, 1) for k, v in self.timings.items()},
        }
        if self.standalone_question:
            out["standalone_question"] = self.standalone_question
        if self.sentences is not None:
            out["sentences"] = self.sentences
        out["retrieved"] = [
            {
                "source": p.source,
                "start": p.start,
                "end": p.end,
                "outlet": p.outlet,
                "score": round(p.score, 5),
            }
            for p in self.retrieved
        ]
        return out
