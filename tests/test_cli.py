"""The command line as a newcomer meets it: clean errors for bad folders and
settings, --index-dir on either side of the subcommand, stdin, JSON output,
notices on stderr, the config listing, and exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, make_settings

from bot.frontends.cli import main
from index.ingest import ingest
from index.store import Store


@pytest.fixture(scope="module")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed corpus in an index of this module's own: the suite's shared seed
    index is held open (and locked) by the session's engine."""
    ix = tmp_path_factory.mktemp("cli-seed-index")
    ingest(make_settings(ix))
    return ix


NO_LLM_ENV = {"OPENAI_API_KEY": None, "OPENAI_BASE_URL": None, "NEWSBOT_OPENAI_API_KEY": None}


def run(*args: str, env: dict[str, str | None] | None = None, stdin: str | None = None):  # type: ignore[no-untyped-def]
    r = CliRunner().invoke(main, list(args), env=env, input=stdin)
    return r.exit_code, r.stdout, r.stderr


def test_a_file_or_unmakeable_folder_as_index_dir_is_a_clean_error(tmp_path: Path) -> None:
    f = tmp_path / "afile"
    f.write_text("x")
    code, out, err = run("--index-dir", str(f), "ask", "Who is Kirby?")
    assert code == 1 and "Cannot use" in err and "Not a directory" in err
    assert "Traceback" not in out + err
    code, _, err = run("--index-dir", str(f / "sub"), "ingest", str(CORPUS))
    assert code == 1 and "Cannot use" in err


def test_an_explicit_missing_index_dir_is_not_built_silently(tmp_path: Path) -> None:
    ix = tmp_path / "nothing-here"
    code, _, err = run("--index-dir", str(ix), "ask", "Who is Kirby?")
    assert code == 1 and "No index at" in err and f"--index-dir {ix} ingest" in err
    assert not ix.exists()


def test_index_dir_is_accepted_after_the_subcommand(seed_index: Path) -> None:
    code, out, _ = run("ask", "--index-dir", str(seed_index), "Who is Pat Ryder?")
    assert code == 0 and "[1]" in out
    code, out, _ = run("sources", "--index-dir", str(seed_index))
    assert code == 0 and "Newsweek" in out


