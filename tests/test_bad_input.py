"""One bad record or file is skipped and named; the rest is indexed, with no traceback."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from bot.cli import main


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
