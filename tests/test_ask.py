"""The answer engine and the `ask` command on the real seed index."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import CORPUS, make_settings, same_up_to_float16

from bot import AskOptions, Engine
from bot.frontends.cli import main
from index.bm25 import BM25Index
from index.errors import NewsbotError, QuestionError
from index.readers import text_of
from index.retrieve import Retriever
from index.types import Filters


def exact(answer_json: dict) -> bool:  # type: ignore[type-arg]
    return all(
        text_of(CORPUS, c["source"])[c["start"] : c["end"]] == c["quote"]
        for c in answer_json["citations"]
    )


def test_answer_cites_exact_quotes_with_outlets(engine: Engine) -> None:
    a = engine.ask("What did Kate Bedingfield say about Putin's advisers?")
    j = a.to_json()
    assert not a.refused and a.citations and exact(j)
    for c in a.citations:
        assert f"[{c.id}]" in a.answer and c.outlet in a.answer
        assert set(j["citations"][0]) >= {
            "id",
            "outlet",
            "publisher",
            "title",
            "published",
            "url",
            "source",
            "quote",
            "start",
            "end",
            "score",
        }


def test_caveat_is_passed_on(engine: Engine) -> None:
    a = engine.ask("Which town south of Sumy did Ukrainian forces retake?")
    assert any(c.note for c in a.citations)
    assert "Caveat" in a.answer


def test_outlet_filter(engine: Engine) -> None:
    a = engine.ask(
        "What did officials say about Russian advances?", AskOptions(filters=Filters(outlet="rt"))
    )
    assert a.citations and {c.outlet for c in a.citations} == {"RT"}
    with pytest.raises(NewsbotError, match="Unknown outlet"):
        engine.ask("anything at all?", AskOptions(filters=Filters(outlet="Pravda")))


def test_date_filter(engine: Engine) -> None:
    opts = AskOptions(filters=Filters(since=date(2024, 1, 1)))
    a = engine.ask("What did U.S. officials say about Russian progress?", opts)
    assert a.citations and all(c.published and c.published >= "2024-01-01" for c in a.citations)
    none = engine.ask("What happened?", AskOptions(filters=Filters(until=date(2000, 1, 1))))
    assert none.refused and not none.citations


def test_declines_off_topic_question(engine: Engine) -> None:
    a = engine.ask("What is the recipe for sourdough bread with rye flour?")
    assert a.refused and not a.citations and "doesn't say" in a.answer


def test_declines_yes_no_question_the_corpus_does_not_settle(engine: Engine) -> None:
    a = engine.ask("Did Kirby resign from the White House after the briefing?")
    assert a.refused and not a.citations


@pytest.mark.parametrize("question", ["", "   \n\t "])
def test_empty_question(engine: Engine, question: str) -> None:
    with pytest.raises(QuestionError, match="empty"):
        engine.ask(question)


def test_huge_question(engine: Engine) -> None:
    with pytest.raises(QuestionError, match="limit"):
        engine.ask("why " * 1000)


# ---------------------------------------------------------------- CLI


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_cli_empty_question_exit_2(seed_index: Path) -> None:
    code, out, err = run("--index-dir", str(seed_index), "ask", "  ")
    assert code == 2 and "empty" in err and "Traceback" not in err + out


def test_cli_long_question(seed_index: Path) -> None:
    code, _, err = run("--index-dir", str(seed_index), "ask", "x" * 5000)
    assert code == 2 and "limit" in err


def test_cli_bad_date(seed_index: Path) -> None:
    code, _, err = run("--index-dir", str(seed_index), "ask", "--since", "last tuesday", "who?")
    assert code == 2 and "not a date" in err


def test_cli_missing_path(tmp_path: Path) -> None:
    code, _, err = run("--index-dir", str(tmp_path / "ix"), "ingest", str(tmp_path / "missing"))
    assert code == 1 and "No such file" in err
    assert not (tmp_path / "ix").exists()


def test_cli_foreign_index_dir_is_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"meow")
    code, _, err = run("--index-dir", str(foreign), "ask", "Who is Pat Ryder?")
    assert code == 1 and "not a newsbot index" in err
    assert (foreign / "cat.jpg").read_bytes() == b"meow"


def test_cli_corrupt_index_says_how_to_rebuild(tmp_path: Path, corpus_copy: Path) -> None:
    ix = tmp_path / "ix"
    from index.ingest import ingest

    ingest(make_settings(ix, corpus_copy))
    (ix / "newsbot-index.json").write_text("{garbage")
    code, _, err = run("--index-dir", str(ix), "ask", "Who is Pat Ryder?")
    assert code == 1 and "--rebuild" in err and "Traceback" not in err


def test_cli_ask_json_contract(tmp_path: Path, corpus_copy: Path) -> None:
    """The ask --json contract, on an index built with ingest (the default index
    builds itself on first use: test_cli.py)."""
    assert run("--index-dir", str(tmp_path / "ix"), "ingest", str(corpus_copy))[0] == 0
    r = CliRunner().invoke(
        main,
        ["--index-dir", str(tmp_path / "ix"), "ask", "--json", "Who did Biden meet in Paris?"],
        env={"NEWSBOT_CORPUS_DIR": str(corpus_copy)},
    )
    assert r.exit_code == 0, r.stderr
    j = json.loads(r.stdout)
    assert {"question", "answer", "refused", "mode", "citations", "direct_answer"} <= set(j)
    assert j["mode"] == "extractive" and not j["refused"] and j["citations"]
    assert all(
        corpus_copy.joinpath(c["source"]).read_text()[c["start"] : c["end"]] == c["quote"]
        for c in j["citations"]
    )
    code, out, _ = run("--index-dir", str(tmp_path / "ix"), "sources")
    assert code == 0 and "Moscow" in out and "Newsweek" in out


def test_relative_dates_resolve_against_as_of() -> None:
    from bot.answer.query import period_of

    d = date(2024, 6, 12)
    assert period_of("What happened this week?", d) == (date(2024, 6, 5), d)
    assert period_of("What did he say yesterday?", d) == (date(2024, 6, 11), date(2024, 6, 11))
    assert period_of("Any news last month?", d) == (date(2024, 5, 1), date(2024, 5, 31))
    assert period_of("What happened in March 2022?", d) == (date(2022, 3, 1), date(2022, 3, 31))
    assert period_of("Who is Kirby?", d) is None


def test_as_of_excludes_later_articles_and_flags_stale_sources(engine: Engine) -> None:
    opts = AskOptions(as_of=date(2022, 12, 31))
    a = engine.ask("What did John Kirby say about the fighting in the Donbas?", opts)
    assert a.citations
    assert all(c.published and c.published <= "2022-12-31" for c in a.citations)
    b = engine.ask(
        "What did Jake Sullivan say this week about the Kharkiv offensive?",
        AskOptions(as_of=date(2025, 1, 10)),
    )
    assert b.citations and any("older than the period" in n for n in b.notices)


@pytest.mark.parametrize(
    "f",
    [
        Filters(outlet="RT"),
        Filters(until=date(2024, 8, 26)),
        Filters(since=date(2024, 8, 27)),
        Filters(outlet="RT", until=date(2024, 8, 30)),
    ],
)
def test_filtered_dense_search_equals_chromas_own_filter(
    engine: Engine, f: Filters, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dense search filters over-fetched neighbours itself (Chroma's filter is slow at
    scale); it must keep exactly what Chroma's metadata filter would."""
    r = engine.retriever
    monkeypatch.setattr(r, "exact_max_rows", 0)  # the seed index is small: force over-fetching
    f, index, mask = narrowed(r, f)
    for q in ("Russian advances near Pokrovsk", "negotiations in Istanbul", "sanctions"):
        v = r.embedder.embed_query(q)
        before = r.dense_paths.copy()
        mine = [cid for cid, _ in r._dense(index, v, 6, f, mask)]
        assert r.dense_paths - before == Counter(postfilter=1)
        chromas = [cid for cid, _ in r.store.dense(v, 6, f)]
        assert mine == chromas and mine


