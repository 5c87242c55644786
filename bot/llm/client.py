"""LLM answers through any OpenAI-compatible endpoint, checked after generation.

    answer_with_llm(settings, question, passages, on_token=, cancel=) -> Answer
    condense(settings, history, question, cancel=) -> str

The retrieved passages become numbered sources, each labelled with outlet,
publisher, date and title, their text fenced as ``<source id=n> ... </source>``
data (``prompts/answer.txt``). The reply is then checked sentence by sentence
(``bot/verify.py``): markers pointing at no source are dropped, sentences
their sources don't support are removed, and each cited source is quoted
exactly (the sentence of the passage that best supports the claim), so
``quote == text_of(source)[start:end]`` holds as in the extractive answer.

Replies are streamed (``stream=True``): ``on_token`` sees each piece of
the raw reply as it arrives, for a provisional draft (the REPL); only the
verified answer is final. A server that ignores ``stream=True`` and sends one
JSON completion is accepted too. A ``cancel`` event stops the call within
``POLL`` seconds with ``Cancelled``; the response is closed at the next chunk.

Faults: every failure of the endpoint (refused connection, timeout, 429,
5xx, an empty or non-JSON reply, a reply cut off mid-stream, a stream that
ends without a finish reason) and an answer with no supported sentence raise
``LLMError`` with a one-line message; the engine then answers extractively
and says why. 429 and 5xx are retried
``llm_max_retries`` times (Retry-After honoured, else exponential backoff).
One deadline, ``llm_timeout`` seconds, bounds the whole call, retries and
waits included: a Retry-After that would pass it ends the call at once, and a
server that accepts the connection but never answers is abandoned at the
deadline.

The API key is a ``SecretStr`` until it is handed to the client, and is
scrubbed from every message this module produces (a server may echo it back
in an error body).
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import openai

from index.errors import Cancelled, LLMError
from index.settings import Settings
from index.types import Passage

from .extractive import DECLINE, caveats
from .prompts import load_prompt
from .types import Answer, Citation
from .verify import Checked, check_reply

if TYPE_CHECKING:
    from openai import Stream
    from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

log = logging.getLogger(__name__)

OPENAI_URL = "https://api.openai.com/v1"
NO_KEY = "no-key"  # local servers ignore the key; the client insists on one
GRACE = 0.5  # seconds past the deadline before an unanswered request is abandoned
MAX_BACKOFF = 8.0
CONDENSE_TURNS = 3  # earlier exchanges shown to the condensing prompt
CONDENSE_TOKENS = 96
POLL = 0.05  # seconds between looks at the cancel event while a request runs
BROKEN = ("RemoteProtocolError", "ReadError")  # the connection died mid-reply

OnToken = Callable[[str], None]  # receives each piece of the reply as it streams in


class ContextTooLong(LLMError):
    """The prompt does not fit the model's context window."""


@dataclass(frozen=True)
class Reply:
    text: str
    finish_reason: str | None


# --- the endpoint -------------------------------------------------------------


def _secret(settings: Settings) -> str | None:
    key = settings.openai_api_key
    return key.get_secret_value() if key else None


def endpoint(settings: Settings) -> str:
    """The base URL, without any user:password@ part."""
    return re.sub(r"//[^/@]*@", "//", settings.openai_base_url or OPENAI_URL)


