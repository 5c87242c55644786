"""The LLM seam: the answer code takes any ``ChatModel``. These unit tests pass a
small scripted object; the user's path (tests/test_llm.py) runs the real client
against a real llama.cpp server."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest

from bot import DECLINE, ChatModel, Reply, answer_with_llm, condense
from index import ContextTooLong, LLMError, Passage

TEXT = (
    "The Pentagon said on Tuesday that two destroyers will return to the Black Sea. "
    "Officials gave no date for the move."
)


def passage(n: int = 0) -> Passage:
    return Passage(
        chunk_id=f"c{n}",
        source=f"art{n}.txt",
        text=TEXT,
        start=100,
        end=100 + len(TEXT),
        outlet="Harbour Gazette",
        publisher=None,
        title="Destroyers to return",
        published=date(2024, 5, 7),
        url=None,
        note=None,
        score=1.0,
    )


class ScriptedChat:
    """A ``ChatModel`` that replies from a list and records what it was sent."""

    def __init__(self, *replies: str | Exception) -> None:
        self.replies = list(replies)
        self.calls: list[list[Any]] = []

    def chat(
        self,
        messages: list[Any],
        *,
        max_tokens: int | None = None,
        deadline: float | None = None,
        on_token: Any = None,
        cancel: threading.Event | None = None,
    ) -> Reply:
        self.calls.append(messages)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        if on_token:
            on_token(reply)
        return Reply(reply, "stop")


def test_a_scripted_chat_model_is_a_chat_model() -> None:
    llm: ChatModel = ScriptedChat("x")  # what mypy checks; the call shows it works
    assert llm.chat([{"role": "user", "content": "hi"}]).text == "x"


def test_supported_claims_are_kept_and_quoted_exactly_unsupported_ones_dropped() -> None:
    llm = ScriptedChat(
        "Harbour Gazette reports that two destroyers will return to the Black Sea [1]. "
        "Harbour Gazette reports that the navy sank a submarine [1]."
    )
    seen: list[str] = []
    a = answer_with_llm(llm, "Where will the destroyers go?", [passage()], on_token=seen.append)
    assert a.mode == "llm" and not a.refused and "submarine" not in a.answer
    [c] = a.citations
    assert TEXT[c.start - 100 : c.end - 100] == c.quote and "destroyers" in c.quote
    assert [s["supported"] for s in a.sentences or []] == [True, False]
    assert seen and "submarine" in seen[0]  # the raw draft streamed; the answer is checked
    sent = str(llm.calls[0])
    assert "<source id=1>" in sent and "Where will the destroyers go?" in sent


def test_a_reply_with_no_supported_sentence_is_an_llm_error() -> None:
    llm = ScriptedChat("Harbour Gazette reports that the navy sank a submarine [1].")
    with pytest.raises(LLMError, match="supported"):
        answer_with_llm(llm, "What happened?", [passage()])


def test_context_overflow_halves_the_sources() -> None:
    llm = ScriptedChat(ContextTooLong("too long"), f"{DECLINE}.")
    a = answer_with_llm(llm, "What happened?", [passage(0), passage(1)])
    assert a.refused and len(llm.calls) == 2
    assert "<source id=2>" in str(llm.calls[0]) and "<source id=2>" not in str(llm.calls[1])
    assert any("Only the first 1 of 2 passages" in n for n in a.notices)


def test_no_passages_no_call() -> None:
    llm = ScriptedChat()
    a = answer_with_llm(llm, "Anything?", [])
    assert a.refused and a.answer.startswith(DECLINE) and not llm.calls


def test_condense_uses_the_model_and_keeps_the_question_when_it_fails() -> None:
    history = [("Who is Pat Ryder?", "RT reports he is the Pentagon spokesman.")]
    q = "What did he say?"
    assert (
        condense(ScriptedChat("What did Pat Ryder say?"), history, q) == "What did Pat Ryder say?"
    )
    assert condense(ScriptedChat(LLMError("down")), history, q) == q
    assert condense(None, history, q) == q  # no LLM: no call
    assert condense(ScriptedChat(f"{DECLINE}."), history, q) == q  # a refusal is no rewrite
