"""Errors newsbot raises on purpose. Front-ends turn them into a clear message.

    NewsbotError
    ├── ConfigError        a setting is missing or wrong
    ├── CorpusError        a corpus path is missing or unreadable
    ├── IndexNotReady      no index yet, or a corrupt/foreign one
    ├── StoreUnavailable   the Chroma server cannot be reached
    ├── StoreLocked        another process holds the embedded index
    ├── QuestionError      an empty or oversized question
    ├── LLMError           the LLM endpoint failed (callers fall back to extractive)
    ├── ModelError         a shipped model file is missing or corrupt (callers fall back)
    └── Cancelled          the user stopped the answer (Ctrl-C in the REPL); not a failure

Third-party exceptions (chromadb, openai, ...) are translated into these at the
boundary of the module that calls the library, so none escapes ``index/``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import threading
    from pathlib import Path


def rebuild_hint(index_dir: Path) -> str:
    """The command that rebuilds a damaged index, for the end of a message."""
    return f"Rebuild it with: newsbot ingest --rebuild --index-dir {index_dir}"


class NewsbotError(Exception):
    """Root of every error newsbot raises on purpose."""


class ConfigError(NewsbotError):
    pass


class CorpusError(NewsbotError):
    pass


class IndexNotReady(NewsbotError):
    pass


class StoreUnavailable(NewsbotError):
    pass


class StoreLocked(NewsbotError):
    pass


class QuestionError(NewsbotError):
    pass


class LLMError(NewsbotError):
    pass


class ModelError(NewsbotError):
    pass


class Cancelled(NewsbotError):
    """Raised at the next check once the caller's cancel event is set."""

    @staticmethod
    def raise_if_set(cancel: threading.Event | None) -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled("Cancelled.")