def scrub(text: str, settings: Settings, limit: int = 200) -> str:
    """One line, at most ``limit`` characters, with the API key blanked out."""
    secret = _secret(settings)
    if secret:
        text = text.replace(secret, "***")
    text = re.sub(r"(?i)(bearer\s+)\S+", r"\1***", text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _retry_after(response: Any) -> float | None:
    """Seconds to wait from a response's Retry-After (seconds or HTTP date)
    or retry-after-ms header."""
    headers = getattr(response, "headers", None) or {}
    try:
        if ms := headers.get("retry-after-ms"):
            return max(0.0, float(ms) / 1000)
        value = headers.get("retry-after")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _backoff(attempt: int) -> float:
    return float(min(MAX_BACKOFF, 0.5 * 2**attempt) + random.uniform(0, 0.25))


def _from_json(data: object) -> Reply | LLMError:
    """A whole chat.completion body (a server that ignored ``stream=True``)."""
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return LLMError("The LLM returned an empty reply (no choices).")
    message = choices[0].get("message")
    text = message.get("content") if isinstance(message, dict) else None
    if not isinstance(text, str) or not text.strip():
        return LLMError("The LLM returned an empty reply.")
    finish = choices[0].get("finish_reason")
    return Reply(text, finish if isinstance(finish, str) else None)


def _whole(response: Any, url: str) -> Reply | LLMError:
    body = response.read()
    try:
        data = json.loads(body)
    except ValueError:
        if "json" in response.headers.get("content-type", ""):
            return LLMError(f"The LLM endpoint {url} sent an unreadable reply (invalid JSON).")
        return LLMError("The LLM endpoint's reply is not a chat completion (not JSON?).")
    return _from_json(data)


def _collect(
    stream: Stream[ChatCompletionChunk], url: str, on_token: OnToken | None, stop: threading.Event
) -> Reply | LLMError:
    """Read a streamed reply chunk by chunk, handing each piece of text to
    ``on_token`` as it arrives. Once ``stop`` is set the response is closed
    at the next chunk, so the server sees the client go."""
    with stream:  # closes the response however this ends
        if "text/event-stream" not in stream.response.headers.get("content-type", ""):
            reply = _whole(stream.response, url)
            if isinstance(reply, Reply) and on_token and not stop.is_set():
                on_token(reply.text)
            return reply
        parts: list[str] = []
        finish: str | None = None
        for chunk in stream:
            if stop.is_set():
                return LLMError("Stopped.")  # nobody waits for this any more
            for choice in chunk.choices[:1]:  # a usage-only chunk has none
                piece = choice.delta.content if choice.delta else None
                if piece:
                    parts.append(piece)
                    if on_token:
                        on_token(piece)
                finish = choice.finish_reason or finish
    text = "".join(parts)
    if finish is None:  # every OpenAI-compatible server ends with a finish_reason
        return LLMError(f"The LLM endpoint {url} broke off its reply (the stream ended early).")
    if not text.strip():
        return LLMError("The LLM returned an empty reply.")
    return Reply(text, finish)


def _broken(e: BaseException) -> bool:
    """A connection that died mid-reply (also raised bare while reading a body)."""
    return any(type(x).__name__ in BROKEN for x in (e, e.__cause__))


def _one_call(
    client: openai.OpenAI,
    settings: Settings,
    messages: list[ChatCompletionMessageParam],
    max_tokens: int,
    deadline: float,
    on_token: OnToken | None,
    stop: threading.Event,
) -> Reply | LLMError:
    """The streamed request and its retries; failures are returned, not
    raised, so that no third-party exception (or its text) travels further."""
    url = endpoint(settings)
    why = ""
    attempts = settings.llm_max_retries + 1
    for attempt in range(attempts):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or stop.is_set():
            break
        try:
            stream = client.chat.completions.create(
                model=settings.llm_model,
                messages=messages,
                temperature=settings.llm_temperature,
                max_tokens=max_tokens,
                timeout=remaining,
                stream=True,
            )
            return _collect(stream, url, on_token, stop)
        except openai.APITimeoutError:
            break
        except openai.APIConnectionError as e:
            cause = scrub(str(e.__cause__ or e), settings, 120)
            if _broken(e):
                return LLMError(f"The LLM endpoint {url} broke off its reply ({cause}).")
            return LLMError(f"Cannot reach the LLM endpoint {url} ({cause}).")
        except (openai.AuthenticationError, openai.PermissionDeniedError) as e:
            return LLMError(f"The LLM endpoint {url} rejected the API key (HTTP {e.status_code}).")
        except openai.APIStatusError as e:
            detail = scrub(e.message, settings, 160)
            if e.status_code == 429 or e.status_code >= 500:
                wait = _retry_after(e.response)
                why = f"answered HTTP {e.status_code}"
                wait = _backoff(attempt) if wait is None else wait
                if attempt + 1 == attempts:
                    break
                if time.monotonic() + wait >= deadline:
                    return LLMError(
                        f"The LLM endpoint {url} {why}, and asks to wait {wait:.0f} s, "
                        f"past the {settings.llm_timeout:g} s timeout."
                    )
                log.info("LLM endpoint %s; retrying in %.1f s", why, wait)
                if stop.wait(wait):
                    break
                continue
            if e.status_code == 400 and re.search(r"context|too long|tokens", detail, re.I):
                return ContextTooLong(f"The prompt does not fit the LLM's context ({detail}).")
            return LLMError(f"The LLM endpoint {url} answered HTTP {e.status_code}: {detail}")
        except openai.APIError as e:  # an error event in the middle of the stream
            detail = scrub(e.message, settings, 160)
            return LLMError(f"The LLM endpoint {url} reported an error mid-reply: {detail}")
        except Exception as e:  # a malformed body, whatever the client makes of it
            if _broken(e):
                return LLMError(f"The LLM endpoint {url} broke off its reply ({type(e).__name__}).")
            return LLMError(
                f"The LLM endpoint {url} sent an unreadable reply ({type(e).__name__})."
            )
    if why:
        return LLMError(f"The LLM endpoint {url} {why} {attempts} times; giving up.")
    return LLMError(f"The LLM endpoint {url} did not answer within {settings.llm_timeout:g} s.")


def _wait(worker: threading.Thread, until: float, cancel: threading.Event | None) -> None:
    """Join ``worker`` until ``until`` (``time.monotonic()``), raising
    ``Cancelled`` within ``POLL`` seconds of ``cancel`` being set."""
    while worker.is_alive():
        left = until - time.monotonic()
        if left <= 0:
            return
        worker.join(min(POLL, left))
        Cancelled.raise_if_set(cancel)


def chat(
    settings: Settings,
    messages: list[ChatCompletionMessageParam],
    *,
    max_tokens: int | None = None,
    deadline: float | None = None,
    on_token: OnToken | None = None,
    cancel: threading.Event | None = None,
) -> Reply:
    """One streamed chat completion, retried as the module docstring says,
    finished by ``deadline`` (``time.monotonic()``; default: ``llm_timeout``
    from now) or abandoned. ``on_token`` gets each piece of text as it
    arrives (from another thread). Raises ``LLMError``, or ``Cancelled`` as
    soon as ``cancel`` is set: the stream is then closed at its next chunk."""
    Cancelled.raise_if_set(cancel)
    if deadline is None:
        deadline = time.monotonic() + settings.llm_timeout
    client = openai.OpenAI(
        api_key=_secret(settings) or NO_KEY,
        base_url=settings.openai_base_url or OPENAI_URL,
        timeout=settings.llm_timeout,
        max_retries=0,
    )
    result: list[Reply | LLMError] = []
    stop = threading.Event()
    tokens = max_tokens or settings.llm_max_tokens
    # The request runs in a daemon thread so that a server trickling bytes
    # (each read within the client's timeout) cannot hold us past the
    # deadline, and so that a cancel is seen at once, whatever the server does.
    worker = threading.Thread(
        target=lambda: result.append(
            _one_call(client, settings, messages, tokens, deadline, on_token, stop)
        ),
        daemon=True,
        name="newsbot-llm",
    )
    worker.start()
    try:
        _wait(worker, deadline + GRACE, cancel)
    finally:
        stop.set()  # no more tokens handed on; the stream closes at its next chunk
        client.close()  # also aborts a request still in flight
    if not result:
        raise LLMError(
            f"The LLM endpoint {endpoint(settings)} did not answer "
            f"within {settings.llm_timeout:g} s."
        )
    if isinstance(result[0], LLMError):
        raise result[0]
    return result[0]


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
    settings: Settings,
    question: str,
    sources: list[Passage],
    deadline: float,
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
            reply = chat(settings, messages, deadline=deadline, on_token=on_token, cancel=cancel)
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
                f"{DECLINE}: the retrieved articles do not answer this question.",
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
    settings: Settings,
    question: str,
    passages: Sequence[Passage],
    *,
    on_token: OnToken | None = None,
    cancel: threading.Event | None = None,
) -> Answer:
    """Answer ``question`` from ``passages`` with the configured LLM, keeping
    only the sentences their cited sources support. ``on_token`` sees the raw,
    unverified reply as it streams. Raises ``LLMError`` when the endpoint
    fails or no sentence survives (the caller falls back), ``Cancelled`` once
    ``cancel`` is set."""
    if not passages:  # nothing to answer from: no call at all
        return Answer(
            question, f"{DECLINE}: no indexed article answers this question.", True, "llm"
        )
    t0 = time.perf_counter()
    deadline = time.monotonic() + settings.llm_timeout
    reply, sources = generate(
        settings, question, list(passages), deadline, on_token=on_token, cancel=cancel
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
    settings: Settings,
    history: list[tuple[str, str]],
    question: str,
    *,
    cancel: threading.Event | None = None,
) -> str:
    """Rewrite a follow-up as a standalone question for retrieval.

    ``history`` is the conversation so far as (question, answer) pairs. The
    question comes back unchanged when there is no history, no LLM is
    configured, the endpoint fails, or the rewrite looks wrong (empty, a
    refusal, or far longer than the question). Raises ``Cancelled`` once
    ``cancel`` is set.
    """
    if not history or not settings.llm_configured:
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
        reply = chat(settings, messages, max_tokens=CONDENSE_TOKENS, cancel=cancel)
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
