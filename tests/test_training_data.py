"""The answer model's training pairs of our own making (train/synthetic.py): cloze
questions whose positive comes from another article. The articles are made up."""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # train/ is not installed

from train import synthetic  # noqa: E402
from train.data import Week  # noqa: E402

ARTICLES = [
    {
        "id": "a1",
        "title": "Tampere to host robotics final",
        "text": "Tampere will stage the Nordic robotics final, the organisers announced on "
        "Monday after a ballot of national bodies. The final drew "
        "about 4,200 visitors last year. Tickets go on sale in March.",
    },
    {
        "id": "a2",
        "title": "Finnish city wins the robotics final",
        "text": "The member federations voted to hold next spring's Nordic robotics final in "
        "Tampere, organisers confirmed. Other cities had bid for the event as well. The "
        "federations did not say how the vote went.",
    },
    {
        "id": "a3",
        "title": "Robotics clubs grow",
        "text": "Robotics clubs across the region say membership has doubled since the "
        "pandemic. Coaches want more money for equipment and for travel to the final. "
        "The member federations will meet again next spring to vote on the budget.",
    },
    {
        "id": "a4",
        "title": "Federations argue over the robotics budget",
        "text": "The member federations confirmed that next spring's robotics final will cost "
        "more than last year's. Organisers said the vote on the budget was close. "
        "Some federations want the final held every second year.",
    },
]


def test_a_name_is_blanked_out_with_a_question_word() -> None:
    got = dict(
        (name, q) for q, name in synthetic._blanks("Officials said Miriam Okafor won 4,200 votes.")
    )
    assert got["Miriam Okafor"] == "Officials said what won 4,200 votes."
    assert got["4,200"] == "Officials said Miriam Okafor won how many votes."
    # the sentence's first word is capitalised anyway: never a name
    assert "Officials" not in got


def test_a_name_matches_as_written_and_as_whole_words() -> None:
    assert synthetic._holds("It went to the State Senate.", "State Senate")
    assert not synthetic._holds("the state senate voted", "State Senate")
    assert not synthetic._holds("Tamperesque lights", "Tampere")


def test_the_positive_comes_from_another_article_and_holds_the_blanked_name() -> None:
    week = Week(ARTICLES)
    pairs = [c for seed in range(8) for c in synthetic.cloze_week(week, random.Random(seed), 50)]
    positives = [c for c in pairs if c.label == 1]
    assert positives, "the made-up week gives at least one cloze question"
    for pos in positives:
        name_gone = "what" in pos.question or "how many" in pos.question
        assert name_gone
        # not the sentence the question was made from
        assert pos.sentence.rstrip(".") not in pos.question.replace("what", "")
    negatives = [c for c in pairs if c.label == 0]
    assert negatives
    by_q = {c.question for c in positives}
    tampere = [c for c in positives if "Tampere" in c.sentence]
    assert tampere, "blanking Tampere out of one article finds it in the other"
    assert any("Tampere" not in c.question for c in tampere)
    for c in negatives:
        assert c.question in by_q
