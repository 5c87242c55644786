"""Files to ``Article`` records: text and markdown with a manifest, HTML pages,
and JSON / JSONL / JSONL.GZ files of article records.

A file that can't be read (binary, not UTF-8, empty, malformed) is reported as
skipped with a reason; it never stops the rest of the corpus from loading.
"""

from __future__ import annotations

import codecs
import errno
import gzip
import json
import os
import re
import stat
import tomllib
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path, PurePosixPath
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


def discover(paths: list[Path], skipped: list[tuple[str, str]] | None = None) -> list[CorpusFile]:
    """The indexable files under ``paths`` (folders are walked), sorted.

    ``rel`` is relative to the folder given (or to a single file's folder).
    Links are followed only to files inside the folder given; links to folders
    are not followed (no loops, no duplicates). What is left out but looks like
    something to index (a link loop, a dangling or outside link, a FIFO) is
    appended to ``skipped`` with the reason.
    """
    found: list[CorpusFile] = []
    out = skipped if skipped is not None else []
    for given in paths:
        if not given.exists() and not given.is_symlink():
            raise CorpusError(f"No such file or folder: {given}")
        try:
            root = given.resolve(strict=True)
        except (OSError, RuntimeError):
            raise CorpusError(f"{given} is a link that leads nowhere (a loop?)") from None
        if not root.is_dir():
            if root.is_file():
                found.append(CorpusFile(root, root.name))
            else:
                out.append((root.name, f"not a regular file ({_kind(root)}); not read"))
            continue
        for p in _walk(root):
            rel = p.relative_to(root).as_posix()
            why = _why_not(p, root)
            if why is None:
                found.append(CorpusFile(p, rel))
            elif why:
                out.append((rel, why))
    return found


def _walk(root: Path) -> list[Path]:
    """Every entry under ``root``, sorted; hidden names and linked folders are not
    entered (``_why_not`` names the links)."""
    entries: list[Path] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        here = Path(folder)
        entries += [here / n for n in files if not n.startswith(".")]
        # os.walk lists a link to a folder among dirs, and does not enter it
        entries += [here / d for d in dirs if (here / d).is_symlink()]
    return sorted(entries)


def _kind(p: Path) -> str:
    try:
        mode = p.stat().st_mode
    except OSError:
        return "unreadable"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"


def _why_not(p: Path, root: Path) -> str | None:
    """None when ``p`` is a file to index; else why not ("" to leave it out unnamed:
    a file of a kind newsbot does not read)."""
    wanted = p.name != MANIFEST_NAME and suffix_of(p) in SUFFIXES
    if p.is_symlink():
        try:
            target = p.resolve(strict=True)
        except RuntimeError:
            return "a symlink loop; not followed"
        except OSError as e:
            if e.errno == errno.ELOOP:
                return "a symlink loop; not followed"
            return "a dangling symlink (its target does not exist)"
        if target.is_dir():
            return "a link to a folder; not followed (give the folder itself to index it)"
        if not wanted and suffix_of(target) not in SUFFIXES:
            return ""
        if root not in target.parents:
            return (
                f"a link to {target}, outside the folder indexed; not followed "
                "(give that file itself to index it)"
            )
    if not wanted:
        return ""
    if not p.is_file():
        return f"not a regular file ({_kind(p)}); not read"
    return None


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
    """``manifest.toml`` of a folder: file name -> provenance fields.

    Read once per version of the file (its size and mtime), not once per article.
    """
    path = folder / MANIFEST_NAME
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise Skip(f"its folder's {MANIFEST_NAME} is unreadable ({e.strerror or e})") from e
    return _parse_manifest(path, st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=64)
def _parse_manifest(path: Path, size: int, mtime_ns: int) -> dict[str, dict[str, Any]]:
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


def read_bytes(path: Path, limit: int | None = None) -> bytes:
    """The file's bytes; a FIFO, device or socket is never read (it could block
    for ever), and a file over ``limit`` bytes is skipped without being read."""
    try:
        # O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        raise Skip(f"unreadable ({e.strerror or e})") from e
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Skip(f"not a regular file ({_kind(path)}); not read")
        if limit is not None and st.st_size > limit:
            raise Skip(f"{st.st_size / 1e6:,.1f} MB, over the {limit / 1e6:,.0f} MB limit")
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read() if limit is None else f.read(limit + 1)
        if limit is not None and len(raw) > limit:  # grew while being read
            raise Skip(f"over the {limit / 1e6:,.0f} MB limit")
        return raw
    except OSError as e:
        raise Skip(f"unreadable ({e.strerror or e})") from e
    finally:
        os.close(fd)


