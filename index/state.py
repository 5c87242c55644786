"""The ingest ledger: which files and articles are in the index, in SQLite.

The ledger is what makes ingest incremental and safe to kill. A file row is
written only after all of its articles are stored, and an article row only
after its chunks are in Chroma; before chunks change, the rows go first. A run
killed anywhere therefore leaves rows missing, never wrong, and the next run
redoes exactly the missing work (deleting any partial chunks first).

An article whose rows go is also written to ``dropping`` (in the same
transaction), and leaves it only when its chunks are deleted for good or its
new chunks are recorded. A run killed in between leaves chunks that no row
names; the next run deletes them first (``Ingester.run``), so an article taken
out of the corpus can never stay answerable.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .errors import IndexNotReady, StoreLocked, rebuild_hint

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, digest TEXT NOT NULL,
    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sources (source TEXT PRIMARY KEY, path TEXT NOT NULL,
    digest TEXT NOT NULL, chunks INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS sources_path ON sources(path);
CREATE TABLE IF NOT EXISTS dropping (source TEXT PRIMARY KEY);
"""


class _Rows(list[Any]):
    """A query's rows, all read (a damaged page fails inside ``_DB``, not later)."""

    def fetchone(self) -> Any:
        return self[0] if self else None

    def fetchall(self) -> list[Any]:
        return list(self)


class _DB:
    """The ledger's connection, with SQLite's failures translated: a damaged file
    is an ``IndexNotReady`` that says how to rebuild, never a traceback."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn: sqlite3.Connection | None = None
        with self._translated():
            # check_same_thread=False: front-ends answer in worker threads (REPL, Discord);
            # the sqlite3 module is built thread-safe (serialized), so one connection is fine.
            self.conn = sqlite3.connect(
                path, timeout=30, isolation_level=None, check_same_thread=False
            )

    def _translated(self) -> _Translate:
        return _Translate(self)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Rows:
        assert self.conn is not None
        with self._translated():
            return _Rows(self.conn.execute(sql, params).fetchall())

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        assert self.conn is not None
        with self._translated():
            self.conn.executemany(sql, rows)

    def executescript(self, sql: str) -> None:
        assert self.conn is not None
        with self._translated():
            self.conn.executescript(sql)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()

    def __enter__(self) -> _DB:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        """A transaction: committed, or rolled back when the block failed."""
        assert self.conn is not None
        with self._translated():
            if kind is None:
                self.conn.commit()
            else:
                self.conn.rollback()


class _Translate:
    def __init__(self, db: _DB) -> None:
        self.db = db

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, e: BaseException | None, tb: object
    ) -> None:
        if e is None or not isinstance(e, sqlite3.DatabaseError):
            return
        path = self.db.path
        if isinstance(e, sqlite3.OperationalError) and "locked" in str(e):
            raise StoreLocked(
                f"The index ledger {path} is in use by another process and stayed locked "
                "for 30 s. Try again when the other ingest has finished."
            ) from e
        raise IndexNotReady(
            f"The index at {path.parent} is damaged: its ledger ({path.name}) cannot be "
            f"read ({e}). {rebuild_hint(path.parent)}"
        ) from e


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = _DB(path)
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(SCHEMA)
            # cheap (milliseconds for 100k articles), and finds a damaged page now
            # rather than part-way through an ingest
            problems = [str(r[0]) for r in self.db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise sqlite3.DatabaseError(problems[0] if problems else "quick_check failed")
        except sqlite3.DatabaseError as e:
            self.db.close()
            raise IndexNotReady(
                f"The index at {path.parent} is damaged: its ledger ({path.name}) cannot be "
                f"read ({e}). {rebuild_hint(path.parent)}"
            ) from e
        except BaseException:
            self.db.close()
            raise

    def close(self) -> None:
        self.db.close()

    # meta
    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def unset(self, key: str) -> None:
        self.db.execute("DELETE FROM meta WHERE key=?", (key,))

    def bump_generation(self) -> int:
        gen = int(self.get("generation") or 0) + 1
        self.set("generation", str(gen))
        return gen

    # files
    def file(self, path: str) -> tuple[str, int, int] | None:
        row = self.db.execute(
            "SELECT digest, size, mtime_ns FROM files WHERE path=?", (path,)
        ).fetchone()
        return None if row is None else (str(row[0]), int(row[1]), int(row[2]))

    def set_file(self, path: str, digest: str, size: int, mtime_ns: int) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", (path, digest, size, mtime_ns)
        )

    def forget_file(self, path: str) -> None:
        self.db.execute("DELETE FROM files WHERE path=?", (path,))

    def files(self) -> list[str]:
        return [str(r[0]) for r in self.db.execute("SELECT path FROM files")]

    # sources (articles)
    def source_digest(self, source: str) -> str | None:
        row = self.db.execute("SELECT digest FROM sources WHERE source=?", (source,)).fetchone()
        return None if row is None else str(row[0])

    def path_of(self, source: str) -> str | None:
        """The file an indexed article came from."""
        row = self.db.execute("SELECT path FROM sources WHERE source=?", (source,)).fetchone()
        return None if row is None else str(row[0])

    def sources_of(self, path: str) -> list[str]:
        return [
            str(r[0]) for r in self.db.execute("SELECT source FROM sources WHERE path=?", (path,))
        ]

    def set_sources(self, rows: list[tuple[str, str, str, int]]) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?)", rows)
            self.db.executemany("DELETE FROM dropping WHERE source=?", [(r[0],) for r in rows])

    def forget_sources(self, sources: list[str]) -> None:
        """Forget articles whose chunks are about to change or go (see ``dropping``)."""
        with self.db:
            self.db.execute("BEGIN")
            keys = [(s,) for s in sources]
            self.db.executemany("DELETE FROM sources WHERE source=?", keys)
            self.db.executemany("INSERT OR IGNORE INTO dropping VALUES (?)", keys)

    def dropping(self) -> list[str]:
        """Forgotten articles whose chunks may still be in Chroma."""
        return [str(r[0]) for r in self.db.execute("SELECT source FROM dropping")]

    def dropped(self, sources: list[str]) -> None:
        """These articles' chunks are out of Chroma."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany("DELETE FROM dropping WHERE source=?", [(s,) for s in sources])

    def chunks_of(self, sources: list[str]) -> int:
        """How many chunks the ledger records for these articles."""
        total = 0
        for i in range(0, len(sources), 500):
            batch = sources[i : i + 500]
            marks = ",".join("?" * len(batch))
            row = self.db.execute(
                f"SELECT COALESCE(SUM(chunks), 0) FROM sources WHERE source IN ({marks})",
                batch,
            )
            total += int(row.fetchone()[0])
        return total

    def chunk_count(self) -> int:
        return int(self.db.execute("SELECT COALESCE(SUM(chunks), 0) FROM sources").fetchone()[0])

    def known_paths(self) -> list[str]:
        rows = self.db.execute("SELECT path FROM files UNION SELECT path FROM sources")
        return [str(r[0]) for r in rows]
