"""The LLM answer: the prompt, the checked reply, and follow-ups made standalone.

    answer_with_llm(llm, question, passages, deadline=, on_token=, cancel=) -> Answer
    condense(llm, history, question, cancel=) -> str

``llm`` is any ``ChatModel`` (``bot/llm/client.py``): the OpenAI-compatible
client in use, a small fake object in unit tests.

The retrieved passages become numbered sources, each labelled with outlet,
publisher, date and title, their text fenced as ``<source id=n> ... </source>``
data (``prompts/answer.txt``). The reply is then checked sentence by sentence
(``bot/llm/verify.py``): markers pointing at no source are dropped, sentences
their sources don't support are removed, and each cited source is quoted
exactly (the sentence of the passage that best supports the claim), so
``quote == text_of(source)[start:end]`` holds as in the extractive answer.
An answer with no supported sentence raises ``LLMError``; the engine then
answers extractively and says why.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from index.errors import Cancelled, ContextTooLong, LLMError
from index.types import Passage

from ..answer.declines import DECLINE, NO_ARTICLE, NOT_ANSWERED, declined
from ..answer.extractive import caveats
from ..answer.types import Answer, Citation
from .client import ChatModel, OnToken, Reply
from .prompts import load_prompt
from .verify import Checked, check_reply

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

log = logging.getLogger(__name__)

CONDENSE_TURNS = 3  # earlier exchanges shown to the condensing prompt
CONDENSE_TOKENS = 96


# --- the prompt ---------------------------------------------------------------------


def _fence(text: str) -> str:
    """Article text as data: no tag inside it can close its <source> fence."""
    return re.sub(r"<(\s*/?\s*source)", r"‹\1", text, flags=re.I)


def format_sources(passages: Sequence[Passage]) -> str:
    """Numbered sources: a label line, then the text inside <source> tags."""
    blocks = []
    for n, p in enumerate(passages, 1):
        label = [p.outlet]
        if p.publisher and p.publisher != p.outlet:
            label.append(f"publisher: {p.publisher}")
        label.append(f"published: {p.published.isoformat() if p.published else 'unknown'}")
        if p.title:
            label.append(f'title: "{p.title}"')
        if p.note:
            label.append(f"caveat: {p.note}")
        head = _fence(" ".join(f"[{n}] {'; '.join(label)}".split()))
        blocks.append(f"{head}\n<source id={n}>\n{_fence(p.text)}\n</source>")
    return "\n\n".join(blocks)


def generate(
    llm: ChatModel,
    question: str,
    sources: list[Passage],
    deadline: float | None,
    *,
    on_token: OnToken | None = None,
    cancel: threading.Event | None = None,
) -> tuple[Reply, list[Passage]]:
    """The answer prompt, with fewer sources while it overflows the context
    (an overflow is refused before any token streams)."""
    prompt = load_prompt("answer")
    while True:
        messages: list[ChatCompletionMessageParam] = prompt.messages(  # type: ignore[assignment]
            decline=DECLINE,
            sources=format_sources(sources),
            ids=", ".join(f"[{n}]" for n in range(1, len(sources) + 1)),
            question=question,
        )
        try:
            reply = llm.chat(messages, deadline=deadline, on_token=on_token, cancel=cancel)
            return reply, sources
        except ContextTooLong:
            if len(sources) == 1:
                raise
            sources = sources[: len(sources) // 2]
            log.info("LLM context overflow; retrying with %d sources", len(sources))


# --- the answer ---------------------------------------------------------------------


def cut_unfinished(reply: Reply) -> tuple[str, bool]:
    """A reply stopped by the token limit loses its unfinished last sentence."""
    text = reply.text.rstrip()
    if reply.finish_reason != "length" or re.search(r"[.!?…\"”’)\]]$", text):
        return text, False
    end = max(text.rfind(c) for c in ".!?]")
    return (text[: end + 1] if end > 0 else ""), True


def _with_markers(text: str, ids: Sequence[int]) -> str:
    marks = "".join(f"[{i}]" for i in ids)
    m = re.search(r"[.!?…]+$", text)
    return f"{text[: m.start()]} {marks}{m.group()}" if m else f"{text} {marks}"


def build_answer(
    question: str, checked: list[Checked], sources: Sequence[Passage], cut: bool = False
) -> Answer:
    """The Answer from checked sentences: supported ones kept, sources
    cited in order of appearance, each citation an exact quote of the
    passage sentence that best supports the claim."""
    claims: list[Checked] = []
    for c in checked:  # a small model may say the same sentence twice
        if c.supported and not c.decline and c.text.lower() not in {x.text.lower() for x in claims}:
            claims.append(c)
    declines = [c for c in checked if c.decline]
    dropped = [c for c in checked if not c.supported]
    if not claims:
        if declines:
            return Answer(
                question,
                declined(NOT_ANSWERED),
                True,
                "llm",
                sentences=[_row(c, {}) for c in checked],
            )
        raise LLMError(
            f"None of the {len(checked)} sentences of the LLM's answer is supported "
            "by the sources it cites."
            if checked
            else "The LLM's answer has no sentence to check."
        )
    # One citation per quoted sentence: two claims resting on different
    # sentences of one passage get two citations, never a span covering both.
    new_id: dict[tuple[int, int, int], int] = {}
    citations = []
    for c in claims:
        for n in c.sources:
            q = c.quotes[n]
            if (n, q.start, q.end) not in new_id:
                new_id[(n, q.start, q.end)] = len(new_id) + 1
                citations.append(
                    Citation.from_passage(len(new_id), sources[n - 1], q.start, q.end, q.score)
                )
    lines = [_with_markers(c.text, _ids_of(c, new_id)) for c in claims]
    text = " ".join(lines + [c.text for c in declines])
    caveat_lines = caveats(citations)
    if caveat_lines:
        text += "\n\n" + "\n".join(caveat_lines)
    notices = []
    if dropped:
        notices.append(
            f"Removed {len(dropped)} of {len(checked)} sentences of the LLM's answer: "
            "the sources they cite do not support them."
        )
    if cut:
        notices.append(
            "The LLM's reply hit the token limit (NEWSBOT_LLM_MAX_TOKENS); "
            "its unfinished last sentence was dropped."
        )
    return Answer(
        question,
        text,
        False,
        "llm",
        citations,
        notices,
        sentences=[_row(c, new_id) for c in checked],
    )


def _ids_of(c: Checked, new_id: dict[tuple[int, int, int], int]) -> list[int]:
    keys = [(n, c.quotes[n].start, c.quotes[n].end) for n in c.sources]
    return [new_id[k] for k in keys if k in new_id]


def _row(c: Checked, new_id: dict[tuple[int, int, int], int]) -> dict[str, Any]:
    return {"text": c.text, "citations": _ids_of(c, new_id), "supported": c.supported}


def answer_with_llm(
    llm: ChatModel,
    question: str,
    passages: Sequence[Passage],
    *,
    deadline: float | None = None,
    on_token: OnToken | None = None,
    cancel: threading.Event | None = None,
) -> Answer:
    """Answer ``question`` from ``passages`` with ``llm``, keeping only the
    sentences their cited sources support. ``deadline`` (``time.monotonic()``)
    bounds the whole answer, context retries included (default: each call
    the client's own timeout). ``on_token`` sees the raw,
    unverified reply as it streams. Raises ``LLMError`` when the endpoint
    fails or no sentence survives (the caller falls back), ``Cancelled`` once
    ``cancel`` is set."""
    if not passages:  # nothing to answer from: no call at all
        return Answer(question, declined(NO_ARTICLE), True, "llm")
    t0 = time.perf_counter()
    reply, sources = generate(
        llm, question, list(passages), deadline, on_token=on_token, cancel=cancel
    )
    Cancelled.raise_if_set(cancel)
    t1 = time.perf_counter()
    log.debug("LLM reply (%s): %s", reply.finish_reason, reply.text)
    text, cut = cut_unfinished(reply)
    answer = build_answer(question, check_reply(text, sources), sources, cut)
    fit = (
        []
        if len(sources) == len(passages)
        else [f"Only the first {len(sources)} of {len(passages)} passages fit the LLM's context."]
    )
    return replace(
        answer,
        notices=answer.notices + fit,
        timings={"generation": t1 - t0, "verification": time.perf_counter() - t1},
    )


# --- follow-up questions ----------------------------------------------------------------


def condense(
    llm: ChatModel | None,
    history: list[tuple[str, str]],
    question: str,
    *,
    cancel: threading.Event | None = None,
) -> str:
    """Rewrite a follow-up as a standalone question for retrieval.

    ``history`` is the conversation so far as (question, answer) pairs. The
    question comes back unchanged when there is no history, no LLM
    (``llm`` None), the endpoint fails, or the rewrite looks wrong (empty, a
    refusal, or far longer than the question). Raises ``Cancelled`` once
    ``cancel`` is set.
    """
    if not history or llm is None:
        return question
    turns = []
    for q, a in history[-CONDENSE_TURNS:]:
        short = " ".join(a.split())
        short = short if len(short) <= 300 else short[:299] + "…"
        turns.append(f"User: {' '.join(q.split())}\nBot: {short}")
    messages: list[ChatCompletionMessageParam] = load_prompt("condense").messages(  # type: ignore[assignment]
        history="\n".join(turns), question=question
    )
    try:
        reply = llm.chat(messages, max_tokens=CONDENSE_TOKENS, cancel=cancel)
    except LLMError as e:
        log.info("Follow-up not condensed: %s", e)
        return question
    lines = [ln for ln in reply.text.strip().splitlines() if ln.strip()]
    first = lines[0] if lines else ""
    first = re.sub(r"(?i)^\s*(standalone question|question)\s*:\s*", "", first)
    out = first.strip().strip("\"'“”‘’").strip()
    if not out or DECLINE.lower() in out.lower() or len(out) > 3 * len(question) + 200:
        return question
    return out
