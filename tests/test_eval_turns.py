"""``newsbot eval`` on conversations (issue 15): records with ``turns``, asked
turn by turn through the chat's Conversation, each graded on what it sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import MADE_UP, ROOT

from bot import Answer, Citation, Engine
from bot.answer.followup import FROM_LAST
from bot.eval.turns import (
    TurnsFileError,
    TurnSpec,
    grade_turn,
    is_turns_file,
    load_turns,
    run_conversations,
    summary,
)
from bot.frontends.cli import main
from index import QAFileError

TURNS = ROOT / "tests" / "qa" / "turns.jsonl"


def write(tmp_path: Path, *lines: str) -> Path:
    p = tmp_path / "turns.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def rt(quote: str) -> Citation:
    return Citation(1, "RT", None, "t", "2024-08-27", None, "seeds/001.txt", quote, 0, 1, 1.0)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "c", "turns": []}', "'turns' must be a non-empty list"),
        (
            '{"id": "c", "turns": [{"question": "Who?", "speeker": "X"}]}',
            "unknown turn field 'speeker'",
        ),
        ('{"id": "c", "turns": [{"question": "  ", "speaker": "X"}]}', "non-empty 'question'"),
        ('{"id": "c", "turns": [{"question": "Who?"}]}', "needs something to check"),
        (
            '{"id": "c", "date": "soon", "turns": [{"question": "Who?", "refused": true}]}',
            "YYYY-MM-DD",
        ),
        ('{"id": "c", "turns": [{"question": "Who?", "refused": "yes"}]}', "true or false"),
        ('{"id": "c", "turn": []}', "unknown field 'turn'"),
    ],
)
def test_bad_conversations_are_named_by_line(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(TurnsFileError, match=message) as e:
        load_turns(write(tmp_path, line))
    assert ":1" in str(e.value)


def test_the_shipped_conversation_set_loads_and_is_told_from_question_files() -> None:
    convs = load_turns(TURNS)
    assert len(convs) >= 15 and sum(len(c.turns) for c in convs) >= 30
    assert is_turns_file(TURNS) and not is_turns_file(ROOT / "tests" / "qa" / "seeds.jsonl")


def test_grading() -> None:
    given = Answer(
        "q", "RT [1] reports what a senior Pentagon official said: “x”", False, "e", [rt("x")]
    )
    ok = Answer("q", "RT (2024-08-27) [1] reports what John Kirby said: “y”", False, "e", [rt("y")])
    spec = TurnSpec("and what did Kirby say?", speaker="Kirby", outlets=("RT",))
    assert grade_turn(spec, ok) == []
    reasons = grade_turn(spec, given)
    assert "no quote given to Kirby" in reasons
    assert any("senior Pentagon official" in r for r in reasons)
    assert grade_turn(TurnSpec("q", refused=True), Answer("q", "no", True, "e")) == []
    assert grade_turn(TurnSpec("q", must_contain=("x",)), Answer("q", "no", True, "e")) == [
        "declined an answerable turn"
    ]
    last = TurnSpec("When?", must_contain=("2024",), from_last=True)
    fresh = Answer("q", "2024", False, "e", [rt("2024")])
    assert grade_turn(last, fresh) == ["searched afresh, should answer from the last answer"]
    assert grade_turn(last, Answer("q", "2024", False, "e", [rt("2024")], [FROM_LAST])) == []
    assert grade_turn(TurnSpec("q", outlets=("RT",)), Answer("q", "a report", False, "e")) == [
        "outlet RT not named"
    ]


def test_conversations_run_through_the_chat(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        json.dumps(
            {
                "id": "c1",
                "case": "follow-up",
                "turns": [
                    {
                        "question": "Which outlet reported that Pat Ryder would not say how "
                        "long Russian forces would take to reach Pokrovsk?",
                        "outlets": ["RT"],
                    },
                    {"question": "When?", "must_contain": ["2024-08-27"], "from_last": True},
                    {"question": "When?", "must_contain": ["1999-01-01"], "case": "wrong"},
                ],
            }
        ),
    )
    results = run_conversations(engine, load_turns(path))
    assert [r.passed for r in results] == [True, True, False]
    s = summary(results)
    assert s["overall"]["turn_accuracy"] == pytest.approx(2 / 3, abs=1e-3)
    assert s["overall"]["conversation_accuracy"] == 0.0
    assert s["by_case"]["follow-up"]["turns"] == 2


def test_cli_runs_a_conversations_file(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("gazette_harbour.txt", "star_ostrava.txt"):
        (corpus / name).write_text((MADE_UP / name).read_text())
    manifest = (MADE_UP / "manifest.toml").read_text()
    (corpus / "manifest.toml").write_text(manifest)
    ix = str(tmp_path / "ix")
    r = CliRunner().invoke(main, ["--index-dir", ix, "ingest", str(corpus)])
    assert r.exit_code == 0, r.output
    path = write(
        tmp_path,
        json.dumps(
            {
                "id": "c1",
                "turns": [
                    {
                        "question": "What did Kirbey say about the Ostrava offensive?",
                        "speaker": "Kirby",
                    },
                    {
                        "question": "When was that?",
                        "must_contain": ["2024-05-03"],
                        "from_last": True,
                    },
                ],
            }
        ),
    )
    r = CliRunner().invoke(main, ["--index-dir", ix, "eval", str(path), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["summary"]["overall"]["turn_accuracy"] == 1.0, data
    assert data["turns"][0]["searched_for"] == "What did Kirby say about the Ostrava offensive?"
    bad = CliRunner().invoke(main, ["--index-dir", ix, "eval", str(path), "--fail-under", "x=1"])
    assert bad.exit_code == 1 and "Traceback" not in bad.output


def test_unreadable_conversation_files_say_why(tmp_path: Path) -> None:
    """Read by the same reader as question files: a folder, bad JSON, missing file."""
    with pytest.raises(QAFileError, match="is a folder; give a .jsonl file of conversations"):
        load_turns(tmp_path)
    with pytest.raises(QAFileError, match=r":1: not valid JSON"):
        load_turns(write(tmp_path, '{"id": "c", "turns": ['))
    with pytest.raises(QAFileError, match="No such conversations file"):
        load_turns(tmp_path / "none.jsonl")
