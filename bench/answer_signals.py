"""Does combining the answer model with newsbot's other signals pick the answering
sentence more often? Measured on the held-out weeks of the training set
(``train/answer_model.py``'s split), never on 2023.

For each held-out question, the engine's 16 candidate sentences (pre-ranked by
question coverage) get: the model's logit, embedding cosine with the question,
question coverage, their rank, whether they hold a span of the kind the question
asks for (``direct.py``), and their length. Each single signal, the engine's
blends, and a listwise logistic regression fitted leave-one-week-out are scored
by top-1 and top-2 (the first one or two sentences hold the gold answer).

    python bench/answer_signals.py
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot import AnswerModel  # noqa: E402
from bot.answer import direct  # noqa: E402
from index import load_embedder  # noqa: E402
from index.text import terms  # noqa: E402
from train import data  # noqa: E402
from train.answer_model import split_weeks  # noqa: E402

K = 16  # the sentences the engine shows the model (bot/answer/extractive.py MAX_MODEL)


def new_spans(question: str, sentence: str, kind: direct.Kind) -> int:
    """How many spans of ``kind`` the sentence holds that the question lacks."""
    q_terms, q_low = set(terms(question)), question.casefold()
    if kind == "number":
        found = [m.group() for m in direct._NUM.finditer(sentence)]
        found = [f for f in found if f.casefold() not in q_low and not direct._DATE.fullmatch(f)]
    elif kind == "date":
        found = [
            m.group() for m in direct._DATE.finditer(sentence) if m.group().casefold() not in q_low
        ]
    else:
        found = [
            x
            for x in direct._cap_spans(sentence)
            if set(terms(x)) and not set(terms(x)) <= q_terms and x.casefold() not in q_low
        ]
        if kind == "person":
            found = [x for x in found if len(x.split()) >= 2]
    return len(set(found))


def collect() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(week, features per candidate, holds-the-answer per candidate) per question."""
    model = AnswerModel.load(ROOT / "models" / "answer", threshold=0.0)
    embedder = load_embedder()
    by_week, questions = data.load()
    weeks = sorted({q["week"] for q in questions} & set(by_week))
    _, held = split_weeks(weeks)
    rows = []
    t0 = time.time()
    for w in held:
        week = data.Week(by_week[w])
        for q in [q for q in questions if q["week"] == w]:
            ranked = week.ranked(q["question"])[:K]
            if not ranked:
                continue
            cands = [c for c, _ in ranked]
            gold = data._norm(str(q["answer"]))
            ok = np.array([gold in data._norm(c[0]) for c in cands], dtype=float)
            probs = model.score(q["question"], cands)
            qv = np.asarray(embedder.embed_query(q["question"]))
            cos = embedder.embed_array([c[0] for c in cands]) @ qv
            kind = direct.kind_of(q["question"])
            feats = []
            for i, (c, cover) in enumerate(ranked):
                m = min(max(probs[i], 1e-4), 1 - 1e-4)
                n = new_spans(q["question"], c[0], kind) if kind else 0
                has = float(n > 0) if kind else 0.5
                feats.append(
                    [
                        math.log(m / (1 - m)),
                        cos[i],
                        cover,
                        i / K,
                        has,
                        min(n, 3) / 3,
                        len(c[0].split()) / 40,
                    ]
                )
            rows.append((w, np.array(feats), ok))
        print(f"  {w}: {len(rows)} questions, {time.time() - t0:.0f} s", file=sys.stderr)
    return rows


def fit(rows: list[tuple[str, np.ndarray, np.ndarray]], l2: float = 1e-2) -> np.ndarray:
    """Listwise logistic regression (softmax over a question's candidates)."""
    w = np.zeros(rows[0][1].shape[1])
    for _ in range(300):
        g = l2 * w
        for _, x, y in rows:
            if y.any():
                s = x @ w
                p = np.exp(s - s.max())
                g += x.T @ (p / p.sum() - y / y.sum()) / len(rows)
        w -= 0.5 * g
    return w


def main() -> None:
    rows = collect()
    print(
        f"{len(rows)} held-out questions; the {K} candidates hold the answer for "
        f"{np.mean([y.any() for _, _, y in rows]):.3f}"
    )
    print("| ranking | top-1 | top-2 |\n|---|---|---|")

    def report(name: str, score: object) -> None:
        top1 = np.mean([y[int(np.argmax(score(x)))] for _, x, y in rows])  # type: ignore[operator]
        top2 = np.mean([y[np.argsort(-score(x))[:2]].any() for _, x, y in rows])  # type: ignore[operator]
        print(f"| {name} | {top1:.3f} | {top2:.3f} |")

    def sig(z: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-z))

    report("the model alone", lambda x: x[:, 0])
    report("embedding cosine alone", lambda x: x[:, 1])
    report("question coverage alone", lambda x: x[:, 2])
    report("classic (0.5 coverage + 0.5 cosine)", lambda x: x[:, 1] + x[:, 2])
    report("model + 0.1 coverage (shipped blend)", lambda x: 0.9 * sig(x[:, 0]) + 0.1 * x[:, 2])
    report(
        "mean of model and classic (`model` scorer)",
        lambda x: 0.25 * x[:, 1] + 0.25 * x[:, 2] + 0.5 * sig(x[:, 0]),
    )
    weeks = sorted({w for w, _, _ in rows})
    for cols, name in [
        ([0, 1, 2], "LR leave-one-week-out: model + cosine + coverage"),
        ([0, 1, 2, 3, 4, 5, 6], "LR: ... + rank + answer-type span + length"),
        ([1, 2, 3, 4, 5, 6], "LR: the same without the model"),
    ]:
        hits1, hits2 = [], []
        for w in weeks:
            wt = fit([(v, x[:, cols], y) for v, x, y in rows if v != w])
            for v, x, y in rows:
                if v == w:
                    s = x[:, cols] @ wt
                    hits1.append(y[int(np.argmax(s))])
                    hits2.append(y[np.argsort(-s)[:2]].any())
        print(f"| {name} | {np.mean(hits1):.3f} | {np.mean(hits2):.3f} |")


if __name__ == "__main__":
    main()
