"""Files to the index: discover, read, clean and chunk, embed, store.

Incremental: a file whose size and mtime are unchanged is not even read; a
changed file is re-read, but only its articles whose text or metadata changed
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
    suffix_of,
)
from .settings import Settings
from .store import Store, wipe
from .types import Article, Chunk, IngestReport

# Progress callback: (what, advance, total) where what is "files" or "chunks".
Progress = Callable[[str, int, int | None], None]

# Chunks embedded, then written to Chroma, at a time.
BATCH_CHUNKS = 512


def article_digest(a: Article) -> str:
    meta = {k: v for k, v in asdict(a).items() if k != "text"}
    payload = json.dumps(meta, default=str, sort_keys=True) + "\0" + a.text
    return hashlib.sha256(payload.encode()).hexdigest()


def file_digest(path: Path, raw: bytes) -> str:
    h = hashlib.sha256(raw)
    h.update(json.dumps(manifest_entry(path), default=str, sort_keys=True).encode())
    return h.hexdigest()


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
        files = discover(paths)
        self.progress("files", 0, len(files))
        seen = {str(f.path) for f in files}
        self._finish_drops()
        for f in files:
            self._file(f)
            self.progress("files", 1, None)
        self._flush()
        self._remove_deleted(paths, seen)
        self._embedder = None  # the model's memory is free for the BM25 rebuild
        if self.changed:
            self.store.ledger.bump_generation()
            self.store.rebuild_bm25()
        else:
            self.store.bm25()  # loads it, or rebuilds it if missing or stale (a killed run)
        self.report.seconds = time.perf_counter() - t0
        return self.report

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
        limit = self.settings.max_article_mb * 1e6
        if suffix_of(f.path) not in RECORD_SUFFIXES and st.st_size > limit:
            self.report.skipped.append(
                (
                    f.rel,
                    f"{st.st_size / 1e6:.1f} MB, over the {self.settings.max_article_mb:g} MB "
                    "limit for one article (raise NEWSBOT_MAX_ARTICLE_MB to index it)",
                )
            )
            self.report.files_skipped += 1
            return
        known = ledger.file(key)
        if known and known[1:] == (st.st_size, st.st_mtime_ns) and ledger.sources_of(key):
            self.report.files_unchanged += 1
            return
        try:
            raw = read_bytes(f.path)
            digest = file_digest(f.path, raw)
            if known and known[0] == digest and ledger.sources_of(key):
                ledger.set_file(key, digest, st.st_size, st.st_mtime_ns)  # touched, not changed
                self.report.files_unchanged += 1
                return
            ledger.forget_file(key)  # from here until set_file, the file counts as not done
            articles = read_file(f, raw, self.report.skipped)
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
                self.report.skipped.append((a.source, "no article text left after cleaning"))
                self._drop_sources([a.source])
                continue
            self.batch.chunks.extend(chunks)
            self.batch.sources.append((a.source, key, d, len(chunks)))
            if len(self.batch.chunks) >= BATCH_CHUNKS:
                self._flush()
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
            self.report.chunks_removed += ledger.chunks_of(sources)
            ledger.forget_sources(sources)
            self.store.delete_sources(sources)  # partial chunks of a killed run go first
            self.store.add(b.chunks, vectors)
            ledger.set_sources(b.sources)
            self.report.chunks_added += len(b.chunks)
            self.changed = True
            self.progress("chunks", len(b.chunks), None)
        for path, digest, size, mtime in b.files:
            ledger.set_file(path, digest, size, mtime)

    def _drop_sources(self, sources: list[str]) -> None:
        if not sources:
            return
        ledger = self.store.ledger
        removed = ledger.chunks_of(sources)
        ledger.forget_sources(sources)
        self.store.delete_sources(sources)
        ledger.dropped(sources)
        self.report.chunks_removed += removed
        self.changed = True

    def _finish_drops(self) -> None:
        """Delete the chunks of articles a killed run had forgotten but not yet deleted
        (or forgotten to re-add, but not re-added): no row names them any more."""
        pending = self.store.ledger.dropping()
        if pending:
            self.store.delete_sources(pending)
            self.store.ledger.dropped(pending)
            self.changed = True

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
