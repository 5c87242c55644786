"""``newsbot eval`` on hand-made answers: matching, ranking metrics, exactness,
citation support, Q&A file validation, baselines and --fail-under.

No index here: a fake engine replays canned answers (the real engine is
exercised in ``test_regression.py``)."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import CORPUS, SHARED, make_settings

from bot import METRICS, Answer, AskOptions, Citation, QARecord, Report, evaluate, grade, load_qa
from bot.eval.command import run_eval_command
from bot.eval.grading import (
    Cited,
    citation_label,
    citation_problem,
    citation_scores,
    hit_at_k,
    matches_source,
    missing_strings,
    names_outlet,
    reciprocal_rank,
    statements,
)
from bot.eval.report import compare, failed_thresholds, load_report, parse_thresholds
from bot.frontends.cli import main
from index import BadThreshold, QAFileError, ReportError, SourceTexts
from index.errors import NewsbotError
from index.readers import text_of
from index.settings import Settings

SEEDS = Path(__file__).with_name("qa") / "seeds.jsonl"
RT = "seeds/001_0fa0538ff5d991b7.txt"
RT_QUOTE = "In Donbass, Russian forces have been making “incremental gains,” Ryder acknowledged."


def rt_citation(n: int = 1, shift: int = 0) -> dict[str, Any]:
    """A citation of the RT seed article as ``ask --json`` gives it; ``shift``
    moves the offsets off the quote."""
    start = text_of(CORPUS, RT).index(RT_QUOTE) + shift
    return {
        "id": n,
        "outlet": "RT",
        "publisher": "rt.com",
        "title": "Kiev should explain Russian 'incremental gains' in Donbass – Pentagon",
        "published": "2024-08-27",
        "url": None,
        "source": RT,
        "quote": RT_QUOTE,
        "start": start,
        "end": start + len(RT_QUOTE),
        "score": 0.6,
        "note": None,
    }


def rt_answer(shift: int = 0) -> dict[str, Any]:
    return {
        "answer": f"RT (2024-08-27) [1] reports what Ryder said: “{RT_QUOTE}”",
        "refused": False,
        "citations": [rt_citation(shift=shift)],
        "retrieved": [{"source": "seeds/003_45894fdbe1c545f1.txt"}, {"source": RT}],
    }


def record(**kw: Any) -> QARecord:
    base: dict[str, Any] = {
        "id": "t1",
        "question": "Which outlet reported Ryder's 'incremental gains'?",
        "kind": "attribution",
        "must_contain": ("rt",),
        "source_files": ("001_0fa0538ff5d991b7.txt",),
        "outlets": ("RT",),
    }
    return QARecord(**(base | kw))


TEXTS = SourceTexts(CORPUS)


# ---------------------------------------------------------------- matching


def test_outlets_match_as_whole_words() -> None:
    assert names_outlet("RT [1] reports what Ryder said", "RT")
    assert names_outlet("as RT's correspondent wrote", "RT")
    assert not names_outlet("The report says the Pentagon spokesman", "RT")
    assert not names_outlet("an article from rtnews", "rt")
    assert names_outlet("the Moscow\nTimes [2] reports", "The Moscow Times")
    assert names_outlet("Wall Street Journal (2022-03-30) [1]", "The Wall Street Journal")
    assert not names_outlet("Moscow's times", "The Moscow Times")


def test_must_contain_outlets_whole_word_other_strings_as_substrings() -> None:
    answer = "The report [1] quotes Ryder on guarantees and Pokrovsk."
    assert missing_strings(answer, ["rt"], outlets=["RT"]) == ["rt"]
    assert missing_strings(answer, ["rt"], outlets=[]) == []  # substring: "repo-rt"
    assert missing_strings(answer, ["guarantee", "POKROVSK"], outlets=["RT"]) == []
    assert missing_strings("Moscow’s chief negotiator", ["moscow's"], outlets=[]) == []


def test_sources_match_by_basename_relative_path_or_record_id() -> None:
    assert matches_source("000_8897612e89bc42ed.txt", "seeds/000_8897612e89bc42ed.txt")
    assert matches_source("seeds/000_8897612e89bc42ed.txt", "seeds/000_8897612e89bc42ed.txt")
    assert matches_source("546b429ef96a", "realtimeqa/articles.jsonl.gz#546b429ef96a")
    assert matches_source("articles.jsonl.gz", "realtimeqa/articles.jsonl.gz#546b429ef96a")
    assert not matches_source("546b429ef96", "articles.jsonl.gz#546b429ef96a")
    assert not matches_source("00_8897612e89bc42ed.txt", "seeds/000_8897612e89bc42ed.txt")
    assert not matches_source("seeds", "seeds/000_8897612e89bc42ed.txt")


def test_hit_at_k_and_mrr() -> None:
    ranked = ["seeds/a.txt", "seeds/b.txt", "x.jsonl#c1", "seeds/b.txt"]
    assert reciprocal_rank(ranked, ["a.txt"]) == 1.0
    assert reciprocal_rank(ranked, ["b.txt", "zzz"]) == 0.5
    assert reciprocal_rank(ranked, ["c1"]) == pytest.approx(1 / 3)
    assert reciprocal_rank(ranked, ["nope.txt"]) == 0.0
    assert hit_at_k(ranked, ["c1"], 2) == 0.0
    assert hit_at_k(ranked, ["c1"], 3) == 1.0
    assert hit_at_k([], ["c1"], 5) == 0.0


# ---------------------------------------------------------------- exactness


def test_source_texts_agree_with_text_of(tmp_path: Path) -> None:
    for f in sorted(CORPUS.glob("seeds/*.txt")):
        source = f.relative_to(CORPUS).as_posix()
        assert TEXTS.text(source) == text_of(CORPUS, source)
    recs = [{"id": "a1", "text": "First record."}, {"id": "b2", "text": "Second one."}]
    (tmp_path / "arts.jsonl").write_text("\n".join(json.dumps(r) for r in recs))
    texts = SourceTexts(tmp_path)
    assert texts.text("arts.jsonl#b2") == text_of(tmp_path, "arts.jsonl#b2") == "Second one."
    with pytest.raises(NewsbotError, match="not found"):
        texts.text("arts.jsonl#zz")


def test_exact_citation_passes_and_a_wrong_offset_is_caught() -> None:
    assert citation_problem(rt_citation(), TEXTS) is None
    problem = citation_problem(rt_citation(n=2, shift=1), TEXTS)
    assert problem and problem.startswith("citation [2]: quote is not") and RT in problem
    bad = grade(record(), rt_answer(shift=1), TEXTS, k=5)
    assert bad.metrics["citation_exactness"] == 0.0 and not bad.passed
    assert any("quote is not" in r for r in bad.reasons)
    assert "offsets" in str(citation_problem(rt_citation() | {"end": 10**9}, TEXTS))
    assert "cannot read" in str(citation_problem(rt_citation() | {"source": "gone.txt"}, TEXTS))


def test_exactness_is_counted_over_citations() -> None:
    good = grade(record(id="a"), rt_answer(), TEXTS, k=5)
    two = rt_answer()
    two["citations"] = [rt_citation(1), rt_citation(2, shift=3)]
    two["answer"] += f"\nRT [2] reports: “{RT_QUOTE}”"
    half = grade(record(id="b"), two, TEXTS, k=5)
    summary = Report("extractive", 5, [good, half]).summary()
    assert summary["overall"]["citation_exactness"] == pytest.approx(2 / 3, abs=1e-3)


# ---------------------------------------------------------------- grading


def test_grade_a_correct_attribution_answer() -> None:
    r = grade(record(), rt_answer(), TEXTS, k=5, seconds=0.25)
    assert r.passed, r.reasons
    m = r.metrics
    assert m["answer_accuracy"] == m["refusal_accuracy"] == m["attribution_accuracy"] == 1.0
    assert m["hit_at_k"] == 1.0 and m["mrr"] == 0.5
    assert m["cited_hit"] == m["cited_mrr"] == 1.0
    assert m["citation_exactness"] == m["citation_recall"] == m["citation_precision"] == 1.0
    j = r.to_json()
    assert {
        "id",
        "question",
        "answer",
        "refused",
        "citations",
        "passed",
        "reasons",
        "seconds",
    } <= set(j)
    assert j["citations"] == rt_answer()["citations"] and j["seconds"] == 0.25


def test_grade_outlet_inside_a_word_does_not_count() -> None:
    answer = rt_answer() | {"answer": f"A report [1] says: “{RT_QUOTE}”"}
    r = grade(record(), answer, TEXTS, k=5)
    assert r.metrics["answer_accuracy"] == 0.0 and r.metrics["attribution_accuracy"] == 0.0
    assert "answer lacks 'rt'" in r.reasons and "does not name RT as a whole word" in r.reasons


def test_grade_fact_without_a_supporting_citation() -> None:
    rec = record(kind="fact", must_contain=("donbass",), source_files=("002_a14a.txt",))
    r = grade(rec, rt_answer(), TEXTS, k=1)
    assert r.metrics["answer_accuracy"] == 1.0 and r.metrics["attribution_accuracy"] is None
    assert r.metrics["hit_at_k"] == 0.0 and r.metrics["cited_hit"] == 0.0
    assert r.reasons == ["cites no supporting source (expected one of 002_a14a.txt)"]


def test_grade_refusals() -> None:
    unanswerable = record(kind="unanswerable", must_contain=("not",))
    declined = {"answer": "The corpus doesn't say.", "refused": True, "citations": []}
    assert grade(unanswerable, declined, TEXTS, k=5).passed
    answered = grade(unanswerable, rt_answer(), TEXTS, k=5)
    assert not answered.passed and answered.metrics["refusal_accuracy"] == 0.0
    assert answered.metrics["hit_at_k"] is None  # retrieval is graded on answerable questions
    wrongly = grade(record(), declined, TEXTS, k=5)
    assert wrongly.reasons[0] == "declined an answerable question"
    assert wrongly.metrics["answer_accuracy"] == wrongly.metrics["refusal_accuracy"] == 0.0
    assert wrongly.metrics["citation_recall"] is None


# ---------------------------------------------------------------- citation support


def test_statements_of_extractive_and_llm_answers() -> None:
    extractive = (
        "RT (2024-08-27) [1] reports what Ryder said: “He declined. He said ask Kyiv.”\n"
        "Newsweek [2] reports: “Kirby spoke.”\n\n"
        "Caveat on [1] (RT, via rt.com): Headline and date inferred."
    )
    claims = statements(extractive)
    assert [c.ids for c in claims] == [(1,), (2,)]
    assert claims[0].text.endswith("He said ask Kyiv.”") and "[1]" not in claims[0].text
    intro = statements(
        "RT reported it:\nRT (2024-08-27) [1] reports: “Gains.”\nRT [2] reports: “More.”"
    )
    assert [c.ids for c in intro] == [(1,), (2,)]
    assert intro[0].text == "RT reported it: RT (2024-08-27) reports: “Gains.”"
    llm = "Medinsky led Russia's delegation [1]. Talks were held in Istanbul [1, 3]. Unsure."
    assert [c.ids for c in statements(llm)] == [(1,), (1, 3), ()]


def test_alce_recall_and_precision() -> None:
    def check(sentence: str, passage: str, *, label: str = "") -> bool:
        return set(re.findall(r"\w+", sentence)) <= set(re.findall(r"\w+", passage))

    claims = statements("Alpha beta [1][2]. Gamma [3]. Delta.")
    assert [c.ids for c in claims] == [(1, 2), (3,), ()]
    cited = {1: Cited("Alpha beta"), 2: Cited("Zeta"), 3: Cited("Gamma")}
    # "Alpha beta" supported ([2] superfluous), "Gamma" supported, "Delta" cites nothing
    assert citation_scores(claims, cited, check) == pytest.approx((2 / 3, 2 / 3))
    # a claim that needs both of its citations: both count as precise
    assert citation_scores(statements("Alpha Gamma [1][3]."), cited, check) == (1.0, 1.0)
    # citations that together don't support their claim are all imprecise
    assert citation_scores(statements("Alpha omega [1][3]."), cited, check) == (0.0, 0.0)
    # a marker with no citation behind it supports nothing
    assert citation_scores(statements("Alpha beta [9]."), cited, check) == (0.0, 0.0)
    assert citation_scores([], cited, check) is None


def test_support_uses_the_citation_label() -> None:
    """The answer names the outlet and date, the quote doesn't: the label counts."""
    claims = statements(rt_answer()["answer"])
    assert citation_label(rt_citation()).startswith("RT rt.com Kiev")
    assert citation_scores(claims, {1: Cited(RT_QUOTE, citation_label(rt_citation()))}) == (
        1.0,
        1.0,
    )
    rt = {1: Cited(RT_QUOTE, citation_label(rt_citation()))}
    assert citation_scores(statements("RT reported it:\n" + rt_answer()["answer"]), rt) == (
        1.0,
        1.0,
    )
    wrong_outlet = statements("Newsweek reported it:\n" + rt_answer()["answer"])
    assert citation_scores(wrong_outlet, rt) == (0.0, 0.0)
    unrelated = Cited("Biden met Zelensky in Paris on Friday.", "The Moscow Times")
    assert citation_scores(claims, {1: unrelated}) == (0.0, 0.0)


