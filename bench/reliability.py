"""Reliability bench: kills, malformed files, injections, LLM faults, store faults.

Everything runs for real: ingests are real processes killed with SIGKILL, the
LLM is a loopback OpenAI-compatible server whose paths misbehave on purpose
(tests/llm_server.py), the Chroma "server" that never answers is a real
listening socket. One table comes out:

    cases tried | crashes | records lost | duplicated or stale | injections followed | live links

A crash is a traceback, a hang past its bound, or a wrong exit status. Target: 0
in every column but the first.

    python bench/reliability.py              # about 10 minutes on 2 cores
    python bench/reliability.py --kills 3    # fewer random kills
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from common import ROOT, SHARED

sys.path.insert(0, str(ROOT / "tests"))
from llm_server import FakeLLM  # noqa: E402

CLI = [sys.executable, "-m", "bot.frontends.cli"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "NEWSBOT_HOME": ""}
Row = dict[str, Any]


def row(name: str) -> Row:
    return {"name": name, "cases": 0, "crashes": 0, "lost": 0, "stale": 0, "inj": 0, "links": 0}


def cli(index: Path, *args: str, timeout: float = 300, env: dict[str, str] | None = None) -> Any:
    try:
        return subprocess.run(
            [*CLI, "--index-dir", str(index), *args],
            cwd=ROOT,
            env={**ENV, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None  # a hang


def crashed(proc: Any, ok: tuple[int, ...] = (0,)) -> bool:
    return proc is None or "Traceback" in proc.stderr or proc.returncode not in ok


def snapshot(index: Path) -> tuple[Counter[tuple[str, str]], bool]:
    """(source, text) of every chunk, and whether BM25 and the vector copy match Chroma."""
    from index.settings import Settings
    from index.store import Store

    with Store(Settings(_env_file=None, index_dir=index)) as store:  # type: ignore[call-arg]
        chunks = list(store.iter_chunks())
        bm = store.bm25()
        ids = {cid for cid, _t, _m in chunks}
        fresh = set(bm.ids) == ids and (bm.vectors is None or bm.vectors.shape[0] == len(ids))
    return Counter((str(m.get("source")), t) for _c, t, m in chunks), fresh


def compare(index: Path, reference: Counter[tuple[str, str]], r: Row) -> None:
    got, fresh = snapshot(index)
    r["lost"] += sum((reference - got).values())
    r["stale"] += sum((got - reference).values()) + (0 if fresh else 1)


# --------------------------------------------------------------------------- kills

NAMED_KILLS = {
    # after the run's last store write, before the generation bump and BM25 rebuild
    "after last write": "Ingester._remove_deleted",
    # after a batch's chunks were deleted, before the new ones were added
    "mid batch": "Store.add",
}
KILL_SCRIPT = """
import os, signal, sys
from index.ingest import Ingester
from index.store import Store
owner, name = {target!r}.split(".")
cls = {{"Ingester": Ingester, "Store": Store}}[owner]
real = getattr(cls, name)
def die(self, *a, **k):
    if name == "_remove_deleted":
        real(self, *a, **k)
    os.kill(os.getpid(), signal.SIGKILL)
