"""Cleaned articles to chunks of whole sentences, each with exact offsets.

A chunk never crosses removed boilerplate: it only joins paragraphs that are
adjacent in the original text, so ``article.text[start:end]`` is clean prose.
"""

from __future__ import annotations

import hashlib

from .clean import clean_text
from .sentences import sentence_spans
from .types import Article, Chunk


def chunk_id(source: str, start: int, text: str) -> str:
    h = hashlib.sha1(f"{source}\0{start}\0{text}".encode()).hexdigest()
    return h[:20]


def _runs(text: str, spans: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Group kept paragraphs into runs with nothing but whitespace between them."""
    runs: list[list[tuple[int, int]]] = []
    for s, e in spans:
        if runs and not text[runs[-1][-1][1] : s].strip():
            runs[-1].append((s, e))
        else:
            runs.append([(s, e)])
    return runs


def chunk_article(
    article: Article, *, max_words: int = 120, overlap: int = 1
) -> tuple[Article, list[Chunk]]:
    """Clean ``article`` and split its body into chunks.

    Returns the article (with a headline found in the text as its title when it
    had none) and its chunks. Consecutive chunks share ``overlap`` sentences.
    """
    text = article.text
    cleaned = clean_text(text, title=article.title)
    if cleaned.title and not article.title:
        from dataclasses import replace

        article = replace(article, title=cleaned.title)
    chunks: list[Chunk] = []
    for run in _runs(text, cleaned.spans):
        sents = [sp for s, e in run for sp in sentence_spans(text, s, e)]
        i = 0
        while i < len(sents):
            j, words = i, 0
            while j < len(sents) and (j == i or words + _words(text, sents[j]) <= max_words):
                words += _words(text, sents[j])
                j += 1
            s, e = sents[i][0], sents[j - 1][1]
            body = text[s:e]
            chunks.append(Chunk(chunk_id(article.source, s, body), article, s, e, body))
            if j >= len(sents):
                break
            i = max(i + 1, j - overlap)
    return article, chunks


def _words(text: str, span: tuple[int, int]) -> int:
    return len(text[span[0] : span[1]].split())
