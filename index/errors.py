"""Errors newsbot raises on purpose. Front-ends turn them into a clear message.

    NewsbotError
    ├── ConfigError        a setting is missing or wrong
    ├── CorpusError        a corpus path is missing or unreadable
    ├── IndexNotReady      no index yet, or a corrupt/foreign one
    ├── StoreUnavailable   the Chroma server cannot be reached
    ├── StoreLocked        another process holds the embedded index
    ├── QuestionError      an empty or oversized question, or a filter day that is no date
    ├── LLMError           the LLM endpoint failed (callers fall back to extractive)
    │   └── ContextTooLong the prompt does not fit the model's context (fewer sources are tried)
    ├── ModelError         a shipped model file is missing or corrupt (callers fall back)
    ├── QAFileError        a Q&A file for ``newsbot eval`` can't be read (names line and problem)
    ├── ReportError        an eval baseline can't be read, or a report can't be written
    ├── BadThreshold       an eval ``--fail-under METRIC=VALUE`` that is not one
    └── Cancelled          the user stopped the answer (Ctrl-C in the REPL); not a failure

Third-party exceptions (chromadb, openai, ...) are translated into these at the
boundary of the module that calls the library, so none escapes ``index/`` or
``bot/``. Every error newsbot raises is defined here, so that one module shows
the whole tree (``index`` exports them all).
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


class ContextTooLong(LLMError):
    """The prompt does not fit the model's context window."""


class ModelError(NewsbotError):
    pass


class QAFileError(NewsbotError):
    """A Q&A file that can't be read: the message names the line and the problem."""


class ReportError(NewsbotError):
    """A baseline report that can't be read, or a report that can't be written."""


class BadThreshold(NewsbotError):
    """A ``--fail-under`` threshold that is not METRIC=VALUE with a known metric
    and a value in [0, 1]; the eval command shows it as a bad option."""


class Cancelled(NewsbotError):
    """Raised at the next check once the caller's cancel event is set."""

    @staticmethod
    def raise_if_set(cancel: threading.Event | None) -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled("Cancelled.")