# ---------------------------------------------------------------- the Q&A file


def write(tmp_path: Path, *lines: str) -> Path:
    p = tmp_path / "qa.jsonl"
    p.write_text("\n".join(lines) + "\n")
    return p


GOOD = '{"id": "a", "question": "Who?", "kind": "fact", "must_contain": ["x"]}'


def test_seed_file_loads() -> None:
    recs = load_qa(SEEDS)
    assert len(recs) == 16 and len({r.id for r in recs}) == 16
    assert {r.kind for r in recs} == {
        "fact",
        "attribution",
        "comparison",
        "multi-article",
        "unanswerable",
    }


def test_realtimeqa_extras_are_accepted_and_date_is_kept(tmp_path: Path) -> None:
    line = json.dumps(
        {
            "id": "20230106_0",
            "question": "Damar Hamlin is a member of which team?",
            "answer": "Buffalo Bills",
            "must_contain": ["buffalo bills"],
            "source_files": ["546b429ef96a"],
            "outlets": ["CNN"],
            "kind": "fact",
            "week": "20230106",
            "date": "2023-01-05",
            "choices": ["Pittsburgh Steelers", "Buffalo Bills"],
            "asked_by": "CNN",
        }
    )
    (rec,) = load_qa(write(tmp_path, line))
    assert rec.date == date(2023, 1, 5) and rec.source_files == ("546b429ef96a",)
    shared = SHARED / "realtimeqa" / "questions.jsonl"
    if shared.exists():
        assert len({r.id for r in load_qa(shared)}) == 617