def narrowed(r: Retriever, f: Filters) -> tuple[Filters, BM25Index, np.ndarray]:
    """``f`` with its outlet resolved, the BM25 index, and the filter's row mask
    (which some, not all, chunks pass)."""
    f = Filters(r.resolve_outlet(f.outlet), f.since, f.until) if f.outlet else f
    index = r.store.bm25()
    mask = r._mask(index, f)
    assert mask is not None and 0 < mask.sum() < len(mask)
    return f, index, mask


@pytest.mark.parametrize(
    "f",
    [
        Filters(since=date(2024, 8, 25), until=date(2024, 8, 30)),  # a few days: 5 chunks
        Filters(since=date(2022, 3, 28), until=date(2022, 3, 31)),
        Filters(outlet="The Moscow Times"),  # 3 chunks
        Filters(outlet="Wall Street", until=date(2022, 3, 30)),  # 17 chunks
    ],
)
@pytest.mark.parametrize("why", ["few pass", "too few for over-fetching"])
def test_narrow_filter_is_scored_exactly_without_chromas_filter(
    engine: Engine, f: Filters, why: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When few chunks pass, dense search scores exactly those, with the vectors kept
    beside the BM25 index, instead of Chroma's slow metadata filter: same chunks, same
    order, same scores (up to float16 rounding) as that filter."""
    r = engine.retriever
    if why == "too few for over-fetching":  # as at 100k chunks with a week's window
        monkeypatch.setattr(r, "exact_max_rows", 0)
        monkeypatch.setattr(r, "max_postfilter", 8)
    f, index, mask = narrowed(r, f)
    for q in ("Russian advances near Pokrovsk", "negotiations in Istanbul", "sanctions"):
        v = r.embedder.embed_query(q)
        before = r.dense_paths.copy()
        mine = r._dense(index, v, 6, f, mask)
        assert r.dense_paths - before == Counter(exact=1)  # neither Chroma query was made
        chromas = r.store.dense(v, 6, f)
        assert mine and same_up_to_float16(mine, chromas)
    before = r.dense_paths.copy()
    passages = r.retrieve("What did officials say about the fighting?", f)
    assert passages and r.dense_paths - before == Counter(exact=1)


def test_a_question_searched_with_several_filters_is_embedded_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = engine.retriever
    calls: list[str] = []
    real = r.embedder.embed_query

    def counting(text: str) -> list[float]:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(r.embedder, "embed_query", counting)
    q = "What did the Kremlin say about the talks?"
    plain = r.retrieve(q)
    r.retrieve(q, Filters(since=date(2022, 1, 1)))
    assert calls == [q]
    assert [p.chunk_id for p in r.retrieve(q)] == [p.chunk_id for p in plain]
    r.retrieve("Who negotiated in Istanbul?")
    assert calls == [q, "Who negotiated in Istanbul?"]
