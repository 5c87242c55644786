"""BM25 search reads bm25s's saved scores with numpy (no bm25s or scipy import when
answering): it must rank exactly as bm25s does, on a real saved index."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import bm25s
import numpy as np

from index import bm25
from index.text import terms

QUESTIONS = [
    "Who was Russia's chief negotiator at the Istanbul talks?",
    "What did officials say about Russian advances near Pokrovsk?",
    "Which city did the Pentagon decline to name?",
    "grain ships harbour Odesa reopened",
    "talks talks talks Istanbul",  # a repeated word counts each time, as in bm25s
]


def test_search_ranks_exactly_as_bm25s(seed_index: Path) -> None:
    folder = seed_index / "bm25"
    mine = bm25.load(folder)
    assert mine is not None and mine.retriever is None  # loaded without bm25s
    ref = bm25s.BM25.load(str(folder), show_progress=False, verbosity=0)
    rng = np.random.default_rng(7)
    found = 0
    for q in QUESTIONS:
        for mask in (None, (rng.random(len(mine.ids)) < 0.4).astype(np.float32)):
            tokens = [t for t in terms(q) if t in ref.vocab_dict]
            k = min(20, len(mine.ids))
            res = ref.retrieve([tokens], k=k, show_progress=False, weight_mask=mask, n_threads=1)
            want = [
                (mine.ids[int(d)], float(s))
                for d, s in zip(res.documents[0], res.scores[0], strict=True)
                if s > 0
            ]
            got = mine.search(q, 20, mask)
            assert got == want
            found += bool(got)
            assert all(
                mine.doc_freq(t) == ref.scores["indptr"][i + 1] - ref.scores["indptr"][i]
                for t, i in ref.vocab_dict.items()
                if t in tokens
            )
    assert found >= len(QUESTIONS)  # most searches found something to compare


def test_loading_the_saved_index_imports_neither_bm25s_nor_scipy(seed_index: Path) -> None:
    code = (
        "import sys; from index import bm25; "
        f"i = bm25.load(__import__('pathlib').Path({str(seed_index / 'bm25')!r})); "
        "assert i.search('Istanbul talks', 5); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('bm25s', 'scipy')))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
