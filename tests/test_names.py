"""Near-miss names (issue 15): a name in no article, one or two edits from an
indexed one, is answered for the indexed name, and the answer says so."""

from __future__ import annotations

import time

import pytest

from bot import Engine
from bot.answer import names


@pytest.mark.parametrize(
    ("a", "b", "d"),
    [
        ("kirbey", "kirby", 1),
        ("sulivan", "sullivan", 1),
        ("peskov", "peskov", 0),
        ("ryder", "kirby", 3),
    ],
)
def test_distance(a: str, b: str, d: int) -> None:
    assert names.distance(a, b, 2) == min(d, 3)


@pytest.mark.parametrize(
    ("question", "indexed", "asked"),
    [
        ("What did Kirbey say about the Donbas?", "Kirby", "Kirbey"),
        ("What did Sulivan say about Kharkiv?", "Sullivan", "Sulivan"),
    ],
)
def test_a_near_miss_is_answered_for_the_indexed_name(
    engine: Engine, question: str, indexed: str, asked: str
) -> None:
    a = engine.ask(question)
    assert a.answer.startswith(f"Answering for {indexed}: no article mentions {asked}.")
    assert not a.refused and any(indexed in c.quote for c in a.citations)
    assert a.standalone_question == question.replace(asked, indexed)


def test_names_that_are_indexed_or_far_from_any_are_left_alone(engine: Engine) -> None:
    index = engine.store.bm25()
    outlets = engine.known_outlets()
    assert names.near_misses("What did Kirby say about Mariupol?", index, outlets) == []
    assert names.near_misses("What did Zbigniew Brzezinski say?", index, outlets) == []
    a = engine.ask("What did Zbigniew Brzezinski say about Pokrovsk?")
    assert "Answering for" not in a.answer


def test_the_lookup_is_cheap(engine: Engine) -> None:
    index = engine.store.bm25()
    outlets = engine.known_outlets()
    t = time.perf_counter()
    for _ in range(20):
        names.near_misses("What did Kirbey say about Mariupl?", index, outlets)
    assert (time.perf_counter() - t) / 20 < 0.05


def test_a_name_with_an_inner_capital_is_one_word(engine: Engine) -> None:
    """ "McKirby" is not read as "Kirby" with "Mc" before it, nor "DeRyder" as "Ryder"."""
    index = engine.store.bm25()
    outlets = engine.known_outlets()
    for q in ("Did McKirbey speak on Monday?", "What did DeRyderr announce?"):
        assert names.near_misses(q, index, outlets) == []
