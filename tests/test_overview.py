"""Overview and comparison answers (issue 15): the best sentence from each article
about the subject, by outlet and newest first, with counts and coverage."""

from __future__ import annotations

import re

import pytest

from bot import Engine
from bot.answer.overview import overview_subject


@pytest.mark.parametrize(
    ("question", "subject"),
    [
        ("What do the articles say about Mariupol?", "Mariupol"),
        ("What happened to Kherson?", "Kherson"),
        ("What roles did John Kirby have?", "John Kirby"),
        ("John Kirby appears in two articles in different roles: what were they?", "John Kirby"),
        ("What did the outlets report about the Istanbul talks?", "Istanbul talks"),
        ("Who is Pat Ryder?", None),
        ("What did Kirby say about Mariupol?", None),
    ],
)
def test_overview_subject(question: str, subject: str | None) -> None:
    assert overview_subject(question) == subject


def dates(answer: str, outlet: str) -> list[str]:
    return re.findall(rf"^{re.escape(outlet)} \((\d{{4}}-\d\d-\d\d)\) \[\d+\]", answer, re.M)


def test_mariupol_is_quoted_from_each_article_that_mentions_it(engine: Engine) -> None:
    a = engine.ask("What do the articles say about Mariupol?")
    assert not a.refused
    assert a.answer.startswith("2 articles mention Mariupol.")
    assert {c.outlet for c in a.citations} == {"Newsweek", "The Wall Street Journal"}
    assert all("Mariupol" in c.quote for c in a.citations)
    assert "that don't: Associated Press, RT, The Moscow Times" in a.answer
    # newest first: Newsweek (2022-07-29) before the WSJ (2022-03-30)
    assert a.answer.index("Newsweek (2022-07-29)") < a.answer.index("The Wall Street Journal (2022")


def test_kirbys_two_roles(engine: Engine) -> None:
    a = engine.ask("John Kirby appears in two articles in different roles: what were they?")
    assert not a.refused and len({c.source for c in a.citations}) == 2
    text = a.answer
    assert "Coordinator John Kirby" in text and "Pentagon spokesman John Kirby" in text


def test_a_copy_of_one_story_counts_once(made_up_engine: Engine) -> None:
    a = made_up_engine.ask("What do the articles say about Ostrava?")
    assert not a.refused
    # planet, star (and its republished copy, once), post: three stories
    assert a.answer.startswith(
        "3 articles mention Ostrava (1 republished or reworded copy counted once)."
    )
    assert len(a.citations) == 3 and len({c.quote for c in a.citations}) == 3
    assert (
        "cover Ostrava: Morning Post, Evening Star, Daily Planet; that don't: Harbour Gazette."
        in a.answer
    )
    assert not any(c.publisher == "mirror-news.example" for c in a.citations)
    # grouped by outlet, newest first
    assert dates(a.answer, "Morning Post") == ["2024-05-06"]
    assert (
        a.answer.index("Morning Post")
        < a.answer.index("Evening Star (")
        < a.answer.index("Daily Planet (")
    )


def test_an_overview_of_a_subject_no_article_mentions_declines(made_up_engine: Engine) -> None:
    a = made_up_engine.ask("What do the articles say about Vilnius?")
    assert a.refused and "Vilnius" in a.answer


def test_comparison_starts_with_a_line_per_outlet_and_coverage(engine: Engine) -> None:
    a = engine.ask("How did outlets differ on whether the Russian offensive stalled?")
    assert not a.refused
    head, _, body = a.answer.partition("\n\n")
    lines = head.splitlines()
    cited = list(dict.fromkeys(c.outlet for c in a.citations))
    assert lines[0].startswith("In short, by outlet")
    assert [ln.split(" (")[0].lstrip("- ") for ln in lines[1 : 1 + len(cited)]] == cited
    assert "Outlets in the index that cover this:" in head and "that don't:" in head
    assert "[1]" in body