def test_a_repeated_id_is_kept_apart_with_a_warning(tmp_path: Path) -> None:
    warnings: list[str] = []
    recs = load_qa(write(tmp_path, GOOD, GOOD, GOOD), warn=warnings.append)
    assert [r.id for r in recs] == ["a", "a#2", "a#3"]
    assert warnings[0].endswith("qa.jsonl:2: duplicate id 'a' (first on line 1); reported as 'a#2'")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ((GOOD, '{"id": "b", "question": "Why?", "kind": "fact"'), r"qa.jsonl:2: not valid JSON"),
        ((GOOD, "", "[1, 2]"), r"qa.jsonl:3: expected a JSON object, got list"),
        (
            ('{"id": "a", "qustion": "Who?", "kind": "fact"}',),
            r"qa.jsonl:1: unknown field 'qustion' \(did you mean 'question'\?\)",
        ),
        (
            ('{"id": "a", "kind": "fact", "must_contain": ["x"]}',),
            r":1: missing required field 'question'",
        ),
        (
            ('{"id": "a", "question": "Who?", "kind": "fact"}',),
            r":1: missing required field 'must_contain'",
        ),
        ((GOOD.replace('"fact"', '"facts"'),), r":1: unknown kind \"facts\"; one of: fact, "),
        ((GOOD.replace('["x"]', '"x"'),), r":1: 'must_contain' must be a list of strings"),
        ((GOOD.replace("}", ', "date": "last week"}'),), r":1: 'date' must be YYYY-MM-DD"),
        ((GOOD.replace('"Who?"', '"  "'),), r":1: 'question' must be a non-empty string"),
        (("", "  "), r"holds no questions"),
    ],
)
def test_malformed_qa_files(tmp_path: Path, lines: tuple[str, ...], message: str) -> None:
    with pytest.raises(QAFileError, match=message):
        load_qa(write(tmp_path, *lines))


