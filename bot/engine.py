"""The answer engine every front-end shares: question in, ``Answer`` out."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from index.embed import Embedder, load_embedder
from index.errors import Cancelled, LLMError, QuestionError
from index.retrieve import RetrievalConfig, Retriever
from index.settings import Settings
from index.store import Store
from index.types import Filters, Passage

from . import extractive
from .query import QuestionInfo, analyse
from .types import Answer

Mode = Literal["auto", "llm", "extractive"]


@dataclass(frozen=True)
class AskOptions:
    filters: Filters = Filters()
    k: int | None = None
    mode: Mode = "auto"
    # Retrieval query when it differs from the question (a follow-up made standalone).
    standalone: str | None = None
    # The day the question is asked: "this week" is resolved against it, and
    # nothing published after it is cited. Default: today.
    as_of: date | None = None
    # LLM mode: each piece of the raw, unverified reply as it streams in
    # (called from another thread). Only the returned Answer is verified.
    on_token: Callable[[str], None] | None = None
    # Once set, the work stops at the next check with ``Cancelled``: between
    # stages, and between streamed chunks of the LLM's reply.
    cancel: threading.Event | None = None


def check_question(question: str, limit: int) -> str:
    q = " ".join(question.split())
    if not q:
        raise QuestionError(
            'The question is empty. Ask something, e.g. newsbot ask "Who is Pat Ryder?"'
        )
    if len(q) > limit:
        raise QuestionError(f"The question is {len(q):,} characters long; the limit is {limit:,}.")
    return q


def stale_notice(answer: Answer, info: QuestionInfo) -> str | None:
    """Say so when the newest cited article predates the period asked about."""
    if not info.period or not answer.citations:
        return None
    newest = max((c.published or "") for c in answer.citations)
    if newest and newest < info.period[0].isoformat():
        return (
            f"The newest cited article is from {newest}, older than the period asked about "
            f"({info.period[0].isoformat()} to {info.period[1].isoformat()})."
        )
    return None


class Engine:
    """Holds the open index and the embedder; answers questions."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.retriever = Retriever(
            store,
            embedder,
            RetrievalConfig(
                k=settings.top_k,
                candidates=settings.candidates,
                dense_weight=settings.dense_weight,
                bm25_weight=settings.bm25_weight,
            ),
        )

    @classmethod
    def open(cls, settings: Settings) -> Engine:
        store = Store(settings)
        try:
            embedder = load_embedder(
                settings.embed_model, cache_dir=store.dir, model_cache=settings.model_cache
            )
        except Exception:
            store.close()
            raise
        return cls(settings, store, embedder)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ask(self, question: str, options: AskOptions | None = None) -> Answer:
        opts = options or AskOptions()
        q = check_question(question, self.settings.max_question_chars)
        search = opts.standalone or q
        t0 = time.perf_counter()
        info = analyse(search, self.known_outlets(), opts.as_of)
        filters = opts.filters
        if opts.as_of and (not filters.until or filters.until > opts.as_of):
            filters = replace(filters, until=opts.as_of)
        passages = self.retriever.retrieve(search, filters, opts.k)
        Cancelled.raise_if_set(opts.cancel)
        extra: list[Filters] = []
        if not filters.outlet:  # make sure each outlet the question names is heard
            extra += [replace(filters, outlet=o) for o in info.outlets]
        if info.period and not (
            filters.since or opts.filters.until
        ):  # and the period it asks about
            extra.append(
                replace(
                    filters,
                    since=info.period[0],
                    until=min(info.period[1], filters.until or info.period[1]),
                )
            )
        seen = {p.chunk_id for p in passages}
        for f in extra:
            more = [p for p in self.retriever.retrieve(search, f, 3) if p.chunk_id not in seen]
            passages += more
            seen |= {p.chunk_id for p in more}
            Cancelled.raise_if_set(opts.cancel)
        t1 = time.perf_counter()
        use_llm = opts.mode == "llm" or (opts.mode == "auto" and self.settings.llm_configured)
        notices: list[str] = []
        answer: Answer | None = None
        if use_llm:
            from .llm import answer_with_llm  # imports openai only when needed

            try:
                answer = answer_with_llm(
                    self.settings, q, passages, on_token=opts.on_token, cancel=opts.cancel
                )
            except LLMError as e:
                notices.append(f"{e} Falling back to the extractive answer.")
        if answer is None:
            answer = self._extractive(search, info, passages, replace(opts, filters=filters))
            answer.question = q
            Cancelled.raise_if_set(opts.cancel)
        stale = stale_notice(answer, info)
        answer.notices = notices + answer.notices + ([stale] if stale else [])
        if opts.standalone and opts.standalone != q:
            answer.standalone_question = opts.standalone
        answer.timings = {"retrieval": t1 - t0, "answer": time.perf_counter() - t1} | answer.timings
        answer.retrieved = passages
        return answer

    def known_outlets(self) -> list[str]:
        return sorted({str(o) for o in self.store.outlet_names()})

    def _extractive(
        self, q: str, info: QuestionInfo, passages: list[Passage], opts: AskOptions
    ) -> Answer:
        index = self.store.bm25()
        idf = extractive.idf_from_counts(index.doc_freq, max(1, len(index.ids)))
        scored = extractive.score_sentences(info, passages, idf, self.embedder.embed_documents)
        where = " in the articles matching your filters" if opts.filters.active else ""
        s = self.settings
        threshold = s.min_relevance_comparison if info.comparison else s.min_relevance
        if not scored or scored[0].score < threshold:
            return Answer(
                q,
                f"{extractive.DECLINE}{where}: no indexed article answers this question.",
                True,
                "extractive",
            )
        if info.yes_no and not extractive.states_it(q, info, scored):
            return Answer(
                q,
                f"{extractive.DECLINE}{where}: no indexed article states whether this happened.",
                True,
                "extractive",
            )
        selected = extractive.select(scored, info, self.settings.answer_sentences)
        text, citations = extractive.compose(selected, q)
        return Answer(q, text, False, "extractive", citations)
