"""All configuration, read once from the environment and ``.env``.

Build one ``Settings`` at the edge (the CLI, the Discord bot) and pass it down;
nothing reads the environment on its own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from .bundled import bundled_dir


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


def user_home() -> Path:
    """newsbot's per-user folder: the default index and a ``.env`` of settings.
    ``NEWSBOT_HOME`` overrides the platform's user data folder."""
    override = os.environ.get("NEWSBOT_HOME", "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("newsbot", appauthor=False))


def bundled_corpus() -> Path:
    """The default corpus, found through the package, not the current folder."""
    return bundled_dir("corpus", "newsbot_corpus")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NEWSBOT_",
        # the per-user settings, then ./.env (later files win)
        env_file=(user_home() / ".env", ".env"),
        env_ignore_empty=True,
        extra="ignore",
        populate_by_name=True,
    )

    # Where things live.
    index_dir: Path = Field(default_factory=lambda: user_home() / "index")
    corpus_dir: Path = Field(default_factory=bundled_corpus, description="default corpus root")

    # Embedding model: empty means the one newsbot ships (models/embed/); else a
    # folder in the same layout (model.onnx, tokenizer.json, config.json).
    embed_model: str = ""
    embed_batch_size: int = 16

    # One article file (not a JSON/JSONL file of records) over this size is skipped
    # with a message: a 50 MB text file would take hours and gigabytes. Files of
    # records (and anything decompressed from .gz) are limited to 200 times it.
    max_article_mb: float = Field(5.0, gt=0)

    # Chunking.
    chunk_words: int = 120
    chunk_overlap_sentences: int = 1

    # Retrieval.
    top_k: int = Field(5, ge=1, le=50)
    candidates: int = Field(40, ge=5, le=500)
    dense_weight: float = 1.0
    bm25_weight: float = 1.0

    # Answering.
    max_question_chars: int = 2000
    answer_sentences: int = 3
    min_relevance: float = 0.5
    min_relevance_comparison: float = 0.3
    # How candidate sentences are scored: "model" (the mean of the classic score and
    # that of the shipped answer model, a cross-encoder trained here, ranks them; the
    # classic thresholds decline), "model-only" (the model, blended with question
    # coverage as its config.json says, ranks, and its own threshold declines), or
    # "classic" (question coverage and embedding similarity). Comparisons always
    # use the classic scoring.
    # The default stays classic: on RealTime QA 2023 the model did not raise accuracy
    # and took 0.14 s more per answer (bench/RESULTS.md, session 5).
    answer_scorer: Literal["model", "model-only", "classic"] = "classic"
    # The answer model's folder; empty means the one shipped inside newsbot.
    answer_model: Path | None = None

    # Chroma server mode: set CHROMA_HOST to use `chroma run` instead of the embedded store.
    chroma_host: str | None = Field(
        None, validation_alias=_env("CHROMA_HOST", "NEWSBOT_CHROMA_HOST")
    )
    chroma_port: int = Field(8000, validation_alias=_env("CHROMA_PORT", "NEWSBOT_CHROMA_PORT"))
    chroma_collection: str = "newsbot"

    # LLM (any OpenAI-compatible endpoint).
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=_env("OPENAI_API_KEY", "NEWSBOT_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        None, validation_alias=_env("OPENAI_BASE_URL", "NEWSBOT_OPENAI_BASE_URL")
    )
    llm_model: str = "gpt-4o-mini"
    llm_temperature: float = 0.1
    llm_max_tokens: int = 512
    llm_timeout: float = 30.0
    llm_max_retries: int = 2

    # Discord.
    discord_token: SecretStr | None = Field(
        None, validation_alias=_env("DISCORD_TOKEN", "NEWSBOT_DISCORD_TOKEN")
    )
    discord_guild_id: int | None = Field(
        None, validation_alias=_env("DISCORD_GUILD_ID", "NEWSBOT_DISCORD_GUILD_ID")
    )
    discord_rate_limit: int = 5
    discord_rate_window: float = 60.0

    @property
    def llm_configured(self) -> bool:
        """An LLM is usable when a key or a base URL (a local server) is set."""
        return bool(self.openai_api_key or self.openai_base_url)


def default_index_dir() -> Path:
    """The default index folder (in the per-user folder, NEWSBOT_HOME), as of now:
    the one index that builds itself on first use."""
    return Path(str(Settings.model_fields["index_dir"].get_default(call_default_factory=True)))