def test_the_rebuild_hint_is_a_command_that_works(tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    ingest(make_settings(ix))
    (ix / "newsbot-index.json").write_text("{broken")
    r = _newsbot("--index-dir", str(ix), "ask", "Who is Pat Ryder?", cwd=CORPUS.parent)
    hint = r.stderr.split("Rebuild it with: ", 1)[1].split()
    assert r.returncode == 1 and hint[:3] == ["newsbot", "ingest", "--rebuild"]
    r = _newsbot(*hint[1:], cwd=CORPUS.parent)  # separate processes, as a user runs them
    assert r.returncode == 0, r.stderr
    assert _newsbot("--index-dir", str(ix), "ask", "Who is Pat Ryder?").returncode == 0


def test_mode_llm_without_an_llm_says_how_to_set_one(seed_index: Path) -> None:
    code, out, err = run(
        "--index-dir", str(seed_index), "ask", "--mode", "llm", "Who is Kirby?", env=NO_LLM_ENV
    )
    assert code == 1 and "No LLM is configured" in err and "OPENAI_BASE_URL" in err
    assert "Traceback" not in out + err


def test_a_bad_setting_names_its_variable_and_value(seed_index: Path) -> None:
    code, _, err = run("--index-dir", str(seed_index), "ask", "Hi?", env={"NEWSBOT_TOP_K": "abc"})
    assert code == 2 and "NEWSBOT_TOP_K must be a whole number, not 'abc'" in err
    assert "pydantic" not in err and "validation error" not in err


def test_a_refusal_blames_filters_only_when_some_were_set(seed_index: Path) -> None:
    q = "What did the mayor of Lisbon say about tram fares?"
    _, out, _ = run("--index-dir", str(seed_index), "ask", q, "--as-of", "2024-06-12")
    assert "doesn't say" in out and "filters" not in out
    _, out, _ = run("--index-dir", str(seed_index), "ask", q, "--outlet", "RT")
    assert "matching your filters" in out


def test_a_question_without_words_is_refused(seed_index: Path) -> None:
    code, _, err = run("--index-dir", str(seed_index), "ask", "???")
    assert code == 2 and "no words" in err


def test_version_stdin_and_json_sources(seed_index: Path) -> None:
    code, out, _ = run("--version")
    assert code == 0 and out.startswith("newsbot, version ")
    code, out, _ = run("--index-dir", str(seed_index), "ask", "-", stdin="Who is Pat Ryder?\n")
    assert code == 0 and "Ryder" in out
    code, out, _ = run("--index-dir", str(seed_index), "ask", stdin="Who is Pat Ryder?")
    assert code == 0 and "Ryder" in out
    code, out, _ = run("--index-dir", str(seed_index), "sources", "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 5 and {"outlet", "source", "chunks"} <= set(rows[0])


def test_notices_go_to_stderr_and_the_answer_to_stdout(seed_index: Path) -> None:
    code, out, err = run(
        "--index-dir",
        str(seed_index),
        "ask",
        "What did Pat Ryder say this week?",
        "--as-of",
        "2030-01-10",
    )
    assert code == 0
    assert "note:" in err and "note:" not in out


def test_config_lists_every_setting_and_where_it_came_from(tmp_path: Path) -> None:
    code, out, _ = run("--index-dir", str(tmp_path), "config", "--json", env={"NEWSBOT_TOP_K": "7"})
    data = json.loads(out)
    assert code == 0 and data["top_k"] == {"value": "7", "from": "environment"}
    assert data["index_dir"]["from"] == "--index-dir" and data["candidates"]["from"] == "default"
    assert data["discord_token"]["value"] in ("", "(set)")


def test_the_first_ask_builds_the_default_index_itself(
    tmp_path: Path, corpus_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"NEWSBOT_CORPUS_DIR": str(corpus_copy), "NEWSBOT_HOME": str(tmp_path / "home")}
    code, out, err = run("ask", "--json", "Who did Biden meet in Paris?", env=env)
    assert code == 0, err
    assert "No index yet: indexing" in err and json.loads(out)["citations"]
    assert (tmp_path / "home" / "index" / "newsbot-index.json").exists()


def test_ingest_counts_skipped_files_apart_and_reads_utf16(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    text = "Harbor Foods named Miriam Okafor as its chief executive. Shares rose 3% on Tuesday."
    (corpus / "wide.txt").write_bytes(text.encode("utf-16"))
    (corpus / "empty.txt").write_text("")
    code, _, err = run("--index-dir", str(tmp_path / "ix"), "ingest", str(corpus))
    assert code == 0 and "Indexed 1 file(s)" in err and "1 skipped" in err
    code, out, _ = run(
        "--index-dir",
        str(tmp_path / "ix"),
        "ask",
        "--json",
        "Who is chief executive of Harbor Foods?",
    )
    (c, *_) = json.loads(out)["citations"]
    assert "Okafor" in c["quote"]
    assert (corpus / "wide.txt").read_bytes().decode("utf-16")[c["start"] : c["end"]] == c["quote"]


def test_a_regression_against_the_baseline_sets_the_exit_code(
    seed_index: Path, tmp_path: Path
) -> None:
    qa = tmp_path / "qa.jsonl"
    qa.write_text(
        json.dumps(
            {
                "id": "q1",
                "question": "Who is Pat Ryder?",
                "answer": "x",
                "must_contain": ["zzz-not-there"],
                "kind": "fact",
            }
        )
        + "\n"
    )
    base = tmp_path / "base.json"
    base.write_text(json.dumps({"questions": [{"id": "q1", "passed": True}], "summary": {}}))
    code, _, err = run("--index-dir", str(seed_index), "eval", str(qa), "--baseline", str(base))
    assert code == 1 and "regression" in err
    base.write_text(json.dumps({"questions": [{"id": "q1", "passed": False}], "summary": {}}))
    code, _, _ = run("--index-dir", str(seed_index), "eval", str(qa), "--baseline", str(base))
    assert code == 0


def _newsbot(
    *args: str, stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("newsbot", path=str(Path(sys.executable).parent)) or "newsbot"
    env = {k: v for k, v in os.environ.items() if k not in NO_LLM_ENV}
    return subprocess.run(
        [exe, *args], input=stdin, capture_output=True, text=True, timeout=300, cwd=cwd, env=env
    )


def test_piped_questions_to_the_repl_print_only_the_answers(seed_index: Path) -> None:
    r = _newsbot(
        "--index-dir", str(seed_index), "repl", "--mode", "extractive", stdin="Who is Pat Ryder?\n"
    )
    assert r.returncode == 0, r.stderr
    assert "Ryder" in r.stdout and "[1]" in r.stdout
    assert "not a terminal" not in r.stdout + r.stderr and "newsbot>" not in r.stdout


def test_a_reader_is_told_at_once_when_another_process_holds_the_index(
    seed_index: Path,
) -> None:
    with Store(make_settings(seed_index)):
        t0 = time.monotonic()
        r = _newsbot("--index-dir", str(seed_index), "sources")
        waited = time.monotonic() - t0
    assert r.returncode == 1 and "in use by another newsbot process" in r.stderr
    assert "CHROMA_HOST" in r.stderr
    assert waited < 5.0  # the writer's wait (5 s) is not spent by a reader


def test_an_oversized_article_file_is_skipped_with_the_setting_named(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "huge.txt").write_text("The council met today. " * 60_000)  # 1.4 MB
    code, _, err = run(
        "--index-dir",
        str(tmp_path / "ix"),
        "ingest",
        str(corpus),
        env={"NEWSBOT_MAX_ARTICLE_MB": "1"},
    )
    assert code == 0 and "NEWSBOT_MAX_ARTICLE_MB" in err and "1 skipped" in err
    code, out, _ = run("--index-dir", str(tmp_path / "ix"), "ask", "Who met?")
    assert code == 0 and "doesn't say" in out  # an empty index answers, no traceback


def test_the_installed_command_works_from_any_folder(tmp_path: Path) -> None:
    """The default index lives in the per-user folder (NEWSBOT_HOME) and the bundled
    corpus is found through the package, so no project folder is needed."""
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in NO_LLM_ENV}
    env["NEWSBOT_HOME"] = str(home)
    exe = shutil.which("newsbot", path=str(Path(sys.executable).parent)) or "newsbot"
    r = subprocess.run(
        [exe, "ask", "Who is Pat Ryder?"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert "[1]" in r.stdout and (home / "index" / "newsbot-index.json").exists()
    assert not any(elsewhere.iterdir())


def test_ingest_prints_progress_lines_when_not_on_a_terminal_and_no_args_prints_help(
    tmp_path: Path,
) -> None:
    code, _, err = run("--index-dir", str(tmp_path / "ix"), "ingest", str(CORPUS))
    assert code == 0 and "indexing: files 0/5" in err  # a plain line, not a bar
    r = CliRunner().invoke(main, [])
    assert "Usage: " in r.output and "Commands:" in r.output and "ask" in r.output
