"""Errors newsbot raises on purpose. Front-ends turn them into a clear message.

    NewsbotError
    ├── ConfigError        a setting is missing or wrong
    ├── CorpusError        a corpus path is missing or unreadable
    ├── IndexNotReady      no index yet, or a corrupt/foreign one
    ├── StoreUnavailable   the Chroma server cannot be reached
    ├── StoreLocked        another process holds the embedded index
    ├── QuestionError      an empty or oversized question
    └── LLMError           the LLM endpoint failed (callers fall back to extractive)

Third-party exceptions (chromadb, openai, ...) are translated into these at the
boundary of the module that calls the library, so none escapes ``index/``.
"""

from __future__ import annotations


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
