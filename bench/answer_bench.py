"""What the answer model costs per answer, side by side with the classic scoring.

On finished RealTime QA week indexes (``bench/realtimeqa.py --keep DIR`` builds
them), each week's questions are asked with the classic scoring and with the
model, alternately, in one process; the retrieval and answer stages are timed
apart (the engine's own ``timings``). Also timed: loading the model.

    python bench/answer_bench.py --keep /work/rtqa23 --weeks 20230120,20230224
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date
from pathlib import Path

from common import SHARED, pct


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep", type=Path, required=True, help="DIR/<week>/ix from realtimeqa.py")
    ap.add_argument("--weeks", required=True)
    args = ap.parse_args()

    from bot import AnswerModel, AskOptions, Engine
    from index.settings import Settings

    t0 = time.perf_counter()
    AnswerModel.load()
    load_s = time.perf_counter() - t0
    qs = [json.loads(x) for x in (SHARED / "questions.jsonl").read_text().splitlines() if x]
    times: dict[str, dict[str, list[float]]] = {
        s: {"retrieval": [], "answer": []} for s in ("classic", "model", "model-only")
    }
    for w in args.weeks.split(","):
        ix = args.keep / w / "ix"
        base = Settings(_env_file=None, index_dir=ix)  # type: ignore[call-arg]
        with Engine.open(base) as eng:
            engines = {  # one store and embedder, three scorers
                name: Engine(
                    base.model_copy(update={"answer_scorer": name}), eng.store, eng.embedder
                )
                for name in times
            }
            for q in (q for q in qs if q["week"] == w):
                for name, e in engines.items():
                    a = e.ask(
                        q["question"],
                        AskOptions(mode="extractive", as_of=date.fromisoformat(q["date"])),
                    )
                    for stage in ("retrieval", "answer"):
                        times[name][stage].append(1000 * a.timings[stage])
    print(f"model load (once per process): {1000 * load_s:.0f} ms")
    print("| scoring | questions | retrieval p50 | answer p50 | answer p95 | total p95 |")
    print("|---|---|---|---|---|---|")
    for name, t in times.items():
        total = [a + b for a, b in zip(t["retrieval"], t["answer"], strict=True)]
        print(
            f"| {name} | {len(total)} | {statistics.median(t['retrieval']):.0f} ms | "
            f"{statistics.median(t['answer']):.0f} ms | {pct(t['answer'], 95):.0f} ms | "
            f"{pct(total, 95):.0f} ms |"
        )
    print(f"\ncommand: python bench/answer_bench.py --keep {args.keep} --weeks {args.weeks}")


if __name__ == "__main__":
    main()
