"""The answer model shipped in models/answer: it loads (also from a wheel), ranks
answering sentences above their distractors, makes the engine decline what the
corpus does not answer, and a broken model file falls back with a notice.
The question/sentence sets here are made up for the tests, not from the QA files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import SHARED, build_wheel, make_settings

from bot import AnswerModel, Engine
from bot.answer import direct
from index.errors import ModelError
from index.ingest import ingest
from index.models import shipped

ROOT = Path(__file__).resolve().parents[1]

# (question, answering sentence, distractors that share the question's words)
SETS = [
    (
        "Which city will host the 2031 Nordic robotics championship?",
        "Organisers said the 2031 Nordic robotics championship will be held in Tampere.",
        [
            "The Nordic robotics championship has grown every year since it began.",
            "Robotics teams from five countries took part in the championship last year.",
            "The championship's organisers did not say how many teams would compete.",
        ],
    ),
    (
        "How many people were evacuated after the Lakeview dam cracked?",
        "About 4,200 people were evacuated from villages below the Lakeview dam after it cracked.",
        [
            "The Lakeview dam was built in 1962 and last inspected in 2019.",
            "Engineers are still studying why the dam cracked.",
            "People living near the dam said they had worried about it for years.",
        ],
    ),
    (
        "Who was named the new chief executive of Harbor Foods?",
        "Harbor Foods named Miriam Okafor as its new chief executive on Tuesday.",
        [
            "Harbor Foods has struggled with falling sales for two years.",
            "The chief executive of a rival firm praised Harbor Foods' brands.",
            "Shares in Harbor Foods rose 3% in early trading.",
        ],
    ),
    (
        "What did the Marbury council vote to ban?",
        "The Marbury council voted 7-2 on Monday to ban gas-powered leaf blowers.",
        [
            "The Marbury council meets on the first Monday of each month.",
            "Several residents spoke at the council meeting.",
            "The vote followed months of debate in Marbury.",
        ],
    ),
]


@pytest.fixture(scope="module")
def model() -> AnswerModel:
    return AnswerModel.load()


def test_the_shipped_model_is_complete_and_has_a_card() -> None:
    folder = shipped("answer")
    for name in ("model.onnx", "tokenizer.json", "config.json", "MODEL_CARD.md"):
        assert (folder / name).is_file(), name
    card = (folder / "MODEL_CARD.md").read_text()
    for must in ("Apache-2.0", "all-MiniLM-L6-v2", "python -m train.answer_model", "threshold"):
        assert must in card
    assert (folder / "model.onnx").stat().st_size < 40_000_000  # int8: tens of MB at most
    config = json.loads((folder / "config.json").read_text())
    assert 0 < config["threshold"] < 1


@pytest.mark.parametrize("question,answer,distractors", SETS, ids=[s[0][:30] for s in SETS])
def test_the_answering_sentence_ranks_above_its_distractors(
    model: AnswerModel, question: str, answer: str, distractors: list[str]
) -> None:
    scores = model.score(question, [(s, "", "") for s in [answer, *distractors]])
    assert scores[0] == max(scores), scores
    assert all(0.0 <= s <= 1.0 for s in scores)


def test_missing_or_corrupt_model_files_raise_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="missing model.onnx"):
        AnswerModel.load(tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(shipped("answer"), broken)
    (broken / "model.onnx").write_bytes(b"not an onnx file")
    with pytest.raises(ModelError, match="corrupt or unreadable model"):
        AnswerModel.load(broken)
    (broken / "config.json").write_text("{oops")
    with pytest.raises(ModelError, match="cannot read"):
        AnswerModel.load(broken)


def test_a_broken_model_falls_back_to_the_classic_scoring_with_a_notice(
    seed_index: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "answer"
    shutil.copytree(shipped("answer"), broken)
    (broken / "model.onnx").write_bytes(b"\0" * 100)
    with Engine.open(make_settings(seed_index, answer_model=broken, answer_scorer="model")) as eng:
        a = eng.ask("What did Kate Bedingfield say about Putin's advisers?")
        classic = Engine(
            make_settings(seed_index, answer_scorer="classic"), eng.store, eng.embedder
        )
        b = classic.ask("What did Kate Bedingfield say about Putin's advisers?")
    assert any("answer model is unusable" in n and "classic scoring" in n for n in a.notices)
    assert a.answer == b.answer and not a.refused


# A small corpus of our own: what it answers and what it does not.
OWN = {
    "harbor.txt": (
        "Harbor Foods names new chief\n\nHarbor Foods named Miriam Okafor as its new chief "
        "executive on Tuesday. Okafor previously ran the company's frozen foods division. "
        "Shares in Harbor Foods rose 3% in early trading after the announcement."
    ),
    "dam.txt": (
        "Lakeview dam cracks\n\nAbout 4,200 people were evacuated from villages below the "
        "Lakeview dam after it cracked on Sunday. Engineers are still studying why the dam "
        "cracked. The dam was built in 1962."
    ),
    "council.txt": (
        "Marbury bans leaf blowers\n\nThe Marbury council voted 7-2 on Monday to ban "
        "gas-powered leaf blowers from next spring. Several residents spoke at the meeting. "
        "The mayor said the town would help landscapers buy electric tools."
    ),
}


@pytest.fixture(scope="module")
def own_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    root = tmp_path_factory.mktemp("own")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in OWN.items():
        (corpus / name).write_text(text)
    settings = make_settings(root / "ix", corpus, answer_scorer="model")
    ingest(settings)
    return Engine.open(settings)


@pytest.mark.parametrize(
    "question,expected",
    [
        ("Who became chief executive of Harbor Foods?", "Miriam Okafor"),
        ("How many people were evacuated below the Lakeview dam?", "4,200"),
        ("What did the Marbury council ban?", "leaf blowers"),
    ],
)
def test_answerable_questions_of_our_own_are_answered(
    own_engine: Engine, question: str, expected: str
) -> None:
    a = own_engine.ask(question)
    assert not a.refused and expected in a.answer
    assert a.citations and expected in a.citations[0].quote  # the answering sentence first


@pytest.mark.parametrize(
    "question",
    [
        "Who won the 2030 chess olympiad in Lima?",
        "What is the population of the city of Tampere?",
        "Which airline ordered forty new planes from Airbus?",
    ],
)
def test_unanswerable_questions_of_our_own_are_declined(own_engine: Engine, question: str) -> None:
    a = own_engine.ask(question)
    assert a.refused and not a.citations and a.direct is None


def test_a_direct_answer_comes_first_and_in_the_json_once_the_gate_opens(
    own_engine: Engine, tmp_path: Path
) -> None:
    q = "Who was named chief executive of Harbor Foods on Tuesday?"
    shipped_gate = json.loads((shipped("answer") / "config.json").read_text())["direct_threshold"]
    a = own_engine.ask(q)
    if shipped_gate > 1:  # the shipped model's gate: no score reached 92% precision
        assert a.direct is None and a.to_json()["direct_answer"] is None
    # a model whose gate is open (same weights, another config) states the name first
    folder = tmp_path / "answer"
    shutil.copytree(shipped("answer"), folder)
    config = json.loads((folder / "config.json").read_text()) | {"direct_threshold": 0.0}
    (folder / "config.json").write_text(json.dumps(config))
    eng = Engine(
        make_settings(own_engine.settings.index_dir, answer_model=folder, answer_scorer="model"),
        own_engine.store,
        own_engine.embedder,
    )
    b = eng.ask(q)
    assert b.direct == "Miriam Okafor"
    assert b.answer.startswith("Miriam Okafor, according to ")
    assert b.to_json()["direct_answer"] == "Miriam Okafor"
    yes_no = eng.ask("Did the Marbury council vote to ban gas-powered leaf blowers?")
    assert yes_no.direct in ("Yes", "No", direct.UNSETTLED) and not yes_no.refused


def test_direct_answer_extraction_is_conservative() -> None:
    assert direct.kind_of("How many people were evacuated?") == "number"
    assert direct.kind_of("Who won the race?") == "person"
    assert direct.kind_of("Which country hosted the summit?") == "place"
    assert direct.kind_of("When did the strike end?") == "date"
    assert direct.kind_of("Why did the strike end?") is None
    s = "About 4,200 people were evacuated after the dam cracked."
    assert direct.extract("How many people were evacuated?", s, "number") == "4,200"
    # two candidate names: no direct answer rather than a guess
    two = "Anna Berg and Tomas Lind were both considered for the job."
    assert direct.extract("Who got the job?", two, "person") is None
    # a name the question already holds is not an answer
    assert direct.extract("Who is Anna Berg?", "Anna Berg said she was pleased.", "person") is None
    assert direct.yes_no("Did the council approve the budget?", "It did not approve it.") == "No"
    assert direct.yes_no("Did the council approve the budget?", "It approved it.") == "Yes"
    assert direct.yes_no("Didn't the council approve it?", "It approved it.") is None


def test_the_shipped_models_load_and_run_from_a_wheel_install(tmp_path: Path) -> None:
    """Both shipped models (answer and embedding) are in the wheel and work from it."""
    wheel = build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    for model in ("answer", "embed"):
        for name in ("model.onnx", "tokenizer.json", "config.json", "MODEL_CARD.md"):
            assert f"newsbot_models/{model}/{name}" in names
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    probe = (
        "import index.models, index.embed, bot.answer.answer_model as m;"
        "print(index.models.models_dir());"
        "s = m.AnswerModel.load().score('Who won?', [('Ann Lee won the race.', '', '')]);"
        "v = index.embed.load_embedder().embed_query('Who won?');"
        "print(len(s) + len(v))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[0].startswith(str(target)) and out[1] == "385"


@pytest.mark.skipif(
    not (SHARED / "realtimeqa-train" / "questions.jsonl").exists(), reason="needs ../shared"
)
def test_the_training_command_runs_end_to_end_on_a_tiny_sample(tmp_path: Path) -> None:
    out, work = tmp_path / "model", tmp_path / "work"

    def train(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "train.answer_model", "--tiny", "--out", str(out)]
            + ["--work", str(work), "--threads", "2", *extra],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )

    first = train()
    assert first.returncode == 0, first.stderr[-2000:]
    assert "pairs/s" in first.stdout
    for name in ("model.onnx", "tokenizer.json", "config.json", "MODEL_CARD.md"):
        assert (out / name).is_file()
    assert AnswerModel.load(out).score("Who won?", [("Ann Lee won the race.", "", "")])
    # it left checkpoints; with the last phase's result gone (a run killed before
    # it finished), a second run reuses phase 1 and resumes phase 2 from them
    assert any(work.glob("checkpoints-2/checkpoint-*"))
    shutil.rmtree(work / "final-2")
    (work / "hyper-2.json").unlink()
    again = train("--resume", "--epochs", "2")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "phase 1: done before" in again.stdout
    assert "resuming from the last checkpoint" in again.stdout
