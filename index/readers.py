"""Files to ``Article`` records: text and markdown with a manifest, HTML pages,
and JSON / JSONL / JSONL.GZ files of article records.

A file that can't be read (binary, not UTF-8, empty, malformed) is reported as
skipped with a reason; it never stops the rest of the corpus from loading.
"""

from __future__ import annotations

import codecs
import gzip
import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .errors import CorpusError
from .types import UNKNOWN_OUTLET, Article

MANIFEST_NAME = "manifest.toml"
TEXT_SUFFIXES = (".txt", ".md")
HTML_SUFFIXES = (".html", ".htm")
RECORD_SUFFIXES = (".json", ".jsonl", ".jsonl.gz")
SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + RECORD_SUFFIXES

# Usual field names in scraped article records, in order of preference.
TEXT_FIELDS = ("text", "body", "content")
OUTLET_FIELDS = ("source", "outlet")
DATE_FIELDS = ("published", "published_at", "publish_date")


class Skip(Exception):
    """A file (or record) that can't be indexed; the message is the reason."""


@dataclass(frozen=True)
class CorpusFile:
    path: Path  # absolute
    rel: str  # relative to the corpus root, with forward slashes


def suffix_of(path: Path) -> str:
    name = path.name.lower()
    return ".jsonl.gz" if name.endswith(".jsonl.gz") else path.suffix.lower()


def discover(paths: list[Path]) -> list[CorpusFile]:
    """The indexable files under ``paths`` (folders are walked), sorted.

    ``rel`` is relative to the folder given (or to a single file's folder).
    """
    found: list[CorpusFile] = []
    for root in paths:
        if not root.exists():
            raise CorpusError(f"No such file or folder: {root}")
        root = root.resolve()
        if root.is_file():
            found.append(CorpusFile(root, root.name))
            continue
        for p in sorted(root.rglob("*")):
            if not p.is_file() or any(part.startswith(".") for part in p.relative_to(root).parts):
                continue
            if p.name == MANIFEST_NAME or suffix_of(p) not in SUFFIXES:
                continue
            found.append(CorpusFile(p, p.relative_to(root).as_posix()))
    return found


# ---------------------------------------------------------------- metadata


@cache
def outlet_table() -> dict[str, str]:
    with open(Path(__file__).with_name("outlets.toml"), "rb") as f:
        return {k.lower(): str(v) for k, v in tomllib.load(f).items()}


def outlet_from_url(url: str | None) -> str | None:
    """The outlet for a URL's domain: from the table, else the bare domain."""
    if not url:
        return None
    try:
        host = (urlparse(url).hostname or "").lower().removeprefix("www.")
    except ValueError:  # "http://[::1" and other malformed URLs
        return None
    if not host:
        return None
    table = outlet_table()
    parts = host.split(".")
    for i in range(len(parts) - 1):
        name = table.get(".".join(parts[i:]))
        if name:
            return name
    return host


def parse_date(value: Any) -> date | None:
    """ISO dates or datetimes, or ``YYYY/MM/DD``; anything else is None."""
    if not value or not isinstance(value, str | date):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    s = value.strip().replace("/", "-")
    try:
        return date.fromisoformat(s[:10])
    except ValueError:
        try:
            return datetime.fromisoformat(s.replace("Z", "+00:00")).date()
        except ValueError:
            return None


def load_manifest(folder: Path) -> dict[str, dict[str, Any]]:
    """``manifest.toml`` of a folder: file name -> provenance fields."""
    path = folder / MANIFEST_NAME
    if not path.exists():
        return {}
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, UnicodeDecodeError, ValueError) as e:  # TOMLDecodeError is a ValueError
        raise Skip(f"its folder's {MANIFEST_NAME} is not valid ({e})") from e
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def manifest_entry(path: Path) -> dict[str, Any]:
    return load_manifest(path.parent).get(path.name, {})


