"""The answer engine every front-end shares: question in, ``Answer`` out.

``Engine.open`` opens the index (building the default one on first use);
``Engine.ask`` runs the one pipeline, each stage once:

    names       a name in no article, a typo of an indexed one, is answered
                for that one (``names.py``)
    follow-up   a question about the previous answer is answered from its
                sources (``followup.py``)
    analyse     the question's outlets, period and form (``query.py``)
    overview    "what do the articles say about X": a sentence per article
                (``overview.py``)
    retrieve    hybrid retrieval, then extra retrievals for each outlet the
                question names and for the period it asks about
    answer      with an LLM (``bot/llm/answer.py``), or else:
    score       every sentence of the passages (the classic score, and the
                learned answer model, ``answer_model.py``, when it is chosen);
                "what did X say" keeps only X's sentences (``speakers.py``)
    compose     the extractive answer from the best sentences (``extractive.py``),
                with a direct answer before the quotes (``direct.py``)

Front-ends reach the index only through the engine: ``resolve_outlet``,
``known_outlets``, ``outlets``, ``articles``, ``source_texts`` and
``conversation``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from index.embed import Embedder, load_embedder
from index.errors import Cancelled, ConfigError, IndexNotReady, LLMError, ModelError, QuestionError
from index.retrieve import RetrievalConfig, Retriever
from index.settings import Settings, default_index_dir
from index.store import Store
from index.types import Filters, IngestReport, Passage

from . import direct, extractive, names, overview, speakers
from .answer_model import AnswerModel, load_shipped
from .conversation import Condense, Conversation
from .declines import NO_ARTICLE, NOT_STATED, declined
from .query import QuestionInfo, analyse
from .types import Answer

if TYPE_CHECKING:
    from index.ingest import Progress
    from index.readers import SourceTexts

    from ..llm.client import ChatModel

# Builds the index: given the progress callback to report to (or None), the report.
Build = Callable[["Progress | None"], IngestReport]
# A front-end's way of showing a first-use build: it calls ``build`` with its
# progress display and shows the report.
OnBuild = Callable[[Settings, Build], Any]

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
    # The previous answer in a chat: a follow-up that refers to it ("which outlet
    # reported that?", "tell me more") is answered from its sources (``followup.py``).
    previous: Answer | None = None


def check_question(question: str, limit: int) -> str:
    q = " ".join(question.split())
    if not q:
        raise QuestionError(
            'The question is empty. Ask something, e.g. newsbot ask "Who is Pat Ryder?"'
        )
    if len(q) > limit:
        raise QuestionError(f"The question is {len(q):,} characters long; the limit is {limit:,}.")
    if not any(ch.isalnum() for ch in q):
        raise QuestionError(
            f"{q!r} has no words to search for. Ask a question, e.g. "
            'newsbot ask "Who is Pat Ryder?"'
        )
    return q


NO_LLM = (
    "No LLM is configured. Set OPENAI_BASE_URL to an OpenAI-compatible server "
    "(e.g. http://127.0.0.1:8080/v1 for a local llama.cpp) or OPENAI_API_KEY for "
    "OpenAI, in the environment or in .env; or ask with --mode extractive."
)


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


@dataclass(frozen=True)
class Scoring:
    """The scoring stage's result: the ranked sentences, the best score and the
    threshold it must reach, and the answer model used (None: classic)."""

    sentences: list[extractive.Scored]
    best: float
    threshold: float
    model: AnswerModel | None
    speaker: str | None = None  # "what did X say": X, whose sentences alone are kept


class Engine:
    """Holds the open index and the embedder; answers questions."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self._answer_model: AnswerModel | ModelError | None = None
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
    def open(cls, settings: Settings, *, on_build: OnBuild | None = None) -> Engine:
        """The engine over ``settings.index_dir``. With ``on_build``, a missing
        default index is built first, the front-end showing the build; another
        missing index is an ``IndexNotReady`` saying how to build it."""
        try:
            return cls._open(settings)
        except IndexNotReady as e:
            if on_build is None or not str(e).startswith("No index"):
                raise
            if settings.index_dir.resolve() != default_index_dir().resolve():
                d = settings.index_dir  # only the default builds itself
                raise IndexNotReady(
                    f"No index at {d} yet. Build it with: newsbot --index-dir {d} ingest "
                    "[FILES OR FOLDERS] (default: the corpus folder)"
                ) from None
        from index.ingest import ingest

        on_build(settings, lambda progress: ingest(settings, None, progress=progress))
        return cls._open(settings)

    @classmethod
    def _open(cls, settings: Settings) -> Engine:
        store = Store(settings)
        try:
            embedder = load_embedder(settings.embed_model)
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
        Cancelled.raise_if_set(opts.cancel)  # stopped before it started
        q = check_question(question, self.settings.max_question_chars)
        if opts.mode == "llm" and not self.settings.llm_configured:
            raise ConfigError(NO_LLM)
        t0 = time.perf_counter()
        # "Kirbey", in no article, is answered for "Kirby"
        fixes = names.near_misses(opts.standalone or q, self.store.bm25(), self.known_outlets())
        asked = names.apply(q, fixes)
        if opts.previous is not None:  # a follow-up about the last answer
            from .followup import answer_from_last

            made = answer_from_last(self, asked, opts.previous, opts)
            if made is not None:
                return replace(
                    names.lead(made, fixes),
                    question=q,
                    timings={"answer": time.perf_counter() - t0},
                )
        search = names.apply(opts.standalone or q, fixes)
        info = analyse(search, self.known_outlets(), opts.as_of)
        filters = self.filters(opts)
        made = overview.answer_overview(self, search, filters)
        if made is not None:
            return replace(
                names.lead(made, fixes),
                question=q,
                standalone_question=search if search != q else None,
                timings={"retrieval": 0.0, "answer": time.perf_counter() - t0},
                info=info,
            )
        passages = self.retrieve(search, info, opts, filters)
        t1 = time.perf_counter()
        use_llm = opts.mode == "llm" or (opts.mode == "auto" and self.settings.llm_configured)
        notices: list[str] = []
        answer: Answer | None = None
        if use_llm:
            answer = self._llm_answer(asked, passages, opts, notices)
        if answer is None:
            scored = self.score(search, info, passages, notices)
            answer = self._extractive(search, info, scored, opts)
            Cancelled.raise_if_set(opts.cancel)
        if info.comparison and len({c.outlet for c in answer.citations}) >= 2:
            # a line per outlet and the coverage, first
            answer = overview.comparison_lead(self, search, answer, filters)
        stale = stale_notice(answer, info)
        answer = names.lead(answer, fixes, passages)
        return replace(
            answer,
            question=q,
            notices=notices + answer.notices + ([stale] if stale else []),
            standalone_question=search if search != q else None,
            timings={"retrieval": t1 - t0, "answer": time.perf_counter() - t1} | answer.timings,
            retrieved=passages,
            info=info,
        )

    # The stages of ``ask``.

    def filters(self, opts: AskOptions) -> Filters:
        """The user's filters, the outlet resolved, ending at the as-of day."""
        filters = opts.filters
        if filters.outlet:
            filters = replace(filters, outlet=self.resolve_outlet(filters.outlet))
        if opts.as_of and (not filters.until or filters.until > opts.as_of):
            filters = replace(filters, until=opts.as_of)
        return filters

    def retrieve(
        self, search: str, info: QuestionInfo, opts: AskOptions, filters: Filters | None = None
    ) -> list[Passage]:
        """Retrieval, then extra retrievals so that each outlet the question names,
        and the period it asks about, is heard (``filters``: ``self.filters(opts)``,
        when computed already)."""
        if filters is None:
            filters = self.filters(opts)
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
        return passages

    def _llm_answer(
        self, q: str, passages: list[Passage], opts: AskOptions, notices: list[str]
    ) -> Answer | None:
        """The LLM's verified answer, or None (with a notice) when it fails."""
        from ..llm.answer import answer_with_llm  # imports openai only when needed

        try:
            return answer_with_llm(
                self.chat_model(),
                q,
                passages,
                deadline=time.monotonic() + self.settings.llm_timeout,
                on_token=opts.on_token,
                cancel=opts.cancel,
            )
        except LLMError as e:
            notices.append(f"{e} Falling back to the extractive answer.")
            return None

    def score(
        self, q: str, info: QuestionInfo, passages: list[Passage], notices: list[str]
    ) -> Scoring:
        """Every candidate sentence of ``passages``, scored and ranked: the slot of
        the learned answer model (``answer_model.py``)."""
        model = None if info.comparison else self.answer_model(notices)
        # "model": the mean of the classic score and the model's ranks the sentences,
        # and the classic threshold declines; "model-only": the model does both.
        hybrid = model is not None and self.settings.answer_scorer == "model"
        # "what did X say" quotes only sentences the article gives to X
        who = speakers.asked_speaker(q, self.known_outlets())
        scored = extractive.score_sentences(
            info,
            passages,
            self.retriever.word_weights(),
            self.embedder.embed_documents,
            model.score if model else None,
            q,
            blend=model.blend if model else 0.0,
            hybrid=hybrid,
            keep=speakers.said_by(who) if who else None,
        )
        lower = info.comparison  # comparisons, and a speaker's on-topic sentences: a lower bar
        if who:
            index = self.store.bm25()
            n_chunks = max(1, len(index.ids))
            scored, lower = speakers.on_topic(
                scored,
                q,
                extractive.content_terms(info),
                who,
                lambda t: index.doc_freq(t) <= speakers.RARE_SHARE * n_chunks,
            )
        s = self.settings
        threshold = s.min_relevance_comparison if lower else s.min_relevance
        if model is not None and not hybrid:
            best = scored[0].score if scored else 0.0
            threshold = model.threshold
        else:  # the classic decline: no sentence's classic score reaches the threshold
            best = max((x.classic for x in scored), default=0.0)
        return Scoring(scored, best, threshold, model, who)

    # What front-ends may read of the index.

    def known_outlets(self) -> list[str]:
        """The indexed outlets' names, sorted."""
        return sorted({str(o) for o in self.store.outlet_names()})

    def resolve_outlet(self, name: str) -> str:
        """A user's outlet name ("rt", "moscow times") to the indexed outlet;
        ``NewsbotError`` naming the indexed outlets when none matches."""
        return self.retriever.resolve_outlet(name)

    def outlets(self) -> dict[str, int]:
        """Indexed outlets with their article counts, most articles first."""
        return self.store.outlets()

    def articles(self) -> list[dict[str, Any]]:
        """One row per indexed article: provenance and chunk count."""
        return self.store.articles()

    def source_texts(self) -> SourceTexts:
        """The exact text of each cited source, each located through the index's
        ledger (which file each article came from), else in the corpus folder."""
        from index.readers import SourceTexts  # the readers load only when needed

        files: dict[str, Path] = {}
        ledger = self.store.ledger
        for path in ledger.files():
            for source in ledger.sources_of(path):
                files[source] = Path(path)
        return SourceTexts(self.settings.corpus_dir, files)

    def chat_model(self) -> ChatModel:
        """The configured LLM client (``ConfigError`` when none is)."""
        from ..llm.client import chat_model  # imports openai only when needed

        llm = chat_model(self.settings)
        if llm is None:
            raise ConfigError(NO_LLM)
        return llm

    def conversation(
        self, cancel: Callable[[], threading.Event | None] | None = None
    ) -> Conversation:
        """A new chat: follow-ups made standalone, by the LLM when one is
        configured (stopped by the event ``cancel()`` returns) and else by form."""
        condense: Condense | None = None
        if self.settings.llm_configured:

            def condense(history: list[tuple[str, str]], question: str) -> str:
                from ..llm.answer import condense as llm_condense

                event = cancel() if cancel else None
                return llm_condense(self.chat_model(), history, question, cancel=event)

        return Conversation(outlets=self.known_outlets(), condense=condense)

    def _extractive(self, q: str, info: QuestionInfo, scoring: Scoring, opts: AskOptions) -> Answer:
        """The extractive answer from the scored sentences, or a decline."""
        scored, model = scoring.sentences, scoring.model
        filtered = opts.filters.active
        if not scored or scoring.best < scoring.threshold:
            why = (
                f"no indexed article quotes {scoring.speaker} on this."
                if scoring.speaker
                else NO_ARTICLE
            )
            return Answer(q, declined(why, filtered=filtered), True, "extractive")
        if info.yes_no and not extractive.states_it(q, info, scored):
            return Answer(q, declined(NOT_STATED, filtered=filtered), True, "extractive")
        selected = extractive.select(scored, info, self.settings.answer_sentences)
        text, citations = extractive.compose(selected, q)
        short = None
        if model is not None:
            first = selected[0]  # the gate is on the model's own score
            short = direct.direct_answer(
                q, info.yes_no, first.text, first.model or 0.0, model.direct_threshold
            )
        if short is not None:
            text = f"{direct.lead(short, citations[0])}\n{text}"
        return Answer(q, text, False, "extractive", citations, direct=short)

    def answer_model(self, notices: list[str]) -> AnswerModel | None:
        """The answer model, or None for the classic scoring: when that is
        chosen, or (with a notice) when the model cannot be loaded."""
        if self.settings.answer_scorer == "classic":
            return None
        if self._answer_model is None:
            try:
                folder = self.settings.answer_model
                self._answer_model = AnswerModel.load(folder) if folder else load_shipped()
            except ModelError as e:
                self._answer_model = e
        if isinstance(self._answer_model, ModelError):
            notices.append(
                f"The answer model is unusable ({self._answer_model}); "
                "answering with the classic scoring. Reinstall newsbot to restore it."
            )
            return None
        return self._answer_model
