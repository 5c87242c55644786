"""One bad record or file is skipped and named; the rest is indexed, with no traceback."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from bot.frontends.cli import main


def test_malformed_records_and_files_are_skipped_and_named(tmp_path: Path) -> None:
    c = tmp_path / "c"
    (c / "sub").mkdir(parents=True)
    (c / "a.jsonl").write_text(
        '{"id":"a","text":"The council met. It approved the budget.","authors":5}\n'
        '{"id":"b","text":"The mayor spoke. She praised the new plan.","url":"http://[::1"}\n'
        '{"id":"c","text":"x","n":' + "9" * 6000 + "}\n"
        '{"id":"d","text":"Authors as true. The record is still indexed.","authors":true}\n'
    )
    (c / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (c / "sub" / "manifest.toml").write_text("bad = [\n")
    (c / "sub" / "x.txt").write_text("The sub article text is here. It has two sentences.")
    (c / "good.txt").write_text("The harbour reopened on Monday. Ships were waiting.")
    r = CliRunner().invoke(main, ["--index-dir", str(tmp_path / "ix"), "ingest", str(c)])
    assert r.exit_code == 0, r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    for named in ("a.jsonl:3", "deep.json", "sub/x.txt", "manifest.toml"):
        assert named in r.stderr
    assert "4 article(s) read" in r.stderr  # a, b and d from a.jsonl, and good.txt
    r = CliRunner().invoke(main, ["--index-dir", str(tmp_path / "ix"), "sources", "--json"])
    assert {"a.jsonl#a", "a.jsonl#b", "a.jsonl#d", "good.txt"} <= set(r.stdout.split('"'))


def test_a_hash_in_a_file_name_still_gives_the_cited_text(tmp_path: Path) -> None:
    from index.readers import text_of

    c = tmp_path / "c"
    (c / "x#1").mkdir(parents=True)
    (c / "x#1" / "a#b.txt").write_text("The harbour reopened on Monday. Ships were waiting.")
    (c / "r#s.jsonl").write_text('{"id":"k#1","text":"The mayor spoke. She praised the plan."}\n')
    assert text_of(c, "x#1/a#b.txt").startswith("The harbour")
    assert text_of(c, "r#s.jsonl#k#1").startswith("The mayor")


ROOT = Path(__file__).resolve().parents[1]


def newsbot(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The real command, in its own process (its own embedded Chroma)."""
    return subprocess.run(
        [sys.executable, "-m", "bot.frontends.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )


def small_corpus(tmp_path: Path) -> Path:
    c = tmp_path / "c"
    c.mkdir()
    (c / "harbour.txt").write_text(
        "The harbour of Odesa reopened on Monday. Ships loaded with grain were waiting.\n"
    )
    (c / "bridge.txt").write_text(
        "The Zorblatt Bridge reopened on Tuesday. It can now carry trucks of forty tonnes.\n"
    )
    return c


def a_clear_damage_error(r: subprocess.CompletedProcess[str], ix: Path) -> None:
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and "damaged" in r.stderr
    assert f"newsbot ingest --rebuild --index-dir {ix}" in " ".join(r.stderr.split())


def test_an_emptied_chroma_file_is_found_and_the_rebuild_named(tmp_path: Path) -> None:
    """chroma.sqlite3 truncated to 0 bytes: ingest and ask say the store lost what the
    ledger records, and how to rebuild (they used to say "unchanged" and decline)."""
    c, ix = small_corpus(tmp_path), tmp_path / "ix"
    assert newsbot("--index-dir", str(ix), "ingest", str(c)).returncode == 0
    (ix / "chroma" / "chroma.sqlite3").write_bytes(b"")
    for args in (["ingest", str(c)], ["ask", "What can the Zorblatt Bridge carry?"]):
        r = newsbot("--index-dir", str(ix), *args)
        a_clear_damage_error(r, ix)
        assert "ledger records 2" in r.stderr
    assert newsbot("--index-dir", str(ix), "ingest", "--rebuild", str(c)).returncode == 0
    r = newsbot("--index-dir", str(ix), "ask", "What can the Zorblatt Bridge carry?")
    assert r.returncode == 0 and "bridge.txt" in r.stdout


def test_a_garbage_page_in_the_ledger_is_a_clear_error(tmp_path: Path) -> None:
    c, ix = small_corpus(tmp_path), tmp_path / "ix"
    assert newsbot("--index-dir", str(ix), "ingest", str(c)).returncode == 0
    ledger = ix / "ledger.sqlite"
    data = bytearray(ledger.read_bytes())
    assert len(data) >= 4 * 4096
    data[2 * 4096 : 4 * 4096] = b"Z" * (2 * 4096)  # pages 3 and 4: garbage
    ledger.write_bytes(bytes(data))
    for args in (["ingest", str(c)], ["ask", "What can the Zorblatt Bridge carry?"]):
        a_clear_damage_error(newsbot("--index-dir", str(ix), *args), ix)


def test_a_damaged_chroma_file_gives_plain_words_not_chromadb_internals(tmp_path: Path) -> None:
    c, ix = small_corpus(tmp_path), tmp_path / "ix"
    assert newsbot("--index-dir", str(ix), "ingest", str(c)).returncode == 0
    (ix / "chroma" / "chroma.sqlite3").write_bytes(b"not a database at all" * 500)
    for args in (["ingest", str(c)], ["ask", "What can the Zorblatt Bridge carry?"]):
        r = newsbot("--index-dir", str(ix), *args)
        a_clear_damage_error(r, ix)
        assert "code:" not in r.stderr and "error returned from database" not in r.stderr


def test_one_file_of_many_bad_records_does_not_hide_the_other_bad_files(tmp_path: Path) -> None:
    """The report gives a file of 300 bad records one line, so the other bad files
    are still named."""
    c = tmp_path / "c"
    c.mkdir()
    bad = ['{"id": "%d", "text": ""}' % i for i in range(300)]  # noqa: UP031
    (c / "x.jsonl").write_text("\n".join(['{"id": "ok", "text": "The port reopened."}', *bad]))
    (c / "y.txt").write_bytes(b"\x00\x01binary")
    (c / "z.jsonl").write_text('{"id": "1", "text": "The mayor spoke on Monday."}\n[1, 2]\n')
    r = newsbot("--index-dir", str(tmp_path / "ix"), "ingest", str(c))
    assert r.returncode == 0 and "Traceback" not in r.stderr
    out = " ".join(r.stderr.split())
    assert "300 records skipped (first: x.jsonl:2: record has no text)" in out
    assert "y.txt" in out and "z.jsonl:2" in out and "more skipped" not in out


def test_links_fifos_and_outside_files_are_named_and_never_read(tmp_path: Path) -> None:
    c = small_corpus(tmp_path)
    secret = tmp_path / "outside.txt"
    secret.write_text("The secret plan of the ministry was leaked on Friday.\n")
    (c / "loop.txt").symlink_to(c / "loop.txt")
    (c / "gone.txt").symlink_to(c / "nowhere.txt")
    (c / "secret.txt").symlink_to(secret)
    (c / "inside.txt").symlink_to(c / "harbour.txt")  # inside the folder: indexed
    os.mkfifo(c / "pipe.jsonl")  # reading it would block for ever
    ix = tmp_path / "ix"
    r = newsbot("--index-dir", str(ix), "ingest", str(c))
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    out = " ".join(r.stderr.split())
    for name, why in (
        ("loop.txt", "loop"),
        ("gone.txt", "dangling"),
        ("secret.txt", "outside the folder"),
        ("pipe.jsonl", "FIFO"),
    ):
        assert name in out and why in out
    assert "3 article(s) read" in out
    r = newsbot("--index-dir", str(ix), "sources", "--json")
    assert '"inside.txt"' in r.stdout and "secret" not in r.stdout


def test_huge_record_files_and_gzip_bombs_are_skipped_unread(tmp_path: Path) -> None:
    """The limit for a file of records is 200 times NEWSBOT_MAX_ARTICLE_MB (1 GB by
    default); here 0.01 MB, so 2 MB."""
    c = small_corpus(tmp_path)
    line = '{"id": "%d", "text": "The council met on Monday and approved the budget."}\n'
    (c / "big.jsonl").write_text("".join(line % i for i in range(50_000)))  # 3.6 MB
    (c / "bomb.jsonl.gz").write_bytes(gzip.compress(b" " * 50_000_000, 1))  # 50 MB inside
    (c / "fine.jsonl.gz").write_bytes(gzip.compress((line % 1).encode()))
    r = newsbot(
        "--index-dir", str(tmp_path / "ix"), "ingest", str(c), NEWSBOT_MAX_ARTICLE_MB="0.01"
    )
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    out = " ".join(r.stderr.split())
    assert "big.jsonl" in out and "over the 2 MB limit for a file of records" in out
    assert "bomb.jsonl.gz" in out and "over 2 MB once decompressed" in out
    assert "3 article(s) read" in out  # harbour.txt, bridge.txt and fine.jsonl.gz#1
