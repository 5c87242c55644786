"""Loading files into articles: manifest, HTML, JSON records, bad files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from conftest import CORPUS

from index.errors import CorpusError
from index.readers import (
    Skip,
    discover,
    outlet_from_url,
    parse_date,
    read_bytes,
    read_file,
    text_of,
)
from index.types import UNKNOWN_OUTLET


def load(path: Path, root: Path | None = None) -> tuple[list, list]:
    skipped: list[tuple[str, str]] = []
    (f,) = [f for f in discover([root or path]) if f.path == path.resolve()]
    return read_file(f, read_bytes(f.path), skipped), skipped


def test_manifest_gives_every_seed_its_provenance() -> None:
    files = discover([CORPUS])
    assert len(files) == 5
    for f in files:
        (a,) = read_file(f, read_bytes(f.path), [])
        assert a.outlet != UNKNOWN_OUTLET and a.title and a.published and a.publisher
        assert a.text == f.path.read_text()  # unchanged, so offsets index the file
    by_outlet = {read_file(f, read_bytes(f.path), [])[0].outlet: f for f in files}
    assert set(by_outlet) == {
        "Newsweek",
        "RT",
        "The Moscow Times",
        "Associated Press",
        "The Wall Street Journal",
    }
    (ap,) = read_file(
        by_outlet["Associated Press"], read_bytes(by_outlet["Associated Press"].path), []
    )
    assert ap.publisher == "economicglobe.com" and ap.note and "reworded" in ap.note


def test_outlet_from_url_uses_table_then_domain() -> None:
    assert outlet_from_url("https://www.cnn.com/2023/01/05/x") == "CNN"
    assert outlet_from_url("https://college.usatoday.com/a") == "USA Today"
    assert outlet_from_url("https://www.theweek.co.uk/news") == "The Week"
    assert outlet_from_url("https://news.example.org/a") == "news.example.org"
    assert outlet_from_url(None) is None


def test_dates() -> None:
    assert str(parse_date("2023/01/05")) == "2023-01-05"
    assert str(parse_date("2022-03-29T10:00:00Z")) == "2022-03-29"
    assert parse_date("") is None and parse_date("yesterday") is None


def test_text_without_manifest_is_unknown_outlet(tmp_path: Path) -> None:
    p = tmp_path / "note.txt"
    p.write_text("Some Headline\n\nA reporter wrote this sentence about the war.\n")
    (a,), _ = load(p, tmp_path)
    assert a.outlet == UNKNOWN_OUTLET and a.source == "note.txt"


def test_jsonl_records_usual_field_names(tmp_path: Path) -> None:
    recs = [
        {
            "id": "a1",
            "title": "T1",
            "body": "Body one. It has text.",
            "url": "https://www.cnn.com/x",
            "published_at": "2023-02-01",
        },
        {
            "id": "a2",
            "title": "T2",
            "content": "Body two.",
            "outlet": "Reuters",
            "publish_date": "2023/02/02",
        },
        {"id": "a3", "title": "T3", "text": ""},
        "not an object",
    ]
    p = tmp_path / "arts.jsonl.gz"
    p.write_bytes(gzip.compress("\n".join(json.dumps(r) for r in recs).encode()))
    arts, skipped = load(p, tmp_path)
    assert [(a.source, a.outlet, str(a.published)) for a in arts] == [
        ("arts.jsonl.gz#a1", "CNN", "2023-02-01"),
        ("arts.jsonl.gz#a2", "Reuters", "2023-02-02"),
    ]
    assert len(skipped) == 2 and all(where.startswith("arts.jsonl.gz:") for where, _ in skipped)
    assert text_of(tmp_path, "arts.jsonl.gz#a1") == "Body one. It has text."


def test_html_through_trafilatura(tmp_path: Path) -> None:
    body = " ".join(
        f"Sentence number {i} of the report says something about the talks." for i in range(30)
    )
    html = f"""<html><head><title>Talks resume</title>
    <meta property="og:site_name" content="Example News">
    <meta property="og:url" content="https://example-news.com/talks">
    <meta name="date" content="2023-04-05"></head>
    <body><nav>Home | World</nav><article><h1>Talks resume</h1><p>{body}</p></article></body></html>"""
    p = tmp_path / "page.html"
    p.write_text(html)
    (a,), _ = load(p, tmp_path)
    assert a.outlet == "Example News" and a.title == "Talks resume"
    assert "Sentence number 3" in a.text and "Home | World" not in a.text


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"  \n", "empty"),
        ("binary.txt", b"\x00\x01\x02abc", "binary"),
        ("latin1.txt", "caf\xe9 r\xe9sum\xe9".encode("latin-1"), "UTF-8"),
        ("broken.json", b"{not json", "invalid JSON"),
        ("broken.jsonl.gz", b"not gzip at all", "gzip"),
    ],
)
def test_bad_files_are_skipped_with_reason(
    tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(Skip, match=reason):
        load(p, tmp_path)


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="No such file"):
        discover([tmp_path / "nope"])


# Half of a UTF-16 pair, as a JSON escape: scrapers write these for broken characters.
LONE = "\\ud800"


def test_lone_surrogates_in_json_records_become_replacement_characters(tmp_path: Path) -> None:
    line = (
        '{"id": "s1", "url": "https://edition.cnn.com/x'
        + LONE
        + '", "title": "Storm'
        + LONE
        + '", "authors": ["A'
        + LONE
        + '"], "text": "The storm hit'
        + LONE
        + ' the coast."}'
    )
    whole_pair = '{"id": "s2", "text": "A smile \\ud83d\\ude00 stays whole."}'
    p = tmp_path / "arts.jsonl"
    p.write_text(line + "\n" + whole_pair + "\n")
    (a, b), skipped = load(p, tmp_path)
    assert not skipped
    assert a.text == "The storm hit\ufffd the coast." and a.title == "Storm\ufffd"
    assert a.url == "https://edition.cnn.com/x\ufffd" and a.authors == ("A\ufffd",)
    assert b.text == "A smile \U0001f600 stays whole."
    for art in (a, b):  # everything can be stored and hashed now
        for value in (art.text, art.title or "", art.url or "", *art.authors):
            value.encode("utf-8")
    assert text_of(tmp_path, "arts.jsonl#s1") == a.text  # citations check against the same text