def test_missing_and_binary_qa_files(tmp_path: Path) -> None:
    with pytest.raises(QAFileError, match="No such Q&A file"):
        load_qa(tmp_path / "nope.jsonl")
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(QAFileError, match="not UTF-8"):
        load_qa(tmp_path / "bin.jsonl")


# ---------------------------------------------------------------- a fake engine


class FakeEngine:
    """Replays canned ``ask --json`` answers by question; ``boom`` raises."""

    def __init__(self, settings: Settings, answers: dict[str, dict[str, Any]]) -> None:
        self.settings = settings
        self.answers = answers
        self.asked: list[tuple[str, AskOptions | None]] = []

    def ask(self, question: str, options: AskOptions | None = None) -> Answer:
        self.asked.append((question, options))
        if question == "boom":
            raise RuntimeError("the engine fell over")
        j = self.answers[question]
        return Answer(
            question,
            j["answer"],
            j["refused"],
            "extractive",
            [Citation(**c) for c in j["citations"]],
        )

    def source_texts(self) -> SourceTexts:
        return SourceTexts(self.settings.corpus_dir)


def qa_lines() -> list[str]:
    return [
        json.dumps(
            {
                "id": "good",
                "question": "Who reported incremental gains?",
                "kind": "attribution",
                "must_contain": ["rt"],
                "source_files": ["001_0fa0538ff5d991b7.txt"],
                "outlets": ["RT"],
                "date": "2024-09-01",
            }
        ),
        json.dumps({"id": "crash", "question": "boom", "kind": "fact", "must_contain": ["x"]}),
        json.dumps({"id": "none", "question": "Sourdough?", "kind": "unanswerable"}),
    ]


