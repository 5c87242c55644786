"""newsbot's index: files -> documents -> chunks -> Chroma + BM25 -> retrieval.

The front door: everything outside ``index/`` (the answer engine, the
front-ends, eval, bench) imports from here. Names are loaded on first use, so
``import index`` is cheap; chromadb, bm25s and pydantic-settings load only
when a name that needs them is read.

    Settings                 every setting, from the environment and .env
    build_index(settings, paths)  build or update the index -> IngestReport
                             (``index.ingest.ingest``: a front-door name apart from the module's)
    Store                    one index folder (Chroma + BM25 + the ledger)
    Retriever                hybrid retrieval over a Store
    Filters, Passage         what retrieval takes and gives
    SourceTexts, text_of     the exact text a citation's offsets index
    errors                   NewsbotError and its tree (index/errors.py)
"""

from __future__ import annotations

from importlib import import_module

TYPE_CHECKING = False  # not typing's: importing typing would cost more than the rest of this
if TYPE_CHECKING:
    from typing import Any

    from .bundled import bundled_dir
    from .embed import Embedder, load_embedder
    from .errors import (
        BadThreshold,
        Cancelled,
        ConfigError,
        ContextTooLong,
        CorpusError,
        IndexNotReady,
        LLMError,
        ModelError,
        NewsbotError,
        QAFileError,
        QuestionError,
        ReportError,
        StoreLocked,
        StoreUnavailable,
    )
    from .ingest import Progress
    from .ingest import ingest as build_index
    from .readers import SourceTexts, outlet_from_url, parse_date, text_of
    from .retrieve import RetrievalConfig, Retriever
    from .sentences import sentence_spans
    from .settings import Settings, default_index_dir
    from .store import Store
    from .text import terms
    from .types import Filters, IngestReport, Passage, parse_day

# name -> the module (under index/) that defines it
_HOME = {
    "bundled_dir": "bundled",
    "Embedder": "embed",
    "load_embedder": "embed",
    **dict.fromkeys(
        [
            "BadThreshold",
            "Cancelled",
            "ConfigError",
            "ContextTooLong",
            "CorpusError",
            "IndexNotReady",
            "LLMError",
            "ModelError",
            "NewsbotError",
            "QAFileError",
            "QuestionError",
            "ReportError",
            "StoreLocked",
            "StoreUnavailable",
        ],
        "errors",
    ),
    "Progress": "ingest",
    "build_index": "ingest:ingest",
    "SourceTexts": "readers",
    "outlet_from_url": "readers",
    "parse_date": "readers",
    "text_of": "readers",
    "RetrievalConfig": "retrieve",
    "Retriever": "retrieve",
    "sentence_spans": "sentences",
    "Settings": "settings",
    "default_index_dir": "settings",
    "Store": "store",
    "terms": "text",
    "Filters": "types",
    "IngestReport": "types",
    "Passage": "types",
    "parse_day": "types",
}

__all__ = [
    "BadThreshold",
    "build_index",
    "bundled_dir",
    "Cancelled",
    "ConfigError",
    "ContextTooLong",
    "CorpusError",
    "default_index_dir",
    "Embedder",
    "Filters",
    "IndexNotReady",
    "IngestReport",
    "LLMError",
    "load_embedder",
    "ModelError",
    "NewsbotError",
    "outlet_from_url",
    "parse_date",
    "parse_day",
    "Passage",
    "Progress",
    "QAFileError",
    "QuestionError",
    "ReportError",
    "RetrievalConfig",
    "Retriever",
    "sentence_spans",
    "Settings",
    "SourceTexts",
    "Store",
    "StoreLocked",
    "StoreUnavailable",
    "terms",
    "text_of",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'index' has no attribute {name!r}")
    module, _, attr = home.partition(":")
    value = getattr(import_module(f"{__name__}.{module}"), attr or name)
    globals()[name] = value  # the next read is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
