"""The answer object every front-end renders, and its JSON contract."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from index.types import Passage

from .query import QuestionInfo


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

    @property
    def republished(self) -> bool:
        """True when the copy comes from a site other than the outlet's own
        (the publisher's domain is not the outlet's in ``index/outlets.toml``)."""
        from index.readers import outlet_from_url

        return bool(self.publisher) and outlet_from_url(f"https://{self.publisher}") != self.outlet

    @property
    def outlet_label(self) -> str:
        """The outlet, and the site the copy came from when it is another's:
        "Associated Press (via economicglobe.com)"; every front-end shows this."""
        return f"{self.outlet} (via {self.publisher})" if self.republished else self.outlet

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
    # The engine's analysis of the question it searched for (not in the JSON contract).
    info: QuestionInfo | None = None

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