@pytest.fixture
def fake(tmp_path: Path) -> FakeEngine:
    declined = {"answer": "The corpus doesn't say.", "refused": True, "citations": []}
    answers = {"Who reported incremental gains?": rt_answer(), "Sourdough?": declined}
    return FakeEngine(make_settings(tmp_path / "ix"), answers)


def test_a_crashing_question_fails_and_the_run_goes_on(fake: FakeEngine, tmp_path: Path) -> None:
    records = load_qa(write(tmp_path, *qa_lines()))
    seen: list[str] = []
    report = evaluate(fake, records, "extractive", on_result=lambda r: seen.append(r.record.id))
    assert seen == ["good", "crash", "none"]
    good, crash, none = report.questions
    assert good.passed and none.passed and not crash.passed
    assert crash.error == "RuntimeError: the engine fell over"
    assert crash.reasons == ["engine error: RuntimeError: the engine fell over"]
    overall = report.summary()["overall"]
    assert overall["errors"] == 1 and overall["passed"] == 2
    assert overall["pass_rate"] == overall["answer_accuracy"] == pytest.approx(2 / 3, abs=1e-3)
    # the record's date is the day the question is asked
    (_, opts), *_ = fake.asked
    assert opts is not None and opts.as_of == date(2024, 9, 1) and opts.mode == "extractive"


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run_eval(fake: FakeEngine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    qa = write(tmp_path, *qa_lines())

    def run(**kw: Any) -> tuple[int, str, str]:
        code = run_eval_command(
            fake.settings,
            qa,
            open_engine=lambda s: contextlib.nullcontext(fake),
            **kw,
        )
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_table_and_failures_are_printed(run_eval: Run) -> None:
    code, out, _ = run_eval()
    assert code == 0
    assert "attribution" in out and "unanswerable" in out and "overall" in out
    assert "Failures (1 of 3)" in out and "engine error: RuntimeError" in out


def test_json_output_and_report_file(run_eval: Run, tmp_path: Path) -> None:
    code, out, err = run_eval(as_json=True, report=tmp_path / "r.json")
    assert code == 0
    data = json.loads(out)
    assert data == json.loads((tmp_path / "r.json").read_text())
    assert set(data) == {"summary", "questions"}
    assert set(data["summary"]["by_kind"]) == {"attribution", "fact", "unanswerable"}
    assert set(METRICS) <= set(data["summary"]["overall"])
    assert [q["id"] for q in data["questions"]] == ["good", "crash", "none"]
    assert data["questions"][0]["citations"] == rt_answer()["citations"]
    assert "Report written" in err


def test_fail_under_sets_the_exit_code(run_eval: Run) -> None:
    code, _, err = run_eval(fail_under=["answer_accuracy=0.6", "citation_exactness=1"])
    assert code == 0 and "fail-under" not in err
    code, _, err = run_eval(fail_under=["pass_rate=0.9"])
    assert code == 1 and "pass_rate = 0.667 is under 0.9" in err


def test_fail_under_parsing() -> None:
    assert parse_thresholds(["answer_accuracy=0.8", "mrr = 0.5"]) == {
        "answer_accuracy": 0.8,
        "mrr": 0.5,
    }
    with pytest.raises(
        BadThreshold,
        match="unknown metric 'acuracy'. Valid metrics: pass_rate, answer_accuracy",
    ):
        parse_thresholds(["acuracy=0.8"])
    for bad in ["answer_accuracy", "answer_accuracy=high", "answer_accuracy=80"]:
        with pytest.raises(BadThreshold):
            parse_thresholds([bad])
    summary = {"overall": {"answer_accuracy": 0.5, "attribution_accuracy": None}}
    assert failed_thresholds(summary, {"answer_accuracy": 0.5}) == []
    assert failed_thresholds(summary, {"attribution_accuracy": 0.1}) == [
        "attribution_accuracy was not measured (no question it applies to); required 0.1"
    ]


def test_baseline_names_regressions_and_improvements(
    run_eval: Run, fake: FakeEngine, tmp_path: Path
) -> None:
    base = tmp_path / "base.json"
    run_eval(report=base)
    data = json.loads(base.read_text())
    for q in data["questions"]:  # pretend: "good" failed then, "crash" passed then
        q["passed"] = q["id"] != "good"
    data["questions"].append({"id": "gone", "passed": True})
    base.write_text(json.dumps(data))
    code, out, _ = run_eval(baseline=base)
    assert code == 1  # a regression against the baseline fails the run
    assert "1 regressed, 1 improved" in out
    assert "regressed: crash (engine error: RuntimeError: the engine fell over)" in out
    assert "improved: good" in out and "no longer in the file: gone" in out
    code, out, _ = run_eval(baseline=base, as_json=True)
    assert json.loads(out)["baseline"]["regressed"] == ["crash"]


def test_compare_reports_metric_deltas(fake: FakeEngine, tmp_path: Path) -> None:
    records = load_qa(write(tmp_path, *qa_lines()))
    now = evaluate(fake, records)
    then = now.to_json()
    then["summary"]["overall"]["answer_accuracy"] = 1.0
    c = compare(now, then)
    assert c.regressed == c.improved == c.added == c.removed == []
    assert c.deltas["answer_accuracy"] == pytest.approx(2 / 3 - 1, abs=1e-3)


def test_bad_baseline_files(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="No such baseline"):
        load_report(tmp_path / "none.json")
    (tmp_path / "x.json").write_text("{nope")
    with pytest.raises(ReportError, match="not JSON"):
        load_report(tmp_path / "x.json")
    (tmp_path / "y.json").write_text('{"summary": {}}')
    with pytest.raises(ReportError, match="not a newsbot eval report"):
        load_report(tmp_path / "y.json")


# ---------------------------------------------------------------- the CLI, no traceback


def cli(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout + r.stderr


def test_cli_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    ix = str(tmp_path / "ix")  # never opened: input is checked first
    code, out = cli("--index-dir", ix, "eval", str(SEEDS), "--fail-under", "acuracy=0.8")
    assert code == 2 and "Valid metrics: pass_rate" in out and "Traceback" not in out
    bad = write(tmp_path, GOOD, "{oops")
    code, out = cli("--index-dir", ix, "eval", str(bad))
    assert code == 1 and ":2: not valid JSON" in out and "Traceback" not in out
    code, out = cli("--index-dir", ix, "eval", str(tmp_path / "missing.jsonl"))
    assert code == 1 and "No such Q&A file" in out
    code, out = cli("--index-dir", ix, "eval", str(SEEDS), "--baseline", str(bad))
    assert code == 1 and "not JSON" in out
    assert not (tmp_path / "ix").exists()
