"""The LLM seam: ``ChatModel``, one streamed chat completion, and its
implementation over any OpenAI-compatible endpoint (``OpenAIChat``).

    ChatModel.chat(messages, max_tokens=, deadline=, on_token=, cancel=) -> Reply
    chat_model(settings) -> OpenAIChat | None     (None: no LLM configured)

The answer code (``bot/llm/answer.py``) takes any ``ChatModel``; unit tests
pass a small fake object, the user's path runs this client.

Replies are streamed (``stream=True``): ``on_token`` sees each piece of
the raw reply as it arrives, for a provisional draft (the REPL); only the
verified answer is final. A server that ignores ``stream=True`` and sends one
JSON completion is accepted too. A ``cancel`` event stops the call within
``POLL`` seconds with ``Cancelled``; the response is closed at the next chunk.

Faults: every failure of the endpoint (refused connection, timeout, 429,
5xx, an empty or non-JSON reply, a reply cut off mid-stream, a stream that
ends without a finish reason) raises ``LLMError`` with a one-line message
(``ContextTooLong`` when the prompt does not fit). 429 and 5xx are retried
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
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import openai

from index.errors import Cancelled, ContextTooLong, LLMError
from index.settings import Settings

if TYPE_CHECKING:
    from openai import Stream
    from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

log = logging.getLogger(__name__)

OPENAI_URL = "https://api.openai.com/v1"
NO_KEY = "no-key"  # local servers ignore the key; the client insists on one
GRACE = 0.5  # seconds past the deadline before an unanswered request is abandoned
MAX_BACKOFF = 8.0
POLL = 0.05  # seconds between looks at the cancel event while a request runs
BROKEN = ("RemoteProtocolError", "ReadError")  # the connection died mid-reply

OnToken = Callable[[str], None]  # receives each piece of the reply as it streams in


@dataclass(frozen=True)
class Reply:
    text: str
    finish_reason: str | None


class ChatModel(Protocol):
    """What the answer code needs of an LLM: one chat completion."""

    def chat(
        self,
        messages: list[ChatCompletionMessageParam],
        *,
        max_tokens: int | None = None,
        deadline: float | None = None,
        on_token: OnToken | None = None,
        cancel: threading.Event | None = None,
    ) -> Reply:
        """The reply, finished by ``deadline`` (``time.monotonic()``). Raises
        ``LLMError`` (``ContextTooLong``), or ``Cancelled`` once ``cancel`` is set."""
        ...


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


class OpenAIChat:
    """``ChatModel`` over an OpenAI-compatible endpoint (``OPENAI_BASE_URL``,
    ``OPENAI_API_KEY``, ``NEWSBOT_LLM_*``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def chat(
        self,
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
        return _chat(self.settings, messages, max_tokens, deadline, on_token, cancel)


def chat_model(settings: Settings) -> OpenAIChat | None:
    """The configured LLM, or None when no endpoint or key is set."""
    return OpenAIChat(settings) if settings.llm_configured else None


def _chat(
    settings: Settings,
    messages: list[ChatCompletionMessageParam],
    max_tokens: int | None,
    deadline: float | None,
    on_token: OnToken | None,
    cancel: threading.Event | None,
) -> Reply:
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