# Uncompressed bytes one JSON/JSONL(.gz) file of records may hold; more is skipped
# unread (a gzip bomb). The ingest passes ``records_limit(max_article_mb)``.
DEFAULT_RECORDS_LIMIT = 1_000_000_000


def records_limit(max_article_mb: float) -> int:
    """The largest JSON/JSONL file of records (uncompressed) read: 200 articles of
    the largest size allowed, 1 GB by default (the largest corpus file newsbot is
    known to index, RealTime QA's train split, is 150 MB)."""
    return int(200 * max_article_mb * 1e6)


def gunzip(raw: bytes, limit: int = DEFAULT_RECORDS_LIMIT) -> bytes:
    """``raw`` decompressed, refusing to hold more than ``limit`` bytes."""
    import io

    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as g:
            out = g.read(limit + 1)
    except (OSError, EOFError, zlib.error) as e:
        raise Skip(f"corrupt gzip ({e})") from e
    if len(out) > limit:
        raise Skip(
            f"over {limit / 1e6:,.0f} MB once decompressed; not read "
            "(split it, or raise NEWSBOT_MAX_ARTICLE_MB: the limit is 200 times it)"
        )
    return out


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


def iter_records(
    path: Path, raw: bytes, limit: int = DEFAULT_RECORDS_LIMIT
) -> Iterator[tuple[int, Any]]:
    """(line number, record) for a JSON array/object or a JSONL(.gz) file."""
    if suffix_of(path) == ".jsonl.gz":
        raw = gunzip(raw, limit)
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


def read_record_file(
    f: CorpusFile,
    raw: bytes,
    skipped: list[tuple[str, str]],
    max_bytes: int = DEFAULT_RECORDS_LIMIT,
) -> list[Article]:
    articles: list[Article] = []
    seen: set[str] = set()
    for n, (line, rec) in enumerate(iter_records(f.path, raw, max_bytes), 1):
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


def read_file(
    f: CorpusFile,
    raw: bytes,
    skipped: list[tuple[str, str]],
    max_bytes: int = DEFAULT_RECORDS_LIMIT,
) -> list[Article]:
    """Articles in one file. Raises ``Skip`` when the whole file is unusable;
    bad records inside a record file are appended to ``skipped``. A .jsonl.gz
    that decompresses to more than ``max_bytes`` is skipped."""
    suffix = suffix_of(f.path)
    if suffix in TEXT_SUFFIXES:
        return read_text_file(f, raw)
    if suffix in HTML_SUFFIXES:
        return read_html_file(f, raw)
    return read_record_file(f, raw, skipped, max_bytes)


def _split_source(source: str, is_file: Callable[[str], bool]) -> tuple[str, str]:
    """``FILE`` or ``FILE#ID`` -> (FILE, ID). FILE and ID may both hold a '#':
    the file is the shortest prefix for which ``is_file`` holds."""
    for i, ch in enumerate(source):
        if ch == "#" and is_file(source[:i]):
            return source[:i], source[i + 1 :]
    return source, ""


class SourceTexts:
    """The exact text each citation's offsets index: ``quote == text(source)[start:end]``.

    Each file is read once (a JSONL.GZ of thousands of records is not re-read
    per citation). ``files`` maps a source to the file it was indexed from (the
    index's ledger knows: ``Engine.source_texts()``); other sources are looked
    up under ``corpus_root``.
    """

    def __init__(self, corpus_root: Path, files: Mapping[str, Path] | None = None) -> None:
        self.corpus_root = corpus_root
        self.files = dict(files or {})
        self._cache: dict[Path, dict[str, str]] = {}

    def text(self, source: str) -> str:
        known = self.files.get(source)
        if known is not None:
            rel, rid = _split_source(source, lambda p: PurePosixPath(p).name == known.name)
            path = known
        else:
            rel, rid = _split_source(source, lambda p: (self.corpus_root / p).is_file())
            path = (self.corpus_root / rel).resolve()
        if path not in self._cache:
            try:
                arts = read_file(CorpusFile(path, rel), read_bytes(path), [])
            except Skip as e:
                raise CorpusError(f"{source}: {e}") from None
            self._cache[path] = {a.source: a.text for a in arts}
        texts = self._cache[path]
        if source in texts:
            return texts[source]
        if not rid and len(texts) == 1:
            return next(iter(texts.values()))
        raise CorpusError(f"{source}: not found")


def text_of(corpus_root: Path, source: str) -> str:
    """The exact text that a citation's offsets index, for checking quotes."""
    return SourceTexts(corpus_root).text(source)
