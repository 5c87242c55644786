"""Follow-up questions made standalone for retrieval (bot/answer/conversation.py)."""

from __future__ import annotations

import re

import pytest

from bot import Answer, AskOptions, Citation, Conversation, Engine, is_follow_up
from index.errors import LLMError

OUTLETS = ["Associated Press", "Newsweek", "RT", "The Moscow Times", "The Wall Street Journal"]
RT_ARTICLE = "seeds/001_0fa0538ff5d991b7.txt"


def answer(question: str, title: str | None = None) -> Answer:
    cited = (
        [Citation(1, "RT", None, title, None, None, RT_ARTICLE, "q", 0, 1, 1.0)] if title else []
    )
    return Answer(
        question, "text [1]" if title else "The corpus doesn't say.", not title, "x", cited
    )


@pytest.mark.parametrize(
    "question",
    [
        "What did RT say about it?",
        "Why?",
        "And RT?",
        "What about The Moscow Times?",
        "How about in 2022?",
        "What happened there?",
        "Who said that?",
        "What did they say about the offensive stalling?",
        "What did Jake Sullivan say about the same?",
    ],
)
def test_follow_ups(question: str) -> None:
    assert is_follow_up(question, OUTLETS)


@pytest.mark.parametrize(
    "question",
    [
        "Who is Pat Ryder?",
        "What is happening around Pokrovsk?",
        "Did Kirby say that Russia stalled in Donbas?",
        "Are there casualties in Kharkiv?",
        "How long will it take Russia to reach Pokrovsk?",
        "How did the outlets describe Russia's progress?",
    ],
)
def test_questions_that_stand_alone(question: str) -> None:
    assert not is_follow_up(question, OUTLETS)


def test_first_and_standalone_questions_are_used_as_is() -> None:
    conv = Conversation(outlets=OUTLETS)
    assert conv.standalone("What did RT say about it?") == "What did RT say about it?"
    conv.add("Who is Pat Ryder?", "Who is Pat Ryder?", answer("Who is Pat Ryder?"))
    q = "What is happening around Pokrovsk?"
    assert conv.standalone(q) == q


def test_follow_up_is_rewritten_as_a_question_about_the_previous_topic() -> None:
    conv = Conversation(outlets=OUTLETS)
    q1 = "What is happening around Pokrovsk?"
    conv.add(q1, q1, answer(q1, title="Kiev should explain Russian gains in Donbass"))
    s = conv.standalone("What did RT say about it?")
    # a question a person would write, not key words appended (issue 15)
    assert s == "What did RT say about what is happening around Pokrovsk?"
    # the chain goes on: the next follow-up still carries the topic
    conv.add("What did RT say about it?", s, answer("What did RT say about it?"))
    assert "Pokrovsk" in conv.standalone("Why?")


def test_follow_up_naming_another_outlet_drops_the_old_one() -> None:
    conv = Conversation(outlets=OUTLETS)
    q1 = "What did RT say about Pokrovsk?"
    conv.add(q1, q1, answer(q1))
    s = conv.standalone("What about The Moscow Times?")
    assert "Pokrovsk" in s and not re.search(r"\bRT\b", s)
    # without a new outlet, "they" keeps it
    assert re.search(r"\bRT\b", conv.standalone("What did they say about Kursk?"))


def test_reset_and_max_turns() -> None:
    conv = Conversation(max_turns=2, outlets=OUTLETS)
    for i in range(3):
        conv.add(f"q{i}", f"q{i}", answer(f"q{i}"))
    assert [t.question for t in conv.turns] == ["q1", "q2"]
    conv.reset()
    assert conv.turns == [] and conv.standalone("Why?") == "Why?"


def test_condense_hook_replaces_the_heuristic_and_falls_back_on_llm_error() -> None:
    seen: list[tuple[list[tuple[str, str]], str]] = []

    def condense(history: list[tuple[str, str]], question: str) -> str:
        seen.append((history, question))
        return "What did RT say about Pokrovsk?"

    conv = Conversation(condense=condense, outlets=OUTLETS)
    conv.add("Pokrovsk?", "Pokrovsk?", answer("Pokrovsk?", title="Kiev should explain"))
    assert conv.standalone("What did RT say about it?") == "What did RT say about Pokrovsk?"
    assert seen == [([("Pokrovsk?", "text [1]")], "What did RT say about it?")]

    def failing(history: list[tuple[str, str]], question: str) -> str:
        raise LLMError("down")

    conv.condense = failing
    assert "Pokrovsk" in conv.standalone("What did RT say about it?")


def test_follow_up_retrieves_the_earlier_topic(engine: Engine) -> None:
    conv = Conversation(outlets=engine.known_outlets())
    q1 = "What is happening around Pokrovsk?"
    a1 = engine.ask(q1)
    assert any(c.source == RT_ARTICLE for c in a1.citations)
    conv.add(q1, q1, a1)
    q2 = "What did RT say about it?"
    s = conv.standalone(q2)
    assert "Pokrovsk" in s
    a2 = engine.ask(q2, AskOptions(standalone=s))
    assert a2.standalone_question == s
    assert a2.citations and {c.source for c in a2.citations} == {RT_ARTICLE}
    assert any("Pokrovsk" in p.text for p in a2.retrieved)


def test_llm_condense_is_used_and_an_unchanged_rewrite_falls_back_to_the_heuristic() -> None:
    from bot import Answer as _Answer

    rewrite = Conversation(condense=lambda history, q: "What did RT report about Pokrovsk?")
    rewrite.add(
        "What is happening around Pokrovsk?",
        "What is happening around Pokrovsk?",
        _Answer("q", "a", False, "extractive"),
    )
    assert rewrite.standalone("And RT?") == "What did RT report about Pokrovsk?"

    same = Conversation(
        condense=lambda history, q: q
    )  # e.g. the LLM failed and echoed the question
    same.add(
        "What is happening around Pokrovsk?",
        "What is happening around Pokrovsk?",
        _Answer("q", "a", False, "extractive"),
    )
    assert "pokrovsk" in same.standalone("What did RT say about it?").lower()