def _str(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def _first(rec: dict[str, Any], names: tuple[str, ...]) -> Any:
    for n in names:
        if rec.get(n) not in (None, ""):
            return rec[n]
    return None


def _site(url: str | None) -> str | None:
    try:
        host = urlparse(url).hostname if url else None
    except ValueError:
        return None
    return host.removeprefix("www.") if host else None


def make_article(source: str, text: str, meta: dict[str, Any]) -> Article:
    url = _str(meta.get("url"))
    outlet = _str(meta.get("outlet")) or outlet_from_url(url) or UNKNOWN_OUTLET
    authors = meta.get("authors") or ()
    if isinstance(authors, str):
        authors = (authors,)
    elif not isinstance(authors, list | tuple):  # "authors": 5 or true
        authors = ()
    return Article(
        source=source,
        text=text,
        outlet=outlet,
        publisher=_str(meta.get("publisher")) or _site(url),
        title=_str(meta.get("title")),
        published=parse_date(meta.get("published")),
        url=url,
        note=_str(meta.get("note")),
        authors=tuple(str(a) for a in authors if a),
    )


# ---------------------------------------------------------------- readers


def _decode(raw: bytes) -> str:
    if not raw.strip():
        raise Skip("empty file")
    if raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):  # Windows editors write these
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as e:
            raise Skip(f"not valid UTF-16 (byte {e.start})") from e
    if b"\x00" in raw[:8192]:
        raise Skip("binary file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Skip(f"not UTF-8 (byte {e.start})") from e


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise Skip(f"unreadable ({e.strerror or e})") from e


def read_text_file(f: CorpusFile, raw: bytes) -> list[Article]:
    text = _decode(raw)
    meta = dict(manifest_entry(f.path))
    return [make_article(f.rel, text, meta)]


def read_html_file(f: CorpusFile, raw: bytes) -> list[Article]:
    """HTML through trafilatura; offsets index the extracted text."""
    import trafilatura  # slow import: only when HTML is present

    html = _decode(raw)
    doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False)
    if doc is None:
        raise Skip("no article text found in HTML")
    get = doc.get if isinstance(doc, dict) else lambda k: getattr(doc, k, None)
    text = get("text") or ""
    if not text.strip():
        raise Skip("no article text found in HTML")
    meta: dict[str, Any] = {
        "title": get("title"),
        "outlet": get("sitename"),
        "published": get("date"),
        "url": get("url"),
        "authors": [a.strip() for a in (get("author") or "").split(";") if a.strip()],
    }
    meta.update(manifest_entry(f.path))
    return [make_article(f.rel, text, meta)]


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _valid_unicode(value: Any) -> Any:
    """``value`` with every lone surrogate replaced by U+FFFD.

    JSON may escape half of a UTF-16 pair ("\\ud800"), which scrapers write for
    broken characters. Python keeps it as a code point nothing can encode, so one
    such record would stop the ingest. (json.loads joins whole pairs, so any
    surrogate left is a lone one.)
    """
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_valid_unicode(v) for v in value]
    if isinstance(value, dict):
        return {_valid_unicode(k): _valid_unicode(v) for k, v in value.items()}
    return value


def iter_records(path: Path, raw: bytes) -> Iterator[tuple[int, Any]]:
    """(line number, record) for a JSON array/object or a JSONL(.gz) file."""
    if suffix_of(path) == ".jsonl.gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise Skip(f"corrupt gzip ({e})") from e
    text = _decode(raw)
    if suffix_of(path) == ".json":
        try:
            data = _valid_unicode(json.loads(text))
        except json.JSONDecodeError as e:
            raise Skip(f"invalid JSON at line {e.lineno}") from e
        except (ValueError, RecursionError) as e:  # a 5,000-digit number, deep nesting
            raise Skip(f"unreadable JSON ({type(e).__name__})") from e
        items = data if isinstance(data, list) else [data]
        yield from ((0, item) for item in items)
        return
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                yield n, _valid_unicode(json.loads(line))
            except (ValueError, RecursionError):  # bad JSON, a 5,000-digit number, deep nesting
                yield n, None


def read_record_file(f: CorpusFile, raw: bytes, skipped: list[tuple[str, str]]) -> list[Article]:
    articles: list[Article] = []
    seen: set[str] = set()
    for n, (line, rec) in enumerate(iter_records(f.path, raw), 1):
        where = f"{f.rel}:{line}" if line else f"{f.rel}[{n}]"
        if not isinstance(rec, dict):
            skipped.append((where, "not a JSON object"))
            continue
        text = _first(rec, TEXT_FIELDS)
        if not isinstance(text, str) or not text.strip():
            skipped.append((where, "record has no text"))
            continue
        rid = _str(rec.get("id")) or str(line or n)
        if rid in seen:
            skipped.append((where, f"duplicate record id {rid}"))
            continue
        seen.add(rid)
        meta = {
            "title": rec.get("title"),
            "outlet": _first(rec, OUTLET_FIELDS),
            "published": _first(rec, DATE_FIELDS),
            "url": rec.get("url"),
            "authors": rec.get("authors"),
            "publisher": rec.get("publisher"),
            "note": rec.get("note"),
        }
        if isinstance(meta["outlet"], dict):  # {"source": {"name": ...}} as in NewsAPI dumps
            meta["outlet"] = meta["outlet"].get("name")
        articles.append(make_article(f"{f.rel}#{rid}", text, meta))
    if not articles and not skipped:
        raise Skip("no records")
    return articles


def read_file(f: CorpusFile, raw: bytes, skipped: list[tuple[str, str]]) -> list[Article]:
    """Articles in one file. Raises ``Skip`` when the whole file is unusable;
    bad records inside a record file are appended to ``skipped``."""
    suffix = suffix_of(f.path)
    if suffix in TEXT_SUFFIXES:
        return read_text_file(f, raw)
    if suffix in HTML_SUFFIXES:
        return read_html_file(f, raw)
    return read_record_file(f, raw, skipped)


def text_of(corpus_root: Path, source: str) -> str:
    """The exact text that a citation's offsets index, for checking quotes."""
    # FILE or FILE#ID (a record); FILE and ID may both hold a '#': the file is the
    # shortest prefix that names one.
    rel, rid = source, ""
    for i, ch in enumerate(source):
        if ch == "#" and (corpus_root / source[:i]).is_file():
            rel, rid = source[:i], source[i + 1 :]
            break
    f = CorpusFile((corpus_root / rel).resolve(), rel)
    arts = read_file(f, read_bytes(f.path), [])
    for a in arts:
        if a.source == source or (not rid and len(arts) == 1):
            return a.text
    raise CorpusError(f"{source}: not found")
