"""Follow-ups about the last answer are answered from it; others are searched
afresh, with a condensed question that reads like one (issue 15)."""

from __future__ import annotations

import re

import pytest

from bot import Answer, AskOptions, Conversation, Engine
from bot.answer.followup import FROM_LAST, Reference, refers_to_last, rewrite

OUTLETS = ["Associated Press", "Newsweek", "RT", "The Moscow Times", "The Wall Street Journal"]
RYDER = (
    "Which outlet reported that Pat Ryder would not say how long Russian forces "
    "would take to reach Pokrovsk?"
)


def chat(engine: Engine, *questions: str) -> list[Answer]:
    conv = Conversation(outlets=engine.known_outlets())
    out = []
    for q in questions:
        s = conv.standalone(q)
        a = engine.ask(
            q,
            AskOptions(
                mode="extractive", standalone=s if s != q else None, previous=conv.last_answer
            ),
        )
        conv.add(q, s, a)
        out.append(a)
    return out


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Which outlet reported that?", "outlet"),
        ("and which outlets reported it?", "outlet"),
        ("Who reported that?", "outlet"),
        ("Which outlet reported that story?", "outlet"),
        ("When?", "when"),
        ("when was that?", "when"),
        ("Who said it?", "who"),
        ("who said that?", "who"),
        ("Tell me more", "more"),
        ("what else?", "more"),
        ("What did the other side say?", "other"),
        ("What else did Kirby say?", "said"),
        ("and what did Kirby say?", "said"),
    ],
)
def test_follow_ups_that_refer_to_the_last_answer(question: str, kind: str) -> None:
    ref = refers_to_last(question, OUTLETS)
    assert ref is not None and ref.kind == kind


@pytest.mark.parametrize(
    "question",
    [
        "Who said Putin was being misinformed by his advisers?",
        "Which outlet reported that Pat Ryder would not say how long it would take?",
        "Who reported that the talks in Istanbul made progress?",
        "Who was Russia's chief negotiator at the Istanbul talks?",
        "When did Russia say it would cut back operations around Kyiv?",
        "What did RT say about it?",
        "What did Kirby say about the Donbas?",
    ],
)
def test_questions_that_do_not_refer_to_the_last_answer(question: str) -> None:
    assert refers_to_last(question, OUTLETS) is None


def test_which_outlet_when_and_who_come_from_the_last_answer(engine: Engine) -> None:
    first, outlet, when, who = chat(
        engine, RYDER, "Which outlet reported that?", "When?", "Who said it?"
    )
    assert not first.refused and {c.outlet for c in first.citations} == {"RT"}
    for a in (outlet, when, who):
        assert not a.refused and FROM_LAST in a.notices and a.standalone_question is None
        assert [(c.source, c.start, c.end) for c in a.citations] == [
            (c.source, c.start, c.end) for c in first.citations
        ]
    assert outlet.answer.startswith("RT reported it")
    assert "2024-08-27" in when.answer and "may be 2024-08-26" in when.answer
    assert "Ryder" in who.answer


def test_tell_me_more_quotes_new_sentences_of_the_same_articles(engine: Engine) -> None:
    first, more = chat(engine, RYDER, "Tell me more")
    assert not more.refused and more.citations
    assert {c.source for c in more.citations} <= {c.source for c in first.citations}
    before = {(c.source, c.start) for c in first.citations}
    assert not {(c.source, c.start) for c in more.citations} & before


def test_what_else_did_kirby_say(engine: Engine) -> None:
    first, more = chat(engine, "What did Kirby say about the Donbas?", "What else did Kirby say?")
    assert not first.refused and not more.refused, more.answer
    assert all("Kirby" in c.quote or "he" in c.quote.lower() for c in more.citations)
    assert not {(c.source, c.start) for c in more.citations} & {
        (c.source, c.start) for c in first.citations
    }


def test_a_new_topic_is_searched_afresh(engine: Engine) -> None:
    _, fresh = chat(engine, RYDER, "Who was Russia's chief negotiator at the Istanbul talks?")
    assert FROM_LAST not in fresh.notices
    assert "Medinsky" in fresh.answer


@pytest.mark.parametrize(
    ("previous", "question", "expected"),
    [
        (
            "How did outlets differ on whether the Russian offensive stalled?",
            "and what did Kirby say?",
            "What did Kirby say about whether the Russian offensive stalled?",
        ),
        (
            "What is happening around Pokrovsk?",
            "What did RT say about it?",
            "What did RT say about what is happening around Pokrovsk?",
        ),
        (
            "What did RT say about Pokrovsk?",
            "What about The Moscow Times?",
            "What did The Moscow Times say about Pokrovsk?",
        ),
        (
            "What did RT say about Pokrovsk?",
            "What did they say about Kursk?",
            "What did RT say about Kursk?",
        ),
    ],
)
def test_condensed_question_reads_like_a_question(
    previous: str, question: str, expected: str
) -> None:
    s = rewrite(question, previous, OUTLETS)
    assert s == expected
    assert "(" not in s  # no key words in brackets


def test_reference_is_a_value() -> None:
    assert Reference("said", "Kirby") == Reference("said", "Kirby")


def test_follow_up_after_a_refusal_is_searched(engine: Engine) -> None:
    first, second = chat(
        engine, "Who won the 2022 FIFA World Cup final?", "Which outlet reported that?"
    )
    assert first.refused and FROM_LAST not in second.notices
    assert not re.search(r"reported it:", second.answer)
