"""Files to the index: discover, read, clean and chunk, embed, store.

Incremental: a file whose size, mtime and manifest entry are unchanged is not
even read; a changed file is re-read, but only its articles whose text or metadata changed
are re-embedded; articles and files that disappeared are removed. See
``state.py`` for why a run killed at any point is completed by the next one.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .chunk import chunk_article
from .embed import Embedder, load_embedder
from .readers import (
    RECORD_SUFFIXES,
    CorpusFile,
    Skip,
    discover,
    manifest_entry,
    read_bytes,
    read_file,
    records_limit,
    suffix_of,
)
from .settings import Settings
from .store import Store, wipe
from .types import Article, Chunk, IngestReport

# Progress callback: (what, advance, total) where what is "files" or "chunks".
Progress = Callable[[str, int, int | None], None]

# Chunks embedded, then written to Chroma, at a time.
BATCH_CHUNKS = 512

# Ledger key set while the store holds writes that BM25 and the vector copy lack.
DIRTY = "dirty"


def article_digest(a: Article) -> str:
    meta = {k: v for k, v in asdict(a).items() if k != "text"}
    payload = json.dumps(meta, default=str, sort_keys=True) + "\0" + a.text
    return hashlib.sha256(payload.encode()).hexdigest()


def manifest_digest(path: Path) -> str:
    """The file's provenance in its folder's manifest.toml (raises ``Skip`` when the
    manifest is not valid)."""
    entry = json.dumps(manifest_entry(path), default=str, sort_keys=True)
    return hashlib.sha256(entry.encode()).hexdigest()[:16]


def file_digest(path: Path, raw: bytes) -> str:
    """The file's bytes and its manifest entry: ``CONTENT.MANIFEST``, so that an edit
    of the manifest alone is seen without reading the file."""
    return f"{hashlib.sha256(raw).hexdigest()}.{manifest_digest(path)}"


class RecordSkips(list[tuple[str, str]]):
    """The bad records of one file: counted, the first few kept (one file may
    hold 300,000 of them; the report gives it a line, not 300,000)."""

    KEEP = 3

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def append(self, item: tuple[str, str]) -> None:
        self.total += 1
        if len(self) < self.KEEP:
            super().append(item)

    def summary(self, rel: str) -> list[tuple[str, str]]:
        """Per-record lines for a few, else one line for the file."""
        if self.total <= self.KEEP:
            return list(self)
        where, why = self[0]
        return [(rel, f"{self.total:,} records skipped (first: {where}: {why})")]


def embed_text(c: Chunk) -> str:
    """What the embedder sees: the headline gives a chunk its topic."""
    return f"{c.article.title}\n{c.text}" if c.article.title else c.text


@dataclass
class _Batch:
    chunks: list[Chunk] = field(default_factory=list)
    sources: list[tuple[str, str, str, int]] = field(
        default_factory=list
    )  # source, path, digest, chunks
    files: list[tuple[str, str, int, int]] = field(
        default_factory=list
    )  # path, digest, size, mtime


class Ingester:
    def __init__(self, settings: Settings, store: Store, progress: Progress | None = None) -> None:
        self.settings = settings
        self.store = store
        self.progress = progress or (lambda what, n, total: None)
        self._embedder: Embedder | None = None
        self.report = IngestReport()
        self.batch = _Batch()
        self.changed = False
        self.claimed: dict[str, str] = {}  # article -> file, for files read in this run

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:  # loaded only when something needs embedding
            self._embedder = load_embedder(
                self.settings.embed_model, batch_size=self.settings.embed_batch_size
            )
            self.store.write_marker(self._embedder.name, self._embedder.dim)
        return self._embedder

    def run(self, paths: list[Path]) -> IngestReport:
        t0 = time.perf_counter()
        files = discover(paths, self.report.skipped)
        self.report.files += len(self.report.skipped)  # links and FIFOs named, not read
        self.report.files_skipped += len(self.report.skipped)
        self.progress("files", 0, len(files))
        seen = {str(f.path) for f in files}
        self._finish_drops()
        for f in files:
            self._file(f)
            self.progress("files", 1, None)
        self._flush()
        self._remove_deleted(paths, seen)
        self._embedder = None  # the model's memory is free for the BM25 rebuild
        ledger = self.store.ledger
        if self.changed or ledger.get(DIRTY):  # this run's changes, or a killed run's
            ledger.bump_generation()
            self.store.rebuild_bm25()
            ledger.unset(DIRTY)
        else:
            self.store.bm25()  # loads it, or rebuilds it if missing or stale
        self.report.seconds = time.perf_counter() - t0
        return self.report

    def _changing(self) -> None:
        """Called before this run's first write to the store.

        ``DIRTY`` stays set until BM25 and the vector copy are rebuilt from the
        finished store, so a run killed anywhere after its first write (even
        between its last write and the rebuild) is finished by the next run,
        though that one finds no file changed. The generation moves on now too:
        a reader that opens the index meanwhile rebuilds BM25 instead of using
        the one saved before this run.
        """
        if not self.changed:
            self.store.ledger.set(DIRTY, "1")
            self.store.ledger.bump_generation()
            self.changed = True

    # ---------------------------------------------------------------- per file

    def _file(self, f: CorpusFile) -> None:
        ledger = self.store.ledger
        key = str(f.path)
        self.report.files += 1
        try:
            st = f.path.stat()
        except OSError as e:
            self.report.skipped.append((f.rel, f"unreadable ({e.strerror or e})"))
            self.report.files_skipped += 1
            return
        max_mb = self.settings.max_article_mb
        records = suffix_of(f.path) in RECORD_SUFFIXES
        limit = records_limit(max_mb) if records else int(max_mb * 1e6)
        if st.st_size > limit:
            what = (
                "limit for a file of records (split it, or raise NEWSBOT_MAX_ARTICLE_MB: "
                "the limit is 200 times it)"
                if records
                else "limit for one article (raise NEWSBOT_MAX_ARTICLE_MB to index it)"
            )
            self.report.skipped.append(
                (f.rel, f"{st.st_size / 1e6:,.1f} MB, over the {limit / 1e6:,.0f} MB {what}")
            )
            self.report.files_skipped += 1
            self._drop_sources(ledger.sources_of(key))
            return
        known = ledger.file(key)
        bad_records = RecordSkips()
        try:
            if (
                known
                and known[1:] == (st.st_size, st.st_mtime_ns)
                and known[0].endswith("." + manifest_digest(f.path))
                and ledger.sources_of(key)
            ):
                self.report.files_unchanged += 1
                return
            raw = read_bytes(f.path, limit)
            digest = file_digest(f.path, raw)
            if known and known[0] == digest and ledger.sources_of(key):
                ledger.set_file(key, digest, st.st_size, st.st_mtime_ns)  # touched, not changed
                self.report.files_unchanged += 1
                return
            ledger.forget_file(key)  # from here until set_file, the file counts as not done
            articles = read_file(f, raw, bad_records, limit)
            del raw
        except Skip as e:
            self.report.skipped.append((f.rel, str(e)))
            self.report.files_skipped += 1
            self._drop_sources(ledger.sources_of(key))
            return
        except (ValueError, TypeError, RecursionError, UnicodeError, OSError) as e:
            # a reader's unforeseen failure on one bad file: name it, index the rest
            self.report.skipped.append((f.rel, f"unreadable ({type(e).__name__}: {e})"))
            self.report.files_skipped += 1
            return
        self.report.skipped += bad_records.summary(f.rel)
        empty = RecordSkips()  # articles with no text left after cleaning, likewise
        clash = self._clash(key, [a.source for a in articles])
        if clash:
            source, other = clash
            self.report.skipped.append(
                (
                    f.rel,
                    f"not indexed: {other} is already indexed as {source!r}; rename one of "
                    "them, or index them with separate --index-dir",
                )
            )
            self.report.files_skipped += 1
            return
        self.claimed |= {a.source: key for a in articles}
        current = set()
        for a in articles:
            current.add(a.source)
            self.report.articles += 1
            d = article_digest(a)
            if ledger.source_digest(a.source) == d:
                continue
            article, chunks = chunk_article(
                a,
                max_words=self.settings.chunk_words,
                overlap=self.settings.chunk_overlap_sentences,
            )
            if not chunks:
                empty.append((a.source, "no article text left after cleaning"))
                self._drop_sources([a.source])
                continue
            self.batch.chunks.extend(chunks)
            self.batch.sources.append((a.source, key, d, len(chunks)))
            if len(self.batch.chunks) >= BATCH_CHUNKS:
                self._flush()
        self.report.skipped += empty.summary(f.rel)
        self._drop_sources([s for s in ledger.sources_of(key) if s not in current])
        self.batch.files.append((key, digest, st.st_size, st.st_mtime_ns))
        if not self.batch.chunks:
            self._flush()

    def _clash(self, key: str, sources: list[str]) -> tuple[str, str] | None:
        """An article name that another existing file already holds.

        Names are relative to the folder given, so ``a/x.txt`` and ``b/x.txt``
        are both ``x.txt``: the second would silently replace the first. A file
        that has since disappeared (a moved file) gives its names up.
        """
        for source in sources:
            other = self.claimed.get(source) or self.store.ledger.path_of(source)
            if other and other != key and Path(other).exists():
                return source, other
        return None

    def _flush(self) -> None:
        b, self.batch = self.batch, _Batch()
        ledger = self.store.ledger
        if b.chunks:
            # Embedded first: a model that does not match the index fails before
            # anything is forgotten or deleted.
            vectors = self.embedder.embed_documents([embed_text(c) for c in b.chunks])
            sources = [s[0] for s in b.sources]
            self._changing()
            self.report.chunks_removed += ledger.chunks_of(sources)
            ledger.forget_sources(sources)
            self.store.delete_sources(sources)  # partial chunks of a killed run go first
            self.store.add(b.chunks, vectors)
            ledger.set_sources(b.sources)
            self.report.chunks_added += len(b.chunks)
            self.progress("chunks", len(b.chunks), None)
        for path, digest, size, mtime in b.files:
            ledger.set_file(path, digest, size, mtime)

    def _drop_sources(self, sources: list[str]) -> None:
        if not sources:
            return
        ledger = self.store.ledger
        removed = ledger.chunks_of(sources)
        self._changing()
        ledger.forget_sources(sources)
        self.store.delete_sources(sources)
        ledger.dropped(sources)
        self.report.chunks_removed += removed

    def _finish_drops(self) -> None:
        """Delete the chunks of articles a killed run had forgotten but not yet deleted
        (or forgotten to re-add, but not re-added): no row names them any more."""
        pending = self.store.ledger.dropping()
        if pending:
            self._changing()
            self.store.delete_sources(pending)
            self.store.ledger.dropped(pending)

    def _remove_deleted(self, roots: list[Path], seen: set[str]) -> None:
        ledger = self.store.ledger
        resolved = [r.resolve() for r in roots]
        for path in ledger.known_paths():
            p = Path(path)
            under = any(p == r or r in p.parents for r in resolved)
            if under and path not in seen:
                self._drop_sources(ledger.sources_of(path))
                ledger.forget_file(path)


def ingest(
    settings: Settings,
    paths: list[Path] | None = None,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Bring the index up to date with ``paths`` (default: the corpus folder)."""
    if rebuild:
        wipe(settings.index_dir)
    roots = paths or [settings.corpus_dir]
    discover(roots)  # a missing path fails before the index is touched
    with Store(settings, writable=True) as store:
        return Ingester(settings, store, progress).run(roots)
