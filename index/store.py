"""The index directory: Chroma (vectors and chunk metadata), the BM25 index and
the ingest ledger, behind one small class.

Chroma is used embedded (``PersistentClient`` under the index directory) or,
with ``CHROMA_HOST`` set, through ``HttpClient`` against a ``chroma run``
server. Embedded Chroma is not process-safe, so the embedded store is guarded
by an exclusive file lock. Chroma and LlamaIndex types stay inside this module.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from . import bm25
from .errors import IndexNotReady, StoreLocked, StoreUnavailable, rebuild_hint
from .settings import Settings
from .state import Ledger
from .types import Chunk, Filters, Passage

MARKER = "newsbot-index.json"
FORMAT = 1
LOCK_WAIT_SECONDS = 5.0

# A Chroma server that accepts connections but does not answer: chromadb's HTTP
# client waits for ever. Opening gives up after SERVER_OPEN_SECONDS (as a closed
# port does), every later call after SERVER_CALL_SECONDS (a large write or a
# filtered query on a big collection can take a while).
SERVER_OPEN_SECONDS = 5.0
SERVER_CALL_SECONDS = 60.0


# Chunks read from Chroma per call when streaming them all. The process keeps the
# memory of the largest read: on 132k chunks a full pass peaked at 915 MB with
# pages of 5,000 and 606 MB with 2,000 (34 s and 43 s).
PAGE = 2000


def chunk_metadata(c: Chunk) -> dict[str, Any]:
    a = c.article
    return {
        "source": a.source,
        "start": c.start,
        "end": c.end,
        "outlet": a.outlet,
        "outlet_key": a.outlet.lower(),
        "publisher": a.publisher or "",
        "title": a.title or "",
        "published": a.published.isoformat() if a.published else "",
        "day": a.published.toordinal() if a.published else 0,
        "url": a.url or "",
        "note": a.note or "",
    }


def _passage(cid: str, text: str, m: dict[str, Any], score: float = 0.0) -> Passage:
    pub = str(m.get("published") or "")
    return Passage(
        chunk_id=cid,
        source=str(m["source"]),
        text=text,
        start=int(m["start"]),
        end=int(m["end"]),
        outlet=str(m["outlet"]),
        publisher=str(m.get("publisher") or "") or None,
        title=str(m.get("title") or "") or None,
        published=date.fromisoformat(pub) if pub else None,
        url=str(m.get("url") or "") or None,
        note=str(m.get("note") or "") or None,
        score=score,
    )


def chroma_where(f: Filters) -> dict[str, Any] | None:
    conds: list[dict[str, Any]] = []
    if f.outlet:
        conds.append({"outlet_key": f.outlet.lower()})
    if f.since:
        conds.append({"day": {"$gte": f.since.toordinal()}})
    if f.until:
        conds.append({"day": {"$lte": f.until.toordinal()}})
    if f.until and not f.since:
        conds.append({"day": {"$gt": 0}})
    if not conds:
        return None
    return conds[0] if len(conds) == 1 else {"$and": conds}


class Store:
    """One index directory. Open with ``writable=True`` to ingest."""

    def __init__(self, settings: Settings, *, writable: bool = False) -> None:
        self.settings = settings
        self.dir = settings.index_dir.resolve()
        self.writable = writable
        self._lock_file: Any = None
        self._bm25: bm25.BM25Index | None = None
        self._collection: Any = None
        self._opening = threading.Lock()
        try:
            fresh = self._check_dir()
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:  # a file, a folder that can't be made, no permission
            raise IndexNotReady(
                f"Cannot use {self.dir} as an index folder ({e.strerror or e}). "
                "Choose another --index-dir."
            ) from None
        if fresh:
            self._write_marker({"format": FORMAT})
        if not settings.chroma_host:
            self._lock()
        try:
            self.ledger = Ledger(self.dir / "ledger.sqlite")
            # An embedded reader whose BM25 folder holds a current copy of every chunk
            # (vectors, text, metadata) answers from it; Chroma opens only if needed.
            if self.writable or settings.chroma_host or not self._current_copy():
                self._collection = self._open_collection()
                self._check_count()
        except BaseException:
            if hasattr(self, "ledger"):
                self.ledger.close()
            self._unlock()
            raise

    # ------------------------------------------------------------ opening

    @property
    def marker(self) -> dict[str, Any]:
        try:
            return dict(json.loads((self.dir / MARKER).read_text()))
        except (OSError, ValueError):
            return {}

    def _check_dir(self) -> bool:
        """Refuse foreign or damaged folders; True when the index is new."""
        d = self.dir
        if not d.exists() or not any(d.iterdir()):
            if not self.writable:
                raise IndexNotReady(f"No index at {d} yet. Build it with: newsbot ingest")
            return True
        if not (d / MARKER).exists():
            raise IndexNotReady(
                f"{d} is not a newsbot index (no {MARKER}). Choose another --index-dir, "
                "or empty that folder yourself."
            )
        if self.marker.get("format") != FORMAT:
            raise IndexNotReady(
                f"The index at {d} is damaged or from another version. {rebuild_hint(d)}"
            )
        return False

    def _lock(self) -> None:
        path = self.dir / "lock"
        self._lock_file = open(path, "a+")  # noqa: SIM115 - held for the store's lifetime
        # A writer waits a little for another to finish; a reader is told at once.
        deadline = time.monotonic() + (LOCK_WAIT_SECONDS if self.writable else 0.0)
        while True:
            try:
                fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._lock_file.seek(0)
                self._lock_file.truncate()
                self._lock_file.write(str(os.getpid()))
                self._lock_file.flush()
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    self._lock_file.seek(0)
                    pid = self._lock_file.read().strip() or "?"
                    self._lock_file.close()
                    raise StoreLocked(
                        f"The index at {self.dir} is in use by another newsbot process (pid {pid}). "
                        "Embedded Chroma is not safe to share between processes: stop the other "
                        "process, or run a Chroma server (chroma run) and set CHROMA_HOST."
                    ) from None
                time.sleep(0.1)

    @property
    def _server(self) -> str:
        return f"{self.settings.chroma_host}:{self.settings.chroma_port}"

    def _unreachable(self, why: str) -> StoreUnavailable:
        return StoreUnavailable(
            f"Cannot reach the Chroma server at {self._server} ({why}). "
            "Start it with: chroma run --path DIR --port PORT, or unset CHROMA_HOST."
        )

    def _server_problem(self, doing: str, e: Exception) -> StoreUnavailable:
        """A failed server call in plain words: no answer, no connection, or the
        server's refusal (by kind, not chromadb's text)."""
        import httpx

        if isinstance(e, httpx.TimeoutException):
            return self._unreachable(f"no answer within {SERVER_CALL_SECONDS:g} s")
        if isinstance(e, httpx.TransportError):
            return self._unreachable("the connection failed")
        return StoreUnavailable(
            f"The Chroma server at {self._server} failed while {doing} "
            f"({_kind_of(e)}). Check its log, or unset CHROMA_HOST to use the embedded store."
        )

    def _local_problem(self, doing: str, e: Exception) -> IndexNotReady:
        return IndexNotReady(
            f"The index at {self.dir} is damaged: its vector store (chroma/) failed while "
            f"{doing} ({_kind_of(e)}). {rebuild_hint(self.dir)}"
        )

    def _probe_server(self) -> None:
        """Fail within seconds on a server that is down, or that accepts connections
        and never answers, before chromadb's client (no timeout) waits on it."""
        import httpx

        s = self.settings
        try:
            socket.create_connection((s.chroma_host, s.chroma_port), timeout=3).close()
        except OSError as e:
            raise self._unreachable(str(e.strerror or e)) from e
        try:
            httpx.get(
                f"http://{s.chroma_host}:{s.chroma_port}/api/v2/heartbeat",
                timeout=SERVER_OPEN_SECONDS,
            )
        except httpx.TimeoutException as e:
            raise self._unreachable(f"no answer within {SERVER_OPEN_SECONDS:g} s") from e
        except httpx.HTTPError as e:
            raise self._unreachable(f"not a Chroma server? {_kind_of(e)}") from e

    def _open_collection(self) -> Any:
        s = self.settings
        try:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            chroma_settings = ChromaSettings(anonymized_telemetry=False)
            if s.chroma_host:
                self._probe_server()
                client = chromadb.HttpClient(
                    host=s.chroma_host, port=s.chroma_port, settings=chroma_settings
                )
                _bound_server_calls(client)
            else:
                client = chromadb.PersistentClient(
                    path=str(self.dir / "chroma"), settings=chroma_settings
                )
            if self.writable:
                return client.get_or_create_collection(
                    s.chroma_collection, metadata={"hnsw:space": "cosine"}
                )
            return client.get_collection(s.chroma_collection)
        except (StoreUnavailable, IndexNotReady):
            raise
        except Exception as e:  # chromadb raises many types; translate them all here
            missing = "does not exist" in str(e)
            if s.chroma_host:
                if missing:
                    raise StoreUnavailable(
                        f"The Chroma server at {self._server} has no collection "
                        f"{s.chroma_collection!r}: it was deleted, or this is another server. "
                        f"{rebuild_hint(self.dir)}"
                    ) from e
                raise self._server_problem("opening the collection", e) from e
            if missing:
                raise IndexNotReady(
                    f"The index at {self.dir} is damaged: its vector store (chroma/) is "
                    f"missing or empty. {rebuild_hint(self.dir)}"
                ) from e
            raise IndexNotReady(
                f"The index at {self.dir} is damaged: its vector store (chroma/) cannot be "
                f"read. {rebuild_hint(self.dir)}"
            ) from e

    @property
    def collection(self) -> Any:
        """The Chroma collection, opened on first use."""
        if self._collection is None:
            with self._opening:
                if self._collection is None:
                    self._collection = self._open_collection()
        return self._collection

    def _current_copy(self) -> bool:
        """Whether the saved BM25 folder is of the ledger's generation and holds
        every chunk's vector and text: then it is kept, and True."""
        loaded = bm25.load(self.dir / "bm25")
        gen = int(self.ledger.get("generation") or 0)
        if loaded is None or loaded.generation != gen or not loaded.ids:
            return False
        self._bm25 = loaded  # current: kept either way, so it is not read twice
        expected = self.ledger.chunk_count()
        held = _chroma_rows(self.dir / "chroma" / "chroma.sqlite3")
        sound = (
            loaded.vectors is not None
            and loaded.texts is not None
            and loaded.texts.count() == len(loaded.ids)  # else damaged or incomplete
            and expected <= len(loaded.ids)
            # a damaged vector store is reported even though the copy is sound
            and held is not None
            and held >= expected
        )
        if not sound:
            loaded.texts = None  # Chroma, and its checks, decide
        return sound

    def _copy(self) -> bm25.BM25Index | None:
        """The in-memory BM25 index when it holds the texts of the current generation."""
        idx = self._bm25
        if idx is None or idx.texts is None:
            return None
        if idx.generation != int(self.ledger.get("generation") or 0):
            return None
        return idx

    def _check_count(self) -> None:
        """The store holds at least the chunks the ledger records (a killed ingest may
        leave more, which the next one deletes; never fewer)."""
        expected = self.ledger.chunk_count()
        if not expected:
            return
        held = self.count()
        if held < expected:
            where = (
                f"The Chroma server at {self._server} (collection {self.settings.chroma_collection!r})"
                if self.settings.chroma_host
                else f"The index at {self.dir} is damaged: its vector store (chroma/)"
            )
            raise IndexNotReady(
                f"{where} holds {held:,} chunk(s), but the index's ledger records {expected:,}: "
                f"the vector store was emptied, truncated or replaced. {rebuild_hint(self.dir)}"
            )

    def _unlock(self) -> None:
        if self._lock_file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def close(self) -> None:
        self.ledger.close()
        self._unlock()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ writing

    def write_marker(self, embed_name: str, dim: int) -> None:
        m = self.marker
        if m.get("embed_model") and (m.get("embed_model"), m.get("dim")) != (embed_name, dim):
            raise IndexNotReady(
                f"The index at {self.dir} was built with {m.get('embed_model')}, not {embed_name}. "
                + rebuild_hint(self.dir)
            )
        self._write_marker({"format": FORMAT, "embed_model": embed_name, "dim": dim})

    def _write_marker(self, data: dict[str, Any]) -> None:
        tmp = self.dir / (MARKER + ".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.dir / MARKER)

    def add(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        """Store chunks through LlamaIndex's ChromaVectorStore."""
        from llama_index.core.schema import BaseNode, NodeRelationship, RelatedNodeInfo, TextNode
        from llama_index.vector_stores.chroma import ChromaVectorStore

        nodes: list[BaseNode] = [
            TextNode(
                id_=c.id,
                text=c.text,
                metadata=chunk_metadata(c),
                embedding=list(v),
                relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=c.article.source)},
                excluded_embed_metadata_keys=list(chunk_metadata(c)),
                excluded_llm_metadata_keys=list(chunk_metadata(c)),
            )
            for c, v in zip(chunks, vectors, strict=True)
        ]
        try:
            ChromaVectorStore(chroma_collection=self.collection).add(nodes)
        except Exception as e:
            raise self._write_problem("writing chunks", e) from e

    def _write_problem(self, doing: str, e: Exception) -> StoreUnavailable | IndexNotReady:
        if "dimension" in str(e).lower():
            return IndexNotReady(
                f"The index at {self.dir} holds vectors of another dimension than the "
                f"embedding model's: it was built with another model. {rebuild_hint(self.dir)}"
            )
        if self.settings.chroma_host:
            return self._server_problem(doing, e)
        return self._local_problem(doing, e)

    def delete_sources(self, sources: Sequence[str]) -> None:
        for i in range(0, len(sources), 200):
            batch = list(sources[i : i + 200])
            where: dict[str, Any] = (
                {"source": batch[0]} if len(batch) == 1 else {"source": {"$in": batch}}
            )
            try:
                self.collection.delete(where=where)
            except Exception as e:
                raise self._write_problem("deleting chunks", e) from e

    def rebuild_bm25(self) -> bm25.BM25Index:
        """Rebuild the BM25 index, and the copy of the vectors beside it, in one pass
        over Chroma. Vectors go to disk page by page, never all in memory."""
        gen = int(self.ledger.get("generation") or 0)
        save = self.writable or not self.settings.chroma_host
        writer = self._vector_writer(save)
        texts = self._text_writer() if save else None

        def rows() -> Iterator[tuple[str, str, str, int]]:
            include = ["documents", "metadatas"] + (["embeddings"] if writer is not None else [])
            for got in self._pages(include):
                ids = got["ids"]
                if writer is not None:
                    writer.add(got.get("embeddings"), len(ids))
                for cid, text, m in zip(ids, got["documents"], got["metadatas"], strict=True):
                    if texts is not None:
                        texts.add(cid, text, dict(m))
                    yield (
                        cid,
                        f"{m.get('title') or ''}\n{text}",
                        str(m["outlet"]),
                        int(m.get("day") or 0),
                    )

        try:
            index = bm25.build(rows(), gen)
            written: Path | None = None
            if writer is not None and writer.finish(len(index.ids)):
                index.vectors = bm25.open_vectors(writer.path, writer.rows, writer.dim)
                written = writer.path if index.vectors is not None else None
            texts_file = texts.path if texts is not None and texts.finish(len(index.ids)) else None
            if save:
                bm25.save(index, self.dir / "bm25", written, texts_file)
        finally:
            if writer is not None:
                writer.discard()  # moved into the saved folder, or mapped already: unlink the name
            if texts is not None:
                texts.discard()
        self._bm25 = index
        return index

    def _vector_writer(self, save: bool) -> bm25.VectorWriter | None:
        """Where a rebuild streams the vectors: beside the BM25 folder when it is saved,
        else (a read-only client of a Chroma server) an anonymous temporary file."""
        try:
            if save:
                return bm25.VectorWriter(self.dir / "bm25.vectors.tmp")
            fd, name = tempfile.mkstemp(prefix="newsbot-vectors-", suffix=".f16")
            os.close(fd)
            return bm25.VectorWriter(Path(name))
        except OSError:
            return None  # no vectors: filtered searches ask Chroma to filter

    def _text_writer(self) -> bm25.TextWriter | None:
        try:
            return bm25.TextWriter(self.dir / "bm25.texts.tmp")
        except (OSError, sqlite3.Error):
            return None  # no copy of the texts: readers open Chroma

    # ------------------------------------------------------------ reading

    def _pages(self, include: list[str], page: int = PAGE) -> Iterator[dict[str, Any]]:
        """All chunks, ``page`` at a time (Chroma caps SQL variables per call)."""
        offset = 0
        while True:
            got = self._read(
                partial(self.collection.get, include=include, limit=page, offset=offset)
            )
            if not got["ids"]:
                return
            yield dict(got)
            offset += len(got["ids"])

    def iter_chunks(self, page: int = PAGE) -> Iterator[tuple[str, str, dict[str, Any]]]:
        copy = self._copy()
        rows = copy.texts.all() if copy is not None and copy.texts is not None else None
        if rows is not None:
            yield from rows
            return
        for got in self._pages(["documents", "metadatas"], page):
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                yield cid, doc, dict(meta)

    def bm25(self) -> bm25.BM25Index:
        gen = int(self.ledger.get("generation") or 0)
        if self._bm25 is None or self._bm25.generation != gen:
            loaded = bm25.load(self.dir / "bm25")
            # An ingest also upgrades an index saved without vectors (by an older version);
            # a reader does without them (its filtered dense searches then ask Chroma).
            old = loaded is not None and bool(loaded.ids) and loaded.vectors is None
            if loaded is None or loaded.generation != gen or (old and self.writable):
                loaded = self.rebuild_bm25()
            self._bm25 = loaded
        return self._bm25

    def dense(self, vector: Sequence[float], k: int, filters: Filters) -> list[tuple[str, float]]:
        try:
            res = self.collection.query(
                query_embeddings=[list(vector)],
                n_results=k,
                where=chroma_where(filters),
                include=["distances"],
            )
        except Exception as e:
            raise self._write_problem("searching", e) from e
        ids, dists = res["ids"][0], (res["distances"] or [[]])[0]
        return [(cid, 1.0 - float(d)) for cid, d in zip(ids, dists, strict=True)]

    def passages(self, ids: Sequence[str]) -> dict[str, Passage]:
        if not ids:
            return {}
        copy = self._copy()
        kept = copy.texts.get(list(ids)) if copy is not None and copy.texts is not None else None
        if kept is not None and len(kept) == len(set(ids)):
            return {cid: _passage(cid, kept[cid][0], kept[cid][1]) for cid in ids if cid in kept}
        got = self._read(
            lambda: self.collection.get(ids=list(ids), include=["documents", "metadatas"])
        )
        return {
            cid: _passage(cid, doc, dict(meta))
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        }

    def metadata(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Each chunk's provenance (source, outlet, title, published, ...), without its text."""
        if not ids:
            return {}
        copy = self._copy()
        kept = copy.texts.get(list(ids)) if copy is not None and copy.texts is not None else None
        if kept is not None and len(kept) == len(set(ids)):
            return {cid: kept[cid][1] for cid in ids}
        got = self._read(lambda: self.collection.get(ids=list(ids), include=["metadatas"]))
        return {cid: dict(m) for cid, m in zip(got["ids"], got["metadatas"], strict=True)}

    def article_passages(self, sources: Sequence[str], limit: int = 400) -> list[Passage]:
        """Every chunk of the articles ``sources``, in article order (at most ``limit``)."""
        if not sources:
            return []
        copy = self._copy()
        rows = copy.texts.of_sources(list(sources), limit) if copy and copy.texts else None
        if rows is not None:
            kept = [_passage(cid, doc, meta) for cid, doc, meta in rows]
            return sorted(kept, key=lambda p: (p.source, p.start))
        where = {"source": {"$in": list(sources)}}
        got = self._read(
            lambda: self.collection.get(
                where=where, include=["documents", "metadatas"], limit=limit
            )
        )
        out = [
            _passage(cid, doc, dict(meta))
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]
        return sorted(out, key=lambda p: (p.source, p.start))

    def count(self) -> int:
        return int(self._read(self.collection.count))

    def _read(self, call: Callable[[], Any]) -> Any:
        """A Chroma read, its failures translated as a write's are: no chromadb
        exception leaves index/."""
        try:
            return call()
        except Exception as e:  # chromadb raises many types
            if self.settings.chroma_host:
                raise self._server_problem("reading chunks", e) from e
            raise self._local_problem("reading chunks", e) from e

    def articles(self) -> list[dict[str, Any]]:
        """One row per indexed article: provenance and chunk count."""
        rows: dict[str, dict[str, Any]] = {}
        for _cid, _text, m in self.iter_chunks():
            r = rows.setdefault(
                str(m["source"]),
                {
                    k: m.get(k) or None
                    for k in ("source", "outlet", "publisher", "title", "published", "url", "note")
                }
                | {"chunks": 0},
            )
            r["chunks"] += 1
        return sorted(rows.values(), key=lambda r: (r["published"] or "", r["source"]))

    def outlet_names(self) -> list[str]:
        """The indexed outlets, as written (cheap: from the BM25 side)."""
        return self.bm25().names

    def outlets(self) -> dict[str, int]:
        """Indexed outlets with their article counts."""
        counts: dict[str, int] = {}
        for a in self.articles():
            counts[a["outlet"]] = counts.get(a["outlet"], 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _chroma_rows(path: Path) -> int | None:
    """How many embeddings embedded Chroma's database file holds, read without
    chromadb (a few ms instead of its second-long start), or None when the file is
    missing, damaged or of a layout this does not know: then Chroma is opened and
    its own checks decide."""
    try:
        with open(path, "rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                return None
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return int(db.execute("SELECT count(*) FROM embeddings").fetchone()[0])
        finally:
            db.close()
    except (OSError, sqlite3.Error):
        return None


def _kind_of(e: Exception) -> str:
    """An exception's kind in a word or two ("InternalError" -> "internal error")."""
    import re

    name = type(e).__name__.removeprefix("Chroma")
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).lower() or "error"


def _bound_server_calls(client: Any) -> None:
    """Give chromadb's HTTP session (created with no timeout) a bounded one."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(SERVER_CALL_SECONDS, connect=SERVER_OPEN_SECONDS)


def wipe(index_dir: Path) -> None:
    """Delete a newsbot index directory (only one that carries our marker)."""
    d = index_dir.resolve()
    if (
        d.exists()
        and any(d.iterdir())
        and not (d / MARKER).exists()
        and not (d / "ledger.sqlite").exists()
    ):
        raise IndexNotReady(f"{d} is not a newsbot index; refusing to delete it.")
    shutil.rmtree(d, ignore_errors=True)