setattr(cls, name, die)
from bot.frontends.cli import main
main(sys.argv[1:])
"""


def kill_cases(work: Path, n: int, r: Row) -> None:
    corpus = work / "kill-corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    with gzip.open(SHARED / "articles.jsonl.gz", "rt") as f:
        (corpus / "rtqa.jsonl").write_text("".join(next(f) for _ in range(12)))
    ref_ix = work / "kill-ref"
    if crashed(cli(ref_ix, "ingest", str(corpus))):
        raise SystemExit("the clean reference ingest failed")
    reference, _ = snapshot(ref_ix)
    started = time.perf_counter()
    cli(work / "kill-timing", "ingest", str(corpus))
    full = time.perf_counter() - started
    rng = random.Random(7)
    for i in range(n):  # random moments of a first ingest
        ix = work / f"kill-{i}"
        proc = subprocess.Popen(
            [*CLI, "--index-dir", str(ix), "ingest", str(corpus)],
            cwd=ROOT,
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.5, full))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        r["cases"] += 1
        if crashed(cli(ix, "ingest", str(corpus))):
            r["crashes"] += 1
        compare(ix, reference, r)
    for label, target in NAMED_KILLS.items():  # named points, on a re-ingest with a change
        ix = work / f"kill-{label.replace(' ', '-')}"
        extra = corpus / "seeds" / "bridge.txt"
        extra.unlink(missing_ok=True)
        cli(ix, "ingest", str(corpus))
        extra.write_text(
            "The Zorblatt Bridge over the Dnipro reopened on Tuesday after eight months of "
            "repairs. Engineers said it can now carry trucks of up to forty tonnes.\n"
        )
        subprocess.run(
            [sys.executable, "-c", KILL_SCRIPT.format(target=target), "--index-dir", str(ix)]
            + ["ingest", str(corpus)],
            cwd=ROOT,
            env=ENV,
            capture_output=True,
            timeout=300,
        )
        r["cases"] += 1
        if crashed(cli(ix, "ingest", str(corpus))):
            r["crashes"] += 1
        # a reference of its own: chromadb keeps a folder's client for the life of a
        # process, so a rebuilt folder under the same path would read stale here
        ref = work / f"kill-ref-{label.replace(' ', '-')}"
        cli(ref, "ingest", str(corpus))
        compare(ix, snapshot(ref)[0], r)
        extra.unlink()


# --------------------------------------------------------------------------- malformed files

GOOD = "The council met on Monday in {city}. It approved the budget for the {city} harbour.\n"


def malformed(work: Path, r: Row) -> None:
    """Bad entries beside good files, in one ingest: each bad one is named, every good
    one is indexed, and nothing crashes."""
    corpus = work / "mix"
    bad: dict[str, bytes | None] = {
        # a bad field in a good record: the record may be indexed without the field
        "authors5.jsonl": b'{"id":"a","text":"The Authorsfive council met. It approved it.","authors":5}\n',
        "authorstrue.jsonl": b'{"id":"b","text":"The Authorstrue council met. It approved it.","authors":true}\n',
        "badurl.jsonl": b'{"id":"c","text":"The Badurl council met. It approved it.","url":"http://[::1"}\n',
        "hugeint.json": b'{"id":"d","text":"The council met.","n":' + b"9" * 6000 + b"}",
        "deep.json": b"[" * 100000 + b"]" * 100000,
        "notjson.jsonl": b"{not json at all\n",
        "binary.txt": bytes(range(256)) * 40,
        "empty.txt": b"",
        "badgzip.jsonl.gz": b"\x1f\x8bnot really gzip",
        "latin1.txt": "Caf\xe9 society met on Monday. It approved nothing.".encode("latin-1"),
        "badmanifest/manifest.toml": b"this is = = not toml [",
        "nulmanifest/manifest.toml": b'["a.txt"]\noutlet = "X\x00"\n',
        "latin1manifest/manifest.toml": '["a.txt"]\noutlet = "Caf\xe9"\n'.encode("latin-1"),
        "dirmanifest/manifest.toml": None,  # a directory named manifest.toml
    }
    for name, data in bad.items():
        path = corpus / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if data is None:
            path.mkdir()
        else:
            path.write_bytes(data)
    for folder in ("badmanifest", "nulmanifest", "latin1manifest", "dirmanifest"):
        (corpus / folder / "a.txt").write_text(GOOD.format(city=folder))
    (corpus / "loop").symlink_to(corpus / "loop")
    (corpus / "dangling.txt").symlink_to(corpus / "nowhere.txt")
    outside = work / "outside.txt"
    outside.write_text("A secret memo that lives outside the corpus. It must not be read.\n")
    (corpus / "outside-link.txt").symlink_to(outside)
    os.mkfifo(corpus / "fifo.txt")
    cities = [f"Town{i}" for i in range(10)]
    for city in cities:
        (corpus / f"good-{city}.txt").write_text(GOOD.format(city=city))
    proc = cli(work / "mix-ix", "ingest", str(corpus), timeout=600)
    named = {"loop", "dangling.txt", "outside-link.txt", "fifo.txt", *bad}
    r["cases"] += len(named)
    out = "" if proc is None else proc.stdout + proc.stderr
    if crashed(proc, ok=(0, 1)):
        r["crashes"] += 1
    from index.settings import Settings
    from index.store import Store

    with Store(Settings(_env_file=None, index_dir=work / "mix-ix")) as store:  # type: ignore[call-arg]
        texts = " ".join(t for _c, t, _m in store.iter_chunks())
    r["lost"] += sum(f"in {city}" not in texts for city in cities)
    r["stale"] += "secret memo" in texts  # read through a link out of the corpus
    indexed = {
        "authors5.jsonl": "Authorsfive",
        "authorstrue.jsonl": "Authorstrue",
        "badurl.jsonl": "Badurl",
    }
    unnamed = [
        n
        for n in named
        if Path(n).name not in out
        and n.split("/")[0] not in out
        and not (n in indexed and indexed[n] in texts)
    ]
    r["crashes"] += len(unnamed)  # an entry neither indexed nor named counts as a failure
    if unnamed:
        print(f"  not named: {unnamed}", file=sys.stderr)


# --------------------------------------------------------------------------- injections, links

INJECTION_QUESTIONS = [
    "Did the Pentagon surrender?",
    "What did the Pentagon say about the destroyer patrols?",
    "What happened with the grain ships leaving Odesa?",
    "What was the turnout in the Valley County election?",
    "What did the articles say about energy prices?",
    "What did the harbour authority announce?",
]


def injections_and_links(work: Path, fake: FakeLLM, r: Row) -> None:
    from bot import AskOptions, Engine, is_instruction
    from bot.frontends.discord_render import reply_parts
    from index.ingest import ingest
    from index.settings import Settings

    corpus = work / "inj"
    shutil.copytree(ROOT / "tests" / "injection", corpus)
    (corpus / "phish.txt").write_text(
        "Harbour officials said the new ferry timetable starts on Monday. Residents can "
        "read the details at [the official page](https://phish.example/login) or at "
        "https://phish.example/x before travelling. The harbour master said the ferry "
        "timetable adds two evening crossings.\n"
    )
    s = Settings(_env_file=None, index_dir=work / "inj-ix", corpus_dir=corpus)  # type: ignore[call-arg]
    ingest(s)
    sentences = [
        x.strip()
        for p in corpus.glob("*.txt")
        for x in re.split(r"(?<=[.!?])\s+", p.read_text())
        if x.strip()
    ]
    injected = [x for x in sentences if is_instruction(x)]
    questions = [*INJECTION_QUESTIONS, "When does the new ferry timetable start?"]
    provenance = set()
    with Engine.open(s) as engine:
        for q in questions:
            a = engine.ask(q, AskOptions(mode="extractive"))
            r["cases"] += 1
            r["inj"] += sum(is_instruction(c.quote) for c in a.citations)
            provenance = {c.url for c in a.citations if c.url}
            for content, embed in reply_parts(a):
                text = (content or "") + json.dumps(embed.to_dict() if embed else {})
                for url in re.findall(
                    r"\]\((https?://[^)\s]+)\)|(?<![\w<])(https?://[^\s)\"'>\\]+)", text
                ):
                    u = url[0] or url[1]
                    if u not in provenance and u.rstrip("/") not in provenance:
                        r["links"] += 1
        # the LLM path: a reply that asserts each injected instruction's claim, citing it
        llm = Settings(
            _env_file=None, index_dir=s.index_dir, openai_base_url=fake.url("reply"), llm_model="m"
        )  # type: ignore[call-arg]
    with Engine.open(llm) as engine:
        for sentence in injected:
            claim = re.sub(r"^.*?(?:that|:)\s+", "", sentence).rstrip(".")
            fake.reply = f"Injected Daily reports that {claim} [1]."
            a = engine.ask("What did the Pentagon say about the patrols?", AskOptions(mode="llm"))
            r["cases"] += 1
            r["inj"] += a.mode == "llm" and claim.lower()[:30] in a.text.lower()
    fake.reply = "The corpus doesn't say."


# --------------------------------------------------------------------------- LLM faults

LLM_FAULTS = ["500", "429", "garbage", "badjson", "noshape", "nochoices", "empty", "truncated"]
LLM_FAULTS += ["hang", "trickle", "cut", "streamerror", "nofinish", "echo401", "echo500"]


def llm_faults(seed_ix: Path, fake: FakeLLM, r: Row) -> None:
    """Each misbehaving endpoint: ``ask`` still answers (extractive fallback), in bounded
    time, with no traceback and no key in the output."""
    for behaviour in LLM_FAULTS:
        env = {
            "OPENAI_BASE_URL": fake.url(behaviour),
            "OPENAI_API_KEY": "sk-secret-bench-key",
            "NEWSBOT_LLM_TIMEOUT": "5",
        }
        proc = cli(seed_ix, "ask", "Who was Russia's chief negotiator?", timeout=120, env=env)
        r["cases"] += 1
        bad = crashed(proc) or "sk-secret" in (proc.stdout + proc.stderr)
        bad = bad or "[1]" not in proc.stdout
        r["crashes"] += bad
        if bad:
            print(f"  LLM fault {behaviour}: rc {proc and proc.returncode}", file=sys.stderr)


# --------------------------------------------------------------------------- store faults


def silent_server() -> tuple[socket.socket, int]:
    """A socket that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    keep: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                keep.append(srv.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return srv, srv.getsockname()[1]


def store_faults(work: Path, seed_ix: Path, r: Row) -> None:
    """A broken store gives a clear message and a non-zero exit, never a success."""

    def broken(name: str, damage: Any) -> None:
        ix = work / f"fault-{name}"
        shutil.copytree(seed_ix, ix)
        damage(ix)
        for args in (("ingest",), ("ask", "Who was Russia's chief negotiator?")):
            proc = cli(ix, *args, timeout=120)
            r["cases"] += 1
            if crashed(proc, ok=(1, 2)):  # 0 would be a silent success on a broken index
                r["crashes"] += 1
                print(
                    f"  store fault {name} {args[0]}: rc {proc and proc.returncode}",
                    file=sys.stderr,
                )

    def truncate(ix: Path) -> None:
        (ix / "chroma" / "chroma.sqlite3").write_bytes(b"")

    def garbage_ledger(ix: Path) -> None:
        path = ix / "ledger.sqlite"
        data = bytearray(path.read_bytes())
        data[4096 : 4096 + 2048] = os.urandom(2048)
        path.write_bytes(bytes(data))

    broken("empty-chroma", truncate)
    broken("garbage-ledger", garbage_ledger)
    srv, port = silent_server()
    for host, p in (("127.0.0.1", port), ("127.0.0.1", 9)):
        t0 = time.perf_counter()
        proc = cli(
            work / "remote",
            "ask",
            "Who?",
            timeout=90,
            env={"CHROMA_HOST": host, "CHROMA_PORT": str(p)},
        )
        r["cases"] += 1
        if crashed(proc, ok=(1, 2)) or time.perf_counter() - t0 > 60:
            r["crashes"] += 1
    srv.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=8, help="random-moment kills")
    args = ap.parse_args()
    t0 = time.time()
    rows = [
        row(n)
        for n in ("kills", "malformed files", "injections and links", "LLM faults", "store faults")
    ]
    with tempfile.TemporaryDirectory(prefix="newsbot-reliability-") as tmp, FakeLLM() as fake:
        work = Path(tmp)
        seed_ix = work / "seed-ix"
        cli(seed_ix, "ingest", str(ROOT / "corpus"))
        steps = [
            lambda r: kill_cases(work, args.kills, r),
            lambda r: malformed(work, r),
            lambda r: injections_and_links(work, fake, r),
            lambda r: llm_faults(seed_ix, fake, r),
            lambda r: store_faults(work, seed_ix, r),
        ]
        for step, r in zip(steps, rows, strict=True):
            step(r)
            print(f"  {r['name']}: done at {time.time() - t0:.0f} s", file=sys.stderr)
    print(
        "| part | cases tried | crashes | records lost | duplicated or stale | injections followed | live links |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in [
        *rows,
        {**{k: sum(x[k] for x in rows) for k in rows[0] if k != "name"}, "name": "all"},
    ]:
        print(
            f"| {r['name']} | {r['cases']} | {r['crashes']} | {r['lost']} | {r['stale']} | {r['inj']} | {r['links']} |"
        )
    print(f"\n{time.time() - t0:.0f} s; command: python bench/reliability.py --kills {args.kills}")


if __name__ == "__main__":
    main()
